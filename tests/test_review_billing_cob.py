"""Adversarial review of issue 15 (tests/test_review_billing.py), the next-payer and institutional
claims of a run: their invoice_runs rows are planned in phase (a) now, with the names of the
files planned there (_plan_marks), no longer taken from what X12Run.record gives under the lock.

The practice is tests/test_generate_twophase.py's `two_kinds`: run 1 billed C000001 (KEY, Cora)
and C000002 (MCR, Ann's outpatient HO1); both answered by 835s; Bob's HO2 imported since."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_generate_twophase import _run, two_kinds  # noqa: F401  (the fixture)

from billadmin.billing import generate as gen


@pytest.mark.parametrize("way", ["planned", "row by row"])
def test_next_payer_and_institutional_claims_are_recorded_with_their_own_files(
    two_kinds,  # noqa: F811
    tmp_path,
    monkeypatch,
    way,
):
    """Run 2 sends the next-payer 837P to BVH (C000003), the next-payer 837I to MCD (C000004)
    and Bob's new outpatient 837I to MCR (C000005): each invoice_runs row names the file its
    invoice_files row and its 'sent' event name, planned or row by row."""
    db = two_kinds
    if way == "row by row":
        monkeypatch.setattr(gen, "_plan_marks", lambda conn, result, plan: None)
    res = _run(db, tmp_path / "r2")
    runs = db.execute(
        "SELECT i.number, r.run_id, r.file FROM invoice_runs r JOIN invoices i ON i.id = r.invoice_id"
        " WHERE r.run_id = 2 ORDER BY i.number"
    ).fetchall()
    files = {
        n: Path(p).name
        for n, p in db.execute(
            "SELECT i.number, f.path FROM invoice_files f JOIN invoices i ON i.id = f.invoice_id"
            " WHERE f.run_id = 2 AND f.kind = 'x12'"
        )
    }
    sent = dict(
        db.execute(
            "SELECT i.number, e.note FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
            " WHERE e.status = 'sent' AND i.number > 'C000002'"
        ).fetchall()
    )
    assert [(n, run, f.split("-")[:2]) for n, run, f in runs] == [
        ("C000003", 2, ["837P", "BVH"]),
        ("C000004", 2, ["837I", "MCD"]),
        ("C000005", 2, ["837I", "MCR"]),
    ]
    assert {n: f for n, _, f in runs} == files == sent
    assert {r["number"]: r["file"] for r in res.issued} == files
    assert db.execute("SELECT issued FROM billing_runs WHERE id = 2").fetchone() == (3,)
