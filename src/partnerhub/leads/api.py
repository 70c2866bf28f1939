"""HTTP API of the lead marketplace (issue 7, parts 2-5; spec leads.md).

- ``POST /api/v1/leads`` (vendor staff: program manager or administrator; idempotent): publish a
  lead; 201 with the lead, contacts included (the vendor's own data); bad fields named (400).
- ``GET /api/v1/marketplace/leads`` (every partner role): open leads of the partner's marketplace
  (``?program=<code>`` when it takes part in several) with filters ``region`` (code),
  ``company_size``, ``need``, ``published_from``, ``published_to`` (dates); contacts masked on the
  server, never who else took a lead.
- ``POST /api/v1/marketplace/leads/{id}/take`` (owner, manager; idempotent): 201 with the deal and
  the client's contacts (a reveal, channel "api"); refusals with the codes of ``leads.errors``.
- ``GET /api/v1/deals`` (every partner role): the partner's own deals (``?open=1``: open only),
  without the client's contacts (each showing of them is audited: read one deal for them);
  ``GET /api/v1/deals/{id}``: one deal with the client's contacts and events (writes a reveal,
  channel "api"); ``PATCH`` it (owner, manager): company data, main contact, services, amount.
- ``POST /api/v1/deals/{id}/events|stage|win|lose`` (owner, manager; idempotent).

Another partner's deal is a 404. Errors use the body of ``core.api``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import ByMethod, partner, vendor
from partnerhub.core.api import BuiltFieldsCache
from partnerhub.core.audit import client_ip
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.idempotency import idempotent
from partnerhub.core.input import validate_year_range
from partnerhub.leads import selectors, services
from partnerhub.leads.models import (
    PIPELINE_NAME,
    CompanySize,
    Deal,
    DealEvent,
    Lead,
    LeadSource,
    Need,
    RevealChannel,
)
from partnerhub.partners.models import Organisation, Program, ProgramKind

LEAD_WRITERS = vendor("program_manager", "administrator")
DEAL_READERS = partner()
DEAL_WRITERS = partner("owner", "manager")


def _partner_program(request: Request, organisation: Organisation) -> Program | None:
    """The marketplace a partner's request is about: ``?program=<code>`` (404 when the partner
    takes no part in it), else its first (None when it takes part in none)."""
    programs = selectors.marketplace_programs_of(organisation)
    code = request.query_params.get("program")
    if code:
        programs = [p for p in programs if p.code == code]
        if not programs:
            raise Http404
    return programs[0] if programs else None


# --- serializers ----------------------------------------------------------------------------------


class LeadCreateSerializer(serializers.Serializer):
    """A lead from the vendor's systems; the business rules (and the field named in an error)
    are the service's."""

    program = serializers.CharField(help_text="Code of the marketplace program.")
    company_name = serializers.CharField(required=False, allow_blank=True, default="")
    region = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Region code, e.g. 77."
    )
    company_size = serializers.CharField(required=False, allow_blank=True, default="")
    need = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    contact_name = serializers.CharField(required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(required=False, allow_blank=True, default="")
    contact_email = serializers.CharField(required=False, allow_blank=True, default="")
    external_id = serializers.CharField(required=False, allow_blank=True, default="")


class LeadSerializer(serializers.ModelSerializer):
    """A lead as its vendor sees it (contacts included)."""

    program = serializers.CharField(source="program.code")
    region = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.name")

    class Meta:
        model = Lead
        fields = [
            "id",
            "program",
            "company_name",
            "region",
            "region_name",
            "company_size",
            "need",
            "description",
            "contact_name",
            "contact_phone",
            "contact_email",
            "source",
            "external_id",
            "state",
            "published_at",
            "expires_at",
        ]


class MarketplaceLeadSerializer(serializers.Serializer):
    """A lead on the marketplace: masked contacts only."""

    id = serializers.IntegerField()
    company_name = serializers.CharField()
    region = serializers.CharField()
    region_code = serializers.CharField()
    company_size = serializers.CharField()
    company_size_label = serializers.CharField()
    need = serializers.CharField()
    need_label = serializers.CharField()
    description = serializers.CharField()
    published_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    contact_name_masked = serializers.CharField()
    contact_phone_masked = serializers.CharField()
    contact_email_masked = serializers.CharField()
    taken_by_me = serializers.BooleanField()
    my_deal_id = serializers.IntegerField(allow_null=True)
    can_take = serializers.BooleanField()
    refusal = serializers.CharField()


class MarketplaceFilterSerializer(serializers.Serializer):
    """Filters of the marketplace list."""

    region = serializers.CharField(required=False, allow_blank=True)
    company_size = serializers.ChoiceField(
        choices=CompanySize.choices, required=False, allow_blank=True
    )
    need = serializers.ChoiceField(choices=Need.choices, required=False, allow_blank=True)
    published_from = serializers.DateField(required=False, validators=[validate_year_range])
    published_to = serializers.DateField(required=False, validators=[validate_year_range])


class DealLeadSerializer(BuiltFieldsCache, serializers.ModelSerializer):
    """What the deal's lead says (no contacts: those come with a reveal)."""

    region = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.name")

    class Meta:
        model = Lead
        fields = [
            "id",
            "company_name",
            "region",
            "region_name",
            "company_size",
            "need",
            "description",
            "published_at",
        ]


class DealSerializer(BuiltFieldsCache, serializers.ModelSerializer):
    """A partner's own deal."""

    program = serializers.CharField(source="program.code")
    pipeline = serializers.SerializerMethodField()
    stage_label = serializers.CharField(source="get_stage_display")
    lead = DealLeadSerializer()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "program",
            "pipeline",
            "lead",
            "stage",
            "stage_label",
            "is_open",
            "taken_at",
            *services.DEAL_EDITABLE_FIELDS,
            "won_kind",
            "won_reference",
            "lost_reason",
            "lost_comment",
            "closed_at",
            "first_event_at",
            "last_event_at",
        ]

    def get_pipeline(self, obj: Deal) -> str:
        return PIPELINE_NAME


class ClientContactsSerializer(serializers.Serializer):
    """The client's contacts from the lead (shown to the partner that took it; audited)."""

    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()
    contact_email = serializers.CharField()


class DealEventSerializer(BuiltFieldsCache, serializers.ModelSerializer):
    """A call, meeting or note."""

    class Meta:
        model = DealEvent
        fields = ["id", "kind", "happened_at", "text", "created_at"]


class DealDetailSerializer(DealSerializer):
    """A deal with the client's contacts and its events."""

    client = serializers.SerializerMethodField()
    events = DealEventSerializer(many=True)

    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "client", "events"]

    @extend_schema(responses=ClientContactsSerializer)
    def get_client(self, obj: Deal) -> dict[str, str]:
        return self.context["client"]


class DealUpdateSerializer(serializers.Serializer):
    """Deal data the partner keeps current; the service checks each value."""

    company_name = serializers.CharField(required=False, allow_blank=True)
    company_inn = serializers.CharField(required=False, allow_blank=True)
    company_website = serializers.CharField(required=False, allow_blank=True)
    company_employees = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    contact_name = serializers.CharField(required=False, allow_blank=True)
    contact_position = serializers.CharField(required=False, allow_blank=True)
    contact_phone = serializers.CharField(required=False, allow_blank=True)
    contact_email = serializers.CharField(required=False, allow_blank=True)
    services = serializers.CharField(required=False, allow_blank=True)
    amount = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class EventCreateSerializer(serializers.Serializer):
    """A new event: kind (call, meeting, note), when (ISO 8601) and what."""

    kind = serializers.CharField(allow_blank=True)
    happened_at = serializers.DateTimeField(validators=[validate_year_range])
    text = serializers.CharField(allow_blank=True)


class StageSerializer(serializers.Serializer):
    """An open stage: new, contacted, meeting, proposal."""

    stage = serializers.CharField(allow_blank=True)


class WinSerializer(serializers.Serializer):
    """Won: the client's portal (``won_kind`` "portal") or licence key ("licence_key")."""

    won_kind = serializers.CharField(allow_blank=True, required=False, default="")
    won_reference = serializers.CharField(allow_blank=True, required=False, default="")


class LoseSerializer(serializers.Serializer):
    """Lost: a reason code (or text) and a comment ("other" needs one)."""

    reason = serializers.CharField(allow_blank=True, required=False, default="")
    comment = serializers.CharField(allow_blank=True, required=False, default="")


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _deal_response(deal: Deal, request: Request, *, code: int = status.HTTP_200_OK) -> Response:
    """A deal with the client's contacts: every such answer writes a reveal (channel "api")."""
    deal = selectors.deal_get_for_partner(organisation=deal.organisation, pk=deal.pk)
    client = services.deal_contacts_reveal(
        deal=deal, by=request.user, channel=RevealChannel.API, ip=client_ip(request)
    )
    return _deal_body(deal, client, code=code)


def _deal_body(deal: Deal, client: dict[str, str], *, code: int) -> Response:
    data = DealDetailSerializer(deal, context={"client": client}).data
    return Response(data, status=code)


# --- views --------------------------------------------------------------------------------------


class LeadsApi(APIView):
    """Publish a lead (vendor staff)."""

    access_rule = LEAD_WRITERS

    @extend_schema(
        request=LeadCreateSerializer, responses={201: LeadSerializer}, operation_id="lead_create"
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(LeadCreateSerializer, request.data)
        vendor_org = organisation_of(request.user)
        program = Program.objects.filter(
            code=data.pop("program"), vendor=vendor_org, kind=ProgramKind.LEADS
        ).first()
        if program is None:
            raise ValidationFailed(
                _("Нет такой программы биржи заявок."),
                fields={"program": [_("Укажите код программы биржи заявок вашей компании.")]},
            )
        lead = services.lead_create(
            program=program, source=LeadSource.API, created_by=request.user, **data
        )
        lead = Lead.objects.select_related("program", "region").get(pk=lead.pk)
        return Response(LeadSerializer(lead).data, status=status.HTTP_201_CREATED)


class MarketplaceLeadsApi(APIView):
    """The marketplace list of the partner (masked contacts)."""

    access_rule = DEAL_READERS

    @extend_schema(
        parameters=[
            OpenApiParameter("program", str, required=False),
            MarketplaceFilterSerializer,
        ],
        responses=MarketplaceLeadSerializer(many=True),
        operation_id="marketplace_leads",
    )
    def get(self, request: Request) -> Response:
        organisation = organisation_of(request.user)
        program = _partner_program(request, organisation)
        filters = _valid(MarketplaceFilterSerializer, request.query_params)
        rows = (
            selectors.marketplace_leads(organisation=organisation, program=program, **filters)
            if program is not None
            else []
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        data = MarketplaceLeadSerializer(page, many=True).data
        return paginator.get_paginated_response(data)


class MarketplaceLeadTakeApi(APIView):
    """Take a lead (owner, manager)."""

    access_rule = DEAL_WRITERS

    @extend_schema(
        request=None, responses={201: DealDetailSerializer}, operation_id="marketplace_lead_take"
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        organisation = organisation_of(request.user)
        lead = selectors.lead_get_for_partner(organisation=organisation, pk=pk)
        deal = services.lead_take(
            lead=lead,
            organisation=organisation,
            by=request.user,
            ip=client_ip(request),
            reveal_channel=RevealChannel.API,
        )
        # The new deal is in hand with its lead (region joined) and program: no events yet.
        prefetch_related_objects([deal], Prefetch("events", queryset=DealEvent.objects.none()))
        client = {name: getattr(lead, name) for name in services.CONTACT_FIELDS}
        return _deal_body(deal, client, code=status.HTTP_201_CREATED)


class DealsApi(APIView):
    """The partner's own deals (no client contacts in the list)."""

    access_rule = DEAL_READERS

    @extend_schema(
        parameters=[OpenApiParameter("open", bool, required=False)],
        responses=DealSerializer(many=True),
        operation_id="deals_list",
    )
    def get(self, request: Request) -> Response:
        open_only = request.query_params.get("open") in {"1", "true", "yes"}
        deals = selectors.deals_of(organisation=organisation_of(request.user), open_only=open_only)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(deals, request, view=self)
        return paginator.get_paginated_response(DealSerializer(page, many=True).data)


def _own_deal(request: Request, pk: int) -> Deal:
    return selectors.deal_get_for_partner(organisation=organisation_of(request.user), pk=pk)


class DealApi(APIView):
    """One deal with the client's contacts (read: a reveal); change its data."""

    access_rule = ByMethod({"GET": DEAL_READERS, "PATCH": DEAL_WRITERS})

    @extend_schema(responses=DealDetailSerializer, operation_id="deal_read")
    def get(self, request: Request, pk: int) -> Response:
        return _deal_response(_own_deal(request, pk), request)

    @extend_schema(
        request=DealUpdateSerializer, responses=DealDetailSerializer, operation_id="deal_update"
    )
    @idempotent
    def patch(self, request: Request, pk: int) -> Response:
        deal = _own_deal(request, pk)
        changes = _valid(DealUpdateSerializer, request.data)
        deal = services.deal_update(deal=deal, by=request.user, **changes)
        return _deal_response(deal, request)


class DealEventsApi(APIView):
    """Add a call, meeting or note to a deal."""

    access_rule = DEAL_WRITERS

    @extend_schema(
        request=EventCreateSerializer,
        responses={201: DealEventSerializer},
        operation_id="deal_event_add",
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        deal = _own_deal(request, pk)
        data = _valid(EventCreateSerializer, request.data)
        event = services.deal_event_add(deal=deal, by=request.user, **data)
        return Response(DealEventSerializer(event).data, status=status.HTTP_201_CREATED)


class DealStageApi(APIView):
    """Move a deal to another open stage."""

    access_rule = DEAL_WRITERS

    @extend_schema(
        request=StageSerializer, responses=DealDetailSerializer, operation_id="deal_stage"
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        deal = _own_deal(request, pk)
        data = _valid(StageSerializer, request.data)
        deal = services.deal_stage_change(deal=deal, stage=data["stage"], by=request.user)
        return _deal_response(deal, request)


class DealWinApi(APIView):
    """Close a deal as won (portal address or licence key required)."""

    access_rule = DEAL_WRITERS

    @extend_schema(request=WinSerializer, responses=DealDetailSerializer, operation_id="deal_win")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        deal = _own_deal(request, pk)
        data = _valid(WinSerializer, request.data)
        deal = services.deal_close_won(deal=deal, by=request.user, **data)
        return _deal_response(deal, request)


class DealLoseApi(APIView):
    """Close a deal as lost (a reason required)."""

    access_rule = DEAL_WRITERS

    @extend_schema(request=LoseSerializer, responses=DealDetailSerializer, operation_id="deal_lose")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        deal = _own_deal(request, pk)
        data = _valid(LoseSerializer, request.data)
        deal = services.deal_close_lost(deal=deal, by=request.user, **data)
        return _deal_response(deal, request)
