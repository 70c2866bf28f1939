"""Benchmark: ``partnerhub referrals replay`` as a whole process beside Python's own ``json.loads``.

Issue 5 "Benchmarks": generate 300,000 realistic events (500 partners, 30,000 clients, two years;
``bench/_referral_events.py``) as a JSON Lines file, then in the same run time

- ``json.loads`` over the file line by line, read and parse, in this process and as a whole
  process (``python -c``, interpreter start-up included);
- the replay command end to end as a whole process,
  ``partnerhub referrals replay FILE --as-of <end of the period> > /dev/null``.

Each time is the best of ``--repeat`` runs (wall clock around ``subprocess.run``), after one
untimed replay whose output is checked (partners, rejected lines). The figure is replay /
whole-process ``json.loads``; the target is at most 4x. The file is cached in the temporary
directory, keyed by the parameters and the generator's source.

Issue 15: replay speed depends on the mix, so two files are measured (``--mixes``), each against
its own ``json.loads``:

- ``default``: the generator's mix (about 13 % payments), in its arrival order (time order,
  2 % late);
- ``payments``: a payment-heavy history, 41 % of the events payments (the generator's payment
  share raised to that), written in shuffled time order (the lines in a random order).

Exit status: 0 when measured (PASS or FAIL is printed; ``--check`` makes a FAIL exit 1), 1 when
the replay command fails.

    python bench/referrals_replay.py [--events 300000] [--partners N] [--clients N] [--days 730]
                                     [--seed 1] [--repeat 3] [--mixes default,payments] [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's directory first on sys.path, where a sibling script named like a
# standard module (bench/calendar.py) would shadow it for everything imported below.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

ROOT = HERE.parent
TARGET_RATIO = 4.0
START = "2024-11-01T00:00:00+03:00"
MIXES = ("default", "payments")
PAYMENT_HEAVY_SHARE = 0.41  # of all the events, in the ``payments`` mix
PARSE_SCRIPT = (
    "import json, sys\n"
    "with open(sys.argv[1], 'rb') as handle:\n"
    "    for line in handle:\n"
    "        json.loads(line)\n"
)


def load_generator() -> ModuleType:
    """``bench/_referral_events.py`` by path (this directory is off ``sys.path``, see above)."""
    spec = importlib.util.spec_from_file_location("_referral_events", HERE / "_referral_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_referral_events"] = module
    spec.loader.exec_module(module)
    return module


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument(
        "--partners", type=int, help="default: 500 for 300,000 events, in proportion otherwise"
    )
    parser.add_argument(
        "--clients", type=int, help="default: 30,000 for 300,000 events, in proportion otherwise"
    )
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; best counts")
    parser.add_argument(
        "--mixes",
        default=",".join(MIXES),
        help="event mixes to measure, separated by commas: default, payments (41 %% payments, "
        "shuffled time order)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    args.mixes = [name.strip() for name in args.mixes.split(",") if name.strip()]
    if not args.mixes or set(args.mixes) - set(MIXES):
        parser.error(f"--mixes: some of {', '.join(MIXES)}")
    return args


def sizes(args: argparse.Namespace, generator: ModuleType) -> tuple[int, int]:
    partners, clients = generator.sizes_for(args.events)
    return args.partners or partners, args.clients or clients


def events_file(generator: ModuleType, params: dict[str, Any], mix: str) -> tuple[Path, str]:
    """The JSON Lines file for ``params`` and ``mix``, generated once and cached under the temp
    dir."""
    source = (HERE / "_referral_events.py").read_bytes()
    if mix != "default":  # written by this script: its source is part of the key
        source += Path(__file__).read_bytes()
    key = {**params, "mix": mix} if mix != "default" else params
    digest = hashlib.sha256(source + json.dumps(key, sort_keys=True).encode()).hexdigest()
    directory = Path(tempfile.gettempdir()) / "ph-bench-referrals"
    directory.mkdir(exist_ok=True)
    name = "events" if mix == "default" else f"events-{mix}"
    path = directory / f"{name}-{params['events']}-{digest[:12]}.jsonl"
    if path.exists():
        return path, "cached"
    started = time.perf_counter()
    partial = path.with_suffix(f".{os.getpid()}.part")
    if mix == "default":
        events = generator.generate(**params)
        generator.write_jsonl(partial, events, seed=params["seed"])
    else:
        write_payment_heavy(generator, params, partial)
    partial.replace(path)
    return path, f"generated in {time.perf_counter() - started:.1f} s"


def write_payment_heavy(generator: ModuleType, params: dict[str, Any], path: Path) -> None:
    """41 % of the events payments (the generator's share of payments among the events after
    the registrations raised to that), the lines in a random order."""
    rest = params["events"] - params["partners"] - params["clients"]
    usual = generator.PAYMENT_SHARE
    generator.PAYMENT_SHARE = min(1.0, PAYMENT_HEAVY_SHARE * params["events"] / rest)
    try:
        events = generator.generate(**params)
    finally:
        generator.PAYMENT_SHARE = usual
    random.Random(params["seed"]).shuffle(events)
    with open(path, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, ensure_ascii=False))
            handle.write("\n")


def best_of(repeat: int, run: Any) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def parse_in_process(path: Path) -> None:
    with open(path, "rb") as handle:
        for line in handle:
            json.loads(line)


def partnerhub_command() -> str:
    """The console script beside this interpreter (``make bench`` runs ``.venv/bin/python``)."""
    beside = Path(sys.executable).with_name("partnerhub")
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "partnerhub")


def replay(command: list[str], stdout: Any) -> None:
    done = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-15:]
        raise ReplayFailed(f"exit status {done.returncode}:\n    " + "\n    ".join(tail))


class ReplayFailed(RuntimeError):
    pass


def check_output(command: list[str]) -> str:
    """One untimed replay (it also warms the disk cache): what it printed, in a line."""
    with tempfile.TemporaryFile() as output:
        replay(command, output)
        output.seek(0)
        document = json.load(output)
    rejected = document.get("rejected", [])
    duplicates = len(document.get("duplicates", []))
    line = (
        f"{len(document.get('partners', [])):,} partners, {len(rejected):,} rejected lines, "
        f"{duplicates:,} duplicates"
    )
    reasons: dict[str, int] = {}
    for item in rejected:
        reasons[item.get("reason", "?")] = reasons.get(item.get("reason", "?"), 0) + 1
    if reasons:
        line += " (" + "; ".join(f"{n} x {reason}" for reason, n in reasons.items()) + ")"
    return line


def measure(
    args: argparse.Namespace, generator: ModuleType, params: dict[str, Any], mix: str
) -> tuple[float, str] | None:
    """Time ``json.loads`` and the replay of the ``mix`` file; the ratio and its verdict (None
    when the replay fails)."""
    as_of = (dt.datetime.fromisoformat(START) + dt.timedelta(days=args.days)).isoformat()
    path, origin = events_file(generator, params, mix)
    size_mb = path.stat().st_size / 1e6
    with open(path, "rb") as handle:
        payments = sum(1 for line in handle if b'"type": "payment"' in line)
    order = "arrival order" if mix == "default" else "shuffled time order"
    print(
        f"== referrals replay, {mix} mix: {args.events:,} events ({params['partners']:,} "
        f"partners, {params['clients']:,} clients, {args.days} days, seed {args.seed}; "
        f"{payments / args.events:.0%} payments, {order}), {size_mb:.1f} MB"
    )
    print(f"file:                     {path} ({origin})")

    parse_command = [sys.executable, "-c", PARSE_SCRIPT, str(path)]
    in_process = best_of(args.repeat, lambda: parse_in_process(path))
    whole = best_of(args.repeat, lambda: subprocess.run(parse_command, check=True))
    print(
        f"json.loads in process:    {in_process:6.2f} s "
        f"(read + parse every line, best of {args.repeat})"
    )
    print(
        f"json.loads whole process: {whole:6.2f} s "
        f"(python -c, start-up included, best of {args.repeat})"
    )

    command = [partnerhub_command(), "referrals", "replay", str(path), "--as-of", as_of]
    try:
        output = check_output(command)
        replay_seconds = best_of(args.repeat, lambda: replay(command, subprocess.DEVNULL))
    except (ReplayFailed, OSError, ValueError) as exc:
        print(f"replay:                   FAILED ({' '.join(command[1:4])} ... --as-of {as_of})")
        print(f"    {exc}")
        return None
    ratio = replay_seconds / whole
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(
        f"replay whole process:     {replay_seconds:6.2f} s "
        f"(partnerhub referrals replay --as-of {as_of} > /dev/null, best of {args.repeat})"
    )
    print(f"replay output:            {output}")
    print(f"events per second:        {args.events / replay_seconds:,.0f} (replay, whole process)")
    print(
        f"ratio:                    replay / json.loads whole process = {ratio:.2f}x "
        f"(target <= {TARGET_RATIO:g}x): {verdict}"
    )
    return ratio, verdict


def main() -> int:
    args = parse_args()
    generator = load_generator()
    partners, clients = sizes(args, generator)
    params = {
        "partners": partners,
        "clients": clients,
        "events": args.events,
        "start": START,
        "days": args.days,
        "seed": args.seed,
    }
    results = {}
    for mix in args.mixes:
        measured = measure(args, generator, params, mix)
        if measured is None:
            return 1
        results[mix] = measured
    if len(results) > 1:
        shown = ", ".join(
            f"{mix} {ratio:.2f}x ({verdict})" for mix, (ratio, verdict) in results.items()
        )
        print(f"== summary: replay / json.loads whole process: {shown}")
    failed = any(verdict == "FAIL" for _, verdict in results.values())
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
