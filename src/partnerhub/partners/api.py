"""HTTP API of partners: the current organisation and its card."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.core.access import AUTHENTICATED, ByMethod, partner
from partnerhub.core.api import BuiltFieldsCache
from partnerhub.core.idempotency import idempotent
from partnerhub.partners import card, selectors, services
from partnerhub.partners.models import Organisation


class CompletenessSerializer(serializers.Serializer):
    """Card completeness."""

    is_complete = serializers.BooleanField()
    percent = serializers.IntegerField()
    missing = serializers.ListField(child=serializers.CharField())
    invalid = serializers.ListField(child=serializers.CharField())


class OrganisationSerializer(BuiltFieldsCache, serializers.ModelSerializer):
    """The organisation the caller acts for."""

    class Meta:
        model = Organisation
        fields = ["id", "kind", "legal_form", "short_name", "full_name", "inn", "created_at"]


class CardSerializer(serializers.ModelSerializer):
    """Every field of the partner card; writes are validated by the card rules in the service."""

    class Meta:
        model = Organisation
        fields = list(card.CARD_FIELDS)
        extra_kwargs = {name: {"required": False, "validators": []} for name in card.CARD_FIELDS}


class CardReadSerializer(CardSerializer):
    """The card with its completeness."""

    completeness = serializers.SerializerMethodField()

    class Meta(CardSerializer.Meta):
        fields = [*card.CARD_FIELDS, "completeness"]

    @extend_schema(responses=CompletenessSerializer)
    def get_completeness(self, obj: Organisation) -> dict[str, Any]:
        result = selectors.card_completeness(organisation=obj)
        return {
            "is_complete": result.is_complete,
            "percent": result.percent,
            "missing": list(result.missing),
            "invalid": list(result.invalid),
        }


class CurrentOrganisationApi(APIView):
    """The organisation of the user or API token that calls."""

    access_rule = AUTHENTICATED

    @extend_schema(responses=OrganisationSerializer, operation_id="organisation_current")
    def get(self, request: Request) -> Response:
        return Response(OrganisationSerializer(organisation_of(request.user)).data)


class CardApi(APIView):
    """Read or change the partner card (owner and accountant change it)."""

    access_rule = ByMethod({"GET": partner(), "PATCH": partner("owner", "accountant")})

    @extend_schema(responses=CardReadSerializer, operation_id="card_read")
    def get(self, request: Request) -> Response:
        return Response(CardReadSerializer(organisation_of(request.user)).data)

    @extend_schema(request=CardSerializer, responses=CardReadSerializer, operation_id="card_update")
    @idempotent
    def patch(self, request: Request) -> Response:
        org = organisation_of(request.user)
        serializer = CardSerializer(org, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.card_update(
            organisation=org,
            changes=serializer.validated_data,
            changed_by=person_of(request.user),
            actor_label=str(request.user),
            source="api",
        )
        return Response(CardReadSerializer(org).data)
