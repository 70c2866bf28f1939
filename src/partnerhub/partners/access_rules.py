"""Who may do what with partner statuses and counterparty documents (issue 6), in one place for
the cabinet and back-office views and the blocks they embed in other pages."""

from __future__ import annotations

from partnerhub.core.access import partner, vendor

#: Staff who grant and end statuses and add kinds of status.
STATUS_EDITORS = vendor("program_manager", "administrator")
#: Partner users who upload counterparty documents.
DOCUMENT_UPLOADERS = partner("owner", "accountant")
#: Staff who see partners' counterparty documents (the accountant reads, does not review).
DOCUMENT_VIEWERS = vendor("program_manager", "administrator", "accountant")
#: Staff who accept a document or ask for it again, and add kinds of document.
DOCUMENT_REVIEWERS = vendor("program_manager", "administrator")
