"""``partnerhub referrals replay FILE.jsonl --as-of TIMESTAMP`` (spec: referrals.md, "Replay").

Computes, from the events of the file alone, the standing of every partner as of the given time
and prints one JSON document: partners sorted by code, money as strings with two decimals,
``next_review`` in the offset of the partner's registration event, ``rejected`` with the
1-based line number, the event id (null when unknown) and the reason of each bad line that was
not applied, and ``duplicates`` with the line number and id of each line whose event id an
earlier line already carried (ignored, as the intake ignores a repeated event: not a bad line,
so not a rejection). Blank lines are skipped. ``-`` reads standard input. ``--config
FILE.json`` replays with a configuration document (``config_to_dict`` format, or a list of them
for several versions) instead of the spec's defaults.

It reads no database and imports no Django: the ``partnerhub`` console script runs this module
directly for ``referrals replay`` (see ``partnerhub.manage``), so the program starts in
milliseconds. Exit status: 0 when the document was printed (even with rejected lines), 2 when
the file or the arguments cannot be used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import sys
from typing import IO, Any

import orjson

from partnerhub.referrals.engine import (
    EPOCH,
    ONE_US,
    ConfigError,
    ConfigSet,
    Engine,
    Event,
    EventRejected,
    Rejection,
    Result,
    Standing,
    config_from_dict,
    in_order,
    parse_event,
    parse_timestamp,
)

__all__ = ["document", "main", "replay_stream", "standing_entry"]


def _money(value: Any) -> str:
    return f"{value:.2f}"


def standing_entry(s: Standing) -> dict[str, Any]:
    """One partner's entry of the document (the API's standing has the same fields)."""
    return {
        "partner": s.partner,
        "level": s.level,
        "active_points": s.active_points,
        "points_total": s.points_total,
        "bonus_accrued": _money(s.bonus_accrued),
        "bonus_balance": _money(s.bonus_balance),
        "clients": s.clients,
        "active_clients": s.active_clients,
        "next_review": s.next_review.isoformat(),
    }


def document(
    result: Result,
    *,
    lines: list[int] | None = None,
    first_line: int = 1,
    duplicates: list[tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """The replay document of ``result``. A rejection's line is ``lines[index]`` when given,
    else ``index + first_line`` (``run`` indexes from 0; ``replay_stream`` by line number).
    ``duplicates`` are (line, id) pairs of the lines ignored for a repeated id."""
    partners = [standing_entry(result.partners[code].standing) for code in sorted(result.partners)]
    rejected = [
        {
            "line": lines[r.index] if lines is not None else r.index + first_line,
            "id": r.event_id,
            "reason": r.reason,
        }
        for r in result.rejected
    ]
    return {
        "as_of": result.as_of.isoformat(),
        "partners": partners,
        "rejected": rejected,
        "duplicates": [{"line": line, "id": event_id} for line, event_id in duplicates or ()],
    }


def _configs(path: str | None) -> ConfigSet | None:
    if path is None:
        return None
    with open(path, "rb") as handle:
        doc = orjson.loads(handle.read())
    docs = doc if isinstance(doc, list) else [doc]
    return ConfigSet(tuple(config_from_dict(d) for d in docs))


def replay_stream(
    stream: IO[bytes], *, as_of: dt.datetime, configs: ConfigSet | None = None
) -> dict[str, Any]:
    """The replay document for a JSON Lines stream (events indexed by their line number)."""
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    events: list[Event] = []
    rejected: list[Rejection] = []
    duplicates: list[tuple[int, str]] = []
    seen: set[str] = set()
    limit = (as_of - EPOCH) // ONE_US
    for number, raw in enumerate(stream, start=1):
        try:
            obj = loads(raw)
        except decode_error as exc:
            if raw.strip():
                rejected.append(Rejection(number, None, f"malformed JSON: {exc.msg}"))
            continue
        try:
            event = parse_event(obj, number)
        except EventRejected as error:
            event_id = obj.get("id") if isinstance(obj, dict) else None
            rejected.append(
                Rejection(number, event_id if isinstance(event_id, str) else None, error.reason)
            )
            continue
        if event.id in seen:
            duplicates.append((number, event.id))
            continue
        seen.add(event.id)
        if event.us <= limit:
            events.append(event)
    engine = Engine(configs)
    engine.apply(in_order(events))
    result = engine.result(as_of, history=False, clients=False)
    result.rejected = sorted([*rejected, *result.rejected], key=lambda r: r.index)
    return document(result, lines=None, first_line=0, duplicates=duplicates)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partnerhub referrals replay",
        description="Standing of every partner from a JSON Lines event file (no database).",
    )
    parser.add_argument("file", help="JSON Lines file of events, or - for standard input")
    parser.add_argument("--as-of", required=True, help="ISO 8601 timestamp with a UTC offset")
    parser.add_argument("--config", help="program configuration JSON (default: the spec's)")
    return parser


def main(
    argv: list[str] | None = None, *, stdin: IO[Any] | None = None, stdout: IO[str] | None = None
) -> int:
    """Run the command; returns the exit status."""
    # A replay allocates millions of small objects and frees none until it ends: the cyclic
    # garbage collector would walk them again and again (about a third of the run time).
    gc.disable()
    try:
        return _main(argv, stdin=stdin, stdout=stdout)
    finally:
        gc.enable()


def _main(argv: list[str] | None, *, stdin: IO[Any] | None, stdout: IO[str] | None) -> int:
    out = stdout or sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        as_of = parse_timestamp(args.as_of, "--as-of")
    except EventRejected as exc:
        print(f"partnerhub referrals replay: {exc.reason}", file=sys.stderr)
        return 2
    try:
        configs = _configs(args.config)
    except (OSError, orjson.JSONDecodeError, ConfigError, TypeError, KeyError) as exc:
        print(f"partnerhub referrals replay: cannot use --config: {exc}", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            source = stdin if stdin is not None else sys.stdin.buffer
            doc = replay_stream(_as_bytes(source), as_of=as_of, configs=configs)
        else:
            with open(args.file, "rb") as handle:
                doc = replay_stream(handle, as_of=as_of, configs=configs)
    except OSError as exc:
        print(f"partnerhub referrals replay: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    out.write(orjson.dumps(doc).decode())
    out.write("\n")
    out.flush()
    return 0


def _as_bytes(stream: IO[Any]) -> IO[bytes]:
    """Standard input as bytes (a text stream such as ``io.StringIO`` is encoded)."""
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        return buffer if buffer is not None else io.BytesIO(stream.read().encode())
    return stream
