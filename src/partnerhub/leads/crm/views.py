"""Our endpoint for the outgoing webhook of the partner's portal (issue 7, part 6: "an outgoing
webhook endpoint of ours with a secret").

The partner pastes ``https://<our host>/hooks/crm/<secret>/`` into its portal's outgoing
webhook for the event "deal updated". The portal posts form data in its usual shape
(``event=ONCRMDEALUPDATE``, ``data[FIELDS][ID]=<its deal id>``, ``auth[...]``). The secret in the
path is the authentication (an unknown or switched-off one is a 404); the ``auth`` fields are
not needed. We answer at once and pull the deal in the background after commit: the payload
carries no stage, and the pull (``crm.deal.get``) reads the truth from the portal anyway, so a
forged call could at most cause a read.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from partnerhub.core.access import PUBLIC, access
from partnerhub.core.errors import NotFound
from partnerhub.leads.crm import selectors, tasks

#: The portal's events that may change a deal's stage.
DEAL_EVENTS = frozenset({"ONCRMDEALUPDATE", "ONCRMDEALADD"})


@csrf_exempt
@require_POST
@access(PUBLIC)
def crm_inbound(request: HttpRequest, secret: str) -> HttpResponse:
    """Queue a pull of the deal the portal says changed; 200 for anything we ignore."""
    try:
        connection = selectors.connection_by_inbound_secret(secret=secret)
    except NotFound as exc:
        raise Http404 from exc
    event = request.POST.get("event", "").strip().upper()
    remote_id = request.POST.get("data[FIELDS][ID]", "").strip()
    if event in DEAL_EVENTS and remote_id.isdigit():
        deal_id = selectors.deal_of_remote(connection=connection, remote_deal_id=remote_id)
        if deal_id is not None:
            transaction.on_commit(lambda: tasks.crm_deal_pull(deal_id))
    return HttpResponse("ok", content_type="text/plain")
