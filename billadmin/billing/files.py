"""Output files of a billing run: written beside their final name while the transaction is open,
renamed into place only after COMMIT, removed if the transaction rolls back.

So a file never names an invoice number that was rolled back (numbers are reused after a
rollback), and a run that failed leaves no claim file behind. Files are created 0600: they hold
PHI. A lock file in the output folder keeps two runs from interleaving their renames.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


class Staged:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.items: list[tuple[Path, Path]] = []

    def _tmp(self, final: Path) -> Path:
        return final.with_name("." + final.name + ".partial")

    def pending(self, final: Path) -> Path:
        """Where a staged file is until commit."""
        return self._tmp(final)

    def write_bytes(self, final: Path, data: bytes) -> Path:
        if not self.enabled:
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp(final)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.items.append(
            (tmp, final)
        )  # before writing: a failed write (disk full) is discarded too
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return final

    def write_text(self, final: Path, text: str) -> Path:
        return self.write_bytes(final, text.encode("ascii" if text.isascii() else "utf-8"))

    def path_for(self, final: Path) -> Path:
        """A temp path for writers that need a file name (openpyxl); registered for rename."""
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp(final)
        self.items.append((tmp, final))
        return tmp

    def commit(self) -> None:
        for tmp, final in self.items:
            os.replace(tmp, final)
        self.items = []

    def discard(self) -> None:
        for tmp, _ in self.items:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.items = []


@contextlib.contextmanager
def folder_lock(folder: Path, enabled: bool = True):
    """An exclusive lock on the output folder for the whole run (released on exit)."""
    if not enabled:
        yield
        return
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".billadmin.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
