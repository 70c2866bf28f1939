"""House rules of the source tree that a linter does not check (issue 16).

No import inside a function to dodge an import cycle: a module imports what it needs at its
top, and a cycle is broken by moving code (or by registering in ``AppConfig.ready``), not by
hiding an import in a function where import-linter and readers do not see it. The imports
inside functions that remain are listed below, each with its reason: a new one fails this test,
and so does an entry whose import is gone (the list only shrinks). The last cycle dodges went
in issue 16 (notification rules registered by each app, the outbox's waker named in
``CoreConfig.ready``, demo data in an app of its own).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "partnerhub"

#: Imports inside functions that are not cycle dodges: (file, imported module) -> why.
ALLOWED: dict[tuple[str, str], str] = {
    ("manage.py", "django.core.management"): "the entry point sets Django up first",
    ("manage.py", "partnerhub.referrals.engine.replay"): "the replay command runs without Django",
    ("core/pdf.py", "weasyprint"): "WeasyPrint takes a second to import: only when rendering",
    ("core/pdf.py", "weasyprint.text.fonts"): "WeasyPrint: only when rendering",
    ("core/access.py", "django.contrib.auth.views"): "needs the app registry (the user model)",
    ("referrals/services/bulk.py", "psycopg"): "the PostgreSQL driver, absent on SQLite setups",
    ("leads/services/imports.py", "openpyxl"): "only for an XLSX upload",
    ("leads/services/imports.py", "openpyxl.utils.exceptions"): "only for an XLSX upload",
    ("referrals/apps.py", "partnerhub.referrals"): "AppConfig.ready registers the handlers",
    ("notifications/apps.py", "partnerhub.notifications"): "AppConfig.ready registers the rules",
    ("leads/apps.py", "partnerhub.leads"): "AppConfig.ready registers the handlers",
    ("leads/apps.py", "partnerhub.leads.crm"): "AppConfig.ready registers the handlers",
    ("webhooks/apps.py", "partnerhub.webhooks"): "AppConfig.ready registers the handlers",
    ("core/apps.py", "partnerhub.core"): "AppConfig.ready names the outbox's delivery task",
    ("contracts/apps.py", "partnerhub.contracts"): "AppConfig.ready registers the rules",
    ("payouts/apps.py", "partnerhub.payouts"): "AppConfig.ready registers the rules",
}


def imports_inside_functions() -> set[tuple[str, str]]:
    """(file under ``src/partnerhub``, imported module) of every import inside a function."""
    found: set[tuple[str, str]] = set()
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom):
                    module = "." * inner.level + (inner.module or "")
                elif isinstance(inner, ast.Import):
                    module = inner.names[0].name
                else:
                    continue
                found.add((path.relative_to(SOURCE).as_posix(), module))
    return found


def test_no_new_import_hides_in_a_function():
    found = imports_inside_functions()
    unexplained = sorted(found - set(ALLOWED))
    assert unexplained == [], (
        "imports inside functions: move them to the top of the module (break a cycle by "
        "moving code), or explain one that is not a cycle dodge in ALLOWED"
    )


def test_the_lists_of_allowed_imports_only_shrink():
    found = imports_inside_functions()
    assert sorted(set(ALLOWED) - found) == [], "gone: remove them from the lists"


def test_the_check_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    # given a module with an import in a function body
    module = tmp_path / "partnerhub" / "sample.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from partnerhub.core import clock\n    return clock\n")
    monkeypatch.setattr(sys.modules[__name__], "SOURCE", module.parent)
    # then the check names it
    assert imports_inside_functions() == {("sample.py", "partnerhub.core")}
