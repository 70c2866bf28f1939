"""A small stateful fake of the partner's CRM REST (the vendor's product, Bitrix24-like), served
by pytest-httpserver on 127.0.0.1 (issue 7 part 6: "test against a local fake of the CRM's REST
that also fails and times out").

It keeps categories (pipelines), deal user fields, contacts and deals in dicts and answers the
methods our sync uses, in the portal's shapes: ``{"result": ...}`` or ``{"error": "CODE",
"error_description": "..."}``. It can be told to fail the Nth call of a method: with HTTP 500,
with ``QUERY_LIMIT_EXCEEDED`` (HTTP 503), or by answering only after the client has given up
(held until the test ends) *after* it has done the work (the case that duplicates deals in a
naive client).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

WEBHOOK_PATH = "/rest/1/s3cr3tt0ken0123/"
METHOD_PATH = re.compile(r"^/rest/1/s3cr3tt0ken0123/(?P<method>[a-z0-9_.]+)\.json$")


@dataclass
class Fault:
    """Fail call number ``on_call`` (1-based, counted per method) of ``method``."""

    method: str
    kind: str  # "500", "limit", "timeout", "auth"
    on_call: int = 1


@dataclass
class FakeCrm:
    """The portal's state and the request handler."""

    categories: dict[int, dict[str, Any]] = field(default_factory=dict)
    userfields: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    webhook_url: str = ""
    faults: list[Fault] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _next_id: int = 100
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Set when the test ends: the answers of "timeout" faults are held until then.
    released: threading.Event = field(default_factory=threading.Event)

    # --- what a test tells the fake --------------------------------------------------------

    def fail(self, method: str, kind: str, *, on_call: int = 1) -> None:
        """Make the ``on_call``-th call of ``method`` fail the way ``kind`` says."""
        self.faults.append(Fault(method=method, kind=kind, on_call=on_call))

    def add_category(self, name: str) -> int:
        """A pipeline the partner already has."""
        with self._lock:
            category_id = self._new_id()
            self.categories[category_id] = {"id": category_id, "name": name, "entityTypeId": 2}
        return category_id

    def move(self, deal_id: int | str, stage_id: str, **fields: Any) -> None:
        """The partner moves a deal in its CRM (and may fill fields, e.g. the portal)."""
        deal = self.deals[int(deal_id)]
        deal["STAGE_ID"] = stage_id
        deal.update(fields)

    def forget_calls(self) -> None:
        """Start counting calls afresh (faults count from here)."""
        with self._lock:
            self.calls.clear()
            self._counts.clear()

    def methods(self) -> list[str]:
        """Methods called so far, in order."""
        return [method for method, _ in self.calls]

    # --- the HTTP side ---------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        match = METHOD_PATH.match(request.path)
        if match is None:
            return _json({"error": "NO_AUTH_FOUND", "error_description": "Wrong webhook"}, 401)
        method = match["method"]
        params = json.loads(request.get_data() or b"{}")
        with self._lock:
            self.calls.append((method, params))
            self._counts[method] = self._counts.get(method, 0) + 1
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.method == method and f.on_call == self._counts[method]
                ),
                None,
            )
        if fault is not None and fault.kind == "500":
            return Response("<h1>Internal Server Error</h1>", status=500)
        if fault is not None and fault.kind == "limit":
            return _json(
                {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}, 503
            )
        if fault is not None and fault.kind == "auth":
            return _json(
                {
                    "error": "INVALID_CREDENTIALS",
                    "error_description": "Invalid request credentials",
                },
                401,
            )
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return _json(
                {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}, 404
            )
        with self._lock:
            answer = handler(params)
        if fault is not None and fault.kind == "timeout":
            # the work is done; the answer comes after the client's timeout, however long the
            # client takes to notice (a generous bound only keeps a broken test from hanging)
            self.released.wait(timeout=120)
        return _json(answer, 200)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- the methods -----------------------------------------------------------------------

    def m_profile(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"result": {"ID": "1", "ADMIN": True, "NAME": "Партнёр"}}

    def m_crm_category_list(self, params: dict[str, Any]) -> dict[str, Any]:
        if int(params.get("entityTypeId", 0)) != 2:
            return {"error": "NOT_FOUND", "error_description": "Smart process not found"}
        items = sorted(self.categories.values(), key=lambda c: c["id"])
        return {"result": {"categories": items}, "total": len(items)}

    def m_crm_category_add(self, params: dict[str, Any]) -> dict[str, Any]:
        name = (params.get("fields") or {}).get("name", "")
        category_id = self._new_id()
        self.categories[category_id] = {"id": category_id, "name": name, "entityTypeId": 2}
        return {"result": {"category": self.categories[category_id]}}

    def m_crm_deal_userfield_list(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = (params.get("filter") or {}).get("FIELD_NAME")
        items = [f for f in self.userfields.values() if wanted in (None, f["FIELD_NAME"])]
        return {"result": items, "total": len(items)}

    def m_crm_deal_userfield_add(self, params: dict[str, Any]) -> dict[str, Any]:
        fields = params.get("fields") or {}
        name = fields.get("FIELD_NAME", "")
        if not name.startswith("UF_CRM_"):
            name = f"UF_CRM_{name}"
        field_id = self._new_id()
        self.userfields[field_id] = {"ID": str(field_id), **fields, "FIELD_NAME": name}
        return {"result": field_id}

    def m_crm_contact_add(self, params: dict[str, Any]) -> dict[str, Any]:
        contact_id = self._new_id()
        self.contacts[contact_id] = {"ID": str(contact_id), **(params.get("fields") or {})}
        return {"result": contact_id}

    def m_crm_contact_list(self, params: dict[str, Any]) -> dict[str, Any]:
        items = _filtered(self.contacts.values(), params.get("filter") or {})
        return {"result": items, "total": len(items)}

    def m_crm_deal_add(self, params: dict[str, Any]) -> dict[str, Any]:
        fields = dict(params.get("fields") or {})
        deal_id = self._new_id()
        category = str(fields.get("CATEGORY_ID", "0"))
        fields.setdefault("STAGE_ID", f"C{category}:NEW" if category != "0" else "NEW")
        self.deals[deal_id] = {"ID": str(deal_id), **{k: _text(v) for k, v in fields.items()}}
        return {"result": deal_id}

    def m_crm_deal_list(self, params: dict[str, Any]) -> dict[str, Any]:
        items = _filtered(self.deals.values(), params.get("filter") or {})
        select = params.get("select")
        if select:
            items = [{k: v for k, v in item.items() if k in {*select, "ID"}} for item in items]
        return {"result": items, "total": len(items)}

    def m_crm_deal_get(self, params: dict[str, Any]) -> dict[str, Any]:
        deal = self.deals.get(int(params.get("id") or 0))
        if deal is None:
            return {"error": "NOT_FOUND", "error_description": "Not found"}
        return {"result": dict(deal)}

    def m_crm_deal_update(self, params: dict[str, Any]) -> dict[str, Any]:
        deal = self.deals.get(int(params.get("id") or 0))
        if deal is None:
            return {"error": "NOT_FOUND", "error_description": "Not found"}
        deal.update({k: _text(v) for k, v in (params.get("fields") or {}).items()})
        return {"result": True}


def _text(value: Any) -> Any:
    """The portal answers scalar fields as strings."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _filtered(items: Any, conditions: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        dict(item)
        for item in items
        if all(str(item.get(key, "")) == str(value) for key, value in conditions.items())
    ]


def _json(body: dict[str, Any], status: int) -> Response:
    status = 400 if status == 200 and "error" in body else status
    return Response(json.dumps(body), status=status, content_type="application/json")
