"""``partnerhub referrals import|verify|recompute|replay``.

- ``import FILE.jsonl`` feeds a JSON Lines file through the intake path the API uses (in
  batches of 1,000; ``-`` reads standard input) and prints the counts and rejected lines; a bad
  line (not JSON, or an event the intake refuses) is reported and the others go on; the exit
  status is 1 when any line was rejected (its message names the first lines).
- ``verify`` replays the stored events and compares with the live standing of every partner
  (and the ledger); exit 1 on any difference.
- ``recompute`` rebuilds every partner's live state from the stored events.
- ``replay FILE --as-of T`` is the pure replay (normally run without Django by the console
  script; here for ``manage.py`` users).
"""

from __future__ import annotations

import sys
from typing import IO, Any, cast

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from partnerhub.core.audit import system_actor
from partnerhub.referrals.engine.replay import main as replay_main
from partnerhub.referrals.models.events import EventSource
from partnerhub.referrals.selectors.standing import program_sole
from partnerhub.referrals.services import intake, live

BATCH = 1_000


class Command(BaseCommand):
    """Import, verify, recompute and replay referral events."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a JSON Lines file of events")
        imp.add_argument("file")
        sub.add_parser("verify", help="compare the live standing with a replay")
        sub.add_parser("recompute", help="rebuild the live state from the stored events")
        rep = sub.add_parser("replay", help="standing from a file alone (no database)")
        rep.add_argument("file")
        rep.add_argument("--as-of", required=True)
        rep.add_argument("--config")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "replay":
            argv = [options["file"], "--as-of", options["as_of"]]
            if options.get("config"):
                argv += ["--config", options["config"]]
            code = replay_main(argv, stdout=cast(IO[str], self.stdout))
            if code:
                raise CommandError("replay failed", returncode=code)
            return
        program = program_sole()
        if program is None:
            raise CommandError("No referral program exists, or several do (one is needed).")
        with system_actor(f"referrals.{action}"):
            if action == "import":
                self._import(program, options["file"])
            elif action == "verify":
                self._verify(program)
            else:
                count = live.recompute(program=program)
                self.stdout.write(f"recomputed {count} partners")

    def _import(self, program: Any, path: str) -> None:
        try:
            handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        accepted = duplicates = waiting = 0
        rejected: list[dict[str, Any]] = []
        objs: list[Any] = []
        lines: list[int] = []

        def flush() -> None:
            nonlocal accepted, duplicates, waiting
            result = intake.events_ingest(program=program, objs=objs, source=EventSource.FILE)
            accepted += result.accepted
            waiting += result.waiting
            duplicates += result.duplicates
            rejected.extend(
                {"line": lines[r["index"]], "id": r["id"], "reason": r["reason"]}
                for r in result.rejected
            )
            objs.clear()
            lines.clear()

        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    objs.append(orjson.loads(raw))
                except orjson.JSONDecodeError as exc:
                    rejected.append(
                        {"line": number, "id": None, "reason": f"malformed JSON: {exc.msg}"}
                    )
                    continue
                lines.append(number)
                if len(objs) >= BATCH:
                    flush()
            if objs:
                flush()
        rejected.sort(key=lambda r: r["line"])
        self.stdout.write(
            orjson.dumps(
                {
                    "accepted": accepted,
                    "waiting": waiting,
                    "duplicates": duplicates,
                    "rejected": rejected,
                }
            ).decode()
        )
        if rejected:
            shown = ", ".join(str(r["line"]) for r in rejected[:10])
            more = f" and {len(rejected) - 10} more" if len(rejected) > 10 else ""
            count = f"{len(rejected)} line{'s' if len(rejected) > 1 else ''}"
            raise CommandError(
                f"{count} rejected (line {shown}{more}); the others were imported",
                returncode=1,
            )

    def _verify(self, program: Any) -> None:
        mismatches = live.verify(program=program)
        for m in mismatches:
            self.stdout.write(f"{m.partner}: {m.field}: live {m.live!r} != replay {m.replay!r}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} differences", returncode=1)
        self.stdout.write("live standing equals the replay of the stored events")
