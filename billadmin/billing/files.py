"""Output files of a billing run, and how the run makes them durable without losing a claim.

Rule (crash consistency of `invoice generate`):
1. While the transaction is open every file is written beside its final name through
   outfile.PrivateFile (a temporary name nobody can predict, O_EXCL|O_NOFOLLOW, 0600, fsynced)
   and recorded in billing_run_files (final path, temporary path, sha256, state 'written') in
   the same transaction. A run that rolls back removes its temporary files: a file never names
   an invoice number that was rolled back (numbers are reused after a rollback).
2. After COMMIT the run reads its 'written' rows back and renames each file into place, then
   marks them 'placed'. Nothing is deleted after COMMIT: the claims are recorded as sent, so
   their files must end up in place.
3. If that step fails (a rename refused, a kill between COMMIT and the renames) the rows stay
   'written' and the temporary files stay where they are: `billadmin check` reports the run
   (RUN-FILES), and the next `invoice generate` into that folder puts them in place first
   (after checking each one's sha256). A file whose temporary copy is gone is marked 'lost'
   and the clerk is told how to re-create it (`invoice export`); INVOICE-FILE keeps reporting
   a missing claim file. FilesNotPlaced (exit 3) says the files could not be written.

The output folder is locked (flock on the folder itself, no lock file) for the whole run so two
runs never interleave. Names built from data (a payer code) go through outfile.inside().
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db as dbmod
from ..errors import BadInput, BillAdminError
from ..findings import Finding
from ..outfile import PrivateFile, absolute, warn_if_shared_folder

if TYPE_CHECKING:
    from ..db import Database


class FilesNotPlaced(BillAdminError):
    "Files of a committed run could not be put in place; they are recorded (exit 3: retry)."

    exit_code = 3


class Staged:
    """The run's files under their temporary names until `record` and `place_run_files`."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.items: list[tuple[PrivateFile, str | None]] = []  # file, sha256 once sealed

    def open(self, final: Path) -> PrivateFile:
        """A registered PrivateFile for writers that stream (openpyxl): seal() it when done."""
        pf = PrivateFile(final, "wb", phi=False, warn=False)
        self.items.append((pf, None))  # before writing: a failed write is discarded too
        return pf

    def write_bytes(self, final: Path, data: bytes) -> Path:
        if not self.enabled:
            return final
        pf = self.open(final)
        pf.handle.write(data)
        pf.seal()
        self.items[-1] = (pf, hashlib.sha256(data).hexdigest())
        return final

    def write_text(self, final: Path, text: str) -> Path:
        return self.write_bytes(final, text.encode("ascii" if text.isascii() else "utf-8"))

    def pending(self, final: Path) -> Path:
        """Where a staged file is until it is put in place (pyx12 reads it there)."""
        for pf, _ in self.items:
            if pf.path == final:
                return pf.tmp
        raise KeyError(final)

    def record(self, conn: Database, run_id: int) -> None:
        """Every staged file, sealed and hashed, recorded 'written' in the run's transaction."""
        rows = []
        for i, (pf, sha) in enumerate(self.items):
            if sha is None:
                pf.seal()
                sha = _sha256(pf.tmp)
                self.items[i] = (pf, sha)
            rows.append((run_id, str(absolute(pf.path)), str(absolute(pf.tmp)), sha))
        conn.conn.executemany(
            "INSERT INTO billing_run_files (run_id, path, staged, sha256, state)"
            " VALUES (?, ?, ?, ?, 'written')",
            rows,
        )

    def committed(self) -> None:
        """COMMIT happened: the temporary files now belong to the database's record."""
        self.items = []

    def discard(self) -> None:
        """The run rolled back: its temporary files removed (never called after COMMIT)."""
        for pf, _ in self.items:
            pf.discard()
        self.items = []


def _sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def place_run_files(conn: Database, run_id: int) -> int:
    """Step 2 of the rule: the committed run's files renamed into place, then marked 'placed'.
    Returns how many were placed; FilesNotPlaced (exit 3) when any could not be."""
    rows = conn.execute(
        "SELECT id, path, staged FROM billing_run_files WHERE run_id = ? AND state = 'written'"
        " ORDER BY id",
        (run_id,),
    ).fetchall()
    placed: list[int] = []
    failed: list[tuple[str, str]] = []
    for fid, path, staged in rows:
        try:
            os.replace(staged, path)
            placed.append(fid)
        except OSError as e:
            failed.append((Path(path).name, e.strerror or type(e).__name__))
    for folder in {str(Path(p).parent) for _, p, _ in rows}:
        _fsync_folder(Path(folder))
    _mark(conn, placed, "placed")
    if failed:
        raise FilesNotPlaced(
            f"run {run_id}: {len(failed)} of {len(rows)} file(s) could not be put in place"
            f" ({failed[0][1]}); the invoices are recorded as issued and the files are kept:"
            " run `billadmin invoice generate` into the same folder again to put them in place"
            " (`billadmin check` lists them)",
            details=[f"{name}: {why}" for name, why in failed[:20]],
        )
    return len(placed)


def _mark(conn: Database, ids: list[int], state: str) -> None:
    if not ids:
        return
    from .. import audit

    with dbmod.write(conn):
        conn.conn.executemany(
            "UPDATE billing_run_files SET state = ?, placed_at = ? WHERE id = ?",
            [(state, audit.utcnow(), i) for i in ids],
        )


def repair_runs(conn: Database, out_dir: Path) -> list[str]:
    """Step 3 of the rule, at the start of a run into out_dir: files an earlier run committed but
    did not put in place are placed now when their temporary copy still has the recorded hash
    (or the final file already does); the rest are marked 'lost'. Returns notes for the clerk."""
    folder = str(out_dir.resolve())
    rows = conn.execute(
        "SELECT f.id, f.run_id, f.path, f.staged, f.sha256 FROM billing_run_files f"
        " JOIN billing_runs r ON r.id = f.run_id"
        " WHERE f.state = 'written' AND r.out_dir = ? ORDER BY f.id",
        (folder,),
    ).fetchall()
    placed, lost, notes = [], [], []
    for fid, run_id, path, staged, sha in rows:
        if _hash_or_none(path) == sha:
            placed.append(fid)
        elif _hash_or_none(staged) == sha:
            os.replace(staged, path)
            placed.append(fid)
        else:
            lost.append(fid)
            notes.append(
                f"run {run_id}: {Path(path).name} was never put in place and its written copy is"
                " gone: re-create it with `billadmin invoice export NUMBER --format x12|pdf`"
                " for the invoices it carried (`billadmin invoice list`), or restore it"
            )
    if placed:
        _fsync_folder(out_dir)
        notes.insert(
            0,
            f"put {len(placed)} file(s) of an interrupted earlier run in place in {out_dir}",
        )
    _mark(conn, placed, "placed")
    _mark(conn, lost, "lost")
    return notes


def _hash_or_none(path: str) -> str | None:
    try:
        return _sha256(path)
    except OSError:
        return None


# temporary names outfile.PrivateFile gives the files a run writes (see Staged)
_RUN_TEMP = re.compile(
    r"^\.(837P-[A-Z0-9_-]+-\d+\.edi|invoices\.csv|invoices\.xlsx|held\.csv|[A-Z]\d+\.pdf)"
    r"\.[0-9a-f]{16}\.tmp$"
)


def remove_stale_temps(conn: Database, out_dir: Path) -> int:
    """Temporary files of a run killed before its COMMIT (nothing in the database names them)
    and openpyxl temp folders of a killed run: they hold PHI, removed under the folder lock."""
    if not out_dir.is_dir():
        return 0
    keep = {
        r[0] for r in conn.execute("SELECT staged FROM billing_run_files WHERE state = 'written'")
    }
    n = 0
    for p in out_dir.iterdir():
        if p.name.startswith(".billadmin-xlsx-") and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
            n += 1
        elif _RUN_TEMP.match(p.name) and str(absolute(p)) not in keep and p.is_file():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                n += 1
    return n


@contextlib.contextmanager
def folder_lock(folder: Path, enabled: bool = True):
    """An exclusive lock on the output folder for the whole run (released on exit): flock on
    the folder itself, so no lock file is left behind. A missing folder is created 0700."""
    if not enabled:
        yield
        return
    import fcntl

    if folder.exists() and not folder.is_dir():
        raise BadInput(f"--out {folder} is a file: give a folder for the run's files")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    warn_if_shared_folder(folder)
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def check_run_files(conn: Database) -> list[Finding]:
    """RUN-FILES: every file a committed billing run wrote was put in place. A 'written' row
    means the run stopped between COMMIT and its renames (the claims are recorded as sent):
    the next `invoice generate` into that folder puts them in place."""
    try:
        rows = conn.execute(
            "SELECT f.run_id, r.out_dir, count(*) FROM billing_run_files f"
            " JOIN billing_runs r ON r.id = f.run_id WHERE f.state = 'written'"
            " GROUP BY f.run_id ORDER BY f.run_id"
        ).fetchall()
    except Exception:  # a database without the billing tables has no runs
        return []
    return [
        Finding(
            rule="RUN-FILES",
            severity="error",
            message=f"billing run {run_id}: {n} file(s) written but never put in place in"
            f" {out_dir} (the run was interrupted after its COMMIT); run"
            f" `billadmin invoice generate --out {out_dir}` to put them in place",
            source="billadmin check",
        )
        for run_id, out_dir, n in rows
    ]
