"""Errors as small named classes, each with the exit code the CLI gives it.

Exit codes (the contract scripts rely on): 0 done, 1 a check found problems,
2 bad input or usage (nothing written), 3 the database is busy or cannot be opened.
Messages name files, rows, columns and internal ids, never PHI values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class BillAdminError(Exception):
    "Base class: an error the user can act on. The message is one line, free of PHI."

    exit_code = 2

    def __init__(self, message: str, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadInput(BillAdminError):
    "Input that cannot be used: nothing was written."

    exit_code = 2


class NotFound(BillAdminError):
    "A record the command names does not exist."

    exit_code = 2


class Conflict(BillAdminError):
    "The request contradicts what is recorded (e.g. voiding a voided invoice)."

    exit_code = 2


class DatabaseBusy(BillAdminError):
    "Another process held the write lock past the busy timeout: safe to retry."

    exit_code = 3


class DatabaseUnavailable(BillAdminError):
    "The database cannot be opened (missing, unreadable, not a billadmin database)."

    exit_code = 3


class ChecksFailed(BillAdminError):
    "A check ran and found problems (exit 1); the findings were already printed."

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One problem in an input file: where it is and why, never the value itself."""

    row: int | None
    column: str | None
    reason: str
    file: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        return (", ".join(where) + ": " if where else "") + self.reason


@dataclass
class InvalidRows(BadInput):
    "Rows failed validation; every problem is listed."

    problems: list[Problem] = field(default_factory=list)
    file: str | None = None

    def __post_init__(self):
        n = len(self.problems)
        BadInput.__init__(
            self,
            f"{self.file + ': ' if self.file else ''}{n} problem{'s' if n != 1 else ''} found; nothing was written",
            details=[str(p) for p in self.problems],
        )
