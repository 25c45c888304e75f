"""The fast digests of a billing run's planned rows (issue 15) are row_digest's, byte for byte:
`billadmin check` recomputes every digest from the stored rows with audit.row_digest, so a
planned digest computed any other way must give the same sha256 for every value a column can
hold (NULLs, DEFAULT values, integers, text with quotes, control characters and non-ASCII,
floats, blobs)."""

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
