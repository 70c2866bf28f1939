"""DRF side of the one permission layer (``core.access``): checks a view's declared rule.

Kept apart from ``core.api`` because DRF imports permission classes while ``rest_framework.views``
is still loading.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import BasePermission

from partnerhub.core.access import Decision, declared_rule, principal_of, rule_for

if TYPE_CHECKING:
    from rest_framework.request import Request

logger = logging.getLogger(__name__)


class AccessPermission(BasePermission):
    """DRF side of the same layer: checks the view's ``access_rule`` against the principal."""

    def has_permission(self, request: Request, view: Any) -> bool:
        declared = declared_rule(view)
        if declared is None:
            logger.error("API view %r declares no access rule; refused", view)
            return False
        rule = rule_for(view, request.method or "GET")
        if rule is None:
            raise MethodNotAllowed(request.method or "")
        decision = rule.decide(principal_of(request.user))
        if decision is Decision.LOGIN_REQUIRED:
            # DRF answers 401 when the request is not authenticated and 403 otherwise.
            return False
        return decision is Decision.ALLOW
