"""Error codes of partners (organisations, card, enrolments, catalogues): stable English values
of ``ApplicationError.code`` and of the card's validation errors."""

from __future__ import annotations

from enum import StrEnum


class PartnersErrorCode(StrEnum):
    """Why a partner use case or a card field was refused."""

    #: A phone number is not 10 to 15 digits with ``+()-`` and spaces.
    PHONE_FORMAT = "phone_format"
    #: The card's legal form is neither a legal entity nor an individual entrepreneur.
    LEGAL_FORM = "legal_form"
    #: A KPP given for an individual entrepreneur, who has none.
    KPP_NOT_FOR_IP = "kpp_not_for_ip"
    #: Status and document kinds seeded for an organisation that is not a vendor.
    NOT_A_VENDOR = "not_a_vendor"
    #: An application to a program that does not accept applications now.
    PROGRAM_CLOSED = "program_closed"
    #: The partner already takes part in the program or has applied.
    ALREADY_ENROLLED = "already_enrolled"
