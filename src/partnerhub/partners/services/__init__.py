"""Write use cases of partners (one module a concern; callers import ``partners.services``)."""

from partnerhub.partners.services.catalogues import vendor_catalogues_seed
from partnerhub.partners.services.counterparty_documents import (
    counterparty_document_kind_create,
    counterparty_document_review,
    counterparty_document_upload,
)
from partnerhub.partners.services.organisations import (
    INN_TAKEN,
    card_update,
    card_values,
    enrolment_apply,
    enrolment_transition,
    partner_join,
)
from partnerhub.partners.services.statuses import (
    status_end,
    status_grant,
    status_kind_create,
)

__all__ = [
    "INN_TAKEN",
    "card_update",
    "card_values",
    "counterparty_document_kind_create",
    "counterparty_document_review",
    "counterparty_document_upload",
    "enrolment_apply",
    "enrolment_transition",
    "partner_join",
    "status_end",
    "status_grant",
    "status_kind_create",
    "vendor_catalogues_seed",
]
