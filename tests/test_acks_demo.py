"""The demo's acknowledgements (billadmin/demo/acks.py): the clearinghouse's 999s and 277CAs
for the last billing run pass pyx12, three claims are rejected for the reasons planted, and the
clerk works the member-id one (corrected, queued to be sent again)."""

from __future__ import annotations

import json

from billadmin import db as dbmod
from billadmin.x12 import validate


def test_demo_acks_pass_pyx12_and_reject_three_claims(demo_practice):
    path, stderr = demo_practice
    folder = path.parent / f"{path.stem}-files" / "acks"
    files = sorted(folder.glob("*/*.x12"))
    assert files and {f.name[:3] for f in files} == {"999", "277"}
    for f in files:
        v = validate.validate_file(f)
        assert v.valid, (f.name, [str(p) for p in v.problems])
    conn = dbmod.connect(path)
    rejected = conn.execute(
        "SELECT i.number, a.codes FROM claim_acks a JOIN invoices i ON i.id = a.invoice_id"
        " WHERE a.outcome = 'rejected' ORDER BY a.id"
    ).fetchall()
    assert [json.loads(c)[-1] for _, c in rejected] == ["A7:164:IL", "A8:158:IL", "A6:562:DN"]
    states = dict(
        conn.execute(
            "SELECT i.number, s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
            f" WHERE i.number IN ({','.join('?' * 3)})",
            [n for n, _ in rejected],
        ).fetchall()
    )
    assert set(states.values()) == {"rejected"}
    worked = rejected[0][0]
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM claim_queue q JOIN invoices i ON i.id = q.invoice_id WHERE i.number = ?",
            (worked,),
        ).fetchone()[0]
        == 1
    )
    assert (
        conn.execute("SELECT COUNT(*) FROM claim_acks WHERE outcome = 'accepted'").fetchone()[0] > 0
    )
    assert "277CAs:" in stderr and f"corrected the member id of {worked}" in stderr


def test_demo_rejection_worklist(demo_practice):
    path, _ = demo_practice
    from typer.testing import CliRunner

    from billadmin.cli import app
    from billadmin.commands import state

    r = CliRunner().invoke(app, ["--db", str(path), "ack", "rejections", "-f", "json"])
    state.db_path, state.quiet = None, False
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == 2  # the worked one waits in the queue
    assert {x["by"] for x in rows} == {"clearinghouse"}
    assert all(x["fix"] for x in rows)
