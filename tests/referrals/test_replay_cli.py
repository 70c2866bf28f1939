"""The replay command (spec referrals.md "Replay"): one JSON document from a JSON Lines file.

`partnerhub referrals replay FILE.jsonl --as-of TIMESTAMP`: partners sorted by code, money as
two-decimal strings, timestamps in the offset of the partner's registration event, `rejected`
with 1-based line numbers, `duplicates` apart (a repeated event id is not a bad line); exit 0
even with rejected lines, 2 when the file cannot be read or the as-of time is bad.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from partnerhub.referrals.engine.replay import main

AS_OF = "2026-06-01T00:00:00+03:00"
PARTNER_KEYS = {
    "partner",
    "level",
    "active_points",
    "points_total",
    "bonus_accrued",
    "bonus_balance",
    "clients",
    "active_clients",
    "next_review",
}


def event(id_: str, type_: str, at: str, **fields) -> str:
    return json.dumps({"id": id_, "type": type_, "at": at, **fields})


# line by line: the numbers in the comments are the file's (1-based) line numbers
LINES = [
    event("e1", "partner.registered", "2026-04-10T09:00:00+03:00", partner="AB12CD"),  # 1
    event("e2", "partner.registered", "2026-03-15T12:00:00+05:00", partner="AA22BB"),  # 2
    "",  # 3: blank, skipped
    event("e4", "client.registered", "2026-04-11T10:00:00+03:00", client="c1.bitrix24.ru",
          referral_code="AB12CD"),  # 4
    event("e5", "client.registered", "2026-04-11T11:00:00+03:00", client="c2.bitrix24.ru",
          referral_code="AB12CD"),  # 5
    event("e6", "client.registered", "2026-04-11T12:00:00+03:00", client="c3.bitrix24.ru",
          referral_code="AB12CD"),  # 6
    event("e7", "payment", "2026-04-12T10:00:00+03:00", client="nobody.bitrix24.ru",
          product="tariff.team", months=3, amount="1000.00"),  # 7: rejected
    event("e8", "client.activity", "2026-04-12T10:00:00+03:00", client="c1.bitrix24.ru",
          users=5),  # 8: +1 point, +100
    event("e9", "client.activity", "2026-04-12T11:00:00+03:00", client="c2.bitrix24.ru",
          users=5),  # 9: +1 point, +100
    event("e10", "payment", "2026-04-20T10:00:00+03:00", client="c2.bitrix24.ru",
          product="tariff.team", months=3, amount="1000.00"),  # 10: +15, level 1, no reward
    event("e11", "payment", "2026-04-21T10:00:00+03:00", client="c3.bitrix24.ru",
          product="users.12", months=3, amount="5500.00"),  # 11: +3, 20 % = 1100.00
    event("e12", "partner.registered", "2026-07-01T09:00:00+03:00", partner="ZZ99ZZ"),  # 12
    "{not json",  # 13: rejected
    "   ",  # 14: blank
]  # fmt: skip

EXPECTED_PARTNERS = [
    {
        "partner": "AA22BB",
        "level": 0,
        "active_points": 0,
        "points_total": 0,
        "bonus_accrued": "0.00",
        "bonus_balance": "0.00",
        "clients": 0,
        "active_clients": 0,
        "next_review": "2026-06-15T12:00:00+05:00",
    },
    {
        "partner": "AB12CD",
        "level": 1,
        "active_points": 20,
        "points_total": 20,
        "bonus_accrued": "1300.00",
        "bonus_balance": "1300.00",
        "clients": 3,
        "active_clients": 2,
        "next_review": "2026-07-10T09:00:00+03:00",
    },
]


def write(tmp_path: Path, lines: list[str], name: str = "events.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def replay(argv: list[str], stdin=None) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, stdout=out, stdin=stdin)
    return code, out.getvalue()


def test_replay_prints_the_standing_of_every_partner_sorted_by_code(tmp_path):
    # given the file above
    path = write(tmp_path, LINES)

    # when replayed as of 1 June
    code, out = replay([str(path), "--as-of", AS_OF])

    # then one JSON document: the as-of time, the partners registered by then, the bad lines
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"as_of", "partners", "rejected", "duplicates"}
    assert doc["as_of"] == AS_OF
    assert doc["partners"] == EXPECTED_PARTNERS
    assert all(set(p) == PARTNER_KEYS for p in doc["partners"])


def test_rejected_lines_carry_1_based_line_numbers_ids_and_reasons(tmp_path):
    path = write(tmp_path, LINES)

    code, out = replay([str(path), "--as-of", AS_OF])

    assert code == 0
    rejected = json.loads(out)["rejected"]
    assert [(r["line"], r["id"]) for r in rejected] == [(7, "e7"), (13, None)]
    assert all(set(r) == {"line", "id", "reason"} for r in rejected)
    assert "unknown client" in rejected[0]["reason"]
    assert rejected[1]["reason"]


def test_a_repeated_event_id_is_listed_under_duplicates_not_rejected(tmp_path):
    # given the file with a payment (line 15) and an activity (line 16) repeating the ids of
    # lines 10 and 8 (a retried delivery), and a repeat of the rejected payment's id (line 17)
    repeats = [
        event("e10", "payment", "2026-04-20T10:00:00+03:00", client="c2.bitrix24.ru",
              product="tariff.team", months=3, amount="1000.00"),  # 15: same event again
        event("e8", "client.activity", "2026-04-13T10:00:00+03:00", client="c1.bitrix24.ru",
              users=9),  # 16: another event under a used id: ignored as well
        event("e7", "payment", "2026-04-12T10:00:00+03:00", client="nobody.bitrix24.ru",
              product="tariff.team", months=3, amount="1000.00"),  # 17
    ]  # fmt: skip
    path = write(tmp_path, LINES + repeats)

    # when replayed
    code, out = replay([str(path), "--as-of", AS_OF])

    # then the repeats are listed apart with their line and id, the bad lines alone are
    # rejected, and the standing is the one without the repeats (20 points, 1,300.00)
    assert code == 0
    doc = json.loads(out)
    assert doc["duplicates"] == [
        {"line": 15, "id": "e10"},
        {"line": 16, "id": "e8"},
        {"line": 17, "id": "e7"},
    ]
    assert [(r["line"], r["id"]) for r in doc["rejected"]] == [(7, "e7"), (13, None)]
    assert doc["partners"] == EXPECTED_PARTNERS


def test_a_line_that_cannot_be_read_does_not_claim_its_id(tmp_path):
    # given a bad payment (no amount) and then a good one under the same id
    bad = event("p1", "payment", "2026-04-20T10:00:00+03:00", client="c2.bitrix24.ru",
                product="tariff.team", months=3)  # fmt: skip
    path = write(tmp_path, [*LINES[:6], bad, LINES[9].replace('"e10"', '"p1"')])

    _, out = replay([str(path), "--as-of", AS_OF])

    # then the first is rejected, the second applied, and neither is a duplicate
    doc = json.loads(out)
    assert doc["duplicates"] == []
    assert [(r["line"], r["id"]) for r in doc["rejected"]] == [(7, "p1")]
    [ab] = [p for p in doc["partners"] if p["partner"] == "AB12CD"]
    assert (ab["level"], ab["points_total"]) == (1, 15)


def test_blank_lines_are_skipped_not_rejected(tmp_path):
    path = write(tmp_path, ["", "  ", LINES[0], "", "\t"])

    code, out = replay([str(path), "--as-of", AS_OF])

    assert code == 0
    doc = json.loads(out)
    assert doc["rejected"] == []
    assert [p["partner"] for p in doc["partners"]] == ["AB12CD"]


def test_a_bad_line_after_blank_lines_keeps_its_physical_line_number(tmp_path):
    bad = event("b", "payment.refunded", "2026-05-01T10:00:00+03:00", payment="nope")
    path = write(tmp_path, [LINES[0], "", "", bad])

    _, out = replay([str(path), "--as-of", AS_OF])

    [rejected] = json.loads(out)["rejected"]
    assert (rejected["line"], rejected["id"]) == (4, "b")


def test_a_last_line_without_a_newline_is_read(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(LINES[0], encoding="utf-8")

    _, out = replay([str(path), "--as-of", AS_OF])

    assert [p["partner"] for p in json.loads(out)["partners"]] == ["AB12CD"]


def test_windows_line_endings_are_accepted(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(("\r\n".join(LINES[:2]) + "\r\n").encode())

    _, out = replay([str(path), "--as-of", AS_OF])

    doc = json.loads(out)
    assert doc["rejected"] == []
    assert [p["partner"] for p in doc["partners"]] == ["AA22BB", "AB12CD"]


def test_an_empty_file_gives_an_empty_document(tmp_path):
    path = write(tmp_path, [])

    code, out = replay([str(path), "--as-of", AS_OF])

    assert code == 0
    assert json.loads(out) == {"as_of": AS_OF, "partners": [], "rejected": [], "duplicates": []}


def test_a_dash_reads_standard_input(tmp_path):
    text = "\n".join(LINES) + "\n"

    code, out = replay(["-", "--as-of", AS_OF], stdin=io.BytesIO(text.encode()))

    assert code == 0
    assert json.loads(out)["partners"] == EXPECTED_PARTNERS


def test_a_dash_reads_a_text_standard_input_too(tmp_path):
    text = "\n".join(LINES) + "\n"

    code, out = replay(["-", "--as-of", AS_OF], stdin=io.StringIO(text))

    assert code == 0
    assert json.loads(out)["partners"] == EXPECTED_PARTNERS


def test_a_file_that_cannot_be_read_exits_2(tmp_path, capsys):
    code, out = replay([str(tmp_path / "missing.jsonl"), "--as-of", AS_OF])

    assert code == 2
    assert out == ""
    assert "missing.jsonl" in capsys.readouterr().err


def test_a_directory_instead_of_a_file_exits_2(tmp_path):
    code, out = replay([str(tmp_path), "--as-of", AS_OF])

    assert code == 2
    assert out == ""


def test_a_bad_as_of_time_exits_2(tmp_path):
    path = write(tmp_path, LINES)

    code, out = replay([str(path), "--as-of", "next tuesday"])

    assert code == 2
    assert out == ""


def test_an_as_of_time_without_an_offset_exits_2(tmp_path):
    path = write(tmp_path, LINES)

    code, out = replay([str(path), "--as-of", "2026-06-01T00:00:00"])

    assert code == 2
    assert out == ""


def test_the_as_of_time_is_required(tmp_path):
    path = write(tmp_path, LINES)

    code, _ = replay([str(path)])

    assert code != 0


def test_the_console_script_prints_the_same_document(tmp_path):
    # given the file, and the installed `partnerhub` command of this environment
    path = write(tmp_path, LINES)
    command = Path(sys.executable).parent / "partnerhub"

    # when run as a process, outside the project directory
    done = subprocess.run(
        [str(command), "referrals", "replay", str(path), "--as-of", AS_OF],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    # then it exits 0 and prints the document of the spec on standard output
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["partners"] == EXPECTED_PARTNERS
    assert [(r["line"], r["id"]) for r in doc["rejected"]] == [(7, "e7"), (13, None)]


def test_the_console_script_exits_2_on_a_missing_file(tmp_path):
    command = Path(sys.executable).parent / "partnerhub"

    done = subprocess.run(
        [str(command), "referrals", "replay", str(tmp_path / "none.jsonl"), "--as-of", AS_OF],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stdout == ""
