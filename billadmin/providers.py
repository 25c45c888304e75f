"""Rendering providers: list, show, change one (the import loads them in bulk).

Rules: the NPI is the key and is never changed here (a different NPI is a different provider:
import it); its check digit is verified (CMS NPI standard, ISO 7812 Luhn with the 80840 prefix).
A taxonomy code is 10 characters, 9 of them alphanumerics and a final "X" (NUCC Health Care
Provider Taxonomy code set). A provider is never deleted, since claims name them: `--inactive`
keeps them off new work. Every change is one audited write; listing is audited too (names are
not PHI, but the audit log records who looked at what).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import audit, db, npi
from .errors import BadInput, NotFound

if TYPE_CHECKING:
    from .db import Database

FIELDS = ("npi", "first_name", "last_name", "taxonomy", "active")
_TAXONOMY = re.compile(r"[0-9A-Z]{9}X")


def _row(r) -> dict:
    d = dict(zip(FIELDS, r, strict=True))
    d["active"] = bool(d["active"])
    return d


def _clean_npi(value: str) -> str:
    v = re.sub(r"[\s-]", "", value or "")
    problem = npi.problem(v)
    if problem:
        raise BadInput(f"NPI: {problem}")
    return v


def provider_list(conn: Database, *, include_inactive: bool = True) -> list[dict]:
    """Every provider, ordered by last name then NPI."""
    where = "" if include_inactive else " WHERE active = 1"
    rows = [
        _row(r)
        for r in conn.execute(
            f"SELECT {', '.join(FIELDS)} FROM providers{where} ORDER BY last_name, first_name, npi"
        )
    ]
    with db.write(conn):
        audit.record(conn, "provider list", entity="providers", count=len(rows))
    return rows


def provider_get(conn: Database, npi_text: str) -> dict:
    """One provider by NPI, or NotFound naming the NPI (an NPI is public, not PHI)."""
    key = _clean_npi(npi_text)
    r = conn.execute(f"SELECT {', '.join(FIELDS)} FROM providers WHERE npi = ?", (key,)).fetchone()
    if r is None:
        raise NotFound(f"no provider with NPI {key}: import it with `billadmin import providers`")
    return _row(r)


def provider_set(
    conn: Database,
    npi_text: str,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    taxonomy: str | None = None,
    active: bool | None = None,
) -> dict:
    """Change a provider's name, taxonomy or active flag (None leaves a field as it is)."""
    current = provider_get(conn, npi_text)
    changes: dict[str, object] = {}
    if first_name is not None:
        changes["first_name"] = first_name.strip() or None
    if last_name is not None:
        if not last_name.strip():
            raise BadInput("--last-name: a provider needs a last (or organization) name")
        changes["last_name"] = last_name.strip()
    if taxonomy is not None:
        t = taxonomy.strip().upper()
        if t and not _TAXONOMY.fullmatch(t):
            raise BadInput(
                "--taxonomy: 10 characters, 9 letters or digits then X (e.g. 207Q00000X)"
            )
        changes["taxonomy"] = t or None
    if active is not None:
        changes["active"] = int(active)
    if not changes:
        raise BadInput(
            "nothing to change: give at least one option (see billadmin provider set --help)"
        )
    changed = {k: v for k, v in changes.items() if current[k] != (bool(v) if k == "active" else v)}
    if changed:
        with db.write(conn):
            conn.execute(
                f"UPDATE providers SET {', '.join(f'{k} = ?' for k in changed)} WHERE npi = ?",
                [*changed.values(), current["npi"]],
            )
            audit.record(
                conn,
                "provider set",
                entity="provider",
                ids=[current["npi"]],
                count=len(changed),
                detail={"fields": sorted(changed)},
            )
    return provider_get(conn, current["npi"])
