"""clerk_adjustments (why a clerk adjusted a balance) is money ledger: append-only and sealed like
the adjustment it explains (schema.APPEND_ONLY / SEALED, migration m003), so an edit behind
billadmin's back is found by `billadmin check`."""

from __future__ import annotations

import sqlite3

import pytest
from test_claim_corrections import _deny, _setup


@pytest.fixture
def written_off(cli, db, tmp_path):
    """C000001 150.00 denied CO-16, then 150.00 written off (denial-writeoff) by the clerk."""
    _setup(db, tmp_path)
    _deny(db, tmp_path, "KEY-77")
    r = cli("invoice", "writeoff", "C000001", "150.00", "--reason", "denial-writeoff")
    assert r.exit_code == 0, r.stderr
    assert cli("check").exit_code == 0
    return db


@pytest.mark.parametrize(
    "sql",
    ["UPDATE clerk_adjustments SET reason = 'courtesy'", "DELETE FROM clerk_adjustments"],
)
def test_clerk_adjustments_refuse_update_and_delete(written_off, sql):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        written_off.execute(sql)


def test_an_edited_write_off_reason_is_found_by_check(cli, written_off):
    db = written_off
    db.execute("DROP TRIGGER clerk_adjustments_append_only_update")
    db.execute("UPDATE clerk_adjustments SET reason = 'courtesy'")
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    rid = db.execute("SELECT rowid FROM clerk_adjustments").fetchone()[0]
    text = r.stdout
    assert f"clerk_adjustments row {rid} changed since it was sealed" in text, text
    assert "clerk_adjustments_append_only_update" in text, text


def test_a_deleted_write_off_reason_is_found_by_check(cli, written_off):
    db = written_off
    db.execute("DROP TRIGGER clerk_adjustments_append_only_delete")
    rid = db.execute("SELECT rowid FROM clerk_adjustments").fetchone()[0]
    db.execute("DELETE FROM clerk_adjustments")
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    assert f"clerk_adjustments row {rid} was deleted (its seal remains)" in r.stdout, r.stdout
