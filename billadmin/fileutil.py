"""Files on disk, one way each: the sha256 of input files (import batches, code-set loads,
reconciliation inputs) and the output file the domain and the commands write through
(`private_open`: outfile.PrivateFile, the one private atomic writer)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import BadInput
from .outfile import PrivateFile, check_target, inside, save_workbook, xlsx_temp

__all__ = [
    "check_target",
    "inside",
    "private_open",
    "save_workbook",
    "sha256_file",
    "sha256_files",
    "xlsx_temp",
]


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


def private_open(
    path: str | os.PathLike, mode: str = "w", *, phi: bool = True, **kw: Any
) -> PrivateFile:
    """An output file (outfile.PrivateFile): a 0600 temporary file beside the target, renamed
    over it when the `with` block ends normally (or on close()), removed on an exception.
    Reports and exports may hold PHI and say so on stderr (phi=False for files that cannot:
    empty templates, de-identified exports)."""
    return PrivateFile(path, mode, phi=phi, **kw)
