import sqlite3

import pytest

from billadmin import audit
from billadmin import db as dbmod


def _rows(db, n):
    for i in range(n):
        with dbmod.write(db):
            audit.record(db, "test", entity="patient", ids=[i], count=1, detail={"i": i})


def test_chain_verifies_and_detects_tampering(db):
    _rows(db, 5)
    assert audit.verify(db) == []
    # append-only: triggers refuse UPDATE and DELETE
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET command='x' WHERE id=2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log WHERE id=2")
    # behind billadmin's back: drop the trigger, edit a row
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET entity_ids='99' WHERE id=3")
    breaks = audit.verify(db)
    assert [b.audit_id for b in breaks] == [3]
    assert "edited" in breaks[0].reason


def test_deleted_row_detected(db):
    _rows(db, 4)
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE id=2")
    breaks = audit.verify(db)
    assert any("missing" in b.reason for b in breaks)


def test_record_needs_a_write_transaction(db):
    with pytest.raises(RuntimeError):
        audit.record(db, "outside")
