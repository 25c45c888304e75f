"""Batch seals (issue 15): planned rows sealed by one record per run of consecutive ids, in the
same keyed chain as per-row seals; `billadmin check` still names the table and row of any
change, and a batch record altered or deleted breaks the chain."""

import hashlib
import hmac
import json

import pytest

from billadmin import audit, integrity
from billadmin import db as dbmod

_PAT = (
    "INSERT INTO {t} (id, mrn, first_name, last_name, dob, sex, city, created_at, updated_at)"
    " VALUES (?, ?, 'Ann', 'Roe', '1970-01-01', 'F', ?, 't', 't')"
)


def _plan(db, ids, *, source="temp.plan_p", batches="temp.plan_b"):
    """Patients with these ids planned in a temp copy of `patients`, with their batches."""
    db.execute(f"DROP TABLE IF EXISTS {source}")
    db.execute(f"CREATE TABLE {source} AS SELECT * FROM main.patients WHERE 0")
    db.execute(f"CREATE TABLE IF NOT EXISTS {batches} {audit.BATCHES_SQL}")
    db.conn.executemany(
        _PAT.format(t=source), [(i, f"M{i:05d}", None if i % 3 else "Dayton") for i in ids]
    )
    assert audit.plan_batches(db, "patients", source, batches) == len(ids)


def _copy(db, source="temp.plan_p", batches="temp.plan_b"):
    with dbmod.write(db):
        return audit.insert_planned(db, "patients", source, batches)


def _seals(db):
    return db.execute(
        "SELECT tbl, row_id, last_id FROM row_seals WHERE tbl = 'patients' ORDER BY id"
    ).fetchall()


def _messages(db):
    return [f.message for f in integrity.check_seals(db)]


def test_a_copy_is_sealed_by_batch_records_that_verify(db, monkeypatch):
    monkeypatch.setattr(audit, "BATCH_ROWS", 100)
    _plan(db, range(1, 251))
    fetched: list[int] = []
    real = audit.fetch_rows
    monkeypatch.setattr(
        audit, "fetch_rows", lambda d, t, ids: fetched.extend(ids) or real(d, t, ids)
    )
    assert _copy(db) is True
    # only the sample was read back (each batch's first row and one in SAMPLE_EVERY)
    assert sorted(fetched) == [1, 64, 101, 128, 192, 201]
    monkeypatch.setattr(audit, "fetch_rows", real)
    # 250 rows: three records (1..100, 101..200, 201..250), no per-row seal
    assert _seals(db) == [("patients", 1, 100), ("patients", 101, 200), ("patients", 201, 250)]
    assert db.execute("SELECT COUNT(*) FROM seal_pending").fetchone()[0] == 0
    blob, digest = db.execute(
        "SELECT digests, digest FROM row_seals WHERE row_id = 101 AND last_id = 200"
    ).fetchone()
    assert len(blob) == 100 * 32 and hashlib.sha256(blob).hexdigest() == digest
    # each entry is the row's own digest, in id order
    row = db.execute("SELECT rowid AS _rowid_, * FROM patients WHERE id = 150").fetchone()
    names = ["_rowid_"] + [r[1] for r in db.execute("PRAGMA table_info(patients)")]
    values = dict(zip(names, row, strict=True))
    values.pop("_rowid_")
    want = audit.row_digest("patients", 150, values, audit.column_defaults(db, "patients"))
    assert blob[32 * 49 : 32 * 50].hex() == want
    assert _messages(db) == []
    assert audit.verify_seal_chain(db, audit.load_secret(audit.database_id(db))) == []


def test_the_batch_chain_entry_is_the_keyed_hmac_over_its_range_and_blob(db):
    _plan(db, range(1, 11))
    _copy(db)
    secret = audit.load_secret(audit.database_id(db))
    prev, h, blob = db.execute(
        "SELECT prev_hash, hash, digests FROM row_seals WHERE last_id = 10"
    ).fetchone()
    msg = f"{prev}|patients|1..10|{hashlib.sha256(blob).hexdigest()}"
    assert h == hmac.new(secret, msg.encode(), hashlib.sha256).hexdigest()


def test_one_row_of_a_batch_altered_is_named_by_table_and_row(cli, db):
    _plan(db, range(1, 31))
    _copy(db)
    db.execute("UPDATE patients SET city = 'Kent' WHERE id = 17")  # behind billadmin's back
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    seal = [f["message"] for f in json.loads(r.stdout) if f["rule"] == "LEDGER-SEAL"]
    assert "patients row 17 changed since it was sealed" in seal
    assert not [m for m in seal if "row 16 " in m or "row 18 " in m]


def test_a_batch_row_deleted_or_a_row_added_in_its_range_is_found(db):
    _plan(db, range(1, 21))
    _copy(db)
    db.execute("DELETE FROM patients WHERE id = 20")
    db.execute("DELETE FROM seal_pending")  # its trigger's trace removed too
    db.execute(_PAT.format(t="patients"), (21, "M00021", None))
    db.execute("DELETE FROM seal_pending")
    found = _messages(db)
    assert "patients row 20 was deleted (its seal remains)" in found
    assert "patients row 21 has no seal (added outside billadmin)" in found


def test_a_batch_blob_altered_breaks_the_chain(db):
    _plan(db, range(1, 21))
    _copy(db)
    db.execute("DROP TRIGGER row_seals_no_update")
    blob = db.execute("SELECT digests FROM row_seals WHERE last_id = 20").fetchone()[0]
    forged = blob[:32] + bytes(32) + blob[64:]
    db.execute("UPDATE row_seals SET digests = ? WHERE last_id = 20", (forged,))
    assert any(
        m == "seal 1 (patients rows 1..20): edited, or rehashed without the secret"
        for m in _messages(db)
    ), _messages(db)
    # its digest column recomputed to match the forged blob: the keyed HMAC still breaks
    db.execute(
        "UPDATE row_seals SET digest = ? WHERE last_id = 20", (hashlib.sha256(forged).hexdigest(),)
    )
    assert "seal 1 (patients rows 1..20): edited, or rehashed without the secret" in _messages(db)


def test_a_batch_record_deleted_breaks_the_chain(cli, db, monkeypatch):
    monkeypatch.setattr(audit, "BATCH_ROWS", 10)
    _plan(db, range(1, 31))
    _copy(db)
    db.execute("DROP TRIGGER row_seals_no_delete")
    db.execute("DELETE FROM row_seals WHERE row_id = 11 AND last_id = 20")
    found = _messages(db)
    assert "seals 2..2 are missing (rows deleted with them)" in found
    assert "seal 3: prev_hash does not match the previous seal" in found
    assert [m for m in found if "has no seal" in m] == [
        f"patients row {i} has no seal (added outside billadmin)" for i in range(11, 21)
    ]
    # the last one deleted: the chain alone is whole, the anchor is not
    db.execute("DELETE FROM row_seals WHERE last_id = 30")
    r = cli("check", "--format", "json")
    assert any(
        f["rule"] == "AUDIT-ANCHOR" and "seal 3 is missing" in f["message"]
        for f in json.loads(r.stdout)
    )


def test_a_row_sealed_again_later_supersedes_its_batch_entry(db):
    _plan(db, range(1, 11))
    with dbmod.write(db):
        assert audit.insert_planned(db, "patients", "temp.plan_p", "temp.plan_b")
        db.execute("UPDATE patients SET city = 'Akron' WHERE id = 4")  # in the same transaction
    with dbmod.write(db):
        db.execute("UPDATE patients SET city = 'Parma' WHERE id = 7")  # a later transaction
    assert _seals(db) == [("patients", 1, 10), ("patients", 4, None), ("patients", 7, None)]
    assert _messages(db) == []
    # the batch's stale entries for 4 and 7 no longer count; a change to 7 still does
    db.execute("UPDATE patients SET city = 'Xenia' WHERE id = 7")
    assert _messages(db) == [
        "patients row 7 changed since it was sealed",
        "patients: 1 row change(s) made outside billadmin, never sealed (first row 7)",
    ]


def test_a_per_row_seal_before_a_batch_on_the_same_first_id_is_superseded(db):
    """A row deleted (sealed 'deleted') whose id a later copy fills: the batch record, filed
    under the same first id, is the row's latest seal."""
    with dbmod.write(db):
        db.execute(_PAT.format(t="patients"), (1, "M00001", None))
    with dbmod.write(db):
        db.execute("DROP TRIGGER IF EXISTS patients_append_only_delete")
        db.execute("DELETE FROM patients WHERE id = 1")
    _plan(db, range(1, 6))
    assert _copy(db) is True
    assert _seals(db)[-1] == ("patients", 1, 5)
    assert _messages(db) == []


@pytest.mark.parametrize("how", ["ids", "gap", "sample"])
def test_batches_that_do_not_fit_the_copy_are_not_taken(db, how):
    """Each row is then sealed from the database, as any insert."""
    _plan(db, range(1, 201))
    if how == "ids":  # the source moved after its batches were planned
        db.execute("UPDATE temp.plan_p SET id = id + 1000")
    elif how == "gap":
        db.execute("DELETE FROM temp.plan_p WHERE id = 50")
    else:  # a planned digest in the sample (row 64) is wrong
        blob = db.execute("SELECT digests FROM temp.plan_b").fetchone()[0]
        forged = blob[: 63 * 32] + bytes(32) + blob[64 * 32 :]
        db.execute("UPDATE temp.plan_b SET digests = ?", (forged,))
    assert _copy(db) is False
    assert all(last is None for _, _, last in _seals(db))
    assert _messages(db) == []


def test_insert_planned_needs_a_write_transaction(db):
    with pytest.raises(RuntimeError):
        audit.insert_planned(db, "patients", "temp.plan_p", "temp.plan_b")


def test_a_database_sealed_row_by_row_migrates_and_verifies(db_path):
    """A database sealed before batch seals existed (integrity migrations up to m006): its
    per-row seals stay valid after m007_seal_batches, and copies are batch-sealed after them."""
    import sqlite3

    import sqlite_utils

    from billadmin.schema import MIGRATION_SETS

    db_path.touch(mode=0o600)
    raw = sqlite_utils.Database(sqlite3.connect(db_path, isolation_level=None))
    for s in MIGRATION_SETS():
        s.apply(raw, stop_before="m007_seal_batches")
    with dbmod.write(raw):
        for i in range(1, 6):
            raw.execute(_PAT.format(t="patients"), (i, f"M{i:05d}", None))
    assert [r[0] for r in raw.execute("SELECT row_id FROM row_seals")] == [1, 2, 3, 4, 5]
    assert _messages(raw) == []
    raw.close()
    conn = dbmod.connect(db_path, create=True)  # as `billadmin init` upgrades it
    assert _messages(conn) == []
    _plan(conn, range(6, 16))
    assert _copy(conn) is True
    assert _seals(conn)[-1] == ("patients", 6, 15)
    assert _messages(conn) == []
    conn.execute("UPDATE patients SET city = 'Kent' WHERE id IN (2, 9)")
    assert _messages(conn) == [
        "patients row 2 changed since it was sealed",
        "patients row 9 changed since it was sealed",
        "patients: 2 row change(s) made outside billadmin, never sealed (first row 2)",
    ]
    conn.close()


# ---- the seal window: copied rows are not queued one by one (m008_seal_window) -----------------


def test_a_copy_queues_nothing_and_a_later_insert_is_queued_again(db):
    _plan(db, range(1, 51))
    with dbmod.write(db):
        assert audit.insert_planned(db, "patients", "temp.plan_p", "temp.plan_b")
        assert db.execute("SELECT COUNT(*) FROM seal_pending").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM seal_window").fetchone()[0] == 0  # closed
        db.execute(_PAT.format(t="patients"), (51, "M00051", None))  # after the window
        assert db.execute("SELECT row_id FROM seal_pending").fetchall() == [(51,)]
    assert _seals(db) == [("patients", 1, 50), ("patients", 51, None)]
    assert _messages(db) == []


def test_a_window_opened_outside_insert_planned_refuses_the_commit(db):
    """A row inserted through a seal window that no batch seal covers is never queued: the seal
    refuses to commit, and nothing is written."""
    with pytest.raises(RuntimeError, match="no batch seal covers"), dbmod.write(db):
        db.execute("INSERT INTO seal_window (tbl, first_id, last_id) VALUES ('patients', 1, 9)")
        db.execute(_PAT.format(t="patients"), (3, "M00003", None))
        db.execute("DELETE FROM seal_window")
    assert db.execute("SELECT COUNT(*) FROM patients").fetchone()[0] == 0
    # left open: refused too
    with pytest.raises(RuntimeError, match="no batch seal covers"), dbmod.write(db):
        db.execute("INSERT INTO seal_window (tbl, first_id, last_id) VALUES ('patients', 1, 9)")
    # beside a real copy: still refused
    _plan(db, range(1, 11))
    with pytest.raises(RuntimeError, match="no batch seal covers"), dbmod.write(db):
        audit.insert_planned(db, "patients", "temp.plan_p", "temp.plan_b")
        db.execute("INSERT INTO seal_window (tbl, first_id, last_id) VALUES ('patients', 20, 29)")
        db.execute(_PAT.format(t="patients"), (20, "M00020", None))
        db.execute("DELETE FROM seal_window WHERE first_id = 20")
    assert db.execute("SELECT COUNT(*) FROM patients").fetchone()[0] == 0
    assert _copy(db) is True  # and the copy alone commits
    assert _messages(db) == []


def test_a_row_inserted_in_a_window_outside_billadmin_is_caught_by_check(cli, db):
    _plan(db, range(1, 11))
    _copy(db)
    # another program, without billadmin's seal: a window around its insert
    db.execute("INSERT INTO seal_window (tbl, first_id, last_id) VALUES ('patients', 11, 11)")
    db.execute(_PAT.format(t="patients"), (11, "M00011", None))
    assert _messages(db) == [
        "patients row 11 has no seal (added outside billadmin)",
        "patients: a seal window for rows 11..11 was left open outside billadmin (rows inserted"
        " there are not queued for their seal)",
    ]
    db.execute("DELETE FROM seal_window")
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    assert [f["message"] for f in json.loads(r.stdout) if f["rule"] == "LEDGER-SEAL"] == [
        "patients row 11 has no seal (added outside billadmin)"
    ]


def test_the_window_is_per_table_and_range(db):
    """While a window is open, rows of another table, or of its table outside its range, are
    queued as always (a trigger adding rows during a copy would be in that position)."""
    with dbmod.write(db):
        db.execute(_PAT.format(t="patients"), (1, "M00001", None))
        db.execute("INSERT INTO payers (id, code, name, kind) VALUES (1, 'P1', 'P', 'commercial')")
    db.execute("INSERT INTO seal_window (tbl, first_id, last_id) VALUES ('patients', 5, 9)")
    db.execute(_PAT.format(t="patients"), (10, "M00010", None))
    db.execute(
        "INSERT INTO coverages (id, patient_id, payer_id, member_id, effective_from)"
        " VALUES (7, 1, 1, 'X', '2026-01-01')"
    )
    db.execute(_PAT.format(t="patients"), (7, "M00007", None))  # in the window: not queued
    assert db.execute("SELECT tbl, row_id FROM seal_pending ORDER BY id").fetchall() == [
        ("patients", 10),
        ("coverages", 7),
    ]


def test_the_insert_triggers_honour_the_window_and_check_knows_their_sql(db):
    from billadmin.schema import SEALED

    for t in SEALED:
        sql = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (f"{t}_seal_insert",)
        ).fetchone()[0]
        assert f"WHEN NOT EXISTS (SELECT 1 FROM seal_window w WHERE w.tbl = '{t}'" in sql
    assert integrity.check_triggers(db) == []
