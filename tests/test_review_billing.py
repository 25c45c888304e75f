"""Adversarial review of issue 15's speed changes to `invoice generate` (claim building, the
write lock, the listing): cases the 10,000-encounter benchmark does not hold, each built here.

The practice (tests/invoice_fixtures.py): insured patients with one visit on 2026-06-10
(99213 140.00 + 36415 15.00 = 155.00 a claim), claims numbered by payer code."""

from __future__ import annotations

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.billing import generate as gen


def _practice(conn, n: int) -> None:
    with dbmod.write(conn):
        fx.practice(conn)
        for i in range(n):
            p = fx.patient(conn, f"70{i:02d}")
            fx.coverage(conn, p, "KEY" if i % 2 else "MCD", member=f"M{i:04d}")
            fx.encounter(conn, p, "2026-06-10", [("99213", 14000), ("36415", 1500)], number=f"A{i}")


def _run(conn, out, **kw):
    return gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False, **kw)


def test_an_interrupt_while_the_plan_is_dropped_after_commit_keeps_the_runs_files(
    tmp_path, monkeypatch
):
    """The planned rows are dropped after COMMIT now (issue 15), a moment that takes time on a
    large run: a Ctrl-C there must not delete the committed run's staged 837s (Staged.discard is
    never called after COMMIT), so the next run into the folder puts them in place instead of
    marking them lost."""
    conn = dbmod.connect(tmp_path / "p.db", create=True)
    _practice(conn, 2)
    out = tmp_path / "out"
    real = gen._drop_plan
    raised = []

    def interrupted(c):
        committed = c.execute("SELECT COUNT(*) FROM billing_runs").fetchone()[0]
        if committed and not raised:
            raised.append(True)
            raise KeyboardInterrupt
        real(c)

    monkeypatch.setattr(gen, "_drop_plan", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(conn, out)
    assert raised  # the interrupt came after the run's COMMIT
    monkeypatch.setattr(gen, "_drop_plan", real)
    # run 1 committed C000001 (A1, KEY) and C000002 (A0, MCD), one 837P per payer
    assert conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 2
    again = _run(conn, out)
    states = conn.execute(
        "SELECT state, COUNT(*) FROM billing_run_files WHERE run_id = 1 GROUP BY state"
    ).fetchall()
    assert "lost" not in dict(states), again.notes
    assert sorted(p.name for p in out.glob("837P-*.edi")) == [
        "837P-KEY-000000001.edi",
        "837P-MCD-000000002.edi",
    ]
    conn.close()
