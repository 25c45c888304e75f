"""A claim the payer split (remark MA15, "your claim has been separated to expedite handling"):
both parts are posted, each to its own lines, never refused as a duplicate nor capped as a
second payment (issue 12). Amounts by hand."""

from __future__ import annotations

import datetime as dt

import invoice_fixtures as fx
import ledger_scenarios as ls
from test_claim_corrections import _balance, _generate

from billadmin import db as dbmod
from billadmin.remit import post

DOS = (ls.DAY0 - dt.timedelta(days=4)).isoformat()


def _setup(db, tmp_path, lines) -> None:
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "S1501", "Sam", "Split")
        fx.coverage(db, pid, "KEY", member="KEY001501")
        fx.encounter(db, pid, DOS, lines)
    assert _generate(db, tmp_path, "g1") == ["C000001"]


def _part(pcn: str, code: str, charge: str, paid: str, co45: str) -> dict:
    line = {"code": code, "charge": charge, "paid": paid, "cas": [["CO", "45", co45]]}
    line["dos"] = "D-4"
    return {"claim": "C000001", "status": "1", "charge": charge, "paid": paid, "pcn": pcn} | {
        "remarks": ["MA15"],
        "lines": [line],
    }


def _post(db, tmp_path, claims):
    path = tmp_path / "SPLIT1.835"
    path.write_text(
        ls.remit_text({"payer": "KEY", "trace": "SPLIT1", "on": "D+14", "claims": claims})
    )
    return post.import_files(db, [path])


def _status(db) -> str:
    return db.execute("SELECT status FROM invoice_status WHERE invoice_id = 1").fetchone()[0]


def test_split_claim_parts_both_post(db, tmp_path, cli):
    _setup(db, tmp_path, [("99213", 15000), ("36415", 2000)])
    res = _post(
        db,
        tmp_path,
        [
            _part("KEY-A", "99213", "150.00", "110.00", "40.00"),
            _part("KEY-B", "36415", "20.00", "15.00", "5.00"),
        ],
    )
    assert [c.outcome for c in res.claims] == ["paid", "paid"]  # states set once all are in
    # 170.00 - (110.00 + 15.00) paid - (40.00 + 5.00) CO-45 = 0.00
    assert _balance(db, "C000001") == 17000 - 11000 - 1500 - 4000 - 500
    assert _status(db) == "paid"
    assert cli("check").exit_code == 0


def test_split_parts_of_two_identical_lines_each_take_their_own_line(db, tmp_path, cli):
    """Two 99213 lines on the same day, split into two parts the payer numbered alike: the second
    part goes to the second line (not the first again), and its CO-45 is not a repeat."""
    _setup(db, tmp_path, [("99213", 10000), ("99213", 10000)])
    part = _part("KEY-S", "99213", "100.00", "80.00", "20.00")
    res = _post(db, tmp_path, [part, dict(part)])
    assert [c.outcome for c in res.claims] == ["paid", "paid"]  # states set once all are in
    # 200.00 - (80.00 + 80.00) paid - (20.00 + 20.00) CO-45 = 0.00
    assert _balance(db, "C000001") == 20000 - 8000 - 8000 - 2000 - 2000
    per_line = db.execute(
        "SELECT l.line_no, SUM(a.amount_cents) FROM payment_allocations a"
        " JOIN invoice_lines l ON l.id = a.invoice_line_id GROUP BY l.line_no ORDER BY 1"
    ).fetchall()
    assert per_line == [(1, 8000), (2, 8000)]
    assert cli("check").exit_code == 0


def test_split_parts_numbered_apart_take_their_own_lines(db, tmp_path, cli):
    _setup(db, tmp_path, [("99213", 10000), ("99213", 10000)])
    parts = [_part(pcn, "99213", "100.00", "80.00", "20.00") for pcn in ("KEY-S1", "KEY-S2")]
    _post(db, tmp_path, parts)
    # 200.00 - (80.00 + 80.00) paid - (20.00 + 20.00) CO-45 = 0.00, 80.00 paid on each line
    assert _balance(db, "C000001") == 20000 - 8000 - 8000 - 2000 - 2000
    lines = db.execute("SELECT COUNT(DISTINCT invoice_line_id) FROM payment_allocations")
    assert lines.fetchone()[0] == 2
    assert cli("check").exit_code == 0


def test_without_ma15_an_identical_repeat_is_still_a_duplicate(db, tmp_path):
    _setup(db, tmp_path, [("99213", 10000), ("99213", 10000)])
    part = _part("KEY-S", "99213", "100.00", "80.00", "20.00")
    part["remarks"] = []
    res = _post(db, tmp_path, [part, dict(part)])
    assert [c.outcome for c in res.claims] == ["partially_paid", "duplicate"]
    assert _balance(db, "C000001") == 20000 - 8000 - 2000
