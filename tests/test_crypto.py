"""Encryption at rest (SQLCipher) and backups through the backup API."""

import os

import pytest

from billadmin import db as dbmod


@pytest.fixture
def keyfile(tmp_path):
    p = tmp_path / "db.key"
    p.write_text("correct horse battery staple\n")
    os.chmod(p, 0o600)
    return p


def _plain_with_row(db_path):
    conn = dbmod.connect(db_path, create=True)
    with dbmod.write(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('sentinel', 'kept')")
    conn.close()


def test_encrypt_open_wrong_key_decrypt(cli, db_path, keyfile, monkeypatch):
    monkeypatch.delenv("BILLADMIN_KEY", raising=False)
    _plain_with_row(db_path)
    r = cli("db", "encrypt", env={"BILLADMIN_KEY_FILE": str(keyfile)})
    assert r.exit_code == 0, r.stderr
    assert dbmod.is_encrypted_file(db_path)
    assert b"sentinel" not in db_path.read_bytes()
    # without a key, and with a wrong one: one clear line, exit 3, no SQLCipher noise
    r = cli("db", "backup", str(db_path.parent / "b.db"))
    assert r.exit_code == 3 and r.stderr.startswith(
        "Error: cannot open database: wrong key, or not a billadmin database"
    )
    r = cli("init", env={"BILLADMIN_KEY": "not the key"})
    assert r.exit_code == 3
    assert r.stderr.strip() == "Error: cannot open database: wrong key, or not a billadmin database"
    # the right key opens it transparently
    monkeypatch.setenv("BILLADMIN_KEY_FILE", str(keyfile))
    conn = dbmod.connect(db_path)
    assert conn.execute("SELECT value FROM settings WHERE key='sentinel'").fetchone()[0] == "kept"
    conn.close()
    r = cli("db", "decrypt")
    assert r.exit_code == 0, r.stderr
    assert not dbmod.is_encrypted_file(db_path)
    monkeypatch.delenv("BILLADMIN_KEY_FILE")
    conn = dbmod.connect(db_path)
    assert conn.execute("SELECT value FROM settings WHERE key='sentinel'").fetchone()[0] == "kept"
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert "db encrypt" in actions and "db decrypt" in actions


def test_key_file_must_be_private(cli, db_path, keyfile):
    _plain_with_row(db_path)
    os.chmod(keyfile, 0o644)
    r = cli("db", "encrypt", env={"BILLADMIN_KEY_FILE": str(keyfile)})
    assert r.exit_code == 3 and "readable by other accounts" in r.stderr


def test_no_key_no_encrypt(cli, db_path, monkeypatch):
    monkeypatch.delenv("BILLADMIN_KEY", raising=False)
    _plain_with_row(db_path)
    r = cli("db", "encrypt")
    assert r.exit_code == 2 and "never pass a key on the command line" in r.stderr


def test_rekey(cli, db_path, monkeypatch):
    monkeypatch.setenv("BILLADMIN_KEY", "old")
    _plain_with_row(db_path)  # created encrypted: a key is configured
    assert dbmod.is_encrypted_file(db_path)
    r = cli("db", "rekey", env={"BILLADMIN_NEW_KEY": "new"})
    assert r.exit_code == 0, r.stderr
    monkeypatch.setenv("BILLADMIN_KEY", "new")
    assert dbmod.connect(db_path).execute("SELECT value FROM settings").fetchone()[0] == "kept"
    monkeypatch.setenv("BILLADMIN_KEY", "old")
    with pytest.raises(Exception, match="wrong key"):
        dbmod.connect(db_path)


@pytest.mark.parametrize("encrypted", [False, True])
def test_backup(cli, db_path, tmp_path, monkeypatch, encrypted):
    if encrypted:
        monkeypatch.setenv("BILLADMIN_KEY", "k")
    else:
        monkeypatch.delenv("BILLADMIN_KEY", raising=False)
    _plain_with_row(db_path)
    dest = tmp_path / "backup.db"
    r = cli("db", "backup", str(dest))
    assert r.exit_code == 0, r.stderr
    assert (os.stat(dest).st_mode & 0o777) == 0o600
    assert dbmod.is_encrypted_file(dest) == encrypted
    assert dbmod.connect(dest).execute("SELECT value FROM settings").fetchone()[0] == "kept"
    r = cli("db", "backup", str(dest))
    assert r.exit_code == 2 and "exists" in r.stderr


# ---- issue 13: a failed backup or decrypt leaves nothing behind --------------------------------


def test_failed_backup_on_a_full_disk_leaves_no_file(db, db_path, tmp_path):
    """RLIMIT_FSIZE makes every write past 256 KiB fail (EFBIG), as a full disk would: the backup
    fails with one line and exit 3, nothing is left in the folder, and the database is intact."""
    import resource
    import subprocess
    import sys

    with dbmod.write(db):
        db.conn.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)",
            [(f"pad{i}", os.urandom(500).hex()) for i in range(600)],
        )
    db.close()
    folder = tmp_path / "backups"
    folder.mkdir()

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "billadmin",
            "--db",
            str(db_path),
            "db",
            "backup",
            str(folder / "b.db"),
        ],
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "BILLADMIN_DB"},
    )
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    assert list(folder.iterdir()) == []
    # no half-written copy for `check` to open as a database (and nothing to turn into one)
    r = subprocess.run(
        [sys.executable, "-m", "billadmin", "--db", str(folder / "b.db"), "check"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3 and not (folder / "b.db").exists()


def test_failed_decrypt_leaves_no_plaintext_copy(cli, db_path, keyfile, monkeypatch):
    from billadmin import crypto

    monkeypatch.delenv("BILLADMIN_KEY", raising=False)
    _plain_with_row(db_path)
    assert cli("db", "encrypt", env={"BILLADMIN_KEY_FILE": str(keyfile)}).exit_code == 0
    monkeypatch.setenv("BILLADMIN_KEY_FILE", str(keyfile))
    real = crypto._export

    def full_disk(src, tmp, key):
        real(src, tmp, key)  # the plaintext copy is written, then the disk fills
        raise OSError(28, "No space left on device", str(tmp))

    monkeypatch.setattr(crypto, "_export", full_disk)
    r = cli("db", "decrypt")
    assert r.exit_code == 3, r.stderr
    left = sorted(p.name for p in db_path.parent.iterdir() if p.name.startswith(db_path.name))
    assert not [n for n in left if ".decrypting" in n], left
    assert dbmod.is_encrypted_file(db_path)
