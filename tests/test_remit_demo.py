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


def test_simulated_crossovers_post_to_the_same_claim(db, tmp_path):
    """A dual eligible's Medicare claims (Medicaid secondary): Medicare's 835 forwards some
    (CLP02 19, MA07, NM1*TT) and not the others (MA19 or no remark: routed to the next payer);
    in a later window the crossover payer answers each forwarded claim on the same claim (CLP02
    2, OA-23 the prior payer's impact), which closes it, and no balance is reduced twice."""
    from test_remit_support import ensure_party

    from billadmin import db as dbmod

    with dbmod.write(db):
        mcr, patient = ensure_party(db, payer_code="MCR", payer_x12="15202", kind="medicare")
        mcd, _ = ensure_party(db, payer_code="MCD", payer_x12="OHMCD", kind="medicaid")
        for payer, priority in ((mcr, 1), (mcd, 2)):
            db.execute(
                "INSERT INTO coverages (patient_id, payer_id, member_id, priority, effective_from)"
                " VALUES (?, ?, ?, ?, '2026-01-01')",
                (patient, payer, f"M{priority}", priority),
            )
        db.execute(
            "INSERT INTO practice (id, name, npi, tax_id, address1, city, state, zip,"
            " submitter_id) VALUES (1, 'Test Practice', '1234567893', '812345678', '1 Main',"
            " 'Columbus', 'OH', '43215', 'TP01')"
        )
    for i in range(1, 41):
        issue_claim(
            db,
            f"C{i:06d}",
            [("99213", "", "140.00"), ("36415", "", "15.00")],
            payer_code="MCR",
            payer_x12="15202",
            issued_on="2026-05-01",
        )
    practice = {"name": "Test Practice", "npi": "1234567893", "submitter_id": "TP01"}
    first = demo.answer_window(
        db, tmp_path / "r1", _dt.date(2026, 5, 1), _dt.date(2026, 6, 30), practice
    )
    assert not post.import_files(db, first["files"]).already_posted
    counts = first["counts"]
    crossed = {
        r[0]: r[1]
        for r in db.execute(
            "SELECT x.invoice_id, c.remarks FROM cob_crossovers x"
            " JOIN remit_claims c ON c.id = x.remit_claim_id"
        )
    }
    assert len(crossed) == counts["crossover"] > 0 and counts["not_forwarded"] > 0
    assert all("MA07" in remarks.split(",") for remarks in crossed.values())
    routed = db.execute(
        "SELECT COUNT(DISTINCT prior_invoice_id) FROM cob_routes WHERE rule = 'COB-NEXT-PAYER'"
    ).fetchone()[0]
    assert routed == counts["not_forwarded"]
    # the crossover payer answers in the next window, once per forwarded claim
    second = demo.answer_window(
        db, tmp_path / "r2", _dt.date(2026, 6, 30), _dt.date(2026, 8, 31), practice
    )
    assert second["counts"]["crossover_answered"] == len(crossed)
    for f in second["files"]:
        rf = parse.parse_file(f)
        assert rf.errors == [] and not [
            d for d in balance.check_file(rf) if d.severity == "error"
        ], f.name
    post.import_files(db, second["files"])
    answered = db.execute(
        "SELECT c.invoice_id, c.status_code FROM remit_claims c JOIN remit_transactions t"
        " ON t.id = c.transaction_id WHERE t.payer_id = ?",
        (mcd,),
    ).fetchall()
    assert sorted(answered) == sorted((i, "2") for i in crossed)
    for invoice_id in crossed:
        assert (
            db.execute(
                "SELECT total_cents + credited_cents - paid_cents - adjusted_cents"
                " FROM invoice_balances WHERE invoice_id = ?",
                (invoice_id,),
            ).fetchone()[0]
            == 0
        )
    assert integrity.run_checks(db) == []
