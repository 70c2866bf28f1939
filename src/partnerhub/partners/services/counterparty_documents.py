"""Write use cases of counterparty documents: kinds, uploads, staff review (spec "Contract",
step 1; issue 6). Each function is one transaction; refusals store nothing (no row, no file).
"""

from __future__ import annotations

from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import User
from partnerhub.core import audit, clock, outbox
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.transitions import transition
from partnerhub.partners import uploads
from partnerhub.partners.models import (
    CounterpartyDocument,
    CounterpartyDocumentKind,
    CounterpartyDocumentState,
    DocumentAppliesTo,
    Organisation,
    counterparty_document_path,
)
from partnerhub.partners.services.statuses import _kind_create


def counterparty_document_kind_create(
    *,
    vendor: Organisation,
    code: str,
    name: str,
    description: str = "",
    applies_to: str = DocumentAppliesTo.BOTH,
    required: bool = True,
    position: int = 100,
    by: User | None = None,
) -> CounterpartyDocumentKind:
    """Add a kind of document ``vendor`` asks of its partners for the counterparty check; the
    code is unique in the vendor's catalogue."""
    if applies_to not in DocumentAppliesTo.values:
        raise ValidationFailed(
            _("Проверьте выделенные поля."), fields={"applies_to": [_("Выберите из списка.")]}
        )
    return _kind_create(
        CounterpartyDocumentKind,
        action="partners.counterparty_document_kind.created",
        by=by,
        vendor=vendor,
        code=code,
        name=name,
        description=description.strip(),
        applies_to=applies_to,
        required=required,
        position=position,
    )


def counterparty_document_upload(
    *,
    organisation: Organisation,
    kind: CounterpartyDocumentKind,
    upload: IO[bytes] | None,
    name: str,
    by: User | None = None,
) -> CounterpartyDocument:
    """A partner uploads a file for a kind of counterparty document.

    The file must be a PDF, JPEG or PNG by content (``partners.uploads.sniff``; errors name the
    field ``file``). It is stored under a random name; a current upload of the kind is
    superseded (history kept) and the new one waits for review. On any refusal nothing is
    stored: neither the row nor the file.
    """
    if not kind.is_active or not kind.applies_to_form(organisation.legal_form):
        message = _("Этот документ у вас не запрашивается.")
        raise ValidationFailed(message, fields={"kind": [message]})
    sniffed = uploads.sniff(upload, name=name, field="file")
    stored_name = default_storage.save(
        counterparty_document_path(organisation.pk, sniffed.extension),
        ContentFile(sniffed.content),
    )
    try:
        with transaction.atomic():
            current = (
                CounterpartyDocument.objects.filter(organisation=organisation, kind=kind)
                .exclude(state=CounterpartyDocumentState.SUPERSEDED)
                .first()
            )
            if current is not None:
                transition(
                    current,
                    to=CounterpartyDocumentState.SUPERSEDED,
                    by=by,
                    vendor_id=kind.vendor_id,
                )
            document = CounterpartyDocument.objects.create(
                organisation=organisation,
                kind=kind,
                file=stored_name,
                original_name=sniffed.original_name,
                content_type=sniffed.content_type,
                size=sniffed.size,
                sha256=sniffed.sha256,
                uploaded_by=by,
                uploaded_at=clock.now(),
            )
            audit.record(
                action="partners.counterparty_document.uploaded",
                obj=document,
                vendor_id=kind.vendor_id,
                after={
                    "kind": kind.code,
                    "name": document.original_name,
                    "content_type": document.content_type,
                    "size": document.size,
                    "sha256": document.sha256,
                    "replaces": current.pk if current is not None else None,
                },
                actor=by,
            )
            outbox.emit(
                "partners.counterparty_document.uploaded",
                {"id": document.pk, "kind": kind.code},
                organisation_id=organisation.pk,
                vendor_id=kind.vendor_id,
            )
    except IntegrityError as exc:  # a parallel upload of the same kind won
        default_storage.delete(stored_name)
        raise Conflict(
            _("Документ этого вида только что загружен другим запросом. Обновите страницу."),
            code=CoreErrorCode.STALE_STATE,
        ) from exc
    except BaseException:
        default_storage.delete(stored_name)
        raise
    return document


def counterparty_document_review(
    *,
    document: CounterpartyDocument,
    accept: bool,
    reason: str = "",
    by: User | None = None,
) -> CounterpartyDocument:
    """Staff accept an upload or ask for it again (a reason is required and sent to the partner).
    Goes through ``COUNTERPARTY_DOCUMENT_MACHINE``: a superseded upload or one reviewed by a
    racing request is refused."""
    to = CounterpartyDocumentState.ACCEPTED if accept else CounterpartyDocumentState.ASKED_AGAIN
    return transition(
        document,
        to=to,
        by=by,
        reason=reason,
        vendor_id=document.kind.vendor_id,
        extra={
            "review_reason": reason.strip() if not accept else "",
            "reviewed_by": by,
            "reviewed_at": clock.now(),
        },
    )
