"""Collections (issue 19): the list after a final notice, the hand-off written off to bad debt
through the write-off API with the agency's layout, and recoveries posted back (numbers by
hand); bad input refused with nothing written."""

from __future__ import annotations

import csv
import json

import ledger_fixtures as lf
import pytest

from billadmin import db as dbmod


@pytest.fixture
def overdue(db, cli, tmp_path):
    """0000401: P 100.00 issued 07-01 and P 60.00 issued 08-01 (final notice on 11-01, 123
    days). 0000402: P 80.00 issued 07-01, final notice, then a hold. 0000403: P 50.00 issued
    10-01 (31 days on 11-01: the 30-day step). After the notices 0000401 gets a P 30.00 on 11-15."""
    with dbmod.write(db):
        lf.practice(db)
        a = lf.patient(db, "0000401")
        lf.patient_invoice(db, a, "2026-07-01", [("2026-06-30", "99214", 10000)])
        lf.patient_invoice(db, a, "2026-08-01", [("2026-07-30", "99213", 6000)])
        b = lf.patient(db, "0000402")
        lf.patient_invoice(db, b, "2026-07-01", [("2026-06-30", "99214", 8000)])
        c = lf.patient(db, "0000403")
        lf.patient_invoice(db, c, "2026-10-01", [("2026-09-30", "99213", 5000)])
    r = cli("statement", "run", "--date", "2026-11-01", "--out", tmp_path / "s", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert {s["mrn"]: s["step"] for s in json.loads(r.stdout)} == {
        "0000401": "final",
        "0000402": "final",
        "0000403": "30",
    }
    assert cli("statement", "hold", "0000402", "--reason", "bankruptcy").exit_code == 0
    with dbmod.write(db):  # a visit after the final notice: not what the notice stated
        lf.patient_invoice(db, a, "2026-11-15", [("2026-11-14", "99212", 3000)])


def _list(cli, on):
    r = cli("collections", "list", "--date", on, "-f", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _counts(db):
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("collection_accounts", "collection_entries", "adjustments", "payments")
    )


LAYOUT = """[columns]
"Acct" = "account"
"Debtor Last" = "last_name"
"Amount Owed" = "amount"
"Placed" = "sent_on"
"""


def test_list_waits_for_the_final_notice_days(cli, overdue):
    assert _list(cli, "2026-11-20") == []  # 19 days after the final notice: not yet
    (row,) = _list(cli, "2026-12-01")  # 30 days: the hold keeps 0000402 off, 0000403 had none
    # owes 190.00; what the final notice stated (100.00 + 60.00) goes to the agency
    assert (row["mrn"], row["final_notice_on"], row["balance"], row["to_write_off"]) == (
        "0000401",
        "2026-11-01",
        "190.00",
        "160.00",
    )


def test_send_writes_off_and_exports_in_the_agency_layout(cli, overdue, db, tmp_path):
    (tmp_path / "k.toml").write_text(LAYOUT)
    out = tmp_path / "agency.csv"
    r = cli(
        "collections", "send", "--agency", "Keystone Recovery", "--out", out,
        "--layout", tmp_path / "k.toml", "--date", "2026-12-01", "-f", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    (sent,) = json.loads(r.stdout)
    assert (sent["mrn"], sent["written_off"]) == ("0000401", "160.00")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [
        {
            "Acct": "0000401",
            "Debtor Last": "Sample",
            "Amount Owed": "160.00",
            "Placed": "2026-12-01",
        }
    ]
    assert out.stat().st_mode & 0o077 == 0
    # two bad-debt write-offs (100.00 and 60.00) through the clerk write-off ledger
    wo = db.execute(
        "SELECT d.amount_cents, c.reason FROM adjustments d JOIN clerk_adjustments c"
        " ON c.adjustment_id = d.id ORDER BY d.id"
    ).fetchall()
    assert wo == [(10000, "bad-debt"), (6000, "bad-debt")]
    acct = json.loads(cli("account", "show", "0000401", "-f", "json").stdout)
    assert acct["summary"]["patient_owes"] == "30.00"  # the 11-15 visit stays with the practice
    assert sorted(i["status"] for i in acct["invoices"]) == ["issued", "written_off", "written_off"]
    assert _list(cli, "2026-12-02") == []
    r = cli("statement", "run", "--date", "2027-01-01", "--out", tmp_path / "j", "-f", "json")
    s = {s["mrn"]: s for s in json.loads(r.stdout)}["0000401"]
    assert (s["balance"], s["step"]) == ("30.00", "30")  # 11-15 to 01-01: 47 days
    assert cli("check").exit_code == 0


def test_recovery_posted_back(cli, overdue, db, tmp_path):
    args = ("--agency", "K", "--out", tmp_path / "a.csv", "--date", "2026-12-01")
    assert cli("collections", "send", *args).exit_code == 0
    r = cli(
        "collections", "recover", "0000401", "120.00", "--method", "check",
        "--reference", "5521", "--date", "2027-01-15", "-f", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    rec = json.loads(r.stdout)
    # oldest write-off first: the 100.00 one whole, 20.00 of the 60.00 one; 40.00 stays written off
    assert (rec["recovered"], rec["left"]) == ("120.00", "40.00")
    bal = {
        i["invoice"]: (i["paid"], i["adjusted"], i["balance"])
        for i in json.loads(cli("account", "show", "0000401", "-f", "json").stdout)["invoices"]
    }
    assert sorted(bal.values()) == [
        ("0.00", "0.00", "30.00"),  # the 11-15 invoice, not sent
        ("100.00", "0.00", "0.00"),
        ("20.00", "40.00", "0.00"),
    ]
    before = _counts(db)
    r = cli("collections", "recover", "0000401", "50.00", "--method", "check")
    assert r.exit_code == 2 and "more than the 40.00 written off and not yet recovered" in r.stderr
    r = cli("collections", "recover", "0000403", "5.00", "--method", "check")
    assert r.exit_code == 2 and "never sent to collections" in r.stderr
    assert _counts(db) == before
    assert cli("check").exit_code == 0


def test_bad_layout_or_patient_refused_nothing_written(cli, overdue, db, tmp_path):
    before = _counts(db)
    (tmp_path / "bad.toml").write_text('[columns]\n"SSN" = "ssn"\n')
    r = cli(
        "collections", "send", "--agency", "K", "--out", tmp_path / "a.csv",
        "--layout", tmp_path / "bad.toml", "--date", "2026-12-01",
    )  # fmt: skip
    assert r.exit_code == 2 and "unknown field 'ssn'" in r.stderr
    r = cli(
        "collections", "send", "0000403", "--agency", "K", "--out", tmp_path / "a.csv",
        "--date", "2026-12-01",
    )  # fmt: skip
    assert r.exit_code == 2 and "not on the collections list" in r.stderr
    assert _counts(db) == before and not (tmp_path / "a.csv").exists()
