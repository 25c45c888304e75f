"""Payment plans (issue 19): installments, payments, due/missed/completed (numbers by hand),
plan statements instead of dunning, and bad input refused with nothing written."""

from __future__ import annotations

import json

import ledger_fixtures as lf
import pytest

from billadmin import db as dbmod


@pytest.fixture
def owes(db):
    """Patient 0000301 owes 300.00 on a patient invoice issued 2026-10-01."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000301")
        lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
        lf.patient(db, "0000302")
    return pid


def _counts(db):
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("payment_plans", "plan_events", "plan_payments", "payments")
    )


def _create(cli, *extra):
    return cli(
        "plan", "create", "0000301", "--monthly", "100.00", "--day", "15",
        "--start", "2026-11-01", "--date", "2026-11-01", "-f", "json", *extra,
    )  # fmt: skip


def _pay(cli, amount, on, mrn="0000301"):
    return cli("plan", "pay", mrn, amount, "--method", "card", "--date", on, "-f", "json")


def _report(cli, on, *extra):
    r = cli("plan", "list", "--date", on, "-f", "json", *extra)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_plan_installments_and_payments(cli, owes, db):
    r = _create(cli)
    assert r.exit_code == 0, r.stderr
    p = json.loads(r.stdout)
    # the whole 300.00 at 100.00 a month on the 15th: 11-15, 12-15, 01-15
    assert (p["plan"], p["total"], p["installments"], p["next_due_on"], p["next_due"]) == (
        "PP000001",
        "300.00",
        3,
        "2026-11-15",
        "100.00",
    )
    r = _pay(cli, "100.00", "2026-11-14")
    assert r.exit_code == 0, r.stderr
    p = json.loads(r.stdout)
    assert (p["status"], p["paid"], p["left"], p["next_due_on"], p["next_due"]) == (
        "current",
        "100.00",
        "200.00",
        "2026-12-15",
        "100.00",
    )
    # the payment is an ordinary patient payment on the invoice: 300.00 - 100.00
    r = cli("account", "show", "0000301", "-f", "json")
    assert json.loads(r.stdout)["summary"]["patient_owes"] == "200.00"
    # 12-10: the 12-15 installment is due within 7 days
    assert [x["status"] for x in _report(cli, "2026-12-10")] == ["due"]
    # 12-30: 12-15 + 10 days of grace passed, 100.00 missed; 100.00 due now
    (m,) = _report(cli, "2026-12-30", "--status", "missed")
    assert (m["missed"], m["next_due_on"], m["next_due"]) == ("100.00", "2026-12-15", "100.00")
    assert _pay(cli, "100.00", "2027-01-02").exit_code == 0
    r = _pay(cli, "100.00", "2027-01-10")
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "completed"
    assert [x["plan"] for x in _report(cli, "2027-01-10", "--status", "completed")] == ["PP000001"]
    assert (
        json.loads(cli("account", "show", "0000301", "-f", "json").stdout)["summary"][
            "patient_owes"
        ]
        == "0.00"
    )


def test_payment_to_a_closed_plan_is_refused(cli, owes, db):
    assert _create(cli, "--total", "100.00").exit_code == 0
    assert _pay(cli, "100.00", "2026-11-15").exit_code == 0
    before = _counts(db)
    r = _pay(cli, "10.00", "2026-11-20")
    assert r.exit_code == 2 and "PP000001 is closed" in r.stderr
    assert _counts(db) == before
    r = _pay(cli, "10.00", "2026-11-20", mrn="0000302")
    assert r.exit_code == 2 and "no payment plan" in r.stderr
    assert _counts(db) == before


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--total", "400.00"), "more than the balance 300.00 (100.00 too much)"),
        (("--total", "50.00"), "--monthly 100.00 is more than the total 50.00"),
        (("--total", "0"), "the total must be more than 0.00"),
    ],
)
def test_bad_plans_are_refused(cli, owes, db, extra, message):
    r = _create(cli, *extra)
    assert r.exit_code == 2 and message in r.stderr, r.stderr
    assert _counts(db) == (0, 0, 0, 0)


def test_one_open_plan_and_overpayment_refused(cli, owes, db):
    assert _create(cli, "--total", "200.00").exit_code == 0
    r = _create(cli, "--total", "100.00")
    assert r.exit_code == 2 and "already has open plan PP000001" in r.stderr
    before = _counts(db)
    r = _pay(cli, "250.00", "2026-11-15")
    assert r.exit_code == 2 and "more than the 200.00 left on it" in r.stderr
    assert _counts(db) == before
    r = cli("plan", "create", "0000301", "--monthly", "10", "--day", "30", "--start", "2026-11-01")
    assert r.exit_code == 2 and "--day" in r.stderr


def test_plan_statement_instead_of_dunning(cli, owes, db, tmp_path):
    assert _create(cli).exit_code == 0
    r = cli("statement", "run", "--date", "2026-12-01", "--out", tmp_path, "-f", "json")
    assert r.exit_code == 0, r.stderr
    (s,) = json.loads(r.stdout)
    # 61 days old would be the 60-day step; on a plan it is a plan statement asking for the
    # 11-15 installment (unpaid: 11-15 + 10 days of grace is before 12-01, missed) and the 12-15
    assert (s["step"], s["balance"], s["amount_due"], s["pay_by"]) == (
        "plan",
        "300.00",
        "200.00",
        "2026-12-15",
    )
    from pypdf import PdfReader

    text = PdfReader(tmp_path / s["file"]).pages[0].extract_text()
    assert "payment plan" in text and "Missed installments: 100.00" in text


def test_cancelled_plan_goes_back_to_dunning(cli, owes, tmp_path):
    assert _create(cli).exit_code == 0
    assert cli("plan", "cancel", "PP000001", "--reason", "stopped paying").exit_code == 0
    assert cli("plan", "cancel", "PP000001").exit_code == 2
    r = cli("statement", "run", "--date", "2026-12-01", "--out", tmp_path, "-f", "json")
    (s,) = json.loads(r.stdout)
    assert (s["step"], s["amount_due"]) == ("60", "300.00")


def test_plan_statement_asks_for_what_the_plan_does_not_cover(cli, owes, db, tmp_path):
    assert _create(cli).exit_code == 0  # 300.00: 100.00 on 11-15, 12-15 and 01-15
    with dbmod.write(db):  # a visit after the plan was set up: not on the plan
        lf.patient_invoice(db, owes, "2026-11-20", [("2026-11-19", "99212", 4000)])
    r = cli("statement", "run", "--date", "2026-12-01", "--out", tmp_path / "a", "-f", "json")
    (s,) = json.loads(r.stdout)
    # 340.00 owed less the 01-15 installment not due yet: 11-15 + 12-15 + the new 40.00
    assert (s["balance"], s["amount_due"], s["pay_by"]) == ("340.00", "240.00", "2026-12-15")
    r = cli("statement", "run", "--date", "2027-02-01", "--out", tmp_path / "b", "-f", "json")
    (s,) = json.loads(r.stdout)
    # every installment past: all of it, by the usual 30 days
    assert (s["amount_due"], s["pay_by"]) == ("340.00", "2027-03-03")
