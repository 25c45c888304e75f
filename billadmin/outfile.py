"""The one way billadmin writes an output file: private, atomic, never through an existing path.

Rule (HIPAA 45 CFR 164.312(a)(1) access control, and plain robustness): every file billadmin
writes (reports, exports, rejects, claim files, letters, backups) may hold PHI, so

- it is first written to a temporary file created with O_CREAT|O_EXCL|O_NOFOLLOW in the target
  folder, mode 0600 from its creation (never a moment with wider bits), with an unpredictable
  name, so another account can neither pre-create it nor point it elsewhere by a symlink;
- it is flushed and fsynced, then renamed over the target: an existing file is replaced (its
  old mode does not survive), a symlink at the target is replaced and never followed;
- on any failure the temporary file is removed and the target is left as it was.

A folder that other accounts may write to gets a warning (they could replace the file after we
wrote it). Usage mistakes (a target that is a folder, a folder that does not exist) are BadInput
(exit 2) before anything is written.

openpyxl writes each sheet to a temporary file of its own (tempfile.NamedTemporaryFile in the
system temp folder) before zipping it: those hold the cells (MRNs) and survive a kill.
`xlsx_temp(folder)` points them at a private 0700 folder inside the target folder and removes it
on every path; `save_workbook` uses it.

File names built from data (a payer code in an 837's name) go through `inside(folder, name)`:
one plain name that resolves inside the chosen folder, never a path that leaves it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import BadInput

PHI_NOTE = "Note: {path} may contain PHI: created mode 0600; keep it inside the practice\n"
# while set (collect_phi_notes), the paths that would each have printed PHI_NOTE, kept instead
_collected: list[Path] | None = None


@contextlib.contextmanager
def collect_phi_notes() -> Iterator[list[Path]]:
    """Keep the PHI notes of the files written inside the block instead of printing one line
    each: a caller that writes many files (the demo) says it once."""
    global _collected
    before, _collected = _collected, []
    try:
        yield _collected
    finally:
        _collected = before


def check_target(path: str | os.PathLike) -> Path:
    """The target as a Path, or BadInput when it cannot be a file we write (exit 2)."""
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{p} is a folder: give a file name to write")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise BadInput(f"cannot write {p}: the folder {parent} does not exist")
    return p


def warn_if_shared_folder(folder: Path) -> None:
    try:
        mode = folder.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        sys.stderr.write(
            f"Warning: the folder {folder} is writable by other accounts: they could replace "
            "files billadmin writes there; use a private folder\n"
        )


class PrivateFile:
    """A file being written: `commit()` puts it in place, `discard()` leaves no trace.

    Used as a context manager it commits when the block ends normally and discards on any
    exception. `handle` is the open file object (text or binary per `mode`).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        mode: str = "w",
        *,
        phi: bool = True,
        warn: bool = True,
        **open_kw: Any,
    ):
        self.path = check_target(path)
        self.phi = phi
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if warn:  # a caller writing many files into one folder warns once itself
            warn_if_shared_folder(folder)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        for _ in range(16):
            tmp = folder / f".{self.path.name}.{secrets.token_hex(8)}.tmp"
            try:
                fd = os.open(tmp, flags, 0o600)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 16 random 64-bit names all taken
            raise BadInput(f"cannot create a temporary file in {folder}")
        self.tmp = tmp
        self.handle: IO[Any] = os.fdopen(fd, mode, **open_kw)
        self.done = False

    def seal(self) -> Path:
        """Flush, fsync and close the temporary file (still under its temporary name, which is
        returned: a reader such as pyx12 may read it before it is put in place)."""
        if not self.handle.closed:
            try:
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.handle.close()
            except BaseException:
                self.discard()
                raise
        return self.tmp

    def commit(self) -> Path:
        if self.done:
            return self.path
        self.seal()
        try:
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self.done = True
        _fsync_folder(self.path.parent)
        if self.phi:
            if _collected is not None:
                _collected.append(self.path)
            else:
                sys.stderr.write(PHI_NOTE.format(path=self.path))
        return self.path

    def discard(self) -> None:
        self.done = True
        with contextlib.suppress(OSError, ValueError):
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)

    # A PrivateFile stands in for its file object: write(), seek(), ... go to the handle, and
    # close() commits (the `fh = open(...); try: ... finally: fh.close()` shape of older
    # callers), unless an exception is on its way out: then the half-written file is discarded.
    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def close(self) -> None:
        if sys.exc_info()[0] is not None:
            self.discard()
        else:
            self.commit()

    def __enter__(self) -> PrivateFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def private_output(
    path: str | os.PathLike, mode: str = "w", *, phi: bool = True, **open_kw: Any
) -> Iterator[IO[Any]]:
    """`with private_output(path) as fh:` write fh; the file appears only if the block succeeds."""
    with PrivateFile(path, mode, phi=phi, **open_kw) as pf:
        yield pf.handle


def write_bytes(path: str | os.PathLike, data: bytes, *, phi: bool = True) -> Path:
    """Write data to path through a PrivateFile (atomically, 0600)."""
    with private_output(path, "wb", phi=phi) as fh:
        fh.write(data)
    return Path(path)


@contextlib.contextmanager
def xlsx_temp(folder: str | os.PathLike) -> Iterator[Path]:
    """openpyxl's per-sheet temporary files go to a private 0700 folder inside `folder` while
    the block runs (write-only workbooks create them as rows are appended, others on save);
    the folder is removed on every path, so no copy of the cells is left in /tmp."""
    where = Path(folder) if str(folder) else Path(".")
    private = Path(tempfile.mkdtemp(prefix=".billadmin-xlsx-", dir=where))  # mode 0700
    saved = tempfile.tempdir
    tempfile.tempdir = str(private)
    try:
        yield private
    finally:
        tempfile.tempdir = saved
        shutil.rmtree(private, ignore_errors=True)


def save_workbook(wb: Any, path: str | os.PathLike, *, phi: bool = True) -> Path:
    """An openpyxl workbook saved through a PrivateFile, its temporary files kept private (for a
    write-only workbook wrap the building in xlsx_temp too: its rows go to disk as appended)."""
    target = check_target(path)
    with xlsx_temp(target.parent), private_output(target, "wb", phi=phi) as fh:
        wb.save(fh)
    return target


def absolute(path: str | os.PathLike) -> Path:
    """The absolute path of a file we write, its folder resolved but not the name itself: a
    symlink planted at the name is replaced by the file, so it must not be followed here."""
    p = Path(path)
    return (p.parent if str(p.parent) else Path(".")).resolve() / p.name


def inside(folder: str | os.PathLike, name: str) -> Path:
    """folder/name, where name came from data: one plain file name (no separator, not . or ..,
    no NUL), so the path stays inside folder. Anything else is BadInput: a path built from data
    never leaves the folder the clerk chose."""
    base = Path(folder)
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise BadInput(f"refused to write a file named from data outside {base}: {name!r}")
    # one component: base/name is a child of base whatever base resolves to; a symlink already
    # at that name is replaced by PrivateFile, never followed
    return base / name
