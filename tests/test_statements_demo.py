"""The demo's statement cycle (issue 19): monthly runs with patients at each dunning step, plans
(one missed), a collections hand-off and a recovery; the stated balances agree with the ledger."""

from __future__ import annotations

import datetime as _dt
import json

from billadmin import db as dbmod
from billadmin import money


def test_demo_runs_the_statement_cycle(demo_practice):
    path, stderr = demo_practice
    conn = dbmod.connect(path)
    q = conn.execute
    runs = [r[0] for r in q("SELECT run_on FROM statement_runs ORDER BY run_on")]
    assert len(runs) >= 6 and runs[-1] == "2026-11-26"
    steps = {r[0] for r in q("SELECT DISTINCT step FROM statements")}
    assert {"current", "30", "60", "90", "final", "plan"} <= steps
    from billadmin.statements import plans

    status = [p["status"] for p in plans.report(conn, _dt.date(2026, 11, 26))]
    assert len(status) == 3 and status.count("missed") == 1
    sent, written = q("SELECT COUNT(*), SUM(amount_cents) FROM collection_accounts").fetchone()
    back = q("SELECT SUM(amount_cents) FROM collection_entries WHERE kind = 'recovery'").fetchone()[
        0
    ]
    assert sent >= 1 and 0 < back < written
    # every write-off of a hand-off is a bad-debt clerk write-off in the ledger
    assert not q(
        "SELECT 1 FROM collection_entries e LEFT JOIN clerk_adjustments c"
        " ON c.adjustment_id = e.adjustment_id WHERE e.kind = 'writeoff'"
        " AND (c.reason IS NULL OR c.reason != 'bad-debt')"
    ).fetchone()
    assert "Statements run on each billing day" in stderr and "Collections:" in stderr
    last = path.parent / f"{path.stem}-files" / "statements" / "2026-11-26"
    assert (last / "mail-house-2026-11-26.csv").exists() and list(last.glob("S*.pdf"))
    conn.close()


def test_demo_statements_agree_with_account_show(demo_copy, cli):
    conn = dbmod.connect(demo_copy)
    rows = conn.execute(
        "SELECT p.mrn, s.balance_cents FROM statements s JOIN patients p ON p.id = s.patient_id"
        " WHERE s.stated_on = '2026-11-26' ORDER BY s.id LIMIT 5"
    ).fetchall()
    conn.close()
    for mrn, cents in rows:
        r = cli("--db", demo_copy, "account", "show", mrn, "-f", "json", db=False)
        assert json.loads(r.stdout)["summary"]["patient_owes"] == money.fmt(cents)
