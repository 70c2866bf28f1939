"""Error codes of ``core`` (Saleor's ``error_codes.py`` is the model): the stable English codes
of the API's JSON error body, of ``ApplicationError`` and of our Django validators.

A code is the API's contract: a value never changes. A code shared by several apps (a stale
state, a transition not allowed, a required field) is defined here once and used by them all;
a code of one domain lives in its app's ``error_codes.py``.
"""

from __future__ import annotations

from enum import StrEnum


class CoreErrorCode(StrEnum):
    """Codes of the shared primitives and of the API's own answers."""

    #: An ``ApplicationError`` raised without a code of its own.
    APPLICATION_ERROR = "application_error"
    #: Input failed validation (``ValidationFailed``, a form or serializer, a Django validator).
    INVALID = "invalid"
    #: A required field is empty (Django's own code, used by our forms and services too).
    REQUIRED = "required"
    #: The object or URL does not exist or is not visible to whoever asks.
    NOT_FOUND = "not_found"
    #: The request conflicts with the current state (``Conflict`` without a code of its own).
    CONFLICT = "conflict"
    #: The API request carries no (valid) credentials.
    NOT_AUTHENTICATED = "not_authenticated"
    #: The user's role does not allow the action.
    PERMISSION_DENIED = "permission_denied"
    #: The database connection was lost: retry after ``Retry-After`` seconds.
    SERVICE_UNAVAILABLE = "service_unavailable"
    #: An unexpected error of the server (500).
    SERVER_ERROR = "server_error"
    #: An exception DRF answered that is none of the kinds above (not expected to happen).
    ERROR = "error"
    #: A request Django refused as malformed (too many fields, a disallowed host...).
    BAD_REQUEST = "bad_request"
    #: The path or a parameter has a NUL or is not UTF-8.
    INVALID_CHARACTERS = "invalid_characters"
    #: The body is over the size (or the referral batch over the count) limit.
    PAYLOAD_TOO_LARGE = "payload_too_large"
    #: The ``Idempotency-Key`` header is empty or too long.
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    #: The first request with this ``Idempotency-Key`` is still running.
    IDEMPOTENCY_KEY_IN_PROGRESS = "idempotency_key_in_progress"
    #: The ``Idempotency-Key`` was already used with a different request.
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    #: The state machine does not allow this transition from the current state.
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    #: Another request changed the object first (its conditional update matched no row).
    STALE_STATE = "stale_state"
    #: The business calendar has no row for the day: its year is not filled in yet.
    CALENDAR_DAY_UNKNOWN = "calendar_day_unknown"
    #: A text has a NUL or a lone surrogate that the database cannot store.
    UNSTORABLE_TEXT = "unstorable_text"
    #: A date's year is outside the accepted range.
    YEAR_OUT_OF_RANGE = "year_out_of_range"
    #: Debits and credits of a ledger transaction differ (or it has fewer than two lines).
    UNBALANCED_TRANSACTION = "unbalanced_transaction"
    #: A ledger line's amount is missing, on both sides, not positive or finer than a kopeck.
    INVALID_ENTRY = "invalid_entry"
    #: Amounts or ledger accounts in different currencies were combined.
    CURRENCY_MISMATCH = "currency_mismatch"
    #: A posting would take a ledger account past its minimum or maximum balance.
    LIMIT_EXCEEDED = "limit_exceeded"
    #: An outgoing HTTP call to an address the SSRF guard does not call.
    DESTINATION_REFUSED = "destination_refused"
    #: A money field received a float.
    FLOAT_REFUSED = "float_refused"
    #: A money amount has more than two decimal places.
    TOO_MANY_DECIMALS = "too_many_decimals"
    #: A requisite (INN, KPP, OGRN, BIK, account) has characters other than digits.
    NOT_DIGITS = "not_digits"
    #: A requisite consists of zeros only.
    ALL_ZEROS = "all_zeros"
    #: An INN is neither 10 (organisation) nor 12 (individual) digits long, as its form needs.
    INN_LENGTH = "inn_length"
    #: An INN's check digits do not match.
    INN_CHECKSUM = "inn_checksum"
    #: A KPP is not 9 characters long.
    KPP_LENGTH = "kpp_length"
    #: A KPP does not have the format of four digits, two digits or letters, three digits.
    KPP_FORMAT = "kpp_format"
    #: An OGRN is not 13 digits long.
    OGRN_LENGTH = "ogrn_length"
    #: An OGRN does not start with 1 or 5.
    OGRN_FORMAT = "ogrn_format"
    #: An OGRN's check digit does not match.
    OGRN_CHECKSUM = "ogrn_checksum"
    #: An OGRNIP is not 15 digits long.
    OGRNIP_LENGTH = "ogrnip_length"
    #: An OGRNIP does not start with 3.
    OGRNIP_FORMAT = "ogrnip_format"
    #: An OGRNIP's check digit does not match.
    OGRNIP_CHECKSUM = "ogrnip_checksum"
    #: A BIK is not 9 digits long.
    BIK_LENGTH = "bik_length"
    #: A BIK does not start with "04".
    BIK_FORMAT = "bik_format"
    #: An account cannot be checked because the bank's BIK is invalid.
    BIK_INVALID = "bik_invalid"
    #: A settlement account is not 20 digits long.
    ACCOUNT_LENGTH = "account_length"
    #: A settlement account's control key does not match the bank's BIK.
    ACCOUNT_CHECKSUM = "account_checksum"
    #: A correspondent account is not 20 digits long.
    CORR_ACCOUNT_LENGTH = "corr_account_length"
    #: A correspondent account does not start with "30101".
    CORR_ACCOUNT_FORMAT = "corr_account_format"
    #: A correspondent account does not end with the last three digits of the BIK.
    CORR_ACCOUNT_BIK_MISMATCH = "corr_account_bik_mismatch"
    #: A correspondent account's control key does not match the BIK.
    CORR_ACCOUNT_CHECKSUM = "corr_account_checksum"
