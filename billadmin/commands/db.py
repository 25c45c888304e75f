"""`billadmin db`: encryption at rest and consistent backups of the database file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import group, note, state

app = group("Encrypt, decrypt, re-key and back up the database file.")


def _path() -> Path:
    from .. import db

    p = db.resolve_path(state.db_path)
    if not p.exists():
        from ..errors import DatabaseUnavailable

        raise DatabaseUnavailable(f"no database at {p}")
    return p


def _key(*, new: bool = False) -> str:
    from .. import crypto
    from ..errors import BadInput

    key = crypto.configured_key(prompt=True, new=new)
    if not key:
        names = (
            "BILLADMIN_NEW_KEY_FILE or BILLADMIN_NEW_KEY"
            if new
            else "BILLADMIN_KEY_FILE or BILLADMIN_KEY"
        )
        raise BadInput(f"no key: set {names} (never pass a key on the command line)")
    return key


@app.command("encrypt")
def db_encrypt():
    """Encrypt a plain database in place with SQLCipher (key from the environment or a prompt).

    Stop other billadmin jobs first: the file is rewritten and swapped in.

    Example:
        BILLADMIN_KEY_FILE=~/.billadmin.key billadmin --db practice.db db encrypt
    """
    from .. import audit, crypto, db

    p = _path()
    key = _key()
    crypto.encrypt(p, key)
    conn = db.connect(p)
    with db.write(conn):
        audit.record(conn, "db encrypt")
    note(f"Encrypted {p}. Keep the key safe: without it the data cannot be read.")


@app.command("decrypt")
def db_decrypt():
    """Rewrite an encrypted database as plain SQLite (for a migration off billadmin).

    Example:
        BILLADMIN_KEY_FILE=~/.billadmin.key billadmin --db practice.db db decrypt
    """
    from .. import audit, crypto, db

    p = _path()
    key = _key()
    conn = db.connect(p)
    with db.write(conn):
        audit.record(conn, "db decrypt")
    conn.close()
    crypto.decrypt(p, key)
    note(f"Decrypted {p}: it is now readable by anyone who can read the file (mode 0600).")


@app.command("rekey")
def db_rekey():
    """Change the encryption key (old key from BILLADMIN_KEY*, new from BILLADMIN_NEW_KEY*).

    Example:
        BILLADMIN_KEY_FILE=old.key BILLADMIN_NEW_KEY_FILE=new.key billadmin --db practice.db db rekey
    """
    from .. import audit, crypto, db

    p = _path()
    key, new_key = _key(), _key(new=True)
    conn = db.connect(p)
    with db.write(conn):
        audit.record(conn, "db rekey")
    conn.close()
    crypto.rekey(p, key, new_key)
    note(f"Re-keyed {p}.")


@app.command("backup")
def db_backup(dest: Annotated[Path, typer.Argument(help="New file to write (must not exist).")]):
    """Copy the live database with SQLite's backup API (an encrypted database stays encrypted).

    Example:
        billadmin --db practice.db db backup /mnt/backup/practice-2026-11-26.db
    """
    from .. import audit, crypto, db

    p = _path()
    conn = db.connect(p)
    key = getattr(conn, "encryption_key", None)
    with db.write(conn):
        audit.record(conn, "db backup", detail={"dest": str(dest)})
    pages = crypto.backup(conn.conn, dest, key)
    note(f"Backed up {p} to {dest} ({pages} pages{', encrypted' if key else ''}, mode 0600).")


@app.command("anchor")
def db_anchor():
    """Print the audit anchor (the head of the audit and ledger-seal chains) to ship off the machine.

    billadmin rewrites the anchor beside the audit secret after every write; a copy kept
    elsewhere lets `check --anchor FILE` find history rewritten by someone who also holds the
    secret and the local anchor.

    Example:
        billadmin --db practice.db db anchor > /mnt/offsite/practice-$(date +%F).anchor
        billadmin --db practice.db check --anchor /mnt/offsite/practice-2026-11-25.anchor
    """
    from .. import audit, db
    from ..errors import NotFound

    conn = db.connect(_path())
    path = audit.anchor_path(conn)
    if path is None or not path.exists():
        raise NotFound("this database has no anchor here yet: any billadmin write makes one")
    typer.echo(path.read_text(encoding="utf-8"), nl=False)
    note(f"Anchor {path}")
