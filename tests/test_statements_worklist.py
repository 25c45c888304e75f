"""Follow-up (issue 19): notes and claims with a follow-up date and an owner, and the worklist
(`note list --due`) across follow-ups, denials, payment plans and collections."""

from __future__ import annotations

import json

import ledger_fixtures as lf
import pytest

from billadmin import db as dbmod


@pytest.fixture
def desk(db, cli):
    """0000501 owes 300.00 (P issued 10-01) on a plan from 11-15 (missed by 12-06); claim C1
    to KEY denied CO-50 on 08-10 (appeal deadline 12-08)."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000501")
        p = lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
        lf.coverage(db, pid, "KEY")
        eid, _ = lf.encounter(db, pid, "2026-07-20", [("93000", 5000)])
        c1 = lf.claim(db, eid, "KEY", "2026-07-21")
        lf.remit(db, c1, "2026-08-10", adjustments=[("CO", "50", 5000)])
        numbers = {
            k: db.execute("SELECT number FROM invoices WHERE id = ?", (v,)).fetchone()[0]
            for k, v in (("p", p), ("c1", c1))
        }
    r = cli(
        "plan", "create", "0000501", "--monthly", "50", "--day", "15", "--start", "2026-11-01",
        "--date", "2026-11-01",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return numbers


def _due(cli, *extra):
    r = cli("note", "list", "--due", "--date", "2026-12-06", "-f", "json", *extra)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_worklist_across_sources(cli, desk):
    c1 = desk["c1"]
    r = cli(
        "note", "add", c1, "Call KEY about CO-50", "--follow-up", "2026-12-05", "--owner", "ann"
    )
    assert r.exit_code == 0, r.stderr
    assert cli("note", "add", "0000501", "Later", "--follow-up", "2026-12-20").exit_code == 0
    rows = _due(cli)
    got = [(x["kind"], x["invoice"], x["owner"]) for x in rows]
    assert ("follow-up", c1, "ann") in got
    assert ("denial", c1, None) in got
    assert ("plan", "PP000001", None) in got
    assert all(x["due_on"] <= "2026-12-20" for x in rows) and len(rows) == 3
    plan = next(x for x in rows if x["kind"] == "plan")
    # the 11-15 installment is missed (its grace ended 11-25); the 12-15 one is not due yet
    assert plan["what"] == "installment missed: 50.00 to collect"
    mine = _due(cli, "--owner", "ann")
    assert [(x["kind"], x["what"]) for x in mine] == [("follow-up", "note 1: Call KEY about CO-50")]


def test_followup_done_and_bad_input(cli, desk, db):
    assert cli("note", "add", desk["p"], "x", "--follow-up", "2026-12-01").exit_code == 0
    assert cli("note", "done", "1", "--date", "2026-12-06").exit_code == 0
    assert not [x for x in _due(cli) if x["kind"] == "follow-up"]
    r = cli("note", "done", "1")
    assert r.exit_code == 2 and "already done on 2026-12-06" in r.stderr
    n = db.execute("SELECT COUNT(*) FROM account_notes").fetchone()[0]
    r = cli("note", "add", "0000501", "x", "--owner", "ann")
    assert r.exit_code == 2 and "--owner goes with --follow-up" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM account_notes").fetchone()[0] == n
