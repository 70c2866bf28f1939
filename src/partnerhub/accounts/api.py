"""HTTP API of identity: the organisation's employees and invitations."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from partnerhub.accounts import selectors, services
from partnerhub.accounts.models import Invitation, User
from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.accounts.roles import Role
from partnerhub.core.access import ByMethod, partner
from partnerhub.core.idempotency import idempotent


class EmployeeSerializer(serializers.ModelSerializer):
    """An employee of the organisation."""

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "is_active", "date_joined"]


class InviteSerializer(serializers.Serializer):
    """An invitation request."""

    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    """A sent invitation."""

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "created_at", "expires_at"]


class EmployeesApi(APIView):
    """List the organisation's employees; the owner invites new ones by email."""

    access_rule = ByMethod({"GET": partner(), "POST": partner("owner")})

    @extend_schema(responses=EmployeeSerializer(many=True), operation_id="employees_list")
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        qs = selectors.employees_of(organisation=organisation_of(request.user))
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(EmployeeSerializer(page, many=True).data)

    @extend_schema(
        request=InviteSerializer,
        responses={201: InvitationSerializer},
        operation_id="employees_invite",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, _raw = services.invitation_create(
            organisation=organisation_of(request.user),
            invited_by=person_of(request.user),
            **serializer.validated_data,
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)
