"""State machines: a declarative table of allowed transitions per model and the one function
that performs a transition (house rule 7; issue "State machines").

A stateful model declares a ``StateMachine`` as its ``state_machine`` class attribute, or a module
calls ``register(Model, machine)``. ``transition(obj, to=..., by=..., reason=...)`` then, in one
transaction: checks the move against the table, checks the reason where the target needs one,
saves with a conditional update (``UPDATE ... WHERE pk = ? AND state = <the state we saw>``: if
another request moved the object first, nothing is updated and the caller gets ``stale_state``,
never a lost update, on SQLite and PostgreSQL alike), writes an audit row and emits an outbox
event ``<app>.<model>.<to>`` (or ``<event_prefix>.<to>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit, outbox
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import Conflict, ValidationFailed

ModelT = TypeVar("ModelT", bound=models.Model)


@dataclass(frozen=True)
class StateMachine:
    """Allowed moves of one state field: ``transitions`` maps each state to the states it may go
    to (a final state maps to an empty set); moving into a state of ``reason_required`` needs a
    reason; events are named ``<event_prefix>.<to>`` (default ``<app_label>.<model_name>``)."""

    field: str
    transitions: Mapping[str, frozenset[str]]
    reason_required: frozenset[str] = frozenset()
    event_prefix: str | None = None

    def __post_init__(self) -> None:
        states = set(self.transitions)
        unknown = {t for targets in self.transitions.values() for t in targets} - states
        unknown |= set(self.reason_required) - states
        if unknown:
            raise ValueError(f"states {sorted(unknown)} are not declared in the table")

    @property
    def states(self) -> frozenset[str]:
        """Every state of the table."""
        return frozenset(self.transitions)

    def targets(self, state: str) -> frozenset[str]:
        """The states ``state`` may move to."""
        return self.transitions.get(state, frozenset())

    def allows(self, src: str, dst: str) -> bool:
        """True when the table allows the move ``src`` → ``dst``."""
        return dst in self.targets(src)


_REGISTRY: dict[type[models.Model], StateMachine] = {}


def register(model: type[models.Model], machine: StateMachine) -> StateMachine | None:
    """Declare the machine of ``model`` (overrides a ``state_machine`` attribute); returns the
    machine registered before, if any."""
    model._meta.get_field(machine.field)  # fails early on a misspelt field
    previous = _REGISTRY.get(model)
    _REGISTRY[model] = machine
    return previous


def unregister(model: type[models.Model]) -> None:
    """Forget a registration made with ``register`` (the class attribute stays)."""
    _REGISTRY.pop(model, None)


def machine_for(model: type[models.Model]) -> StateMachine:
    """The machine of ``model``: a registration, else its ``state_machine`` class attribute."""
    concrete = model._meta.concrete_model or model
    for candidate in (model, concrete):
        if candidate in _REGISTRY:
            return _REGISTRY[candidate]
    machine = getattr(model, "state_machine", None)
    if isinstance(machine, StateMachine):
        return machine
    raise ImproperlyConfigured(f"{model.__name__} declares no state machine")


def state_label(model: type[models.Model], field_name: str, state: str) -> str:
    """The label of ``state`` from the field's choices (the code itself when it has none)."""
    choices = dict(getattr(model._meta.get_field(field_name), "flatchoices", None) or [])
    return str(choices.get(state, state))


def transition(
    obj: ModelT,
    *,
    to: str,
    by: Any = None,
    reason: str = "",
    extra: Mapping[str, Any] | None = None,
    vendor_id: int | None = None,
) -> ModelT:
    """Move ``obj`` to state ``to``; ``extra`` fields are written by the same update.

    Raises ``Conflict`` ``transition_not_allowed`` when the table forbids the move from the state
    ``obj`` holds, ``ValidationFailed`` (field ``reason``) when the target needs a reason, and
    ``Conflict`` ``stale_state`` when the row is no longer in that state (another request won).
    ``by`` is the actor for the audit row (default: the current request or system task).
    ``vendor_id`` marks the audit row and the event with the vendor whose programs ``obj``
    concerns (default: ``audit.vendor_of(obj)``, its own or its program's vendor).
    """
    model = type(obj)
    machine = machine_for(model)
    current = getattr(obj, machine.field)
    if not machine.allows(current, to):
        labels = {
            "src": state_label(model, machine.field, current),
            "dst": state_label(model, machine.field, to),
        }
        raise Conflict(
            _("Из состояния «%(src)s» нельзя перейти в «%(dst)s».") % labels,
            code=CoreErrorCode.TRANSITION_NOT_ALLOWED,
        )
    reason = reason.strip()
    if to in machine.reason_required and not reason:
        raise ValidationFailed(_("Укажите причину."), fields={"reason": [_("Обязательное поле.")]})
    event_type = f"{machine.event_prefix or _default_prefix(model)}.{to}"
    with transaction.atomic():
        vendor_id = vendor_id if vendor_id is not None else audit.vendor_of(obj)
        updated = model._default_manager.filter(pk=obj.pk, **{machine.field: current}).update(
            **{machine.field: to}, **dict(extra or {})
        )
        if updated != 1:
            raise Conflict(
                _("Состояние уже изменено другим запросом."), code=CoreErrorCode.STALE_STATE
            )
        audit.record(
            action=event_type,
            obj=obj,
            before={"state": current},
            after={"state": to, "reason": reason},
            actor=by,
            vendor_id=vendor_id,
        )
        owner = getattr(obj, "organisation_id", None)
        outbox.emit(
            event_type,
            {"id": _json_id(obj.pk), "from": current, "to": to, "reason": reason},
            organisation_id=owner if isinstance(owner, int) else None,
            vendor_id=vendor_id,
        )
    obj.refresh_from_db()
    return obj


def _default_prefix(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _json_id(pk: Any) -> Any:
    return pk if isinstance(pk, int) else str(pk)
