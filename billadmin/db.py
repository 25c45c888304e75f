"""The only place that opens a database: path, file mode, pragmas, migrations, write helper.

Every write is one ``BEGIN IMMEDIATE`` transaction through :func:`write`. A plain ``BEGIN`` (what
sqlite-utils' ``Database.atomic()`` issues) takes the write lock only at the first write, so two
processes that read then write both proceed on stale reads and one loses its work; ``IMMEDIATE``
takes the lock up front and the other waits up to the busy timeout.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import audit, crypto
from .crypto import is_encrypted_file  # noqa: F401  (part of db's interface: tests and tools ask it)
from .errors import DatabaseBusy, DatabaseUnavailable

if TYPE_CHECKING:
    # The named type of every `db` parameter: a sqlite_utils.Database over a sqlite3 or sqlcipher3
    # connection. Domain modules import it under TYPE_CHECKING too (sqlite_utils is slow to import).
    from sqlite_utils import Database as Database

DEFAULT_PATH = "billadmin.db"
ENV_VAR = "BILLADMIN_DB"
BUSY_TIMEOUT_MS = 15_000
# benchmarks: when set, each outermost write transaction appends the seconds it took, from its
# BEGIN IMMEDIATE to its end, to this file, one line each (issue 15's write-lock target)
LOCK_LOG_ENV = "BILLADMIN_LOCK_LOG"


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """--db PATH, else $BILLADMIN_DB, else ./billadmin.db."""
    if path:
        return Path(path)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path(DEFAULT_PATH)


def _create_private(path: Path) -> None:
    """Create the empty file 0600 so no other account can read PHI; SQLite gives its -wal and
    -shm files the main file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # in case the umask took bits away from 0600 itself


def _warn_if_readable(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        sys.stderr.write(
            f"Warning: {path} is readable by other accounts (mode {mode:o}); "
            f"it holds PHI: chmod 600 {path}\n"
        )


def is_db_error(exc: BaseException) -> bool:
    """sqlite3's and sqlcipher3's errors alike (sqlcipher3's are not subclasses of sqlite3's)."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("sqlcipher3")


def is_busy_error(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return (
        "database is locked" in msg
        or "database is busy" in msg
        or "database table is locked" in msg
    )


WRONG_KEY = "cannot open database: wrong key, or not a billadmin database"


def _open_raw(p: Path, key: str | None):
    """A DB-API connection: sqlite3 for plain files, sqlcipher3 with the key for encrypted ones."""
    if key is None:
        return sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    return crypto.connect(p, key, timeout=BUSY_TIMEOUT_MS / 1000)


def _known_migrations() -> set[tuple[str, str]]:
    return {(s.name, m.name) for s in migration_sets() for m in s._migrations}


def _refuse_foreign(conn, p: Path, create: bool) -> None:
    """Only a billadmin database is opened, and only `init` (create=True) makes one out of an
    empty file. Another application's SQLite file, or a database with migrations this version
    does not know (made by a newer billadmin), is refused before anything is written to it."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        if create:
            return
        conn.close()
        raise DatabaseUnavailable(
            f"{p} is an empty database, not a billadmin one: run `billadmin init` to make one"
        )
    applied: set[tuple[str, str]] = set()
    if "_sqlite_migrations" in tables:
        applied = {
            (r[0], r[1]) for r in conn.execute("SELECT migration_set, name FROM _sqlite_migrations")
        }
    if not any(s == "billadmin.core" for s, _ in applied):
        conn.close()
        raise DatabaseUnavailable(
            f"{p} is not a billadmin database (another application's file?): left unchanged"
        )
    unknown = sorted(
        f"{s}:{n}" for s, n in applied - _known_migrations() if s.startswith("billadmin.")
    )
    if unknown:
        conn.close()
        raise DatabaseUnavailable(
            f"{p} was made by a newer billadmin ({len(unknown)} migration(s) this version does not"
            f" know, e.g. {unknown[0]}): upgrade billadmin; the file was left unchanged"
        )


def connect(
    path: str | os.PathLike | None = None, *, create: bool = False, migrate: bool = True
) -> Database:
    """Open (and with create=True, make) a billadmin database; returns a sqlite_utils.Database.

    An encrypted database (SQLCipher) is opened with the key from $BILLADMIN_KEY_FILE,
    $BILLADMIN_KEY or a prompt on a terminal; a new database is created encrypted when a key is
    configured. Raises DatabaseUnavailable (exit 3) when there is no database there, the key is
    wrong or missing, or it cannot be read. Only create=True (`billadmin init`, test fixtures)
    applies pending migrations; any other open refuses a database that needs them.
    """
    import sqlite_utils

    p = resolve_path(path)
    new = False
    if not p.exists():
        if not create:
            raise DatabaseUnavailable(
                f"no database at {p}: run `billadmin init` (or pass --db PATH)"
            )
        try:
            _create_private(p)
            new = True
        except FileExistsError:
            pass
        except OSError as e:
            raise DatabaseUnavailable(f"cannot create database at {p}: {e.strerror}") from None
    elif p.is_dir():
        raise DatabaseUnavailable(f"cannot open database: {p} is a directory")
    if not create and p.stat().st_size == 0:
        raise DatabaseUnavailable(
            f"{p} is an empty file, not a billadmin database: run `billadmin init`"
        )
    if new or p.stat().st_size == 0:
        key = crypto.configured_key()
    elif is_encrypted_file(p):
        key = crypto.configured_key(prompt=True)
        if key is None:
            raise DatabaseUnavailable(WRONG_KEY + " (set BILLADMIN_KEY_FILE or BILLADMIN_KEY)")
    else:
        key = None
    try:
        conn = _open_raw(p, key)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _refuse_foreign(conn, p, create)  # before WAL: a file that is not ours stays unchanged
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except DatabaseUnavailable:
        raise
    except Exception as e:
        if not is_db_error(e):
            raise
        if is_busy_error(e):
            raise DatabaseBusy(
                f"database {p} is busy: another billadmin is writing; try again"
            ) from None
        if "unable to open" in str(e).lower() and not os.access(p.parent, os.W_OK):
            # a WAL database needs its -wal and -shm files beside it, even to be read
            raise DatabaseUnavailable(
                f"cannot open database {p}: its folder is read-only (SQLite must create "
                f"{p.name}-wal and {p.name}-shm beside it); nothing was written"
            ) from None
        if key is not None:
            raise DatabaseUnavailable(WRONG_KEY) from None
        raise DatabaseUnavailable(
            f"cannot open database {p}: not a billadmin database, or unreadable"
        ) from None
    if mode.lower() != "wal" and os.access(p, os.W_OK):
        raise DatabaseUnavailable(f"cannot open database {p}: WAL journal not available")
    _warn_if_readable(p)  # once it is known to be ours
    # no entry-point scan (execute_plugins=False): plugins are not ours
    db = sqlite_utils.Database(conn, execute_plugins=False)
    # kept in memory only: backups of an encrypted database reuse it
    db.encryption_key = key  # type: ignore[attr-defined]
    if migrate and create:
        migrate_db(db)
    elif migrate:
        # only `init` (create=True) changes the schema: an upgraded billadmin asks for it once,
        # rather than a nightly job migrating the practice's file as a side effect (issue 13)
        pending = pending_migrations(db)
        if pending:
            db.conn.close()
            raise DatabaseUnavailable(
                f"database {p} was made by an older billadmin ({len(pending)} migration(s) to"
                " apply): run `billadmin init` to upgrade it (back it up first:"
                " `billadmin db backup`)"
            )
    return db


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """One write transaction: BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    "database is locked" after the busy timeout becomes DatabaseBusy (exit 3, safe to retry).
    Nested calls join the outer transaction (as a savepoint) so a command is one transaction.
    With $BILLADMIN_LOCK_LOG set (benchmarks), each outermost transaction appends its seconds
    from BEGIN IMMEDIATE (a wait for the lock included) to its end to that file.
    """
    log = os.environ.get(LOCK_LOG_ENV)
    if not log or db.conn.in_transaction:
        with _write_tx(db) as x:
            yield x
        return
    import time

    t = time.perf_counter()
    try:
        with _write_tx(db) as x:
            yield x
    finally:
        with open(log, "a") as fh:
            fh.write(f"{time.perf_counter() - t:.4f}\n")


@contextlib.contextmanager
def _write_tx(db: Database) -> Iterator[Database]:
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except Exception as e:
        if is_db_error(e) and is_busy_error(e):
            raise DatabaseBusy(
                "database is busy: another billadmin held the write lock too long; try again"
            ) from None
        raise
    try:
        marks = audit.begin_marks(db)
        yield db
        # seal what this transaction changed in the ledger, inside it (audit.py says why)
        head = audit.before_commit(db, marks)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except Exception as e:
        if not is_db_error(e):
            raise
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if is_busy_error(e):
            raise DatabaseBusy(
                "database is busy: could not commit; nothing was written, try again"
            ) from None
        raise
    # after COMMIT: an anchor that lags a crash behind is fine, one ahead of the database is not
    audit.after_commit(db, head)


def migration_sets():
    """Every migration set, in the order they apply. Each domain that owns tables adds its set."""
    from . import schema

    return schema.MIGRATION_SETS()


def pending_migrations(db: Database) -> list[str]:
    out = []
    for s in migration_sets():
        out += [f"{s.name}:{m.name}" for m in s.pending(db)]
    return out


def migrate_db(db: Database) -> list[str]:
    """Apply pending migrations under the write lock (two first runs at once cannot race)."""
    if not pending_migrations(db):
        return []
    applied = []
    with write(db):
        for s in migration_sets():
            names = [m.name for m in s.pending(db)]
            s.apply(db)
            applied += [f"{s.name}:{n}" for n in names]
    return applied


def scalar(db: Database, sql: str, params=()):
    row = db.execute(sql, params).fetchone()
    return row[0] if row else None
