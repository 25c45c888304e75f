"""Lookups and full-text search over the loaded code sets: plain SQL, no code-set package."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import normalize
from .store import SYSTEM_NAMES

if TYPE_CHECKING:
    from ..db import Database

COLUMNS = [
    "code",
    "system",
    "found",
    "description",
    "billable",
    "kind",
    "valid_from",
    "valid_to",
    "version",
    "note",
]


def _systems_for(code: str, system: str | None) -> list[tuple[str, str]]:
    """(system, stored spelling) pairs a typed code could belong to."""
    raw = code.strip().upper()
    out = []

    def want(s: str) -> bool:
        return system is None or s == system

    if want("icd10cm"):
        out.append(("icd10cm", normalize.icd(raw)))
    if want("icd9cm"):
        from .icd9 import icd9

        dotted = icd9(raw)
        if dotted is not None:
            out.append(("icd9cm", dotted))
    if want("icd10pcs") and len(raw) in (3, 7) and raw.isalnum():
        out.append(("icd10pcs", raw))
    if want("hcpcs") and normalize.HCPCS_RX.match(raw):
        out.append(("hcpcs", raw))
    if want("cpt") and normalize.CPT_RX.match(raw):
        out.append(("cpt", raw))
    if want("modifier") and normalize.MODIFIER_RX.match(raw):
        out.append(("modifier", raw))
    return out


def loaded_systems(conn: Database) -> set[str]:
    from .legacy import loaded as icd9_loaded
    from .pcs import loaded as pcs_loaded
    from .store import loaded_systems as _loaded

    out = _loaded(conn) | ({"icd9cm"} if icd9_loaded(conn) else set())
    return out | ({"icd10pcs"} if pcs_loaded(conn) else set())


def lookup(
    conn: Database,
    codes: list[str],
    *,
    system: str | None = None,
    on: str | None = None,
    history: bool = False,
) -> list[dict]:
    """One row per code and system it exists in (or one "not found" row), with its window.

    ``on``: the row valid on that date of service instead of the latest; ``history``: every row.
    """
    import json
    from collections import defaultdict

    loaded = loaded_systems(conn)
    out: list[dict] = []
    wanted = [(typed, _systems_for(typed, system)) for typed in codes]
    need: dict[str, set] = defaultdict(set)
    for _, cands in wanted:
        for sysname, code in cands:
            if sysname in loaded:
                need[sysname].add(code)
    found: dict[tuple[str, str], list] = defaultdict(list)
    for sysname, want in need.items():
        if sysname == "icd9cm":
            for r in conn.execute(
                "SELECT c.code, 'icd9cm', c.description, 1, 'code', NULL, c.effective_to, v.label, 0"
                " FROM icd9cm_codes c JOIN legacy_code_versions v ON v.id = c.version_id"
                " WHERE c.code IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(want)),),
            ):
                found[("icd9cm", r[0])].append(r)
            continue
        if sysname == "icd10pcs":
            from .pcs import lookup_rows

            for r in lookup_rows(conn, want):
                found[("icd10pcs", r[0])].append(r)
            continue
        for r in conn.execute(
            "SELECT c.code, c.code_system, c.description, c.billable, c.kind, c.effective_from,"
            " c.effective_to, v.label,"
            " c.needs_7th FROM codes c JOIN code_versions v ON v.id = c.version_id"
            " WHERE c.code_system = ? AND c.code IN (SELECT value FROM json_each(?))"
            " ORDER BY c.code, COALESCE(c.effective_from, '')",
            (sysname, json.dumps(sorted(want))),
        ):
            found[(r[1], r[0])].append(r)
    for typed, cands in wanted:
        found_any = False
        for sysname, code in cands:
            rows = found.get((sysname, code))
            if not rows:
                continue
            if on:
                rows = [
                    r for r in rows if (r[5] is None or r[5] <= on) and (r[6] is None or r[6] >= on)
                ]
                if not rows:
                    out.append(_row(code, sysname, None, note=f"exists, but not valid on {on}"))
                    found_any = True
                    continue
            elif not history:
                rows = rows[-1:]
            for r in rows:
                out.append(_row(code, sysname, r))
                if sysname == "icd9cm":
                    out[-1]["note"] = _icd9_note(conn, code, on)
            found_any = True
        raw = typed.strip().upper()
        # a procedure-shaped code whose set is not loaded (G0439 is also ICD-10-CM G04.39 typed
        # without its dot): say it is well formed, beside any ICD-10-CM match
        if normalize.CPT_RX.match(raw) and "cpt" not in loaded and system in (None, "cpt"):
            out.append(
                _row(raw, "cpt", None, note="format only: no CPT file loaded (a valid CPT format)")
            )
            continue
        if normalize.HCPCS_RX.match(raw) and "hcpcs" not in loaded and system in (None, "hcpcs"):
            out.append(
                _row(
                    raw,
                    "hcpcs",
                    None,
                    note="format only: no HCPCS file loaded (a valid HCPCS Level II format)",
                )
            )
            continue
        if not found_any and "icd9cm" not in loaded and any(s == "icd9cm" for s, _ in cands):
            out.append(
                _row(
                    raw,
                    "icd9cm",
                    None,
                    note="ICD-9-CM shaped: ICD-9-CM is not loaded (`billadmin codes load icd9cm`)",
                )
            )
            continue
        if not found_any:
            out.append(
                _row(
                    raw if system != "icd10cm" else normalize.icd(raw),
                    system,
                    None,
                    note="not found in any loaded code set",
                )
            )
    return out


def _icd9_note(conn: Database, code: str, on: str | None) -> str:
    """ICD-9-CM ended 2015-09-30: the lookup lists the ICD-10-CM candidates of the GEMs."""
    import datetime as _dt

    from .legacy import candidate_hint

    hint = candidate_hint(
        conn, code, on if on and on > "2015-09-30" else _dt.date.today().isoformat()
    )
    return f"ICD-9-CM (dates of service before 2015-10-01); ICD-10-CM {hint}"


def _row(code: str, system: str | None, r, note: str = "") -> dict:
    if r is None:
        return {
            "code": code,
            "system": system,
            "found": False,
            "description": None,
            "billable": None,
            "kind": None,
            "valid_from": None,
            "valid_to": None,
            "version": None,
            "note": note,
        }
    _, sysname, desc, billable, kind, vfrom, vto, label, n7 = r
    if not note and not billable and sysname == "icd10pcs":
        note = "table header: not valid on a claim, code all 7 characters"
    if not note and not billable and sysname == "icd10cm":
        note = (
            "needs a 7th character"
            if n7
            else "header: not billable, code to a billable code under it"
        )
    return {
        "code": code,
        "system": sysname,
        "found": True,
        "description": desc,
        "billable": bool(billable),
        "kind": kind,
        "valid_from": vfrom,
        "valid_to": vto,
        "version": label,
        "note": note,
    }


def _fts_query(text: str) -> str:
    """Every word must match: words by their start ("diabet" finds diabetes), numbers exactly
    ("type 2" must not match "22" in a code)."""
    words = re.findall(r"[0-9A-Za-z]+", text)
    return " ".join(f'"{w}"' if w.isdigit() else f'"{w}"*' for w in words)


def search(
    conn: Database,
    text: str,
    *,
    system: str | None = None,
    billable_only: bool = False,
    limit: int = 20,
    on: str | None = None,
) -> list[dict]:
    """Codes whose description (or code) matches every word of ``text``, best match first (BM25)."""
    q = _fts_query(text)
    if not q:
        return []
    sql = (
        "SELECT c.code, c.code_system, c.description, c.billable, c.kind, c.effective_from, c.effective_to, v.label,"
        " c.needs_7th, bm25(codes_fts, 2.0, 1.0) AS score"
        " FROM codes_fts JOIN codes c ON c.id = codes_fts.rowid JOIN code_versions v ON v.id = c.version_id"
        " WHERE codes_fts MATCH ?"
    )
    args: list = [q]
    if on:
        sql += (
            " AND (c.effective_from IS NULL OR c.effective_from <= ?)"
            " AND (c.effective_to IS NULL OR c.effective_to >= ?)"
        )
        args += [on, on]
    else:
        sql += " AND c.effective_to IS NULL"
    if system:
        sql += " AND c.code_system = ?"
        args.append(system)
    if billable_only:
        sql += " AND c.billable = 1"
    sql += " ORDER BY score, c.billable DESC, length(c.code), c.code LIMIT ?"
    args.append(limit)
    out = []
    for rank, r in enumerate(conn.execute(sql, args), start=1):
        row = _row(r[0], r[1], r[:9])
        row = {
            "rank": rank,
            **{
                k: row[k]
                for k in ("code", "system", "description", "billable", "kind", "version", "note")
            },
        }
        out.append(row)
    return out


def system_name(system: str) -> str:
    return SYSTEM_NAMES.get(system, system)
