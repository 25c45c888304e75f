"""Review of issue 15's digests in cases their own tests do not build: the read set's json_array
rows (readset._row) must notice a change to EVERY column of every table a run reads, NULL to a
value and back, not only the few columns test_readset edits; a BLOB or ANY column falls back to
marshal, which tells bytes, text and numbers apart; ledger.content_hash must stay json.dumps'
for values its own test does not draw (subclasses of int and str, tuples, integers past 64 bits,
nested dicts with keys outside ASCII)."""

from __future__ import annotations

import enum

import pytest
from test_digest_fast import _reference_content_hash as _reference
from test_readset import run  # noqa: F401  (fixture)

from billadmin import db as dbmod
from billadmin import ledger
from billadmin.billing import readset

# the tables hashed as json_array rows and the part each is in
PARTS = {
    "encounters": "encounters",
    "charge_lines": "charge_lines",
    "encounter_diagnoses": "diagnoses",
    "patients": "patients",
    "coverages": "coverages",
    "encounter_fields": "encounter_fields",
    "charge_line_fields": "charge_line_fields",
}
ENUMS = ["M", "F", "U", "self", "child", "spouse", "billed", "unbilled", "void", "11", "22"]


class _Undo(Exception):
    pass


def _candidates(kind: str, old):
    """New values to try for a column (the first its constraints accept is used)."""
    if kind == "INTEGER":
        base = [old + 1, old - 1] if isinstance(old, int) else []
        return [*base, 1, 2, 3, 0, None]
    return [
        *(e for e in ENUMS if e != old),
        "2026-06-12",
        (old or "") + "x",
        "",
        None,
    ]


def test_a_change_to_any_column_of_a_row_read_changes_its_part(run):  # noqa: F811
    db, digest = run
    a1 = db.execute("SELECT id FROM encounters WHERE number = 'A1'").fetchone()[0]
    with dbmod.write(db):  # one row of each fields table for the billed visit, every value NULL
        db.execute("INSERT INTO encounter_fields (encounter_id) VALUES (?)", (a1,))
        db.execute("INSERT INTO charge_line_fields (encounter_id, line_no) VALUES (?, 1)", (a1,))
    before = digest()
    where = {
        "encounters": ("id = ?", a1),
        "charge_lines": ("encounter_id = ? AND line_no = 1", a1),
        "encounter_diagnoses": ("encounter_id = ? AND seq = 1", a1),
        "patients": ("id = (SELECT patient_id FROM encounters WHERE id = ?)", a1),
        "coverages": ("patient_id = (SELECT patient_id FROM encounters WHERE id = ?)", a1),
        "encounter_fields": ("encounter_id = ?", a1),
        "charge_line_fields": ("encounter_id = ? AND line_no = 1", a1),
    }
    tried: dict[str, list[str]] = {}
    missed: list[str] = []
    for table, part in PARTS.items():
        assert readset._row(db, table, "x").startswith("json_array("), table
        cond, arg = where[table]
        cols = db.execute(f"SELECT name, upper(type) FROM pragma_table_info('{table}')").fetchall()
        for col, kind in cols:
            (old,) = db.execute(f'SELECT "{col}" FROM {table} WHERE {cond}', (arg,)).fetchone()
            for new in _candidates(kind, old):
                if new == old:
                    continue
                try:
                    with dbmod.write(db):
                        n = db.execute(
                            f'UPDATE {table} SET "{col}" = ? WHERE {cond}', (new, arg)
                        ).rowcount
                        assert n == 1
                        changed = readset.changed(before, digest())
                        raise _Undo
                except _Undo:
                    pass
                except Exception:  # a constraint refuses this value: try the next
                    continue
                tried.setdefault(table, []).append(col)
                if part not in changed:
                    missed.append(f"{table}.{col}: {old!r} -> {new!r}")
                break
    assert digest() == before  # every change was undone
    assert missed == []
    # every column was changed once, but the keys other rows refer to (foreign keys refuse
    # them; a row leaving the run's rows is test_readset's "a line moved")
    keys = {
        "encounters": {"id"},
        "charge_lines": {"encounter_id"},
        "encounter_diagnoses": {"encounter_id"},
        "patients": {"id"},
    }
    for table in PARTS:
        names = {r[0] for r in db.execute(f"SELECT name FROM pragma_table_info('{table}')")}
        assert names - set(tried.get(table, [])) == keys.get(table, set()), table


@pytest.mark.parametrize(
    "one, other",
    [
        ("x'00'", "x'0000'"),
        ("x'31'", "'1'"),
        ("x'31'", "1"),
        ("x''", "''"),
        ("x''", "NULL"),
    ],
)
def test_blob_and_any_columns_are_hashed_by_their_values(db, one, other):
    with dbmod.write(db):
        db.execute("CREATE TABLE t_blob (a INTEGER, b BLOB) STRICT")
        db.execute("CREATE TABLE t_any (a INTEGER, b ANY) STRICT")
    for table in ("t_blob", "t_any"):
        assert readset._row(db, table, "x") == "x.*"
    with dbmod.write(db):
        db.execute(f"INSERT INTO t_any VALUES (1, {one})")
    sql = f"SELECT {readset._row(db, 't_any', 'x')} FROM t_any x"
    before = readset._hash(db, sql)
    with dbmod.write(db):
        db.execute(f"UPDATE t_any SET b = {other}")
    assert readset._hash(db, sql) != before


class _Kind(enum.IntEnum):
    CLAIM = 3


class _Text(str):
    pass


class _Int(int):
    pass


VALUES = [
    _Kind.CLAIM,
    _Text("Zoë"),
    _Int(7),
    (1, "a", None),
    [],
    {},
    2**70,
    -(2**64) - 1,
    {"é": 1, "a": [1.5, {"z": None, "ß": "日本"}]},
    "\u2028\u2029 separators",
    "\x7f del",
    -0.0,
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:20] for v in VALUES])
def test_content_hash_is_json_dumps_for_unusual_values(value):
    for field in ("number", "total_cents", "payer_id"):
        inv = {f: 1 for f in ledger.INVOICE_FIELDS}
        inv[field] = value
        lines = [{**{f: "x" for f in ledger.LINE_FIELDS}, "line_no": 2, "code": value}]
        lines.append({**{f: None for f in ledger.LINE_FIELDS}, "line_no": 1})
        assert ledger.content_hash(inv, lines) == _reference(inv, lines)


def test_content_hash_refuses_what_json_dumps_refuses():
    from decimal import Decimal

    inv = {f: 1 for f in ledger.INVOICE_FIELDS}
    for bad in (Decimal("1.00"), b"bytes", {1: "a", "b": 2}):
        with pytest.raises(TypeError):
            _reference({**inv, "number": bad}, [])
        with pytest.raises(TypeError):
            ledger.content_hash({**inv, "number": bad}, [])
