"""Files on disk, one way each: the sha256 of input files (import batches, code-set loads,
reconciliation inputs) and the 0600 output file the domain and the commands write through."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from .errors import BadInput


def sha256_files(paths: Iterable[Path]) -> str:
    """Hex sha256 of the files' bytes in order (one file: its own hash), read in 1 MiB chunks.
    An unreadable path is BadInput (exit 2) naming the file, never its content."""
    h = hashlib.sha256()
    for path in paths:
        try:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file") from None
        except IsADirectoryError:
            raise BadInput(f"{path}: is a directory, not a file") from None
        except OSError as e:
            raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of one file (see sha256_files)."""
    return sha256_files([path])


def private_open(path: Path, mode: str = "w", *, phi: bool = True, **kw):
    """Open an output file created 0600: reports and exports may hold PHI, and say so on stderr
    (phi=False for files that cannot: empty templates, de-identified exports)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if phi:
        sys.stderr.write(
            f"Note: {path} may contain PHI: created mode 0600; keep it inside the practice\n"
        )
    return os.fdopen(fd, mode, **kw)
