"""Error codes are one ``StrEnum`` per app (issue 16, item 5; Saleor's ``error_codes.py``).

Every ``ApplicationError`` carries a member of an app's enum, a code string is defined once,
no code is written inline in ``src`` (an AST check, like ``test_architecture``), and the API's
JSON error body carries the plain string, as before the enums.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from enum import StrEnum
from pathlib import Path

from django.test import RequestFactory
from rest_framework.renderers import JSONRenderer

import partnerhub
from partnerhub.core.api import exception_handler, json_or_html_403
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ApplicationError
from partnerhub.leads.error_codes import LeadsErrorCode
from partnerhub.leads.errors import OpenDealCapReached
from partnerhub.payouts.error_codes import PayoutsErrorCode
from partnerhub.payouts.errors import ConversionRefused

SOURCE = Path(partnerhub.__file__).resolve().parent

#: Calls whose ``code=`` is not an error code: the lead marketplace's eligibility conditions
#: and ORM lookups of programs and status kinds by their code (data, not errors).
NOT_ERROR_CODES = {"Condition", "create", "get", "filter", "get_or_create"}


def _enums() -> dict[str, type[StrEnum]]:
    """App name -> its error-code enum, for every ``<app>/error_codes.py``."""
    found: dict[str, type[StrEnum]] = {}
    for path in sorted(SOURCE.glob("*/error_codes.py")):
        app = path.parent.name
        module = importlib.import_module(f"partnerhub.{app}.error_codes")
        enums = [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
        ]
        assert len(enums) == 1, f"{app}/error_codes.py must define one StrEnum"
        found[app] = enums[0]
    return found


def _application_errors() -> list[type[ApplicationError]]:
    for info in pkgutil.walk_packages(partnerhub.__path__, "partnerhub."):
        if ".migrations" in info.name or info.name.endswith((".manage", ".wsgi")):
            continue
        importlib.import_module(info.name)
    found: list[type[ApplicationError]] = []
    pending: list[type[ApplicationError]] = [ApplicationError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.startswith("partnerhub.")]


def test_each_app_names_its_enum_after_itself():
    enums = _enums()
    assert {"core", "leads", "payouts", "contracts", "partners"} <= set(enums)
    for app, enum in enums.items():
        assert enum.__name__ == app.capitalize() + "ErrorCode"


def test_a_code_string_has_one_definition():
    owners: dict[str, list[str]] = {}
    for enum in _enums().values():
        for member in enum:
            owners.setdefault(member.value, []).append(f"{enum.__name__}.{member.name}")
    assert {value: names for value, names in owners.items() if len(names) > 1} == {}


def test_every_member_says_when_it_is_raised():
    undocumented = []
    for path in sorted(SOURCE.glob("*/error_codes.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign):
                        comment = lines[item.lineno - 2].strip()
                        if not comment.startswith("#: ") or len(comment) < 10:
                            undocumented.append(f"{path.parent.name}: line {item.lineno}")
    assert undocumented == []


def test_every_application_error_carries_a_member_of_its_apps_enum():
    enums = _enums()
    wrong = []
    for cls in _application_errors():
        app = cls.__module__.split(".")[1]
        own = enums.get(app, CoreErrorCode)
        if "code" in vars(cls) and not isinstance(cls.code, own | CoreErrorCode):
            wrong.append(f"{cls.__module__}.{cls.__name__}: {cls.code!r}")
    assert wrong == []
    assert OpenDealCapReached.code is LeadsErrorCode.OPEN_DEAL_CAP


def _literal(node: ast.AST | None) -> bool:
    if isinstance(node, ast.IfExp):
        return _literal(node.body) or _literal(node.orelse)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value != ""


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def inline_codes(tree: ast.AST) -> list[int]:
    """Lines of ``tree`` where an error code is a string literal rather than an enum member."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node) not in NOT_ERROR_CODES:
            args = [kw.value for kw in node.keywords if kw.arg in ("code", "default_code")]
            if _callee(node) == "error_body":
                args += node.args[:1]
            lines += [arg.lineno for arg in args if _literal(arg)]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {getattr(t, "id", None) or getattr(t, "attr", None) for t in targets}
            if names & {"code", "default_code"} and _literal(node.value):
                lines.append(node.lineno)
    return lines


def test_inline_code_literals_are_found():
    source = (
        'raise Conflict(_("x"), code="stale_state")\n'
        'class E(ApplicationError):\n    code = "new_code"\n'
        'code = "a" if x else "b"\n'
        'error_body("not_found", message)\n'
        'Condition(code="contract", met=True)\n'
        'raise Conflict(_("x"), code=CoreErrorCode.STALE_STATE)\n'
    )
    assert sorted(inline_codes(ast.parse(source))) == [1, 3, 4, 5]


def test_no_error_code_is_written_inline_in_src():
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts or path.name == "error_codes.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [f"{path.relative_to(SOURCE)}:{line}" for line in inline_codes(tree)]
    assert found == [], "use a member of the app's error_codes enum instead of a string"


def test_every_member_is_used_in_src():
    used = set()
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts or path.name == "error_codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                used.add(f"{node.value.id}.{node.attr}")
    defined = {f"{enum.__name__}.{member.name}" for enum in _enums().values() for member in enum}
    assert sorted(defined - used) == []


def test_the_api_error_body_carries_the_plain_code_string():
    response = exception_handler(OpenDealCapReached("Лимит сделок."), {})
    assert response is not None
    raw = JSONRenderer().render(response.data)
    assert b'"code":"open_deal_cap"' in raw
    body = json.loads(raw)
    assert body["error"]["code"] == "open_deal_cap"
    assert type(body["error"]["code"]) is str


def test_a_code_given_at_raise_reaches_the_body_as_its_string():
    refused = ConversionRefused("Ниже минимума.", code=PayoutsErrorCode.BELOW_MINIMUM)
    response = exception_handler(refused, {})
    assert response is not None
    assert json.loads(JSONRenderer().render(response.data))["error"]["code"] == "below_minimum"


def test_a_django_json_error_carries_the_plain_code_string():
    request = RequestFactory().get("/api/anything/")
    response = json_or_html_403(request, PermissionError())
    assert json.loads(response.content)["error"]["code"] == "permission_denied"
    assert b'"code": "permission_denied"' in response.content
