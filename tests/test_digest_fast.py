"""The fast digests of a billing run's planned rows (issue 15) are row_digest's, byte for byte:
`billadmin check` recomputes every digest from the stored rows with audit.row_digest, so a
planned digest computed any other way must give the same sha256 for every value a column can
hold (NULLs, DEFAULT values, integers, text with quotes, control characters and non-ASCII,
floats, blobs)."""

import enum
import hashlib
import random

import pytest

from billadmin import audit
from billadmin.billing import generate

# every table a run plans and copies with batch seals
PLANNED = sorted({*generate._PLANNED, *(t for _, t in generate._PLANNED_SENT)})

TEXTS = [
    "",
    "A",
    "1",
    "0",
    "C000001",
    'quote " and back\\slash',
    "line\nbreak\ttab\r\x08\x0c",
    "\x00\x01\x1f\x7f",
    "Zoë Ñandú",
    "日本語",
    "emoji \U0001f600 and a lone \ud800 surrogate",
    "</script>&<>'",
]
NUMBERS = [0, 1, -1, 7, 31500, -250, 2**62, -(2**63)]
FLOATS = [0.0, -0.0, 1.5, 0.1, 1e300, -2.5e-8, 1.0, float("inf"), float("-inf"), float("nan")]
OTHER = [None, b"", b"\x00\xff bytes", True, False]


def _pool(default):
    """Values to try in a column: every kind, its DEFAULT and the DEFAULT's equal of another
    type (1 and True, 1 and 1.0, '1' and 1)."""
    values = [None, *TEXTS, *NUMBERS, *FLOATS, *OTHER]
    if default is not None:
        values += [default] * 8
        if isinstance(default, int):
            values += [float(default), str(default), bool(default)]
        if isinstance(default, str):
            values += [default + " ", default.encode()]
    return values


def _defaults(db, table):
    return audit.column_defaults(db, table)


def _columns(db, table):
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()]


@pytest.mark.parametrize("table", PLANNED)
def test_fast_digest_equals_row_digest_for_every_kind_of_value(db, table):
    names = _columns(db, table)
    defaults = _defaults(db, table)
    fast = audit.TableDigest(table, names, defaults)
    assert fast.columns == sorted(names)
    rnd = random.Random(f"digest-{table}")
    pools = {n: _pool(defaults.get(n)) for n in names}
    rows = [dict.fromkeys(names), {n: defaults.get(n) for n in names}]  # all NULL; all DEFAULT
    rows += [{n: rnd.choice(pools[n]) for n in names} for _ in range(600)]
    rows += [{n: pools[n][k % len(pools[n])] for n in names} for k in range(60)]  # each value
    for k, values in enumerate(rows):
        rid = rnd.choice([k + 1, 2**40 + k])
        want = audit.row_digest(table, rid, values, defaults)
        got = fast.digest(rid, tuple(values[c] for c in fast.columns))
        assert got.hex() == want, (table, k)


def test_a_digest_differs_when_any_value_does(db):
    """The test above cannot pass by hashing nothing: each column's value changes the digest,
    a NULL and a DEFAULT leave it out, and the table name and row id are part of it."""
    names = _columns(db, "invoice_lines")
    defaults = _defaults(db, "invoice_lines")
    fast = audit.TableDigest("invoice_lines", names, defaults)
    base = dict.fromkeys(names, 5)
    row = tuple(base[c] for c in fast.columns)
    d = fast.digest(9, row)
    for i, c in enumerate(fast.columns):
        changed = row[:i] + (6,) + row[i + 1 :]
        assert fast.digest(9, changed) != d, c
    assert fast.digest(10, row) != d
    assert audit.TableDigest("invoices", names, defaults).digest(9, row) != d
    # units DEFAULT 1: 1 is left out like a NULL, 1.0 and True are not
    units = fast.columns.index("units")
    one, null = (row[:units] + (v,) + row[units + 1 :] for v in (1, None))
    assert fast.digest(9, one) == fast.digest(9, null)
    for v in (1.0, True):
        assert fast.digest(9, row[:units] + (v,) + row[units + 1 :]) != fast.digest(9, one)


def _storable(v):
    """SQLite keeps it as it is (no bool type; a lone surrogate is not UTF-8)."""
    return not isinstance(v, bool) and not (isinstance(v, str) and "\ud800" in v)


@pytest.mark.parametrize("table", PLANNED)
def test_plan_batches_packs_row_digest_of_each_stored_row(db, table, monkeypatch):
    """Through SQLite: the rows a temp copy stores (after its column affinities), digested by
    plan_batches, are what row_digest gives the same rows read back as `check` reads them."""
    monkeypatch.setattr(audit, "BATCH_ROWS", 50)
    names = _columns(db, table)
    idcol = audit.rowid_column(db, table)
    defaults = _defaults(db, table)
    source, into = f"temp.fast_{table}", "temp.fast_batches"
    db.execute(f"CREATE TABLE {source} AS SELECT * FROM main.{table} WHERE 0")
    db.execute(f"CREATE TABLE IF NOT EXISTS {into} {audit.BATCHES_SQL}")
    rnd = random.Random(f"stored-{table}")
    pools = {n: [v for v in _pool(defaults.get(n)) if _storable(v)] for n in names}
    ids = [*range(1, 121), *range(500, 530)]  # two runs of ids: batches break at the gap
    rows = [{**{n: rnd.choice(pools[n]) for n in names}, idcol: i} for i in ids]
    cols = ", ".join(names)
    db.conn.executemany(
        f"INSERT INTO {source} ({cols}) VALUES ({', '.join('?' * len(names))})",
        [tuple(r[n] for n in names) for r in rows],
    )
    assert audit.plan_batches(db, table, source, into) == len(ids)
    cur = db.execute(f"SELECT * FROM {source} ORDER BY {idcol}")
    stored = [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur]
    packed = db.execute(
        f"SELECT first_id, last_id, digests FROM {into} WHERE tbl = ? ORDER BY first_id", (table,)
    ).fetchall()
    assert [(a, b) for a, b, _ in packed] == [(1, 50), (51, 100), (101, 120), (500, 529)]
    blob = b"".join(p[2] for p in packed)
    assert len(blob) == 32 * len(stored)
    for k, values in enumerate(stored):
        want = audit.row_digest(table, values[idcol], values, defaults)
        assert blob[32 * k : 32 * k + 32].hex() == want, (table, values[idcol])


def _reference_content_hash(invoice, lines):
    """ledger.content_hash as it was first written: json.dumps of the payload's dicts."""
    import hashlib
    import json

    from billadmin import ledger

    payload = {
        "invoice": {k: invoice.get(k) for k in ledger.INVOICE_FIELDS},
        "lines": [
            {k: ln.get(k) for k in ledger.LINE_FIELDS}
            for ln in sorted(lines, key=lambda x: x["line_no"])
        ],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_content_hash_is_the_canonical_json_of_every_kind_of_value():
    """The invoice content hash (fixed at issue, recomputed by `check`) joined by hand is the
    json.dumps one: any value, a missing field, lines given out of order."""
    from billadmin import ledger

    rnd = random.Random("content-hash")
    values = [None, *TEXTS, *NUMBERS, *FLOATS, True, False, [1, "a"], {"b": 1, "a": None}]
    values += [10**30, _Code.FIVE, _Text("sub"), ""]  # past 64 bits, subclasses
    for k in range(400):
        invoice = {f: rnd.choice(values) for f in ledger.INVOICE_FIELDS if rnd.random() > 0.1}
        invoice["extra"] = "not hashed"
        lines = [
            {**{f: rnd.choice(values) for f in ledger.LINE_FIELDS}, "line_no": n}
            for n in rnd.sample(range(1, 60), rnd.randint(0, 6))
        ]
        want = _reference_content_hash(invoice, lines)
        assert ledger.content_hash(invoice, lines) == want, k
    inv = {f: 1 for f in ledger.INVOICE_FIELDS}
    line = {f: 1 for f in ledger.LINE_FIELDS}
    h = ledger.content_hash(inv, [line])
    for (
        f
    ) in ledger.INVOICE_FIELDS:  # every field counts: the test above cannot pass by hashing nothing
        assert ledger.content_hash({**inv, f: 2}, [line]) != h, f
    for f in ledger.LINE_FIELDS:
        assert ledger.content_hash(inv, [{**line, f: 2}]) != h, f


# ---- rows digested as they are planned (audit.PlannedDigests) ---------------------------------


class _Code(enum.IntEnum):
    FIVE = 5


def _exact_pool(kind, default):
    """Values SQLite stores as they are given in a column of this declared type."""
    if kind == "INTEGER":
        values = [None, *NUMBERS, True, False, _Code.FIVE]
    else:
        values = [None, *(t for t in TEXTS if _storable(t)), _Text("sub")]
    return values + [default] * 6 if default is not None else values


class _Text(str):
    """A str subclass: sqlite3 stores it as text."""


def _kinds(db, table):
    return {r[1]: r[2].upper() for r in db.execute(f"PRAGMA table_info({table})").fetchall()}


def _planned_rows(db, table, ids, seed):
    kinds = _kinds(db, table)
    defaults = _defaults(db, table)
    rnd = random.Random(seed)
    idcol = audit.rowid_column(db, table)
    pools = {n: _exact_pool(k, defaults.get(n)) for n, k in kinds.items()}
    names = list(kinds)
    rnd.shuffle(names)  # the caller's column order, not the table's
    rows = []
    for i in ids:
        values = {n: rnd.choice(pools[n]) for n in names}
        values[idcol] = i
        rows.append(tuple(values[n] for n in names))
    return names, rows


def _through_both(db, table, names, rows, *, chunks=(1, 7, 50, 3, 400)):
    """The rows inserted into a temp copy in chunks and given to PlannedDigests as they are;
    (its finish, its records, plan_batches' records of the stored rows)."""
    source, into, ref = f"temp.pd_{table}", "temp.pd_batches", "temp.pd_reference"
    for t in (source, into, ref):
        db.execute(f"DROP TABLE IF EXISTS {t}")
    db.execute(f"CREATE TABLE {source} AS SELECT * FROM main.{table} WHERE 0")
    db.execute(f"CREATE TABLE {into} {audit.BATCHES_SQL}")
    db.execute(f"CREATE TABLE {ref} {audit.BATCHES_SQL}")
    planned = audit.PlannedDigests("temp.pd_", into)
    sql = f"INSERT INTO {source} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    at, k = 0, 0
    while at < len(rows):
        part = rows[at : at + chunks[k % len(chunks)]]
        db.conn.executemany(sql, part)
        planned.add(db, table, names, part)
        at, k = at + len(part), k + 1
    got = planned.finish(db, table)
    audit.plan_batches(db, table, source, ref)
    q = "SELECT tbl, source, first_id, last_id, digests FROM {} ORDER BY first_id"
    mine = db.execute(q.format(into)).fetchall()
    want = [(t, source, a, b, d) for t, _, a, b, d in db.execute(q.format(ref)).fetchall()]
    return got, mine, want


@pytest.mark.parametrize("table", PLANNED)
def test_rows_digested_as_planned_pack_what_plan_batches_reads_back(db, table, monkeypatch):
    """Every value of the kinds a planned table's columns store as given (NULLs, DEFAULTs, a
    bool and an IntEnum in an INTEGER column, a str subclass, quotes, controls, non-ASCII),
    given in the caller's column order in chunks of any size: the records are plan_batches'
    byte for byte, records of BATCH_ROWS from the first id."""
    monkeypatch.setattr(audit, "BATCH_ROWS", 50)
    ids = list(range(7, 7 + 461))
    names, rows = _planned_rows(db, table, ids, f"planned-{table}")
    got, mine, want = _through_both(db, table, names, rows)
    assert got == len(ids)
    assert [(a, b) for _, _, a, b, _ in mine][:3] == [(7, 56), (57, 106), (107, 156)]
    assert mine == want


BAD = {
    "a float in an INTEGER column": lambda row, c, k: k == "INTEGER" and 2.5,
    "a whole float in an INTEGER column": lambda row, c, k: k == "INTEGER" and c != "id" and 2.0,
    "digits in an INTEGER column": lambda row, c, k: k == "INTEGER" and "12",
    "an integer in a TEXT column": lambda row, c, k: k == "TEXT" and 12,
    "bytes in a TEXT column": lambda row, c, k: k == "TEXT" and b"x",
}


@pytest.mark.parametrize("how", sorted(BAD))
def test_a_value_sqlite_may_store_otherwise_leaves_the_table_to_plan_batches(db, how):
    table = "invoice_lines"
    kinds = _kinds(db, table)
    names, rows = _planned_rows(db, table, range(1, 40), "bad")
    column = next(c for c in names if BAD[how](None, c, kinds[c]) is not False)
    bad = BAD[how](None, column, kinds[column])
    rows[25] = tuple(bad if n == column else v for n, v in zip(names, rows[25], strict=True))
    got, mine, want = _through_both(db, table, names, rows)
    assert got is None and mine == []  # nothing of it written: plan_batches does it all
    assert len(want) == 1


def test_ids_out_of_step_or_rows_added_behind_its_back_leave_it_to_plan_batches(db):
    table = "invoice_events"
    # a gap, an id twice, descending, the same ids in another order (each digest would sit
    # at another row's place)
    for ids in ([1, 2, 3, 5, 6], [1, 2, 3, 3, 4], [4, 3, 2, 1], [1, 2, 3, 5, 6, 4]):
        names, rows = _planned_rows(db, table, ids, "ids")
        got, mine, _ = _through_both(db, table, names, rows, chunks=(3,))
        assert (got, mine) == (None, []), ids
    names, rows = _planned_rows(db, table, range(1, 30), "behind")
    source = "temp.pd_invoice_events"
    planned = audit.PlannedDigests("temp.pd_", "temp.pd_batches")
    for t in (source, "temp.pd_batches"):
        db.execute(f"DROP TABLE IF EXISTS {t}")
    db.execute(f"CREATE TABLE {source} AS SELECT * FROM main.{table} WHERE 0")
    db.execute(f"CREATE TABLE temp.pd_batches {audit.BATCHES_SQL}")
    sql = f"INSERT INTO {source} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    db.conn.executemany(sql, rows)
    planned.add(db, table, names, rows)
    assert db.execute("SELECT COUNT(*) FROM temp.pd_batches").fetchone()[0] == 0  # < BATCH_ROWS
    db.execute(f"INSERT INTO {source} (id, invoice_id, status, at) VALUES (30, 1, 'x', 't')")
    assert planned.finish(db, table) is None
    assert db.execute("SELECT COUNT(*) FROM temp.pd_batches").fetchone()[0] == 0


def test_a_table_not_given_whole_or_of_other_column_types_is_read_back(db):
    names, rows = _planned_rows(db, "invoice_events", range(1, 5), "cols")
    keep = [k for k, n in enumerate(names) if n != "note"]
    got, mine, _ = _through_both(
        db, "invoice_events", [names[k] for k in keep], [tuple(r[k] for k in keep) for r in rows]
    )
    assert (got, mine) == (None, [])  # a column left out: not all the stored row is given
    db.execute("CREATE TABLE main.pd_real (id INTEGER PRIMARY KEY, x REAL, y BLOB)")
    got, mine, _ = _through_both(db, "pd_real", ["id", "x", "y"], [(1, 1.0, b"a"), (2, 2.0, None)])
    assert (got, mine) == (None, [])


def test_a_default_of_another_type_than_its_column_is_left_out_as_row_digest_leaves_it(db):
    """row_digest leaves out a value equal to its column's DEFAULT of the same type only: 1 in
    an INTEGER column whose DEFAULT is 1.0 is written, and so is '1' under DEFAULT 1."""
    db.execute(
        "CREATE TABLE main.pd_dflt (id INTEGER PRIMARY KEY, a INTEGER DEFAULT 1.0,"
        " b TEXT DEFAULT 1, c INTEGER DEFAULT 1, d TEXT DEFAULT 'x')"
    )
    rows = [(k, 1, "1", 1, "x") for k in range(1, 4)] + [(4, None, None, 2, "y")]
    got, mine, want = _through_both(db, "pd_dflt", ["id", "a", "b", "c", "d"], rows)
    assert got == 4 and mine == want


def test_a_run_digests_its_claims_as_planned_and_check_finds_them_sealed(db, tmp_path, monkeypatch):
    """`invoice generate` in chunks of 5 claims, 4 rows a batch record: the invoices, lines and
    snapshots, the 'issued' events (numbered once the run knows the next id) and the files'
    rows and 'sent' events are packed from the values planned (none read back), the copy takes
    every record, and `check` recomputes each digest from the stored rows."""
    import invoice_fixtures as fx

    from billadmin import db as dbmod
    from billadmin import integrity

    monkeypatch.setattr(audit, "BATCH_ROWS", 4)
    monkeypatch.setattr(generate, "BUILD_CHUNK", 5)
    with dbmod.write(db):
        fx.practice(db)
        for k in range(13):
            pat = fx.patient(db, f"M{k:03d}", "Zoë", "Ñandú" if k % 2 else "O'Hara")
            fx.coverage(db, pat, "KEY" if k % 3 else "MCR")
            lines = [("99213", 14000 + k), ("36415", 1500, "25")][: 1 + k % 2]
            fx.encounter(db, pat, "2026-06-01", lines)
    read_back: list[str] = []
    real = audit.plan_batches
    monkeypatch.setattr(
        audit, "plan_batches", lambda d, t, s, i: read_back.append(t) or real(d, t, s, i)
    )
    taken = []
    real_insert = audit.insert_planned
    monkeypatch.setattr(
        audit, "insert_planned", lambda d, t, s, b: taken.append(real_insert(d, t, s, b)) or True
    )
    res = generate.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    assert len(res.issued) == 13
    assert read_back == []  # the events and files too, from the values inserted
    assert taken and all(taken)
    batches = dict(
        db.execute(
            "SELECT tbl, COUNT(*) FROM row_seals WHERE last_id IS NOT NULL GROUP BY tbl"
        ).fetchall()
    )
    # 13 invoices, 13 snapshots, 13 + 6 = 19 lines: ceil(n / 4) records each
    assert (batches["invoices"], batches["invoice_snapshots"], batches["invoice_lines"]) == (
        4,
        4,
        5,
    )
    assert [f.message for f in integrity.check_seals(db) if f.severity == "error"] == []


@pytest.mark.parametrize("table", ["invoice_events", "invoice_lines"])
def test_rows_numbered_later_pack_what_plan_batches_reads_back(db, table, monkeypatch):
    """Rows inserted without their ids (add_unnumbered, in chunks), numbered from an id known
    only later as the caller numbers the stored rows (id = first + rowid - 1): the records are
    plan_batches' of the stored rows, byte for byte; never numbered, they are read back."""
    monkeypatch.setattr(audit, "BATCH_ROWS", 50)
    monkeypatch.setattr(audit, "_CHUNK", 70)  # number() adds them in several chunks
    idcol = audit.rowid_column(db, table)
    names, rows = _planned_rows(db, table, range(1, 200), f"later-{table}")
    keep = [k for k, n in enumerate(names) if n != idcol]
    names = [names[k] for k in keep]
    rows = [tuple(r[k] for k in keep) for r in rows]
    source, into, ref = f"temp.pd_{table}", "temp.pd_batches", "temp.pd_reference"
    db.execute(f"CREATE TABLE {source} AS SELECT * FROM main.{table} WHERE 0")
    db.execute(f"CREATE TABLE {into} {audit.BATCHES_SQL}")
    db.execute(f"CREATE TABLE {ref} {audit.BATCHES_SQL}")
    sql = f"INSERT INTO {source} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    for first, every in ((1000, 13), (5000, 200)):
        db.execute(f"DELETE FROM {source}")
        db.execute(f"DELETE FROM {into}")
        db.execute(f"DELETE FROM {ref}")
        planned = audit.PlannedDigests("temp.pd_", into)
        for at in range(0, len(rows), every):
            db.conn.executemany(sql, rows[at : at + every])
            planned.add_unnumbered(table, names, rows[at : at + every])
        lo = db.execute(f"SELECT MIN(rowid) FROM {source}").fetchone()[0]
        db.execute(f"UPDATE {source} SET {idcol} = ? + rowid - ?", (first, lo))
        planned.number(db, table, first)
        assert planned.finish(db, table) == len(rows)
        audit.plan_batches(db, table, source, ref)
        q = "SELECT tbl, source, first_id, last_id, digests FROM {} ORDER BY first_id"
        mine = db.execute(q.format(into)).fetchall()
        assert mine[0][2:4] == (first, first + 49)
        assert mine == db.execute(q.format(ref)).fetchall()
    planned = audit.PlannedDigests("temp.pd_", into)
    planned.add_unnumbered(table, names, rows)
    assert planned.finish(db, table) is None  # never numbered: read back
    db.execute(f"DELETE FROM {into}")
    planned.add_unnumbered(table, names, rows[:-1])  # the last row inserted behind its back
    planned.number(db, table, 5000)
    assert planned.finish(db, table) is None
    assert db.execute(f"SELECT COUNT(*) FROM {into}").fetchone()[0] == 0
    planned.add_unnumbered(table, names[::-1], rows)
    with pytest.raises(ValueError):  # another column order than the rows held
        planned.add_unnumbered(table, names, rows)


@pytest.mark.parametrize("table", PLANNED)
def test_the_row_text_written_out_per_table_is_row_digests(db, table):
    """audit._row_text (the planned rows' JSON written out once per table, issue 15) gives the
    digest row_digest gives, for every value a planned column stores as given (quotes,
    backslashes, controls, non-ASCII, empty text, a str subclass, None, the DEFAULT, big
    integers, bools, an IntEnum), the row given in any column order; a row of another width
    or a value of another type is refused, and PlannedDigests reads the table back."""
    idcol = audit.rowid_column(db, table)
    defaults = _defaults(db, table)
    ids = [*range(1, 301)]
    names, rows = _planned_rows(db, table, ids, f"text-{table}")
    planning = audit._Planning(db, table, "temp.t", names)
    assert planning.usable
    kinds = _kinds(db, table)
    rnd = random.Random(f"text-{table}")
    big = [2**63 - 1, -(2**63), 10**30, -(10**30)]  # Python ints past SQLite's: text only
    for k, row in enumerate(rows):
        values = dict(zip(names, row, strict=True))
        if k % 3 == 0:
            for n in names:
                if kinds[n] == "INTEGER" and n != idcol:
                    values[n] = rnd.choice(big)
        given = tuple(values[n] for n in names)
        text = planning._text(given)
        mine = hashlib.sha256(f"{planning._head}{values[idcol]},{{{text}}}]".encode()).hexdigest()
        want = {n: int(v) if isinstance(v, bool | enum.IntEnum) else v for n, v in values.items()}
        assert mine == audit.row_digest(table, values[idcol], want, defaults), (table, k)
    for bad in (rows[0] + (1,), rows[0][:-1]):
        with pytest.raises(ValueError):
            planning._text(bad)
        planned = audit.PlannedDigests("temp.t_", "temp.t_batches")
        planned.add(db, table, names, [bad])
        assert not planned._tables[table, f"temp.t_{table}"].usable
