"""A read-only database, a read-only folder, and a full disk: one clear line (exit 3), nothing
half-written, and the database passes every check once the disk has room again.

Tests run as root here, where file modes are not enforced, so "read-only" is made real:
`chattr +i` on the database file, a read-only bind mount of its folder, a small tmpfs for the
full disk (each skipped with the reason when the machine does not allow it). The full disk is
also simulated everywhere with SQLite's max_page_count (SQLITE_FULL), in process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import fault_helpers as fh
import pytest

# ---- making things read-only or full, for real --------------------------------------------


def _run(*cmd) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True)


@contextlib.contextmanager
def immutable(path: Path):
    """The file cannot be opened for writing, even by root (chattr +i); mode 0400 for others."""
    if os.geteuid() != 0:
        os.chmod(path, 0o400)
        try:
            yield
        finally:
            os.chmod(path, 0o600)
        return
    if not shutil.which("chattr") or _run("chattr", "+i", str(path)).returncode != 0:
        pytest.skip("chattr +i is not available here (needed to make a file read-only for root)")
    try:
        try:
            open(path, "r+b").close()
        except PermissionError:
            pass
        else:
            pytest.skip("chattr +i did not make the file read-only on this file system")
        yield
    finally:
        _run("chattr", "-i", str(path))


@contextlib.contextmanager
def mounted(target: Path, *args: str, remount_ro: bool = False):
    """mount ARGS TARGET (optionally remounted read-only), unmounted afterwards; skip when the
    machine does not allow mounting (not root, no CAP_SYS_ADMIN, a container)."""
    target.mkdir(parents=True, exist_ok=True)
    r = _run("mount", *args, str(target))
    if r.returncode != 0:
        pytest.skip(
            f"cannot mount here ({r.stderr.strip() or 'mount failed'}): run as root on a machine that allows mounts"
        )
    try:
        if remount_ro:
            r = _run("mount", "-o", "remount,bind,ro", str(target))
            if r.returncode != 0:
                pytest.skip(f"cannot remount read-only here: {r.stderr.strip()}")
        yield target
    finally:
        if _run("umount", str(target)).returncode != 0:
            _run("umount", "-l", str(target))


def _kib(n_bytes: int) -> int:
    return (n_bytes + 1023) // 1024


def _refused(r: subprocess.CompletedProcess, words: tuple[str, ...], what: str) -> None:
    assert r.returncode == 3, f"{what}: exit {r.returncode}\n{r.stdout[-1500:]}\n{r.stderr[-2500:]}"
    line = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
    assert line.startswith("Error: ") and any(w in line for w in words), (
        f"{what}: unclear message: {r.stderr[-2500:]}"
    )
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    fh.assert_no_phi(r.stdout + r.stderr, what)


def _unchanged(db: Path, before: dict) -> None:
    after = fh.fingerprint(db)
    assert after == before, {
        t: (before.get(t), after.get(t))
        for t in set(before) | set(after)
        if before.get(t) != after.get(t)
    }


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def billed(tmp_path_factory, tmp_path):
    unbilled = fh.template(tmp_path_factory, "unbilled", fh.build_unbilled)
    return fh.copy_practice(
        fh.template(tmp_path_factory, "billed", fh.build_billed(unbilled)), tmp_path / "billed"
    )


@pytest.fixture
def unbilled(tmp_path_factory, tmp_path):
    return fh.copy_practice(
        fh.template(tmp_path_factory, "unbilled", fh.build_unbilled), tmp_path / "unbilled"
    )


def _writers(p, tmp_path) -> dict[str, list]:
    """One of each command that writes, each with input that would succeed."""
    new_patient = fh.write_csv(
        tmp_path / "new-patient.csv",
        list(fh.SENTINEL),
        [dict(fh.SENTINEL, MRN="7700992", **{"First Name": "Zebulon"})],
    )
    mrn = fh.query(
        p.db,
        "SELECT p.mrn FROM invoice_balances b JOIN patients p ON p.id = b.patient_id"
        " WHERE b.kind = 'patient' AND b.total_cents - b.paid_cents > 500 ORDER BY b.invoice_id",
    )
    jobs = {
        "import patients": ["import", "patients", new_patient],
        "invoice generate": fh.generate_args(tmp_path / "out"),
    }
    if mrn:
        jobs["payment post"] = ["payment", "post", mrn[0][0], "5.00", "--method", "cash"]
    if "835" in p.files:
        jobs["remit import"] = ["remit", "import", *p.files["835"]]
    return jobs


# ---- read-only --------------------------------------------------------------------------------


@pytest.mark.slow
def test_read_only_database_file(billed, tmp_path):
    db = billed.db
    charges = fh.more_charges(billed, tmp_path / "more.csv", encounters=30, prefix="R")
    writers = _writers(billed, tmp_path)
    writers["import charges"] = ["import", "charges", charges]
    before = fh.fingerprint(db)
    with immutable(db):
        for what, args in writers.items():
            _refused(fh.ba(db, *args), ("read-only",), f"{what} on a read-only database")
        # reading still works
        r = fh.ok(fh.ba(db, "patient", "list", "-f", "csv"))
        assert r.stdout.count("\n") > 100
        fh.ok(fh.ba(db, "report", "aging", "-f", "csv"))
    assert _final_files(tmp_path / "out") == []
    _unchanged(db, before)
    fh.integrity_ok(db)
    fh.check_passes(db)


def _final_files(folder: Path) -> list[str]:
    """Files under their final names (temporary files are hidden)."""
    return (
        sorted(p.name for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        if folder.exists()
        else []
    )


@pytest.mark.slow
def test_read_only_folder(billed, tmp_path):
    """The database's folder is mounted read-only: SQLite cannot create its -wal/-shm files.
    Every command says so (exit 3) instead of "not a billadmin database"."""
    src = billed.db.parent
    before = fh.fingerprint(billed.db)
    writers = _writers(billed, tmp_path)
    with mounted(tmp_path / "ro", "--bind", str(src), remount_ro=True) as ro:
        db = ro / billed.db.name
        for what, args in writers.items():
            _refused(fh.ba(db, *args), ("read-only",), f"{what} in a read-only folder")
        _refused(fh.ba(db, "patient", "list"), ("read-only",), "patient list in a read-only folder")
        _refused(
            fh.ba(ro / "new.db", "init"), ("read-only", "Read-only"), "init in a read-only folder"
        )
    _unchanged(billed.db, before)
    fh.check_passes(billed.db)


# ---- full disk ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_disk_full_during_large_import(tmp_path_factory, tmp_path):
    bulk = fh.template(tmp_path_factory, "bulk", fh.build_bulk)
    size = bulk.db.stat().st_size
    with mounted(
        tmp_path / "small", "-t", "tmpfs", "-o", f"size={_kib(size) + 4096}k", "tmpfs"
    ) as small:
        db = fh.copy_db(bulk.db, small / "practice.db")
        before = fh.fingerprint(db)
        r = fh.ba(db, "import", "charges", bulk.files["charges"])
        _refused(r, ("disk is full",), "import on a full disk")
        _unchanged(db, before)
        fh.integrity_ok(db)
        # room again: the database is intact and the same import goes through
        assert (
            _run("mount", "-o", f"remount,size={_kib(size) + 200 * 1024}k", str(small)).returncode
            == 0
        )
        fh.check_passes(db)
        fh.ok(fh.ba(db, "import", "charges", bulk.files["charges"]))
        assert fh.counts(db, "charge_lines")["charge_lines"] == fh.BULK_LINES
        fh.check_passes(db)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["invoice generate", "remit import"])
def test_disk_full_database(command, unbilled, billed, tmp_path):
    """The database's disk fills up in the middle of the command's transaction."""
    p = unbilled if command == "invoice generate" else billed
    args = _writers(p, tmp_path)[command]
    size = p.db.stat().st_size
    with mounted(
        tmp_path / "small", "-t", "tmpfs", "-o", f"size={_kib(size) + 160}k", "tmpfs"
    ) as small:
        db = fh.copy_db(p.db, small / "practice.db")
        before = fh.fingerprint(db)
        _refused(fh.ba(db, *args), ("disk is full",), f"{command} on a full disk")
        _unchanged(db, before)
        assert (
            _run("mount", "-o", f"remount,size={_kib(size) + 64 * 1024}k", str(small)).returncode
            == 0
        )
        fh.integrity_ok(db)
        fh.check_passes(db)
        fh.ok(fh.ba(db, *args), 0, 1)
        fh.check_passes(db)


@pytest.mark.slow
def test_disk_full_for_claim_files(unbilled, tmp_path):
    """invoice generate's output folder is on a full disk: a clear message, no claim issued."""
    before = fh.fingerprint(unbilled.db)
    with mounted(tmp_path / "tiny", "-t", "tmpfs", "-o", "size=16k", "tmpfs") as tiny:
        r = fh.ba(unbilled.db, *fh.generate_args(tiny / "out"))
        _refused(r, ("disk is full",), "invoice generate with its output folder on a full disk")
        _unchanged(unbilled.db, before)
        assert _final_files(tiny / "out") == []


@pytest.mark.slow
def test_disk_full_leaves_no_partial_file(unbilled, tmp_path):
    """A claim file whose write failed is removed with the rest of the run's files."""
    with mounted(tmp_path / "tiny", "-t", "tmpfs", "-o", "size=16k", "tmpfs") as tiny:
        fh.ba(unbilled.db, *fh.generate_args(tiny / "out"))
        left = sorted(p.name for p in (tiny / "out").glob(".*"))
        assert left == []


# ---- SQLITE_FULL simulated (any machine) ------------------------------------------------------


@pytest.fixture
def page_limit(monkeypatch):
    """Every connection billadmin opens gets max_page_count = its size + N pages (SQLITE_FULL
    beyond), as a full disk would stop it."""
    from billadmin import db as dbmod

    real = dbmod._open_raw
    extra = {"pages": 2}

    def limited(p, key):
        conn = real(p, key)
        n = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {n + extra['pages']}")
        return conn

    monkeypatch.setattr(dbmod, "_open_raw", limited)
    return extra


def test_sqlite_full_simulated(unbilled, tmp_path, page_limit):
    from typer.testing import CliRunner

    from billadmin.cli import app

    db = unbilled.db
    charges = fh.more_charges(unbilled, tmp_path / "more.csv", encounters=400, prefix="F")
    before = fh.fingerprint(db)
    r = CliRunner().invoke(app, ["--db", str(db), "import", "charges", str(charges)])
    assert r.exit_code == 3, (r.exit_code, r.stdout, r.stderr, r.exception)
    assert r.stderr.startswith("Error: ") and "disk is full" in r.stderr
    fh.assert_no_phi(r.stdout + r.stderr, "import hitting SQLITE_FULL")
    _unchanged(db, before)
    page_limit["pages"] = 100_000
    r = CliRunner().invoke(app, ["--db", str(db), "import", "charges", str(charges)])
    assert r.exit_code == 0, r.stderr
    fh.integrity_ok(db)


# ---- a damaged database file ------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["page", "late page", "header", "truncated"])
def test_damaged_database_is_reported_not_crashed(unbilled, damage):
    """Bytes overwritten or the file cut short (a bad disk, a copy of a live file): every
    command says the database is damaged (exit 3) or `check` lists the damage (exit 1)."""
    db = unbilled.db
    size = db.stat().st_size
    with open(db, "r+b") as f:
        if damage == "truncated":
            f.truncate(size // 2)
        else:
            f.seek({"page": 4096, "late page": size - 3 * 4096, "header": 100}[damage])
            f.write(b"\xde\xad\xbe\xef" * 256)
    for args in (
        ["check"],
        ["patient", "list"],
        ["invoice", "generate", "--dry-run"],
        ["import", "charges", unbilled.files["charges"]],
    ):
        r = fh.ba(db, *args)
        what = f"{' '.join(args[:2])} on a damaged database ({damage})"
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (
            f"{what}: {r.stderr[-3000:]}"
        )
        if r.returncode == 0:
            continue  # the damage is in pages this command never reads
        assert r.returncode in (1, 3), f"{what}: exit {r.returncode}: {r.stderr[-2000:]}"
        if r.returncode == 3:
            assert r.stderr.startswith("Error: ") and (
                "damaged" in r.stderr or "not a billadmin database" in r.stderr
            ), r.stderr
        else:
            assert args == ["check"] and "DB-INTEGRITY" in r.stdout, (
                r.stdout[-2000:],
                r.stderr[-2000:],
            )
        fh.assert_no_phi(r.stdout + r.stderr, what)
