import os
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest

from billadmin import db as dbmod
from billadmin.errors import DatabaseBusy, DatabaseUnavailable


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_migrations_on_blank_database(db_path):
    old = os.umask(0o022)
    try:
        conn = dbmod.connect(db_path, create=True)
    finally:
        os.umask(old)
    tables = set(conn.table_names())
    for t in (
        "practice",
        "providers",
        "payers",
        "patients",
        "coverages",
        "encounters",
        "encounter_diagnoses",
        "charge_lines",
        "invoices",
        "invoice_lines",
        "payments",
        "payment_allocations",
        "adjustments",
        "import_batches",
        "audit_log",
        "series",
    ):
        assert t in tables
    assert dbmod.pending_migrations(conn) == []
    # STRICT tables refuse a text in an INTEGER money column
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO payers (code, name, kind, appeal_days) VALUES ('X','X','commercial','ninety')"
        )
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    # a write leaves -wal and -shm: all three are private even under umask 022
    with dbmod.write(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('k', 'v')")
    for suffix in ("", "-wal", "-shm"):
        assert mode(str(db_path) + suffix) == 0o600, suffix
    conn.close()
    # migrating again is a no-op
    conn = dbmod.connect(db_path)
    assert dbmod.migrate_db(conn) == []


def test_missing_database_is_exit_3(tmp_path):
    with pytest.raises(DatabaseUnavailable, match="billadmin init"):
        dbmod.connect(tmp_path / "nope.db")


def test_not_a_database(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite" * 100)
    os.chmod(p, 0o600)
    with pytest.raises(DatabaseUnavailable, match="not a billadmin database"):
        dbmod.connect(p)


def test_world_readable_warns(db_path, capsys):
    dbmod.connect(db_path, create=True).close()
    os.chmod(db_path, 0o644)
    dbmod.connect(db_path).close()
    assert "readable by other accounts" in capsys.readouterr().err


def test_resolve_path_order(monkeypatch, tmp_path):
    monkeypatch.setenv("BILLADMIN_DB", str(tmp_path / "env.db"))
    assert dbmod.resolve_path("x.db").name == "x.db"
    assert dbmod.resolve_path(None).name == "env.db"
    monkeypatch.delenv("BILLADMIN_DB")
    assert str(dbmod.resolve_path(None)) == "billadmin.db"


def test_write_rolls_back_on_error(db):
    with pytest.raises(ZeroDivisionError):
        with dbmod.write(db):
            db.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
            raise ZeroDivisionError
    assert db.execute("SELECT COUNT(*) FROM settings").fetchone()[0] == 0
    assert not db.conn.in_transaction
    # nested writes join the outer transaction: an inner failure caught inside still commits the rest
    with dbmod.write(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('b', '1')")
        with pytest.raises(ValueError):
            with dbmod.write(db):
                db.execute("INSERT INTO settings (key, value) VALUES ('c', '1')")
                raise ValueError
    assert [r[0] for r in db.execute("SELECT key FROM settings")] == ["b"]


def test_busy_after_timeout_is_clear(db_path, monkeypatch):
    conn = dbmod.connect(db_path, create=True)
    other = dbmod.connect(db_path).conn  # plain or encrypted alike
    other.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(DatabaseBusy) as e:
            with dbmod.write(conn):
                pass
        assert e.value.exit_code == 3
    finally:
        other.execute("ROLLBACK")


WORKER = textwrap.dedent("""
    import sys
    from billadmin import db
    conn = db.connect(sys.argv[1])
    for _ in range(int(sys.argv[2])):
        with db.write(conn):
            # read, then write what was read plus one: loses updates without BEGIN IMMEDIATE
            n = int(conn.execute("SELECT value FROM settings WHERE key='counter'").fetchone()[0])
            conn.execute("UPDATE settings SET value=? WHERE key='counter'", (str(n + 1),))
""")


@pytest.mark.slow
def test_two_processes_lose_nothing(db_path):
    conn = dbmod.connect(db_path, create=True)
    with dbmod.write(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('counter', '0')")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db_path), "200"], stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert conn.execute("SELECT value FROM settings WHERE key='counter'").fetchone()[0] == "400"


def test_only_init_migrates(cli, db_path, monkeypatch):
    """Issue 13: a database an older billadmin made is upgraded by `init` only; another command
    refuses it (exit 3, nothing written) rather than migrating it as a side effect."""
    from sqlite_utils.migrations import Migrations

    assert cli("init").exit_code == 0
    newer = Migrations("billadmin.test-upgrade")

    @newer()
    def m001_a_new_table(db):
        db.execute("CREATE TABLE upgrade_marker (id INTEGER PRIMARY KEY) STRICT")

    base = dbmod.migration_sets()
    monkeypatch.setattr(dbmod, "migration_sets", lambda: [*base, newer])
    before = db_path.read_bytes()
    r = cli("patient", "list")
    assert r.exit_code == 3 and "billadmin init" in r.stderr, r.stderr
    assert db_path.read_bytes() == before
    r = cli("init")
    assert r.exit_code == 0, r.stderr
    assert cli("patient", "list").exit_code == 0
    conn = dbmod.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM upgrade_marker").fetchone() == (0,)
