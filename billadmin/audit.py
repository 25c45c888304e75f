"""Audit log and ledger seals: keyed, anchored, append-only records nobody can quietly change.

Rule: HIPAA Security Rule audit controls and integrity, 45 CFR 164.312(b) and (c)(1).

- Each command that writes or shows PHI appends one audit row: the OS user (from the effective
  uid), the parsed command path, the entity kind and internal ids (never PHI values), counts,
  UTC time, the previous row's hash and its own. Ids come from AUTOINCREMENT, so they are never
  reused and a cut tail leaves a gap. Rows from the `billadmin.integrity` migration on are keyed:
  hash = HMAC-SHA256(secret, canonical JSON of the row + prev_hash). Older rows stay the sha256
  chain they were written as (verified as such, up to settings.audit_keyed_from).
- Money and identity rows (schema.SEALED) are queued by triggers in seal_pending whenever they
  are inserted, updated or deleted, and sealed by the transaction that changed them (db.write
  calls seal() before COMMIT): row_seals holds a keyed chain of (table, row, digest of its
  values). A change made outside billadmin stays queued, or no longer matches its seal.
- A transaction that copies many rows it planned beforehand (`invoice generate`) may digest
  them before it takes the write lock (plan_batches, or PlannedDigests from the values it
  plans) and copy them with insert_planned: each run of up to BATCH_ROWS consecutive ids is
  sealed by one batch record (a row_seals row with last_id and the rows' raw sha256 digests
  packed in id order), chained like a per-row seal over its range and the sha256 of the
  packed digests, and the copied rows are not queued one by one (seal_window). A sample is
  compared with the stored rows first; `check` recomputes every digest from the stored rows,
  and a later seal of a row supersedes its batch entry.
- The secret lives outside the database file (0600), one per database id (settings.db_id):
  beside the key file when $BILLADMIN_KEY_FILE is set, else in $XDG_CONFIG_HOME/billadmin (or
  ~/.config/billadmin). It is created on the first keyed write.
- After every write that added audit rows or seals, the head of both chains (last id, rows,
  hash) is written to an anchor file beside the secret (one small atomic write). `billadmin
  check` compares the database with it, or with a copy shipped off the machine
  (`check --anchor FILE`), so deleting rows, cutting the tail or rebuilding the chain is found.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import operator
import os
import secrets
import stat
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BadInput, DatabaseUnavailable

if TYPE_CHECKING:
    from .db import Database

GENESIS = "0" * 64
_FIELDS = ("at", "os_user", "command", "action", "entity", "entity_ids", "row_count", "detail")
ANCHOR_FORMAT = "billadmin-audit-anchor-1"
DELETED = "deleted"

# The parsed command path ("invoice generate"), set once by the CLI from Click's context; never
# argv, whose values (a --db path, a search term) are not ours to log.
current_command = "python"


def os_user() -> str:
    """The account the process runs as, from the effective uid: $LOGNAME and $USER are whatever
    the caller sets them to."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return str(os.geteuid()) if hasattr(os, "geteuid") else "unknown"


def utcnow() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _payload(row: dict) -> str:
    return json.dumps({k: row.get(k) for k in _FIELDS}, sort_keys=True, separators=(",", ":"))


def _hash(row: dict, prev_hash: str) -> str:
    """The legacy (unkeyed) chain: rows written before the database had a secret."""
    return hashlib.sha256((_payload(row) + prev_hash).encode()).hexdigest()


def _mac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


# ---- the secret and the anchor, outside the database file --------------------------------------


def _config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "billadmin"


def secret_dirs() -> list[Path]:
    """Where a database's secret may be, the first one being where a new one is created: beside
    the key file when $BILLADMIN_KEY_FILE is set, then the user's config folder."""
    from .crypto import KEY_FILE_ENV

    dirs = []
    if os.environ.get(KEY_FILE_ENV):
        dirs.append(Path(os.environ[KEY_FILE_ENV]).expanduser().absolute().parent)
    dirs.append(_config_dir())
    return dirs


def _secret_name(db_id: str) -> str:
    return f"billadmin-audit-{db_id}.secret"


def find_secret(db_id: str) -> Path | None:
    for d in secret_dirs():
        p = d / _secret_name(db_id)
        if p.exists():
            return p
    return None


_secrets: dict[str, bytes] = {}


def _read_secret(p: Path) -> bytes:
    try:
        mode = stat.S_IMODE(p.stat().st_mode)
        text = p.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError) as e:
        raise DatabaseUnavailable(f"cannot read the audit secret {p}: {e}") from None
    if mode & 0o077:
        raise DatabaseUnavailable(
            f"the audit secret {p} is readable by other accounts (mode {mode:o}): chmod 600 it"
        )
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise DatabaseUnavailable(f"the audit secret {p} is damaged") from None


def load_secret(db_id: str) -> bytes | None:
    """The database's secret, or None when it is nowhere to be found."""
    if db_id in _secrets:
        return _secrets[db_id]
    p = find_secret(db_id)
    if p is None:
        return None
    _secrets[db_id] = _read_secret(p)
    return _secrets[db_id]


def _create_secret(db_id: str) -> bytes:
    folder = secret_dirs()[0]
    p = folder / _secret_name(db_id)
    value = secrets.token_bytes(32)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:  # another process made it first
        return _read_secret(p)
    except OSError as e:
        raise DatabaseUnavailable(
            f"cannot create the audit secret in {folder}: {e.strerror}; nothing was written"
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    _secrets[db_id] = value
    return value


def _identity(db: Database) -> tuple[str, int] | None:
    try:
        row = db.execute("SELECT db_id, audit_keyed_from FROM db_identity").fetchone()
    except Exception:  # no such table: a database from before the integrity migrations
        return None
    return (row[0], row[1]) if row else None


def database_id(db: Database) -> str | None:
    ident = _identity(db)
    return ident[0] if ident else None


def keyed_from(db: Database) -> int | None:
    ident = _identity(db)
    return ident[1] if ident else None


def has_keyed_rows(db: Database) -> bool:
    kf = keyed_from(db)
    if kf is None:
        return False
    top = db.execute("SELECT MAX(id) FROM audit_log").fetchone()[0]
    if top is not None and top >= kf:
        return True
    return db.execute("SELECT 1 FROM row_seals LIMIT 1").fetchone() is not None


def secret_for_write(db: Database) -> bytes | None:
    """The secret to key new rows with (created on the first keyed write); None for a database
    that is not yet keyed. A database holding keyed rows whose secret is gone cannot be written:
    new rows would be signed with a secret nobody can check the old ones against."""
    db_id = database_id(db)
    if db_id is None:
        return None
    found = load_secret(db_id)
    if found is not None:
        return found
    if has_keyed_rows(db):
        raise DatabaseUnavailable(
            f"the audit secret of this database is missing (expected {_secret_name(db_id)} in "
            f"{secret_dirs()[0]}): restore it from the backup of that folder; nothing was written"
        )
    return _create_secret(db_id)


def _db_file(db: Database) -> Path | None:
    for _, name, file in db.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file).resolve() if file else None
    return None


def anchor_path(db: Database) -> Path | None:
    """The anchor of this database at this path, beside its secret (a copy elsewhere, or a
    backup restored in another place, has its own)."""
    db_id, file = database_id(db), _db_file(db)
    if db_id is None or file is None:
        return None
    where = find_secret(db_id)
    folder = where.parent if where is not None else secret_dirs()[0]
    tag = hashlib.sha256(str(file).encode()).hexdigest()[:16]
    return folder / f"billadmin-audit-{db_id}-{tag}.anchor"


@dataclass(frozen=True)
class Head:
    """The end of both chains: what the anchor records."""

    db_id: str
    keyed_from: int
    audit_last_id: int
    audit_rows: int
    audit_hash: str
    seal_last_id: int
    seal_hash: str

    def body(self) -> dict[str, Any]:
        return {
            "format": ANCHOR_FORMAT,
            "db_id": self.db_id,
            "keyed_from": self.keyed_from,
            "audit": {
                "last_id": self.audit_last_id,
                "rows": self.audit_rows,
                "hash": self.audit_hash,
            },
            "seals": {"last_id": self.seal_last_id, "hash": self.seal_hash},
        }

    def to_text(self, secret: bytes | None) -> str:
        body = self.body()
        if secret is not None:
            body["mac"] = _mac(secret, json.dumps(body, sort_keys=True, separators=(",", ":")))
        body["at"] = utcnow()
        return json.dumps(body, sort_keys=True) + "\n"

    @classmethod
    def from_text(cls, text: str) -> tuple[Head, str | None]:
        """(head, mac) from an anchor file's text; ValueError when it is not one."""
        try:
            d = json.loads(text)
            if d.get("format") != ANCHOR_FORMAT:
                raise ValueError("not a billadmin anchor")
            head = cls(
                str(d["db_id"]),
                int(d["keyed_from"]),
                int(d["audit"]["last_id"]),
                int(d["audit"]["rows"]),
                str(d["audit"]["hash"]),
                int(d["seals"]["last_id"]),
                str(d["seals"]["hash"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as e:
            raise ValueError(f"not a billadmin anchor ({type(e).__name__})") from None
        return head, d.get("mac")

    def mac_ok(self, mac: str | None, secret: bytes) -> bool:
        want = _mac(secret, json.dumps(self.body(), sort_keys=True, separators=(",", ":")))
        return mac is not None and hmac.compare_digest(mac, want)


def current_head(db: Database) -> Head | None:
    db_id, kf = database_id(db), keyed_from(db)
    if db_id is None or kf is None:
        return None
    a_id, a_rows = db.execute("SELECT MAX(id), COUNT(*) FROM audit_log").fetchone()
    a_hash = db.execute("SELECT hash FROM audit_log WHERE id = ?", (a_id,)).fetchone()
    s = db.execute("SELECT id, hash FROM row_seals ORDER BY id DESC LIMIT 1").fetchone()
    return Head(
        db_id,
        kf,
        a_id or 0,
        a_rows,
        a_hash[0] if a_hash else GENESIS,
        s[0] if s else 0,
        s[1] if s else GENESIS,
    )


def read_anchor(path: Path) -> tuple[Head, str | None] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return Head.from_text(text)


def _holds(db: Database, head: Head) -> bool:
    """The database still ends in, or goes on from, the anchored head (cheap: two lookups)."""
    if head.audit_last_id:
        row = db.execute("SELECT hash FROM audit_log WHERE id = ?", (head.audit_last_id,))
        r = row.fetchone()
        if r is None or r[0] != head.audit_hash:
            return False
    if head.seal_last_id:
        r = db.execute("SELECT hash FROM row_seals WHERE id = ?", (head.seal_last_id,)).fetchone()
        if r is None or r[0] != head.seal_hash:
            return False
    return True


def write_anchor(db: Database, head: Head) -> None:
    """Advance the anchor to head. An anchor the database no longer holds (rows cut or
    rewritten) is left as it is: it is the evidence `check` reports until someone acts on it."""
    from .outfile import write_bytes

    path = anchor_path(db)
    if path is None:
        return
    try:
        old = read_anchor(path)
    except (OSError, ValueError):
        if path.exists() or path.is_symlink():
            raise  # unreadable: never written over (it may be evidence); `check` reports it
        old = None
    if old is not None:
        prev = old[0]
        if prev.db_id != head.db_id or not _holds(db, prev):
            return
        if (prev.audit_last_id, prev.seal_last_id) > (head.audit_last_id, head.seal_last_id):
            return  # another process anchored a later head after ours
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_bytes(path, head.to_text(load_secret(head.db_id)).encode(), phi=False)


# ---- writing --------------------------------------------------------------------------------


def record(
    db: Database,
    action: str,
    *,
    entity: str | None = None,
    ids: Iterable[Any] | str | None = None,
    count: int | None = None,
    detail: dict | str | None = None,
    command: str | None = None,
) -> int:
    """Append one audit row. Call inside the command's write transaction."""
    if not db.conn.in_transaction:
        raise RuntimeError("audit.record must run inside db.write()")
    prev = db.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = prev[0] if prev else GENESIS
    if ids is not None and not isinstance(ids, str):
        ids = ",".join(str(i) for i in ids)
    if detail is not None and not isinstance(detail, str):
        detail = json.dumps(detail, sort_keys=True, default=str)
    row: dict[str, Any] = {
        "at": utcnow(),
        "os_user": os_user(),
        "command": command or current_command,
        "action": action,
        "entity": entity,
        "entity_ids": ids,
        "row_count": count,
        "detail": detail,
    }
    secret = secret_for_write(db)
    row["prev_hash"] = prev_hash
    row["hash"] = (
        _mac(secret, _payload(row) + prev_hash) if secret is not None else _hash(row, prev_hash)
    )
    cur = db.execute(
        "INSERT INTO audit_log (at, os_user, command, action, entity, entity_ids, row_count,"
        " detail, prev_hash, hash) VALUES (:at, :os_user, :command, :action, :entity,"
        " :entity_ids, :row_count, :detail, :prev_hash, :hash)",
        row,
    )
    return int(cur.lastrowid or 0)


def column_defaults(db: Database, table: str) -> dict[str, Any]:
    """Each column's constant DEFAULT value (name -> value)."""
    out: dict[str, Any] = {}
    for _, name, _, _, dflt, _ in db.execute(f"PRAGMA table_info({table})").fetchall():
        if dflt is None or "(" in dflt or dflt.upper().startswith("CURRENT_"):
            continue
        out[name] = db.execute(f"SELECT {dflt}").fetchone()[0]
    return out


def row_digest(
    table: str, row_id: int, values: dict[str, Any] | None, defaults: dict[str, Any] | None = None
) -> str:
    """sha256 of a row's values by column name, leaving out NULLs and values equal to their
    column's DEFAULT: a column another migration adds later (nullable, or NOT NULL DEFAULT x)
    leaves the digests of existing rows as they were. DELETED for a row that is gone."""
    if values is None:
        return DELETED
    return _digest(table, row_id, values, defaults).hexdigest()


def _digest(
    table: str, row_id: int, values: dict[str, Any], defaults: dict[str, Any] | None
) -> hashlib._Hash:
    """row_digest's sha256 (its raw 32 bytes are what a batch seal packs)."""
    dflt = defaults or {}
    clean = {
        k: (v.hex() if isinstance(v, bytes) else v)
        for k, v in values.items()
        if v is not None and not (k in dflt and type(v) is type(dflt[k]) and v == dflt[k])
    }
    return hashlib.sha256(_DIGEST_JSON([table, row_id, clean]).encode())


# json.dumps(x, sort_keys=True, separators=(",", ":")) without building an encoder per call
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


class _NoDefault:
    """A column without a constant DEFAULT: no stored value has this type."""


_NO_DEFAULT = _NoDefault()


class TableDigest:
    """row_digest's sha256 for many rows of one table, byte for byte, from tuples of the
    table's columns in `columns` order (sorted by name, the order of row_digest's JSON keys):
    the JSON text is joined from each key's encoded prefix and each value's encoding (text by
    json's own encode_basestring_ascii, integers by int.__repr__, anything else by the encoder
    row_digest uses), without a dict or an encoder call a row. plan_batches digests every row
    a billing run plans (issue 15); tests/test_digest_fast.py holds it to row_digest."""

    def __init__(self, table: str, names: Iterable[str], defaults: dict[str, Any] | None):
        dflt = defaults or {}
        self.columns = sorted(names)
        self._head = "[" + _json_str(table) + ","
        self._keys = [_json_str(n) + ":" for n in self.columns]
        self._defaults = [dflt.get(n, _NO_DEFAULT) for n in self.columns]
        self._plain = all(d is _NO_DEFAULT for d in self._defaults)

    def digest(self, row_id: int, row: tuple) -> bytes:
        """The raw 32 bytes of row_digest(table, row_id, dict(zip(columns, row)), defaults)."""
        s, i = _json_str, int.__repr__
        if self._plain:
            parts = [
                k + (s(v) if type(v) is str else i(v) if type(v) is int else _json_value(v))
                for k, v in zip(self._keys, row, strict=True)
                if v is not None
            ]
        else:
            parts = [
                k + (s(v) if type(v) is str else i(v) if type(v) is int else _json_value(v))
                for k, v, d in zip(self._keys, row, self._defaults, strict=True)
                if v is not None and not (type(v) is type(d) and v == d)
            ]
        rid = i(row_id) if type(row_id) is int else _json_value(row_id)
        return hashlib.sha256(f"{self._head}{rid},{{{','.join(parts)}}}]".encode()).digest()


_json_str = json.encoder.encode_basestring_ascii  # what the encoder does with a str (ensure_ascii)


def _json_value(v: Any) -> str:
    """A value's text in row_digest's JSON (floats, bytes as their hex, anything unusual)."""
    return _DIGEST_JSON(v.hex() if isinstance(v, bytes) else v)


def _seal_hash(secret: bytes, prev_hash: str, table: str, row_id: int | str, digest: str) -> str:
    """A seal's chain entry. A batch seal's `row_id` is its range "first..last" and its `digest`
    the sha256 of its packed digests: no row id is written with "..", so the two never meet."""
    return _mac(secret, f"{prev_hash}|{table}|{row_id}|{digest}")


def _batch_range(first: int, last: int) -> str:
    return f"{first}..{last}"


class _SealMac:
    """_seal_hash with the key's inner and outer pads hashed once (RFC 2104: HMAC(K, m) =
    H(K^opad || H(K^ipad || m))), the same values as hmac.new: sealing a run's rows chains one
    HMAC a row under the write lock, and this halves that."""

    def __init__(self, secret: bytes):
        key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, prev_hash: str, table: str, row_id: int | str, digest: str) -> str:
        inner = self._inner.copy()
        inner.update(f"{prev_hash}|{table}|{row_id}|{digest}".encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def fetch_rows(db: Database, table: str, row_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(row_ids), 500):
        chunk = row_ids[i : i + 500]
        cur = db.execute(
            f"SELECT rowid AS _rowid_, * FROM {table} WHERE rowid IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        names = [d[0] for d in cur.description]
        for r in cur:
            values = dict(zip(names, r, strict=True))
            out[values.pop("_rowid_")] = values
    return out


# ---- batch seals: one seal record for a run of planned rows (issue 15) -----------------------

SAMPLE_EVERY = 64  # one planned digest in this many is checked against its stored row
_CHUNK = 5000


def rowid_column(db: Database, table: str) -> str:
    """The column that is `table`'s rowid (its INTEGER PRIMARY KEY)."""
    pk = [
        (name, typ)
        for _, name, typ, _, _, pk in db.execute(f"PRAGMA table_info({table})").fetchall()
        if pk
    ]
    if len(pk) != 1 or pk[0][1].upper() != "INTEGER":
        raise ValueError(f"{table} has no INTEGER PRIMARY KEY: its rows cannot be planned")
    return pk[0][0]


# the shape of a table of planned batches (plan_batches, insert_planned): `source` is the temp
# table the rows are copied from, `digests` each row's raw sha256 (row_digest) in id order
BATCHES_SQL = (
    "(tbl TEXT NOT NULL, source TEXT NOT NULL, first_id INTEGER NOT NULL,"
    " last_id INTEGER NOT NULL, digests BLOB NOT NULL)"
)
BATCH_ROWS = 1000  # rows a batch seal covers at most (32 KB of digests)


def plan_batches(db: Database, table: str, source: str, into: str) -> int:
    """Before the write lock: the batch seals of the rows `source` holds for `table` (a temp
    table made by CREATE TABLE AS SELECT * FROM `table`, each row with its final id), packed
    into `into` (BATCHES_SQL): one batch per run of consecutive ids, at most BATCH_ROWS, with
    each row's digest as `seal` computes it from the stored row. The write transaction copies
    the rows with `insert_planned`. Streams `source`; returns the number of rows digested."""
    idcol = rowid_column(db, table)
    names = [d[0] for d in db.execute(f"SELECT * FROM {source} LIMIT 0").description]
    td = TableDigest(table, names, column_defaults(db, table))
    at = td.columns.index(idcol)
    cols = ", ".join(f'"{c}"' for c in td.columns)
    cur = db.conn.execute(f"SELECT {cols} FROM {source} ORDER BY {idcol}")
    n = 0
    first, last = 0, -1  # the batch being packed: ids first..last
    packed: list[bytes] = []
    while rows := cur.fetchmany(_CHUNK):
        batches: list[tuple[str, str, int, int, bytes]] = []
        for r in rows:
            rid = r[at]
            if packed and (rid != last + 1 or len(packed) == BATCH_ROWS):
                batches.append((table, source, first, last, b"".join(packed)))
                packed = []
            if not packed:
                first = rid
            packed.append(td.digest(rid, r))
            last = rid
            n += 1
        db.conn.executemany(f"INSERT INTO {into} VALUES (?, ?, ?, ?, ?)", batches)
    if packed:
        db.execute(
            f"INSERT INTO {into} VALUES (?, ?, ?, ?, ?)",
            (table, source, first, last, b"".join(packed)),
        )
    return n


# The Python type a value of a planned column must have to be stored as it is given (STRICT
# INTEGER and TEXT columns, and the temp copies' INT and TEXT affinity): an int (or a subclass,
# a bool: int.__repr__ writes the integer SQLite stores) and a str. An encoder refuses any
# other type (TypeError), where SQLite might convert the value (a float, '5' in an INTEGER
# column) or store what row_digest would write otherwise (bytes).
_EXACT: dict[str, tuple[type, Callable[[Any], str]]] = {
    "INTEGER": (int, int.__repr__),
    "TEXT": (str, json.encoder.encode_basestring_ascii),
}


def _row_text(
    spec: list[tuple[str, Callable[[Any], str], Any]], order: list[int], width: int
) -> Callable[[tuple], str]:
    """A function of a planned row (a tuple of `width` values) giving the inside of its
    row_digest JSON object: `",".join([k + enc(v) for (k, enc, d), v in zip(spec, values) if v
    is not None and v != d])`, the value of spec j's column being the row's `order[j]`. It is
    written out once per table (as dataclasses and namedtuple write their methods) because the
    loop over a row's values cost as much as encoding them: a run digests every row it plans
    (issue 15: at 100,000 claims, 1.8 s CPU of row texts -> 1.2 s). For spec
    [(',"id":', int.__repr__, NO_DEFAULT)], order [0] and width 1 the source is
        def text(row):
            v0, = row
            return f"{k0 + e0(v0) if v0 is not None else ''}"[1:]
    with k0 = ',"id":' and e0 = int.__repr__ given as names: no key or value is in the source.
    An encoder's TypeError (a value SQLite may store otherwise) reaches the caller."""
    names: dict[str, Any] = {}
    pieces = []
    for j, (key, enc, default) in enumerate(spec):
        names[f"k{j}"], names[f"e{j}"], names[f"d{j}"] = "," + key, enc, default
        v = f"v{order[j]}"
        keep = f"{v} is not None" + ("" if default is _NO_DEFAULT else f" and {v} != d{j}")
        pieces.append(f"{{k{j} + e{j}({v}) if {keep} else ''}}")
    source = (
        "def text(row):\n"
        f"    {''.join(f'v{c}, ' for c in range(width))}= row\n"
        f'    return f"{"".join(pieces)}"[1:]\n'
    )
    exec(source, names)  # our own source: variable names and positions, never data
    return names["text"]


class _Planning:
    """One table's rows digested as they are planned (PlannedDigests): consecutive ids from
    the first one given, packed BATCH_ROWS a record as plan_batches packs one run of ids."""

    def __init__(self, db: Database, table: str, source: str, columns: list[str]):
        info = db.execute(f"PRAGMA table_info({table})").fetchall()
        td = TableDigest(table, [r[1] for r in info], column_defaults(db, table))
        kinds = {r[1]: _EXACT[r[2].upper()] for r in info if r[2].upper() in _EXACT}
        self.usable = set(columns) == set(td.columns) == set(kinds)
        self.table, self.source = table, source
        self.first = self.next = self.count = 0  # count rows given, ids first..next-1
        self.packed: list[bytes] = []  # the digests of the record being packed
        self.records: list[tuple[str, str, int, int, bytes]] = []  # not written yet
        if not self.usable:
            return
        self._head = td._head
        self._id = operator.itemgetter(columns.index(rowid_column(db, table)))
        # (key, encoder, the DEFAULT a value equal to is left out): row_digest leaves out a
        # value of the DEFAULT's type equal to it, and a value here is of its column's type
        spec = [
            (k, enc, d if type(d) is typ else _NO_DEFAULT)
            for k, (typ, enc), d in zip(
                td._keys, [kinds[c] for c in td.columns], td._defaults, strict=True
            )
        ]
        self._text = _row_text(spec, [columns.index(c) for c in td.columns], len(columns))

    def add(self, given: Iterable[tuple]) -> None:
        if not self.usable:
            return
        rows = list(given)
        if not rows:
            return
        head, i, sha = self._head, int.__repr__, hashlib.sha256
        try:
            ids = list(map(self._id, rows))
            start = self.next if self.count else ids[0]
            # a run's rows come with consecutive ids (anything else is read back): checked for
            # the whole chunk at once
            if ids != list(range(start, start + len(rows))):
                raise TypeError("not the next ids")
            texts = list(map(self._text, rows))
        # a value SQLite may store otherwise than it is given (TypeError), or rows of another
        # width than their columns: read back
        except (TypeError, ValueError, IndexError):
            self.usable = False
            return
        self.packed += [
            sha(f"{head}{i(rid)},{{{text}}}]".encode()).digest()
            for rid, text in zip(ids, texts, strict=True)
        ]
        if not self.count:
            self.first = start
        self.count += len(rows)
        self.next = start + len(rows)
        while len(self.packed) >= BATCH_ROWS:
            self._pack(BATCH_ROWS)

    def _pack(self, count: int) -> None:
        first = self.next - len(self.packed)
        part, self.packed = self.packed[:count], self.packed[count:]
        self.records.append((self.table, self.source, first, first + len(part) - 1, b"".join(part)))

    def take(self, *, end: bool = False) -> list[tuple[str, str, int, int, bytes]]:
        """The records packed so far (and, at the end, the last one)."""
        if end and self.packed:
            self._pack(len(self.packed))
        out, self.records = self.records, []
        return out


class PlannedDigests:
    """plan_batches' records computed from the rows a billing run plans as it inserts them into
    its temp tables (issue 15: not read back from them). Each table's digests are row_digest's
    of the values given, taken only when SQLite stores every value as it is given (_EXACT), the
    rows come with the table's columns and consecutive ids, and the temp table holds exactly
    the ids digested (finish); else finish returns None and plan_batches reads the rows back.
    The rows must reach the temp table only through the caller of `add` and stay as inserted
    (insert_planned compares a sample with the stored rows; tests/test_digest_fast.py holds
    the digests to row_digest). Measured at 10,000 claims: 0.09 s CPU less than reading back
    (the digests themselves cost what they did)."""

    def __init__(self, prefix: str, into: str):
        self.prefix = prefix  # the temp tables' names: prefix + table
        self.into = into  # plan_batches' `into`, created by the caller
        self._tables: dict[tuple[str, str], _Planning] = {}
        # rows inserted without their ids, waiting for `number` (columns, rows in order)
        self._unnumbered: dict[tuple[str, str], tuple[list[str], list[tuple]]] = {}

    def add(
        self,
        db: Database,
        table: str,
        columns: list[str],
        rows: Iterable[tuple],
        *,
        source: str = "",
    ) -> None:
        """Rows (tuples of `columns`) as inserted into `source` (default prefix + table)."""
        source = source or self.prefix + table
        planning = self._tables.get((table, source))
        if planning is None:
            planning = self._tables[table, source] = _Planning(db, table, source, columns)
        planning.add(rows)
        if planning.usable:  # written as they fill: a large run holds none of them
            self._write(db, planning.take())

    def add_unnumbered(
        self, table: str, columns: list[str], rows: Iterable[tuple], *, source: str = ""
    ) -> None:
        """Rows inserted into `source` without their ids (its id column left NULL: a temp copy
        made by CREATE TABLE AS has no INTEGER PRIMARY KEY), kept until `number` gives them
        theirs: a run numbers its 'issued' events once it knows the next id (generate.py)."""
        key = (table, source or self.prefix + table)
        held = self._unnumbered.setdefault(key, (columns, []))
        if held[0] != columns:
            raise ValueError(f"{table}: rows given with other columns than before")
        held[1].extend(rows)

    def number(self, db: Database, table: str, first: int, *, source: str = "") -> None:
        """The rows given by add_unnumbered, with ids first, first + 1, ... in the order they
        were given (the caller numbers the stored rows the same way), digested as `add` digests
        rows; finish then says whether they stand for what `source` holds."""
        source = source or self.prefix + table
        held = self._unnumbered.pop((table, source), None)
        if held is None:
            return
        columns, rows = held
        idcol = rowid_column(db, table)
        for at in range(0, len(rows), _CHUNK):  # `add` packs and writes records as they fill
            part = rows[at : at + _CHUNK]
            self.add(
                db,
                table,
                [idcol, *columns],
                [(first + at + k, *r) for k, r in enumerate(part)],
                source=source,
            )

    def finish(self, db: Database, table: str, *, source: str = "") -> int | None:
        """What plan_batches(db, table, source, into) returns, its records written from the
        rows given; None when they cannot stand for what `source` holds (nothing written)."""
        source = source or self.prefix + table
        self._unnumbered.pop((table, source), None)  # never numbered: read back
        planning = self._tables.pop((table, source), None)
        if planning is None:
            return None
        idcol = rowid_column(db, table)
        n, lo, hi, distinct = db.execute(
            f"SELECT COUNT(*), MIN({idcol}), MAX({idcol}), COUNT(DISTINCT {idcol}) FROM {source}"
        ).fetchone()
        # the ids given are consecutive, first..next-1: as many distinct ids from the same first
        # to the same last are the same ids
        if not (
            planning.usable
            and planning.count
            and n == distinct == planning.count
            and (lo, hi) == (planning.first, planning.next - 1)
        ):
            db.execute(f"DELETE FROM {self.into} WHERE tbl = ? AND source = ?", (table, source))
            return None
        self._write(db, planning.take(end=True))
        return n

    def _write(self, db: Database, records: list[tuple[str, str, int, int, bytes]]) -> None:
        db.conn.executemany(f"INSERT INTO {self.into} VALUES (?, ?, ?, ?, ?)", records)


@dataclass(frozen=True)
class _Bulk:
    """Rows insert_planned copied, to be sealed by their batch records (`seal`)."""

    table: str
    source: str
    batches: str
    first: int
    last: int
    taken: bool  # the batches were taken (else the rows were queued a row at a time)


_bulks: weakref.WeakKeyDictionary[Database, list[_Bulk]] = weakref.WeakKeyDictionary()


def insert_planned(db: Database, table: str, source: str, batches: str) -> bool:
    """In a write transaction: INSERT INTO `table` SELECT * FROM `source`, the rows sealed by the
    batch records planned for them (plan_batches into `batches`) instead of one seal a row.

    The batches are taken only when they cover exactly the ids the source holds, one run of
    consecutive ids lo..hi (none of which `table` held before: the copy would fail on its
    primary key). The copy then runs in a seal window: a seal_window row (table, lo, hi), which
    the seal triggers read, so the rows are not queued one by one in seal_pending; it is closed
    by the next statement, and the seal refuses to commit a transaction that opened a window
    insert_planned did not (_windows_closed). A sample of the copied rows (the first of each
    batch and one in SAMPLE_EVERY) must have the digests its batch gives them, else the rows are
    queued as the triggers would have and each is sealed from the database. A row changed after
    the copy in the same transaction is queued and sealed after its batch, and that seal
    supersedes the batch's entry. `billadmin check` recomputes every digest from the stored
    rows. Returns whether the batches were taken."""
    if not db.conn.in_transaction:
        raise RuntimeError("audit.insert_planned must run inside db.write()")
    bulks = _bulks.setdefault(db, [])
    idcol = rowid_column(db, table)
    n, lo, hi = db.execute(f"SELECT COUNT(*), MIN({idcol}), MAX({idcol}) FROM {source}").fetchone()
    ranges = db.execute(
        f"SELECT first_id, last_id FROM {batches} WHERE tbl = ? AND source = ? ORDER BY first_id",
        (table, source),
    ).fetchall()
    fits = (
        n > 0
        and _has_window(db)
        and hi - lo + 1 == n
        and ranges
        and ranges[0][0] == lo
        and ranges[-1][1] == hi
        and all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    )
    if not fits:
        db.execute(f"INSERT INTO {table} SELECT * FROM {source} ORDER BY rowid")
        return False
    # the window: the seal triggers do not queue this table's rows in lo..hi while it is open
    window = db.execute(
        "INSERT INTO seal_window (tbl, first_id, last_id) VALUES (?, ?, ?)", (table, lo, hi)
    ).lastrowid
    db.execute(f"INSERT INTO {table} SELECT * FROM {source} ORDER BY rowid")
    db.execute("DELETE FROM seal_window WHERE id = ?", (window,))
    taken = _batches_hold(db, table, source, batches)
    bulks.append(_Bulk(table, source, batches, lo, hi, taken))
    if not taken:  # queued as the triggers would have: each row sealed from the database
        db.execute(
            f"INSERT INTO seal_pending (tbl, row_id) SELECT ?, rowid FROM {table}"
            " WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
            (table, lo, hi),
        )
    return taken


def _has_batch_columns(db: Database) -> bool:
    """row_seals can hold batch seals (integrity migration m007_seal_batches)."""
    cols = {r[1] for r in db.execute("PRAGMA table_info(row_seals)").fetchall()}
    return "digests" in cols


def _has_window(db: Database) -> bool:
    """The seal triggers honour seal_window (integrity migration m008_seal_window)."""
    return (
        db.execute("SELECT 1 FROM sqlite_master WHERE name = 'seal_window'").fetchone() is not None
    )


def _windows_closed(db: Database, marks: Marks, bulks: list[_Bulk]) -> None:
    """Before COMMIT: every window this transaction opened was insert_planned's, and is closed;
    else rows were inserted unqueued that no batch seals, and nothing is committed."""
    if not _has_window(db):
        return
    opened, open_now = db.execute(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'seal_window'),"
        " (SELECT COUNT(*) FROM seal_window)"
    ).fetchone()
    if open_now or opened - marks.windows != len(bulks):
        raise RuntimeError(
            "cannot seal: rows were inserted through a seal window that no batch seal covers"
            " (seal_window used outside audit.insert_planned); nothing was written"
        )


def _batches_hold(db: Database, table: str, source: str, batches: str) -> bool:
    """The copied rows of a sample (each batch's first, one in SAMPLE_EVERY) have the digests
    their batch gives them."""
    want: dict[int, bytes] = {}
    for first, last, blob in db.execute(
        f"SELECT first_id, last_id, digests FROM {batches} WHERE tbl = ? AND source = ?",
        (table, source),
    ):
        if len(blob) != 32 * (last - first + 1):
            return False
        for rid in {first, *range(first + (-first) % SAMPLE_EVERY, last + 1, SAMPLE_EVERY)}:
            want[rid] = blob[32 * (rid - first) : 32 * (rid - first + 1)]
    defaults = column_defaults(db, table)
    stored = fetch_rows(db, table, list(want))
    return all(
        rid in stored and _digest(table, rid, stored[rid], defaults).digest() == d
        for rid, d in want.items()
    )


def _seal_batches(db: Database, bulks: list[_Bulk], prev: str, mac: _SealMac) -> tuple[str, int]:
    """Write the batch seal records of the rows insert_planned copied; (chain head, records)."""
    n = 0
    for b in bulks:
        rows = []
        for first, last, blob in db.execute(
            f"SELECT first_id, last_id, digests FROM {b.batches} WHERE tbl = ? AND source = ?"
            " ORDER BY first_id",
            (b.table, b.source),
        ):
            sha = hashlib.sha256(blob).hexdigest()
            h = mac(prev, b.table, _batch_range(first, last), sha)
            rows.append((b.table, first, last, sha, blob, prev, h))
            prev = h
        db.conn.executemany(
            "INSERT INTO row_seals (tbl, row_id, last_id, digest, digests, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        n += len(rows)
    return prev, n


@dataclass(frozen=True)
class Marks:
    """Where the queues and chains stood when the write transaction began."""

    pending: int
    audit: int
    seals: int
    windows: int = 0  # seal windows opened so far (sqlite_sequence of seal_window)


def begin_marks(db: Database) -> Marks | None:
    _bulks.pop(db, None)  # a registration (insert_planned) never outlives its transaction
    try:
        p, a, s, w = db.execute(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM seal_pending),"
            " (SELECT COALESCE(MAX(id), 0) FROM audit_log),"
            " (SELECT COALESCE(MAX(id), 0) FROM row_seals),"
            " (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'seal_window')"
        ).fetchone()
    except Exception as e:  # a database before the integrity migrations: nothing to seal yet
        if "no such table" in str(e):
            return None
        raise
    return Marks(p, a, s, w)


def seal(db: Database, after: int, bulks: list[_Bulk] | None = None) -> int:
    """Seal the rows this transaction queued (seal_pending ids above `after`, the mark taken at
    BEGIN); entries queued before it were made outside billadmin and stay for `check` to report.
    A row queued more than once is sealed once, in the order of its first entry, with the
    digest of its values at the end of the transaction. `bulks`: rows copied by
    insert_planned, never queued (the seal window), sealed first by their batch records; a row
    of theirs queued changed after the copy and is sealed after its batch, which it supersedes.
    Streams the queue in chunks (a run queues about eight rows a claim). Returns the number of
    seal records written."""
    bulks = bulks or []
    top = db.execute("SELECT MAX(id) FROM seal_pending WHERE id > ?", (after,)).fetchone()[0]
    if top is None and not bulks:
        return 0
    secret = secret_for_write(db)
    if secret is None:
        raise DatabaseUnavailable("cannot seal rows: this database has no id (run billadmin init)")
    # rows queued more than once (changed after they were inserted, say): few, sealed once each
    # from the stored row
    repeated = {
        (t, r)
        for t, r in db.execute(
            "SELECT tbl, row_id FROM seal_pending WHERE id > ? AND id <= ?"
            " GROUP BY tbl, row_id HAVING COUNT(*) > 1",
            (after, top),
        )
    }
    sealed_repeated: set[tuple[str, int]] = set()
    last = db.execute("SELECT hash FROM row_seals ORDER BY id DESC LIMIT 1").fetchone()
    prev = last[0] if last else GENESIS
    mac = _SealMac(secret)
    prev, n = _seal_batches(db, bulks, prev, mac)
    if top is None:
        return n
    defaults: dict[str, dict[str, Any]] = {}
    cur = db.conn.execute(
        "SELECT tbl, row_id FROM seal_pending WHERE id > ? AND id <= ? ORDER BY id", (after, top)
    )
    while chunk := cur.fetchmany(_CHUNK):
        todo: list[tuple[str, int]] = []
        need: dict[str, list[int]] = {}
        for t, r in chunk:
            if (t, r) in repeated:
                if (t, r) in sealed_repeated:
                    continue
                sealed_repeated.add((t, r))
            todo.append((t, r))
            need.setdefault(t, []).append(r)
        values = {t: fetch_rows(db, t, ids) for t, ids in need.items()}
        rows = []
        for t, r in todo:
            if t not in defaults:
                defaults[t] = column_defaults(db, t)
            d = row_digest(t, r, values[t].get(r), defaults[t])
            h = mac(prev, t, r, d)
            rows.append((t, r, d, prev, h))
            prev = h
        db.conn.executemany(
            "INSERT INTO row_seals (tbl, row_id, digest, prev_hash, hash) VALUES (?,?,?,?,?)", rows
        )
        n += len(rows)
    db.execute("DELETE FROM seal_pending WHERE id > ? AND id <= ?", (after, top))
    return n


def before_commit(db: Database, marks: Marks | None) -> Head | None:
    """db.write's last step before COMMIT: seal what the transaction changed; the head to
    anchor when the chains grew (computed under the write lock, so it is exact)."""
    if marks is None:
        marks = begin_marks(db)  # the transaction created the tables (the migration)
        if marks is None:
            return None
        marks = Marks(0, marks.audit, marks.seals, marks.windows)
    bulks = _bulks.pop(db, [])
    _windows_closed(db, marks, bulks)
    sealed = seal(db, marks.pending, [b for b in bulks if b.taken])
    grew = sealed or (
        db.execute("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetchone()[0] > marks.audit
    )
    return current_head(db) if grew else None


def after_commit(db: Database, head: Head | None) -> None:
    """Anchor the new head. The transaction is committed: a failure here (the config folder
    read-only or full) is a warning, and the anchor lags behind, which `check` accepts."""
    if head is None:
        return
    try:
        write_anchor(db, head)
    except (OSError, ValueError, DatabaseUnavailable, BadInput) as e:
        import sys

        why = getattr(e, "strerror", None) or getattr(e, "message", None) or str(e)
        sys.stderr.write(f"Warning: the audit anchor could not be updated: {why}\n")


# ---- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    audit_id: int
    reason: str


def verify(db: Database) -> list[ChainBreak]:
    """Recompute the audit chain; every break is returned (empty list: intact). Rows before
    settings.audit_keyed_from are the legacy sha256 chain; later rows need the secret."""
    breaks: list[ChainBreak] = []
    kf = keyed_from(db)
    db_id = database_id(db)
    secret = load_secret(db_id) if db_id else None
    prev_hash = GENESIS
    prev_id = 0
    cols = ", ".join(("id",) + _FIELDS + ("prev_hash", "hash"))
    for r in db.execute(f"SELECT {cols} FROM audit_log ORDER BY id"):
        row = dict(zip(("id",) + _FIELDS + ("prev_hash", "hash"), r, strict=True))
        if row["id"] != prev_id + 1:
            breaks.append(ChainBreak(row["id"], f"rows {prev_id + 1}..{row['id'] - 1} are missing"))
        if row["prev_hash"] != prev_hash:
            breaks.append(ChainBreak(row["id"], "prev_hash does not match the previous row's hash"))
        keyed = kf is not None and row["id"] >= kf
        if keyed and secret is not None:
            ok = hmac.compare_digest(_mac(secret, _payload(row) + row["prev_hash"]), row["hash"])
        elif keyed:
            ok = True  # no secret here: reported once by check_secret, not row by row
        else:
            ok = _hash(row, row["prev_hash"]) == row["hash"]
        if not ok:
            why = "edited, or rehashed without the secret" if keyed else "edited"
            breaks.append(ChainBreak(row["id"], f"row content does not match its hash ({why})"))
        prev_hash, prev_id = row["hash"], row["id"]
    return breaks


def verify_seal_chain(db: Database, secret: bytes | None) -> list[str]:
    """The seals' keyed chain, per-row and batch records in one order (their ids)."""
    out: list[str] = []
    prev_hash, prev_id = GENESIS, 0
    batches = _has_batch_columns(db)
    cols = "last_id, digests" if batches else "NULL, NULL"
    for sid, t, r, digest, ph, h, last, blob in db.execute(
        f"SELECT id, tbl, row_id, digest, prev_hash, hash, {cols} FROM row_seals ORDER BY id"
    ):
        if sid != prev_id + 1:
            out.append(f"seals {prev_id + 1}..{sid - 1} are missing (rows deleted with them)")
        if ph != prev_hash:
            out.append(f"seal {sid}: prev_hash does not match the previous seal")
        if last is None:
            what, ok = f"{t} row {r}", blob is None
            rid: int | str = r
        else:
            what, rid = f"{t} rows {r}..{last}", _batch_range(r, last)
            ok = (
                isinstance(blob, bytes)
                and len(blob) == 32 * (last - r + 1)
                and hashlib.sha256(blob).hexdigest() == digest
            )
        if not ok or (
            secret is not None
            and not hmac.compare_digest(_seal_hash(secret, ph, t, rid, digest), h)
        ):
            out.append(f"seal {sid} ({what}): edited, or rehashed without the secret")
        prev_hash, prev_id = h, sid
        if len(out) >= 100:
            break
    return out


def _latest_seals(db: Database) -> dict[str, dict[int, tuple[int, str | bytes]]]:
    """table -> row id -> (seal id, digest) of its latest seal, per-row or in a batch: a later
    seal supersedes an earlier one whatever their kind. A per-row digest is hex text (or
    DELETED), a batch entry the raw 32 bytes."""
    latest: dict[str, dict[int, tuple[int, str | bytes]]] = {}
    batches = _has_batch_columns(db)
    last_col = "last_id" if batches else "NULL"
    for sid, t, r, digest, last in db.execute(
        f"SELECT id, tbl, row_id, digest, {last_col} FROM row_seals WHERE id IN"
        " (SELECT MAX(id) FROM row_seals GROUP BY tbl, row_id)"
    ):
        if last is not None:  # a batch record filed under its first id: the row's own seal is
            own = db.execute(  # an earlier per-row one, if any
                "SELECT id, digest FROM row_seals WHERE tbl = ? AND row_id = ? AND id < ?"
                " AND last_id IS NULL ORDER BY id DESC LIMIT 1",
                (t, r, sid),
            ).fetchone()
            if own is None:
                continue
            sid, digest = own
        latest.setdefault(t, {})[r] = (sid, digest)
    if not batches:
        return latest
    for sid, t, first, last, blob in db.execute(
        "SELECT id, tbl, row_id, last_id, digests FROM row_seals WHERE last_id IS NOT NULL"
        " ORDER BY id"
    ):
        rows = latest.setdefault(t, {})
        for k in range(last - first + 1):
            had = rows.get(first + k)
            if had is None or had[0] < sid:
                rows[first + k] = (sid, blob[32 * k : 32 * k + 32])
    return latest


def verify_sealed_rows(db: Database, tables: Iterable[str]) -> list[str]:
    """Each sealed table's rows as they are now against their latest seal."""
    latest = _latest_seals(db)
    out: list[str] = []
    for t in tables:
        defaults = column_defaults(db, t)
        sealed = latest.get(t, {})
        cur = db.execute(f"SELECT rowid AS _rowid_, * FROM {t}")
        names = [d[0] for d in cur.description]
        seen = set()
        for r in cur:
            values = dict(zip(names, r, strict=True))
            rid = values.pop("_rowid_")
            seen.add(rid)
            want = sealed.get(rid)
            if want is None:
                out.append(f"{t} row {rid} has no seal (added outside billadmin)")
                continue
            d = _digest(t, rid, values, defaults)
            if want[1] != (d.digest() if isinstance(want[1], bytes) else d.hexdigest()):
                out.append(f"{t} row {rid} changed since it was sealed")
        for rid, (_, digest) in sealed.items():
            if rid not in seen and digest != DELETED:
                out.append(f"{t} row {rid} was deleted (its seal remains)")
    return out[:200]


def check_anchor(db: Database, head: Head, mac: str | None, where: str) -> list[str]:
    """What the database lacks of the anchored head (empty: it holds it, or goes on from it)."""
    out: list[str] = []
    if head.db_id != database_id(db):
        return [f"{where} belongs to another database (id {head.db_id})"]
    secret = load_secret(head.db_id)
    if secret is not None and not head.mac_ok(mac, secret):
        out.append(f"{where} was not written by billadmin with this database's secret")
    if keyed_from(db) != head.keyed_from:
        out.append(
            f"{where}: keyed rows start at {head.keyed_from}, the database says {keyed_from(db)}"
        )
    a = head.audit_last_id
    if a:
        r = db.execute("SELECT hash FROM audit_log WHERE id = ?", (a,)).fetchone()
        n = db.execute("SELECT COUNT(*) FROM audit_log WHERE id <= ?", (a,)).fetchone()[0]
        if r is None:
            last = db.execute("SELECT MAX(id) FROM audit_log").fetchone()[0] or 0
            out.append(
                f"{where}: audit row {a} is missing (the log ends at {last}): rows were deleted"
                " or the tail cut"
            )
        elif r[0] != head.audit_hash:
            out.append(
                f"{where}: audit row {a} has another hash than anchored: the log was rebuilt"
            )
        if r is not None and n != head.audit_rows:
            out.append(f"{where}: {head.audit_rows} audit rows up to {a} were anchored, {n} remain")
    s = head.seal_last_id
    if s:
        r = db.execute("SELECT hash FROM row_seals WHERE id = ?", (s,)).fetchone()
        if r is None:
            out.append(f"{where}: seal {s} is missing: ledger rows were deleted with their seals")
        elif r[0] != head.seal_hash:
            out.append(f"{where}: seal {s} has another hash than anchored: the seals were rebuilt")
    return out
