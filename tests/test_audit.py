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


# ---- issue 13: keyed, anchored, never-reused; the user and the command are not the caller's --

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import shutil  # noqa: E402


def _check(cli, *args):
    r = cli("check", "--format", "json", *args)
    return r.exit_code, [(f["rule"], f["message"]) for f in json.loads(r.stdout or "[]")]


def _secret_file(db):
    return audit.find_secret(audit.database_id(db))


def test_rows_are_keyed_and_the_secret_lives_outside_the_database(cli, db, db_path):
    _rows(db, 3)
    p = _secret_file(db)
    assert p is not None and p.parent == audit.secret_dirs()[0]
    assert os.stat(p).st_mode & 0o777 == 0o600
    assert p.read_text().strip() not in db_path.read_bytes().decode("latin-1")
    row = db.execute("SELECT * FROM audit_log WHERE id = 2").fetchone()
    assert audit._hash(dict(zip(("id",) + audit._FIELDS, row, strict=False)), row[-2]) != row[-1]
    assert audit.verify(db) == []


def test_rehashed_chain_without_the_secret_is_detected(cli, db):
    """Drop the triggers, delete a row and recompute every hash as the old unkeyed chain did."""
    _rows(db, 4)
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE id = 2")
    cols = ("id",) + audit._FIELDS + ("prev_hash", "hash")
    prev = audit.GENESIS
    for r in db.execute(f"SELECT {', '.join(cols)} FROM audit_log ORDER BY id").fetchall():
        row = dict(zip(cols, r, strict=True))
        h = audit._hash(row, prev)
        db.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, row["id"])
        )
        prev = h
    code, found = _check(cli)
    assert code == 1
    chain = [m for rule, m in found if rule == "AUDIT-CHAIN"]
    assert any("rehashed without the secret" in m for m in chain), found
    assert any(rule == "AUDIT-ANCHOR" for rule, _ in found), found


def test_cut_tail_is_detected_and_ids_are_never_reused(cli, db):
    _rows(db, 5)
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE id >= 4")
    assert audit.verify(db) == []  # the chain alone cannot tell: the anchor can
    code, found = _check(cli)
    assert code == 1
    assert (
        "AUDIT-ANCHOR",
        f"anchor {audit.anchor_path(db)}: audit row 5 is missing (the log ends at 3): rows were"
        " deleted or the tail cut",
    ) in found
    # the check's own row continues after 5 (AUTOINCREMENT): the gap stays visible
    assert db.execute("SELECT MAX(id) FROM audit_log").fetchone()[0] == 6
    # and the anchor is not moved past the evidence: the next check still fails
    assert _check(cli)[0] == 1


def test_triggers_dropped_and_everything_deleted_is_detected(cli, db):
    _rows(db, 3)
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log")
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'audit_log'")
    code, found = _check(cli)
    assert code == 1
    assert any(rule == "AUDIT-ANCHOR" and "audit row 3 is missing" in m for rule, m in found)
    assert any(rule == "TRIGGER" and "audit_log_no_delete" in m for rule, m in found)


def test_shipped_anchor_catches_an_attacker_who_also_rewrote_the_local_one(cli, db, tmp_path):
    _rows(db, 3)
    shipped = tmp_path / "offsite.anchor"
    shutil.copy(audit.anchor_path(db), shipped)
    assert cli("check", "--anchor", shipped).exit_code == 0
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE id = 3")
    audit.anchor_path(db).unlink()  # the local anchor is gone: the next write re-anchors here
    code, found = _check(cli, "--anchor", shipped)
    assert code == 1
    assert any(f"anchor {shipped}: audit row 3 is missing" in m for _, m in found), found
    forged = tmp_path / "forged.anchor"
    text = json.loads(shipped.read_text())
    text["audit"]["last_id"] = 2
    forged.write_text(json.dumps(text))
    code, found = _check(cli, "--anchor", forged)
    assert any("not written by billadmin with this database's secret" in m for _, m in found)


def test_missing_secret_is_a_finding_and_writes_are_refused(cli, db, db_path):
    _rows(db, 2)
    secret = _secret_file(db)
    secret.rename(secret.with_suffix(".moved"))
    audit._secrets.clear()
    code, found = _check(cli)
    assert code == 1
    assert [rule for rule, _ in found] == ["AUDIT-SECRET"]
    r = cli("payment", "post", "0000101", "1.00", "--method", "cash")
    assert r.exit_code in (2, 3)  # no such patient (2) or the secret (3): never a traceback
    with pytest.raises(Exception, match="audit secret of this database is missing"):
        _rows(db, 1)
    secret.with_suffix(".moved").rename(secret)
    audit._secrets.clear()
    assert cli("check").exit_code == 0


def test_os_user_from_the_effective_uid_and_command_from_the_parsed_path(cli, db, tmp_path):
    import invoice_fixtures as fx

    from billadmin import db as dbmod

    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "1001")
        fx.coverage(db, pid, "KEY")
        fx.encounter(db, pid, "2026-06-01", [("99213", 14000)], number="E1")
    env = {"LOGNAME": "evil", "USER": "evil"}
    r = cli("invoice", "generate", "--out", tmp_path / "out", "--no-pdf", env=env)
    assert r.exit_code in (0, 1), r.stderr
    rows = db.execute("SELECT os_user, command, action FROM audit_log ORDER BY id").fetchall()
    assert rows and {u for u, _, _ in rows} == {pwd.getpwuid(os.geteuid()).pw_name}
    assert rows[-1][1] == "invoice generate", rows  # not the --db value argv[1:3] gave
    cli("check", env=env)
    assert db.execute("SELECT os_user, command FROM audit_log ORDER BY id DESC").fetchone() == (
        pwd.getpwuid(os.geteuid()).pw_name,
        "check",
    )


def test_legacy_rows_stay_verifiable_after_the_switch(db_path):
    """A database from before the keyed chain: its rows stay a sha256 chain, new ones keyed."""
    import sqlite3 as sq

    import sqlite_utils

    from billadmin import db as dbmod
    from billadmin import schema

    raw = sqlite_utils.Database(sq.connect(db_path, isolation_level=None))
    for s in schema.MIGRATION_SETS()[:-1]:
        s.apply(raw)
    prev = audit.GENESIS
    for i in range(3):
        row = {k: None for k in audit._FIELDS}
        row.update(at=f"2026-01-0{i + 1}", os_user="u", command="old", action="legacy")
        h = audit._hash(row, prev)
        raw.execute(
            "INSERT INTO audit_log (at, os_user, command, action, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?)",
            (row["at"], "u", "old", "legacy", prev, h),
        )
        prev = h
    raw.close()
    # as `billadmin init` upgrades it: the log rebuilt AUTOINCREMENT, rows copied
    conn = dbmod.connect(db_path, create=True)
    assert audit.keyed_from(conn) == 4
    _rows(conn, 2)
    assert audit.verify(conn) == []
    assert (
        "AUTOINCREMENT"
        in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_log'").fetchone()[0]
    )
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET action = 'x' WHERE id = 2")
    assert [b.audit_id for b in audit.verify(conn)] == [2]
    conn.close()


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["sqlite", "empty", "text"])
def test_foreign_or_empty_file_refused_unchanged(cli, tmp_path, kind):
    p = tmp_path / "other.db"
    if kind == "sqlite":
        import sqlite3 as sq

        c = sq.connect(p)
        c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        c.execute("INSERT INTO notes (body) VALUES ('hello')")
        c.commit()
        c.close()
    elif kind == "empty":
        p.write_bytes(b"")
    else:
        p.write_bytes(b"not a database at all\n" * 10)
    before = _sha(p)
    for args in (["check"], ["patient", "list"], ["db", "backup", str(tmp_path / "b.db")]):
        r = cli("--db", p, *args, db=False)
        assert r.exit_code == 3, (args, r.stderr)
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
        assert _sha(p) == before
        assert not (tmp_path / "b.db").exists()
    assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith("other")) == ["other.db"]
    if kind == "sqlite":  # not even init turns another application's file into ours
        assert cli("--db", p, "init", db=False).exit_code == 3
        assert _sha(p) == before


def test_database_from_a_newer_billadmin_refused(cli, db, db_path):
    with dbmod_write(db):
        db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('billadmin.core', 'm999_from_the_future', 'now')"
        )
    db.close()
    before = _sha(db_path)
    for args in (["check"], ["init"], ["patient", "list"]):
        r = cli(*args)
        assert r.exit_code == 3 and "made by a newer billadmin" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
    assert _sha(db_path) == before


def dbmod_write(db):
    from billadmin import db as dbmod

    return dbmod.write(db)


def test_db_anchor_prints_what_check_anchor_reads(cli, db, tmp_path):
    _rows(db, 2)
    r = cli("db", "anchor")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["audit"]["last_id"] == 2
    (tmp_path / "shipped.anchor").write_text(r.stdout)
    assert cli("check", "--anchor", tmp_path / "shipped.anchor").exit_code == 0


def test_secret_folder_unusable_refuses_the_write(cli, db_path, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    r = cli("init")
    assert r.exit_code == 3 and "cannot create the audit secret" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


def test_anchor_that_cannot_be_written_is_a_warning_after_commit(cli, db, capsys):
    _rows(db, 1)
    path = audit.anchor_path(db)
    path.unlink()
    path.mkdir()  # the anchor's name taken by a folder: it cannot be replaced
    capsys.readouterr()
    _rows(db, 1)  # committed all the same; the anchor lags behind
    assert "Warning: the audit anchor could not be updated" in capsys.readouterr().err
    assert db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == 2
    code, found = _check(cli)  # and `check` says the anchor is unusable
    assert code == 1 and [rule for rule, _ in found] == ["AUDIT-ANCHOR"]


# ---- the seal chain's HMAC (batch seals: tests/test_seal_batches.py) ----------------------------


def test_the_seal_chain_mac_is_hmac_sha256():
    import hashlib
    import hmac

    for secret in (b"k" * 32, b"", b"z" * 100):
        want = hmac.new(secret, b"p|invoices|7|d", hashlib.sha256).hexdigest()
        assert audit._SealMac(secret)("p", "invoices", 7, "d") == want
        assert audit._seal_hash(secret, "p", "invoices", 7, "d") == want
