"""Issue 20: the authorization register (auth add/list/expiring/require, import auths), its
visits counted from the charges, and bad input answered with file, row and column, exit 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.auths.rules import CodeListError, matches, parse_codes


@pytest.fixture
def practice_db(db):
    with dbmod.write(db):
        fx.practice(db)
        p = fx.patient(db, "0001", "Jane", "Smith")
        fx.coverage(db, p, "BVH", member="BVH0001")
    return db


def _therapy(db, dates: list[str], code: str = "97110") -> None:
    with dbmod.write(db):
        pid = db.execute("SELECT id FROM patients WHERE mrn = '0001'").fetchone()[0]
        for d in dates:
            fx.encounter(db, pid, d, [(code, 6000)], dx=("M54.50",))


def _add(cli, *extra):
    return cli(
        "auth",
        "add",
        "--payer",
        "BVH",
        "--mrn",
        "0001",
        "--number",
        "PA100",
        "--codes",
        "97110-97140",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-30",
        "--visits",
        "3",
        *extra,
    )


def test_code_lists():
    assert parse_codes(" 97110, 97112-97140 ,j* ") == "97110,97112-97140,J*"
    assert matches("97110,97112-97140,J*", "97130")
    assert matches("97110,97112-97140,J*", "J1030")
    assert not matches("97112-97140", "97141") and not matches("97112-97140", "9711")
    for bad in ("", "97140-97110", "971-97140", "97 110;"):
        with pytest.raises(CodeListError):
            parse_codes(bad)


def test_add_then_list_counts_visits_from_the_charges(practice_db, cli):
    _therapy(practice_db, ["2026-05-30", "2026-06-03", "2026-06-10"])  # the first is before
    _therapy(practice_db, ["2026-06-12"], code="99213")  # not an authorized code
    r = _add(cli, "--used", "1", "--format", "json")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["number"] == "PA100" and row["codes"] == "97110-97140"
    # 1 used before the register + 2 visits of the codes inside the dates = 3 of 3
    assert (row["visits_allowed"], row["visits_used"], row["visits_left"]) == (3, 3, 0)
    r = cli("auth", "list", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["visits_left"] == 0
    n = practice_db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('auth add', 'auth list')"
    ).fetchone()[0]
    assert n == 2


def test_add_refuses_bad_options_writing_nothing(practice_db, cli):
    r = cli(
        "auth",
        "add",
        "--payer",
        "NOPE",
        "--mrn",
        "0001",
        "--number",
        "X",
        "--codes",
        "97110",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-30",
    )
    assert r.exit_code == 2 and "--payer NOPE" in r.stderr
    r = _add(cli, "--used", "-1")
    assert r.exit_code == 2 and "--used" in r.stderr
    r = cli(
        "auth",
        "add",
        "--payer",
        "BVH",
        "--mrn",
        "0001",
        "--number",
        "A*B",
        "--codes",
        "97110",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-30",
    )
    assert r.exit_code == 2 and "--number" in r.stderr
    assert practice_db.execute("SELECT COUNT(*) FROM authorizations").fetchone()[0] == 0
    assert _add(cli).exit_code == 0
    r = _add(cli)
    assert r.exit_code == 2 and "already recorded" in r.stderr


def test_expiring_lists_what_ends_soon_or_is_nearly_used_up(practice_db, cli):
    _therapy(practice_db, ["2026-06-03", "2026-06-10"])
    assert _add(cli).exit_code == 0  # 3 visits, 2 used: 1 left; ends 2026-06-30
    r = cli("auth", "expiring", "--as-of", "2026-06-12", "--days", "7", "--format", "json")
    assert r.exit_code == 1  # listed: 1 visit left (<= 2)
    [row] = json.loads(r.stdout)
    assert row["why"] == "1 visit(s) left"
    r = cli("auth", "expiring", "--as-of", "2026-06-25", "--visits-left", "0", "--format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)[0]["why"] == "ends in 5 days"
    r = cli("auth", "expiring", "--as-of", "2026-06-12", "--days", "7", "--visits-left", "0")
    assert r.exit_code == 0  # 18 days to go, 1 visit left
    r = cli("auth", "expiring", "--as-of", "2026-07-01")
    assert r.exit_code == 0  # no longer in force: not listed


def test_require_records_a_payer_rule(practice_db, cli):
    r = cli("auth", "require", "auth", "--payer", "BVH", "--codes", "97110-97546")
    assert r.exit_code == 0, r.stderr
    r = cli("auth", "requirements", "--format", "json")
    rows = json.loads(r.stdout)
    assert {
        "payer": "BVH",
        "requirement": "auth",
        "codes": "97110-97546",
        "source": "recorded",
    } in rows
    assert any(x["source"] == "built-in" and x["requirement"] == "ndc" for x in rows)
    r = cli("auth", "require", "visa", "--payer", "BVH", "--codes", "97110")
    assert r.exit_code == 2


def _file(path: Path, rows: list[list]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Payer Code",
                "MRN",
                "Authorization Number",
                "Codes",
                "Valid From",
                "Valid To",
                "Visits Allowed",
            ]
        )
        w.writerows(rows)
    return path


def test_import_auths(practice_db, cli, tmp_path):
    f = _file(
        tmp_path / "auths.csv",
        [["BVH", "0001", "PA1", "97110,97140", "2026-06-01", "2026-08-31", "12"]],
    )
    r = cli("import", "auths", f)
    assert r.exit_code == 0, r.stderr
    row = practice_db.execute(
        "SELECT number, kind, codes, valid_to, visits_allowed, visits_used_before FROM authorizations"
    ).fetchone()
    assert row == ("PA1", "prior_auth", "97110,97140", "2026-08-31", 12, 0)
    assert cli("import", "auths", f).exit_code == 0  # again: unchanged
    assert practice_db.execute("SELECT COUNT(*) FROM authorizations").fetchone()[0] == 1


def test_an_authorization_for_an_unknown_payer_names_file_row_and_column(
    practice_db, cli, tmp_path
):
    f = _file(
        tmp_path / "auths.csv",
        [
            ["BVH", "0001", "PA1", "97110", "2026-06-01", "2026-08-31", "12"],
            ["NOPE", "0001", "PA2", "97110", "2026-06-01", "2026-08-31", "12"],
        ],
    )
    r = cli("import", "auths", f)
    assert r.exit_code == 2
    assert "auths.csv" in r.stderr and "row 3" in r.stderr and "'Payer Code'" in r.stderr
    assert "no payer with this code" in r.stderr
    assert practice_db.execute("SELECT COUNT(*) FROM authorizations").fetchone()[0] == 0


def test_visits_count_only_days_covered_by_the_authorizing_payer(practice_db, cli):
    db = practice_db
    with dbmod.write(db):
        db.execute("UPDATE coverages SET effective_to = '2026-06-15'")
        pid = db.execute("SELECT id FROM patients WHERE mrn = '0001'").fetchone()[0]
        fx.coverage(db, pid, "KEY", member="K0001", eff_from="2026-06-16")
    _therapy(db, ["2026-06-03", "2026-06-10", "2026-06-20"])  # the last one billed to KEY
    r = _add(cli, "--format", "json")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert (row["visits_used"], row["visits_left"]) == (2, 1)
