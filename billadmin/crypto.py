"""Encryption at rest with SQLCipher 4 (through sqlcipher3), and consistent backups.

The key comes from $BILLADMIN_KEY_FILE (a file only its owner can read), else $BILLADMIN_KEY,
else a prompt when stdin is a terminal. It is never a command-line argument (argv is visible to
every account through /proc) and never stored beside the database. A wrong key gives one message,
"cannot open database: wrong key, or not a billadmin database", with SQLCipher's own logging
turned off first so nothing else reaches the terminal.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from .errors import BadInput, DatabaseUnavailable

KEY_FILE_ENV = "BILLADMIN_KEY_FILE"
KEY_ENV = "BILLADMIN_KEY"
NEW_KEY_FILE_ENV = "BILLADMIN_NEW_KEY_FILE"
NEW_KEY_ENV = "BILLADMIN_NEW_KEY"


SQLITE_HEADER = b"SQLite format 3\x00"


def is_encrypted_file(p: Path) -> bool:
    """A SQLCipher file has no plain SQLite header (its first page is ciphertext)."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return bool(head) and head != SQLITE_HEADER


def _read_key_file(path: str) -> str:
    p = Path(path)
    try:
        mode = stat.S_IMODE(p.stat().st_mode)
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise DatabaseUnavailable(
            f"cannot read the key file named by ${KEY_FILE_ENV}: {e.strerror}"
        ) from None
    if mode & 0o077:
        raise DatabaseUnavailable(
            f"the key file {p} is readable by other accounts (mode {mode:o}): chmod 600 it"
        )
    key = text.strip("\r\n")
    if not key:
        raise DatabaseUnavailable(f"the key file {p} is empty")
    return key


def configured_key(*, prompt: bool = False, new: bool = False) -> str | None:
    """The key from the environment (or a terminal prompt when prompt=True), or None."""
    file_env, env = (NEW_KEY_FILE_ENV, NEW_KEY_ENV) if new else (KEY_FILE_ENV, KEY_ENV)
    if os.environ.get(file_env):
        return _read_key_file(os.environ[file_env])
    if os.environ.get(env):
        return os.environ[env]
    if prompt and sys.stdin is not None and sys.stdin.isatty():
        import getpass

        key = getpass.getpass("New database key: " if new else "Database key: ")
        if new and getpass.getpass("Repeat the new key: ") != key:
            raise BadInput("the two keys differ")
        return key or None
    return None


def _quote(key: str) -> str:
    return "'" + key.replace("'", "''") + "'"


def _sqlcipher():
    try:
        import sqlcipher3
    except ImportError:  # pragma: no cover - it is a declared dependency
        raise DatabaseUnavailable("encryption needs the sqlcipher3 package") from None
    return sqlcipher3


def connect(p: Path, key: str, *, timeout: float = 15.0):
    """Open an encrypted (or new, to be encrypted) database and prove the key at once."""
    sc = _sqlcipher()
    conn = sc.connect(str(p), timeout=timeout, isolation_level=None)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA key = {_quote(key)}")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sc.DatabaseError as e:
        conn.close()
        if "unable to open" in str(e).lower():
            raise  # not the key: the file or its folder cannot be opened (db.connect says which)
        raise DatabaseUnavailable(
            "cannot open database: wrong key, or not a billadmin database"
        ) from None
    return CipherConnection(conn)


def _private_tmp(p: Path, suffix: str) -> Path:
    tmp = p.with_name(p.name + suffix)
    for s in ("", "-wal", "-shm"):
        Path(str(tmp) + s).unlink(missing_ok=True)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    return tmp


def _remove_with_journals(tmp: Path) -> None:
    """A failed rewrite or backup leaves nothing behind: the copy may hold plaintext PHI."""
    for s in ("", "-wal", "-shm", "-journal"):
        Path(str(tmp) + s).unlink(missing_ok=True)


def _swap_in(tmp: Path, p: Path) -> None:
    for s in ("-wal", "-shm"):
        Path(str(p) + s).unlink(missing_ok=True)
    os.replace(tmp, p)
    fd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _export(src_conn, tmp: Path, target_key: str) -> None:
    """Copy every page of src into tmp under target_key ('' = plaintext), via sqlcipher_export."""
    src_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    src_conn.execute(f"ATTACH DATABASE ? AS target KEY {_quote(target_key)}", (str(tmp),))
    src_conn.execute("SELECT sqlcipher_export('target')")
    src_conn.execute("DETACH DATABASE target")


def encrypt(p: Path, key: str) -> None:
    """Rewrite a plain database encrypted under key (run it while no other billadmin runs)."""
    if is_encrypted_file(p):
        raise BadInput(f"{p} is already encrypted (use `billadmin db rekey` to change the key)")
    sc = _sqlcipher()
    src = CipherConnection(sc.connect(str(p), isolation_level=None))
    tmp = _private_tmp(p, ".encrypting")
    try:
        try:
            _export(src, tmp, key)
        finally:
            src.close()
        check = connect(tmp, key)
        check.execute("PRAGMA journal_mode = WAL")
        check.close()
    except BaseException:
        _remove_with_journals(tmp)
        raise
    _swap_in(tmp, p)


def decrypt(p: Path, key: str) -> None:
    """Rewrite an encrypted database as plain SQLite."""
    src = connect(p, key)
    tmp = _private_tmp(p, ".decrypting")
    try:
        try:
            _export(src, tmp, "")
        finally:
            src.close()
        import sqlite3

        check = sqlite3.connect(str(tmp))
        check.execute("PRAGMA journal_mode = WAL")
        check.close()
    except BaseException:
        _remove_with_journals(tmp)  # never a plaintext copy left behind
        raise
    _swap_in(tmp, p)


def rekey(p: Path, key: str, new_key: str) -> None:
    """Re-encrypt under a new key (a fresh copy, swapped in: works in WAL mode)."""
    src = connect(p, key)
    tmp = _private_tmp(p, ".rekeying")
    try:
        try:
            _export(src, tmp, new_key)
        finally:
            src.close()
        check = connect(tmp, new_key)
        check.execute("PRAGMA journal_mode = WAL")
        check.close()
    except BaseException:
        _remove_with_journals(tmp)
        raise
    _swap_in(tmp, p)


def backup(conn, dest: Path, key: str | None) -> int:
    """Copy a live database with SQLite's online backup API; an encrypted source gives an
    encrypted copy under the same key. Returns the page count.

    The copy is made in a temporary file (O_EXCL|O_NOFOLLOW, 0600) beside dest, fsynced, then
    linked to dest, which must not exist (never written through, never replaced). On any failure
    (a full disk) the temporary file is removed: no partial copy is left for a later `check` or
    restore to mistake for the database."""
    import secrets
    import sqlite3

    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        raise BadInput(f"{dest} exists: choose a new file name")
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"cannot write {dest}: the folder {folder} does not exist")
    tmp = folder / f".{dest.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.close(fd)
    try:
        try:
            target = connect(tmp, key) if key is not None else sqlite3.connect(str(tmp))
            try:
                conn.backup(target)
                pages = target.execute("PRAGMA page_count").fetchone()[0]
            finally:
                target.close()
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except (OSError, sqlite3.Error) as e:
            why = getattr(e, "strerror", None) or str(e)
            raise DatabaseUnavailable(
                f"cannot write the backup in {folder}: {why} (a full disk?); no file was left"
            ) from None
        try:
            os.link(tmp, dest)  # fails if dest appeared meanwhile: never replaced
        except FileExistsError:
            raise BadInput(f"{dest} exists: choose a new file name") from None
        except OSError:  # a file system without hard links (some network or USB mounts)
            if dest.exists() or dest.is_symlink():
                raise BadInput(f"{dest} exists: choose a new file name") from None
            os.rename(tmp, dest)
    finally:
        _remove_with_journals(tmp)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return pages


# sqlcipher3's exceptions are not subclasses of sqlite3's, yet sqlite-utils (and any code that
# catches sqlite3.IntegrityError) expects sqlite3's. The proxy below re-raises every sqlcipher3
# error as the sqlite3 class of the same name, so an encrypted database behaves exactly like a
# plain one to everything above db.py.
import sqlite3 as _sqlite3  # noqa: E402


def _translate(exc: BaseException) -> BaseException:
    cls = getattr(_sqlite3, type(exc).__name__, _sqlite3.DatabaseError)
    if not (isinstance(cls, type) and issubclass(cls, _sqlite3.Error)):
        cls = _sqlite3.DatabaseError
    new = cls(*exc.args)
    for attr in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(exc, attr):
            try:
                setattr(new, attr, getattr(exc, attr))
            except AttributeError:
                pass
    return new


def _guard(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        if type(e).__module__.startswith("sqlcipher3"):
            raise _translate(e) from None
        raise


class _Cursor:
    def __init__(self, cur):
        self._cur = cur

    def __iter__(self):
        return self

    def __next__(self):
        return _guard(self._cur.__next__)

    def fetchone(self):
        return _guard(self._cur.fetchone)

    def fetchall(self):
        return _guard(self._cur.fetchall)

    def fetchmany(self, *a):
        return _guard(self._cur.fetchmany, *a)

    def execute(self, *a):
        _guard(self._cur.execute, *a)
        return self

    def executemany(self, *a):
        _guard(self._cur.executemany, *a)
        return self

    def __getattr__(self, name):  # description, lastrowid, rowcount, close, arraysize ...
        return getattr(self._cur, name)


class CipherConnection:
    """A sqlcipher3 connection that raises sqlite3's exception classes."""

    def __init__(self, conn):
        self._conn = conn

    def execute(self, *a):
        return _Cursor(_guard(self._conn.execute, *a))

    def executemany(self, *a):
        return _Cursor(_guard(self._conn.executemany, *a))

    def executescript(self, *a):
        return _Cursor(_guard(self._conn.executescript, *a))

    def cursor(self, *a):
        return _Cursor(_guard(self._conn.cursor, *a))

    def commit(self):
        return _guard(self._conn.commit)

    def rollback(self):
        return _guard(self._conn.rollback)

    def iterdump(self):
        """sqlcipher3 has no iterdump; the standard library's works over any connection."""
        from sqlite3.dump import _iterdump  # type: ignore[attr-defined]  # private, stable since 2.5

        return _iterdump(self)

    def backup(self, target, **kw):
        target = getattr(target, "_conn", target)
        return _guard(self._conn.backup, target, **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._conn.__exit__(*exc)

    def __getattr__(self, name):  # in_transaction, isolation_level, create_function, close, ...
        return getattr(self._conn, name)

    def __setattr__(self, name, value):
        if name == "_conn":
            object.__setattr__(self, name, value)
        else:
            setattr(self._conn, name, value)
