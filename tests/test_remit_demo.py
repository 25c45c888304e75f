"""The demo's payer simulation: its 835s parse and balance, import with paid, short, denied,
reversed and unmatched claims, and the deposit file carries the planted differences."""

from __future__ import annotations

import datetime as _dt

from test_remit_support import issue_claim

from billadmin import integrity
from billadmin.demo import remits as demo
from billadmin.reconcile import remits as rec
from billadmin.reconcile.reports import Side
from billadmin.remit import balance, parse, post


def test_simulated_remittances_import_and_reconcile(db, tmp_path):
    for i in range(1, 61):
        issue_claim(
            db,
            f"C{i:06d}",
            [("99213", "", "140.00"), ("36415", "", "15.00")],
            payer_code="KEY" if i % 3 else "SUM",
            payer_x12="KEY77" if i % 3 else "SUM12",
            issued_on="2026-05-01",
        )
    db.execute(
        "INSERT INTO practice (id, name, npi, tax_id, address1, city, state, zip, submitter_id)"
        " VALUES (1, 'Test Practice', '1234567893', '812345678', '1 Main', 'Columbus', 'OH', '43215', 'TP01')"
    )
    practice = {"name": "Test Practice", "npi": "1234567893", "submitter_id": "TP01"}
    # every claim is answered 12-40 days after 2026-05-01 (the window covers them all)
    sim = demo.answer_window(
        db, tmp_path / "remits", _dt.date(2026, 5, 1), _dt.date(2026, 6, 30), practice, extras=True
    )
    deposits = demo.write_deposits(tmp_path / "remits" / "bank-deposits.csv", sim["payments"])
    counts = sim["counts"]
    assert (
        counts["paid"] > 30
        and counts["denied"] >= 1
        and counts.get("reversed") == 1
        and counts["unmatched"] == 1
    )
    for f in sim["files"]:
        rf = parse.parse_file(f)
        assert (
            rf.errors == [] and [d for d in balance.check_file(rf) if d.severity == "error"] == []
        ), f.name
    res = post.import_files(db, sim["files"])
    outcomes = {c.outcome for c in res.claims}
    assert {"paid", "denied", "reversed", "unmatched"} <= outcomes
    assert not res.already_posted
    assert integrity.run_checks(db) == []
    side = Side("deposits", deposits, ["EFT Trace"], "Credit")
    r = rec.reconcile_remits(db, as_of=_dt.date(2026, 8, 15), deposit_side=side)
    cats = {}
    for row in r.rows:
        cats[row["category"]] = cats.get(row["category"], 0) + 1
    assert (
        cats["deposit_amount_differs"] == 1 and cats["only_in_835"] == 1
    )  # the newest 835 is not deposited yet
    assert cats["unknown_claim"] == 1 and cats["denied"] == counts["denied"]
    assert cats.get("unpaid", 0) == counts.get("none", 0)
