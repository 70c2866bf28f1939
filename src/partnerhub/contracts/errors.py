"""Stable error codes of contracts (``ApplicationError.code``)."""

NOT_ENROLLED = "not_enrolled"
CONTRACT_NOT_EDITABLE = "contract_not_editable"
TRANSITION_NOT_ALLOWED = "transition_not_allowed"
STALE_STATE = "stale_state"
