"""Error codes of contracts: stable English values of ``ApplicationError.code`` (a transition
not allowed and a stale state are ``core``'s codes)."""

from __future__ import annotations

from enum import StrEnum


class ContractsErrorCode(StrEnum):
    """Why a contract use case was refused."""

    #: A contract asked for a program the partner does not take part in.
    NOT_ENROLLED = "not_enrolled"
    #: The application is already sent: it no longer changes.
    CONTRACT_NOT_EDITABLE = "contract_not_editable"
