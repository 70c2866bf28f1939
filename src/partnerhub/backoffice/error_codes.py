"""Error codes of the back office's own form checks (Django ``ValidationError.code``)."""

from __future__ import annotations

from enum import StrEnum


class BackofficeErrorCode(StrEnum):
    """Why a back-office form field was refused."""

    #: A line of the client bonus options is not "code: label".
    FORMAT = "format"
    #: A ledger adjustment gives neither points nor bonuses.
    EMPTY = "empty"
    #: An uploaded events file is over the size limit.
    TOO_BIG = "too_big"
