"""Shared by the fault, concurrency and PHI-sentinel tests: real billadmin processes, databases
built from the demo generator through the import commands, a fingerprint of a database's
content, and the sentinel patient whose identifiers must never show up in a message.

Run as a script it is a launcher that kills itself: ``python fault_helpers.py --kill-at REGEX
--nth N -- BILLADMIN ARGS`` runs billadmin and sends SIGKILL to its own process when SQLite is
about to run the Nth statement matching REGEX (a trace callback on the connection db.py opens),
so a test can crash a command at an exact point of its write transaction (e.g. just before the
COMMIT) as well as at a random moment from outside.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()

# The sentinel patient: values no generator produces, so finding one in a message is a leak.
SENTINEL = {
    "MRN": "7700991",
    "First Name": "Zebulon",
    "Last Name": "Quixotefrost",
    "DOB": "1937-08-14",
    "Sex": "M",
    "Address": "8817 Xylophone Crescent",
    "City": "Columbus",
    "State": "OH",
    "ZIP": "43215",
    "Phone": "9375550142",
}
SENTINEL_MEMBER_ID = "QX7734219056"
SENTINEL_SUBSCRIBER = "Philomena"  # subscriber first name on the sentinel's coverage
# Values a conflicting re-import tries to write (must not be echoed either).
SENTINEL_NEW = {
    "Address": "4471 Quasarwynd Way",
    "Phone": "9375550177",
    "Last Name": "Quixotefrost-Vantablack",
}
SENTINEL_ENCOUNTER = "ZQ000001"

# Every spelling of the sentinel's identifiers a message could carry.
PHI_STRINGS = [
    "Zebulon",
    "Quixotefrost",
    "Philomena",
    "Quasarwynd",
    "Vantablack",
    "Xylophone",
    "1937-08-14",
    "08/14/1937",
    "19370814",
    "14/08/1937",
    SENTINEL_MEMBER_ID,
    "9375550142",
    "937-555-0142",
    "555-0142",
    "9375550177",
    "555-0177",
]
# The MRN is an identifier too: messages use row numbers and internal ids instead.
MRN_STRINGS = [SENTINEL["MRN"]]


def phi_found(text: str | bytes | None, *, mrn: bool = True) -> list[str]:
    """The sentinel values present in text (case-insensitive)."""
    if not text:
        return []
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    low = text.lower()
    needles = PHI_STRINGS + (MRN_STRINGS if mrn else [])
    return [s for s in needles if s.lower() in low]


def assert_no_phi(text, where: str, *, mrn: bool = True) -> None:
    found = phi_found(text, mrn=mrn)
    assert not found, (
        f"PHI sentinel {found} in {where}:\n{text if isinstance(text, str) else text!r}"[:4000]
    )


# ---- processes -------------------------------------------------------------------------------


def base_env(extra: dict | None = None) -> dict:
    """The test's environment (with --encrypted that includes BILLADMIN_KEY) without a default
    database: every call names its --db."""
    env = {k: v for k, v in os.environ.items() if k not in ("BILLADMIN_DB", "BILLADMIN_DEBUG")}
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    if extra:
        env.update(extra)
    return env


def argv(db: Path | str, *args) -> list[str]:
    return [sys.executable, "-m", "billadmin", "--db", str(db), *[str(a) for a in args]]


def ba(db, *args, cwd=None, env=None, timeout=120, input=None) -> subprocess.CompletedProcess:
    """Run billadmin to completion; text stdout/stderr captured."""
    return subprocess.run(
        argv(db, *args),
        cwd=cwd,
        env=env or base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def spawn(db, *args, cwd=None, env=None, launcher: list[str] | None = None) -> subprocess.Popen:
    """Start billadmin (optionally through the self-killing launcher) without waiting."""
    cmd = argv(db, *args)
    if launcher:
        cmd = [sys.executable, str(HERE), *launcher, "--", *cmd[3:]]
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env or base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ok(r: subprocess.CompletedProcess, *codes: int) -> subprocess.CompletedProcess:
    codes = codes or (0,)
    assert r.returncode in codes, (
        f"exit {r.returncode} (wanted {codes})\nstdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-3000:]}"
    )
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    return r


def wait_for(pred, timeout: float = 30.0, interval: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return False


def sigkill(proc: subprocess.Popen) -> tuple[int, str, str]:
    """SIGKILL the process (it must still be running) and collect its output."""
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


# ---- databases -------------------------------------------------------------------------------


def raw_connect(path: Path):
    """A plain DB-API connection for inspection (sqlcipher3 with the key for an encrypted file)."""
    from billadmin import db as dbmod

    path = Path(path)
    key = os.environ.get("BILLADMIN_KEY") if dbmod.is_encrypted_file(path) else None
    if key:
        from billadmin import crypto

        conn = crypto.connect(path, key, timeout=30)
    else:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def write_lock_held(path: Path) -> bool:
    """True while another connection holds the write lock (BEGIN IMMEDIATE fails at once)."""
    conn = raw_connect(path)
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except Exception as e:  # sqlite3 or sqlcipher3 OperationalError
            return "locked" in str(e) or "busy" in str(e)
        conn.execute("ROLLBACK")
        return False
    finally:
        conn.close()


# Code-set tables are loaded once by init and never touched by the commands under test: counted,
# not hashed (hashing 100k code rows per fingerprint would double the tests' time).
_COUNT_ONLY = re.compile(r"^(codes|codes_fts.*|icd10cm_excludes1|ncci_ptp|mue)$")


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Per table: row count and a hash of every row in rowid order. Equal fingerprints mean the
    database content did not change."""
    conn = raw_connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        out = {}
        for t in tables:
            n = conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            if _COUNT_ONLY.match(t):
                out[t] = (n, "")
                continue
            h = hashlib.sha256()
            for row in conn.execute(f'SELECT * FROM "{t}"'):
                h.update(repr(row).encode())
            out[t] = (n, h.hexdigest())
        return out
    finally:
        conn.close()


def counts(path: Path, *tables: str) -> dict[str, int]:
    conn = raw_connect(path)
    try:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def query(path: Path, sql: str, params=()) -> list[tuple]:
    conn = raw_connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def integrity_ok(path: Path) -> None:
    rows = query(path, "PRAGMA integrity_check")
    assert rows == [("ok",)], rows[:20]
    assert query(path, "PRAGMA foreign_key_check") == []


def copy_db(src: Path, dst: Path) -> Path:
    """Copy a closed template database (no -wal left: its last connection checkpointed it)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        s = Path(str(src) + suffix)
        if s.exists():
            shutil.copyfile(s, str(dst) + suffix)
    os.chmod(dst, 0o600)
    return dst


def check_passes(db: Path, env=None) -> subprocess.CompletedProcess:
    """`billadmin check` exits 0 (every rule: integrity, chain, numbering, ledger)."""
    r = ba(db, "check", env=env)
    assert r.returncode == 0, (
        f"billadmin check failed (exit {r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
    )
    return r


# ---- data ------------------------------------------------------------------------------------


@dataclass
class Practice:
    """A database built like a clerk builds one, and the files it was built from."""

    db: Path
    folder: Path
    as_of: _dt.date
    files: dict[str, Path] = field(default_factory=dict)
    data: object = None


def sentinel_tables(data, as_of: _dt.date) -> None:
    """Add the sentinel patient, a coverage with the sentinel member id, and one encounter."""
    from billadmin import demo

    data.tables["patients"].append(dict(SENTINEL))
    data.tables["coverage"].append(
        {
            "MRN": SENTINEL["MRN"],
            "Payer Code": "KEY",
            "Member ID": SENTINEL_MEMBER_ID,
            "Group": "G7781",
            "Relationship": "self",
            "Subscriber First Name": "",
            "Subscriber Last Name": "",
            "Subscriber DOB": "",
            "Priority": "primary",
            "Effective From": f"{as_of.year - 3}-01-01",
            "Effective To": "",
            "Copay": "30.00",
        }
    )
    dos = (as_of - _dt.timedelta(days=20)).isoformat()
    npi = demo.PROVIDERS[0]["NPI"]
    for ln, (code, amount) in enumerate([("99213", "140.00"), ("36415", "15.00")], start=1):
        row = {h: "" for h in demo.HEADERS["charges"]}
        row.update(
            {
                "Encounter": SENTINEL_ENCOUNTER,
                "MRN": SENTINEL["MRN"],
                "DOS": dos,
                "Rendering NPI": npi,
                "POS": "11",
                "Line": str(ln),
                "Code": code,
                "Dx1": "I10",
                "Pointers": "1",
                "Units": "1",
                "Charge": amount,
            }
        )
        data.tables["charges"].append(row)


def practice_args() -> list[str]:
    from billadmin import demo

    p = demo.PRACTICE
    return [
        "practice",
        "set",
        "--name",
        p["name"],
        "--npi",
        p["npi"],
        "--tax-id",
        p["tax_id"],
        "--taxonomy",
        p["taxonomy"],
        "--address1",
        p["address1"],
        "--city",
        p["city"],
        "--state",
        p["state"],
        "--zip",
        p["zip"],
        "--phone",
        p["phone"],
        "--submitter-id",
        p["submitter_id"],
        "--receiver-id",
        p["receiver_id"],
        "--receiver-name",
        p["receiver_name"],
    ]


def build_practice(
    folder: Path,
    *,
    patients: int = 120,
    encounters: int = 500,
    charges: bool = True,
    as_of: _dt.date | None = None,
    env=None,
) -> Practice:
    """init, practice set, and `billadmin import` of the demo generator's files (with the
    sentinel patient) into folder/practice.db."""
    from billadmin import demo

    as_of = as_of or (_dt.date.today() - _dt.timedelta(days=1))
    folder.mkdir(parents=True, exist_ok=True)
    data = demo.generate(as_of, patients=patients, encounters=encounters)
    sentinel_tables(data, as_of)
    files = demo.write_files(data, folder / "files")
    db = folder / "practice.db"
    ok(ba(db, "init", env=env))
    ok(ba(db, *practice_args(), env=env))
    kinds = ["providers", "payers", "patients", "coverage", "fee-schedule"] + (
        ["charges"] if charges else []
    )
    for kind in kinds:
        ok(ba(db, "import", kind, files[kind], env=env))
    return Practice(db, folder, as_of, files, data)


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


def more_charges(
    p: Practice, path: Path, *, encounters: int, prefix: str, skip_mrns=(), seed: int = 99
) -> Path:
    """New encounters (numbered PREFIX...) for the practice's patients, in the charges format."""
    from billadmin import demo

    other = demo.generate(
        p.as_of, patients=len(p.data.tables["patients"]), encounters=encounters, seed=seed
    )
    mrns = [r["MRN"] for r in p.data.tables["patients"] if r["MRN"] not in skip_mrns]
    rows = []
    for r in other.tables["charges"]:
        r = dict(r)
        r["Encounter"] = prefix + r["Encounter"]
        r["MRN"] = mrns[int(r["MRN"]) % len(mrns)]
        rows.append(r)
    from billadmin.demo.practice import EXTRA_HEADERS  # NDC, ordering, CLIA... (issue 20)

    return write_csv(path, demo.HEADERS["charges"] + EXTRA_HEADERS["charges"], rows)


def simulate_835s(db: Path, out: Path, as_of: _dt.date) -> list[Path]:
    """The payers' answers to every claim in db (the demo's remit simulator), not posted."""
    from billadmin import db as dbmod
    from billadmin.demo.remits import answer_window

    conn = dbmod.connect(db)
    try:
        practice = dict(
            zip(
                ("name", "npi", "submitter_id"),
                conn.execute(
                    "SELECT name, npi, submitter_id FROM practice WHERE id = 1"
                ).fetchone(),
                strict=True,
            )
        )
        # a window from the first claim to 41 days after the last answers every claim
        first, last = conn.execute(
            "SELECT MIN(issued_on), MAX(issued_on) FROM invoices WHERE kind = 'claim'"
        ).fetchone()
        since = _dt.date.fromisoformat(first) - _dt.timedelta(days=1)
        until = max(as_of, _dt.date.fromisoformat(last)) + _dt.timedelta(days=41)
        sim = answer_window(conn, out, since, until, practice, extras=True)
    finally:
        conn.close()
    return sim["files"]


# ---- the self-killing launcher --------------------------------------------------------------


def _launch(args: list[str]) -> None:
    """--kill-at REGEX --nth N -- billadmin-args: SIGKILL self at the Nth matching statement."""
    sep = args.index("--")
    opts, rest = args[:sep], args[sep + 1 :]
    pattern = re.compile(opts[opts.index("--kill-at") + 1], re.I)
    nth = int(opts[opts.index("--nth") + 1]) if "--nth" in opts else 1
    marker = opts[opts.index("--marker") + 1] if "--marker" in opts else None

    from billadmin import db as dbmod

    real_open = dbmod._open_raw
    seen = [0]

    def traced(stmt: str) -> None:
        if pattern.search(stmt or ""):
            seen[0] += 1
            if seen[0] >= nth:
                if marker:
                    Path(marker).write_text(stmt[:200])
                os.kill(os.getpid(), signal.SIGKILL)

    def open_raw(p, key):
        conn = real_open(p, key)
        conn.set_trace_callback(traced)
        return conn

    dbmod._open_raw = open_raw
    sys.argv = ["billadmin", *rest]
    from billadmin.cli import main

    main()


if __name__ == "__main__":
    _launch(sys.argv[1:])


# ---- templates built once per test session ---------------------------------------------------


def template(tmp_path_factory, name: str, build) -> Practice:
    """Build a template database once per session (build(folder) -> Practice) and hand out the
    cached Practice; tests copy its database before changing anything. With --encrypted the key
    is in the environment and the template is built encrypted (its own cache entry)."""
    import pickle

    tag = "enc" if os.environ.get("BILLADMIN_KEY") else "plain"
    folder = tmp_path_factory.getbasetemp() / f"template-{name}-{tag}"
    done = folder / "practice.pickle"
    if done.exists():
        return pickle.loads(done.read_bytes())
    if folder.exists():
        shutil.rmtree(folder)
    p = build(folder)
    done.write_bytes(pickle.dumps(p))
    return p


def copy_practice(p: Practice, dest: Path) -> Practice:
    """The template's database copied to dest/practice.db (files stay shared, read-only use)."""
    db = copy_db(p.db, dest / "practice.db")
    return Practice(db, dest, p.as_of, dict(p.files), p.data)


def build_unbilled(folder: Path) -> Practice:
    """The demo practice at a small scale (120 patients, 500 encounters, charges imported)."""
    return build_practice(folder, patients=120, encounters=500)


def generate_args(out: Path) -> list[str]:
    return ["invoice", "generate", "--out", str(out), "--no-pdf", "--no-xlsx", "-f", "json"]


def build_billed(unbilled: Practice):
    """unbilled + `invoice generate` + the payers' 835s for its claims (written, not posted)."""

    def build(folder: Path) -> Practice:
        p = copy_practice(unbilled, folder)
        ok(ba(p.db, *generate_args(folder / "out")), 0, 1)
        p.files["out"] = folder / "out"
        p.files["835"] = simulate_835s(p.db, folder / "remits", p.as_of)
        return p

    return build


BULK_LINES = 120_000


def build_bulk(folder: Path) -> Practice:
    """benchmarks/gen.py's practice with BULK_LINES charge lines waiting in files['charges']."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gen
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    files = gen.generate(folder / "files", BULK_LINES)
    db = folder / "practice.db"
    ok(ba(db, "init"))
    for kind in ("providers", "payers", "patients", "coverage"):
        ok(ba(db, "import", kind, files[kind]))
    return Practice(db, folder, _dt.date(2026, 11, 1), files)
