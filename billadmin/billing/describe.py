"""Descriptions printed on patient invoices, from the loaded code sets (billadmin codes).

Rule: HCPCS Level II and ICD-10-CM descriptions are public and printed when loaded; CPT
descriptions are the AMA's and are printed only when a licensed CPT file was loaded (the
`codes` table then holds them under code_system 'cpt'). Otherwise the code is printed alone.
The row valid on the date of service is preferred, else the latest row.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

_HCPCS = re.compile(r"^[A-V][0-9]{4}$")
_CPT = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[FTU])$")


def _has_codes_table(conn: Database) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'codes'"
        ).fetchone()
        is not None
    )


def procedure_system(code: str) -> str | None:
    if _CPT.match(code):
        return "cpt"
    if _HCPCS.match(code):
        return "hcpcs"
    return None


class Describer:
    """Batch lookups with a cache; one instance per run."""

    def __init__(self, conn: Database):
        self.conn = conn
        self.enabled = _has_codes_table(conn)
        self._cache: dict[tuple[str, str, str | None], str | None] = {}

    def _lookup(self, system: str, code: str, on: str | None) -> str | None:
        key = (system, code, on)
        if key in self._cache:
            return self._cache[key]
        desc = None
        if self.enabled:
            rows = self.conn.execute(
                "SELECT description, effective_from, effective_to FROM codes WHERE code_system = ? AND code = ?"
                " ORDER BY COALESCE(effective_from, '')",
                (system, code),
            ).fetchall()
            if rows:
                valid = [
                    r
                    for r in rows
                    if on and (r[1] is None or r[1] <= on) and (r[2] is None or r[2] >= on)
                ]
                desc = (valid or rows)[-1][0]
        self._cache[key] = desc
        return desc

    def procedure(self, code: str | None, on: str | None = None) -> str | None:
        c = (code or "").strip().upper()
        system = procedure_system(c)
        return self._lookup(system, c, on) if system else None

    def diagnosis(self, code: str | None, on: str | None = None) -> str | None:
        c = (code or "").strip().upper()
        return self._lookup("icd10cm", c, on) if c else None
