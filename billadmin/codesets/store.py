"""Versions and versioned rows: how a new release is merged into the one in place.

A release never deletes a row. A code the new release drops, or whose description or billable
status changes, has its row closed the day before the release takes effect, and (when changed)
a new row opens on that day. A claim is therefore checked against the release that was in force
on its date of service, and every load can say exactly what changed (``ChangeReport``) before
it is applied (``--dry-run`` computes the plan and stops).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import pointers
from ..errors import BadInput

if TYPE_CHECKING:
    from ..db import Database

SYSTEM_NAMES = {
    "icd10cm": "ICD-10-CM",
    "icd9cm": "ICD-9-CM",
    "icd10pcs": "ICD-10-PCS",
    "hcpcs": "HCPCS Level II",
    "cpt": "CPT",
    "modifier": "Modifiers",
    "ncci-ptp": "NCCI PTP practitioner edits",
    "mue": "MUE practitioner values",
    "poa-exempt": "POA-exempt list",
    "ncci-hospital": "NCCI PTP hospital outpatient edits",
    "mue-hospital": "MUE outpatient hospital values",
    "ioce-revenue": "I/OCE revenue codes needing HCPCS",
}
CODE_SYSTEMS = ("icd10cm", "hcpcs", "cpt", "modifier")


@dataclass(slots=True)
class CodeRow:
    code: str
    description: str
    billable: int = 1
    kind: str = "code"
    short_description: str | None = None
    parent: str | None = None
    needs_7th: int = 0
    effective_from: str | None = None  # a window the file itself gives (HCPCS add date)
    effective_to: str | None = None  # (HCPCS termination date)


@dataclass
class ChangeReport:
    system: str
    label: str
    effective_from: str | None
    source: str
    dry_run: bool = False
    rows_in_file: int = 0
    previous: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)
    affected: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        name = SYSTEM_NAMES[self.system]
        verb = "Would load" if self.dry_run else "Loaded"
        parts = [f"{k} {v:,}" for k, v in self.counts.items() if v]
        base = f"{verb} {name} '{self.label}'"
        if self.effective_from:
            base += f" effective {self.effective_from}"
        base += f": {self.rows_in_file:,} rows"
        if self.previous:
            base += f"; against '{self.previous}': " + (", ".join(parts) if parts else "no changes")
        if self.affected:
            base += f"; {len(self.affected):,} unbilled charge line(s) affected"
        return base


def day_before(iso: str) -> str:
    return (_dt.date.fromisoformat(iso) - _dt.timedelta(days=1)).isoformat()


def day_after(iso: str) -> str:
    return (_dt.date.fromisoformat(iso) + _dt.timedelta(days=1)).isoformat()


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- versions


def versions(conn: Database, system: str | None = None) -> list[dict]:
    sql = (
        "SELECT id, code_system, label, effective_from, effective_to, source, row_count, loaded_at"
        " FROM code_versions"
    )
    args: tuple = ()
    if system:
        sql += " WHERE code_system = ?"
        args = (system,)
    sql += " ORDER BY code_system, COALESCE(effective_from, ''), id"
    cur = conn.execute(sql, args)
    cols = [d[0] for d in cur.description]
    out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    if system in (None, "icd10pcs"):  # ICD-10-PCS keeps its own table (codesets m004)
        cur = conn.execute(
            "SELECT id, 'icd10pcs', label, effective_from, effective_to, source, row_count,"
            " loaded_at FROM pcs_versions ORDER BY effective_from, id"
        )
        out += [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    if system in (None, "poa-exempt", "ncci-hospital", "mue-hospital", "ioce-revenue"):
        # the institutional rules' reference files (codesets m006, instref.py)
        cur = conn.execute(
            "SELECT id, kind, label, effective_from, effective_to, source, row_count, loaded_at"
            " FROM inst_ref_versions"
            + (" WHERE kind = ?" if system else "")
            + " ORDER BY kind, effective_from, id",
            (system,) if system else (),
        )
        out += [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    return out


def loaded_systems(conn: Database) -> set[str]:
    """Code systems with rows (one index probe each, not a scan of every code)."""
    return {
        s
        for s in CODE_SYSTEMS
        if conn.execute("SELECT 1 FROM codes WHERE code_system = ? LIMIT 1", (s,)).fetchone()
    }


def current_version(conn: Database, system: str) -> dict | None:
    vs = versions(conn, system)
    return vs[-1] if vs else None


def check_order(conn: Database, system: str, label: str, effective: str | None) -> dict | None:
    """The version in place, after making sure the new one can follow it."""
    prev = current_version(conn, system)
    if prev is None:
        return None
    if conn.execute(
        "SELECT 1 FROM code_versions WHERE code_system = ? AND label = ?", (system, label)
    ).fetchone():
        raise BadInput(
            f"{SYSTEM_NAMES[system]} version '{label}' is already loaded; give the new release its own --version LABEL"
        )
    if not effective:
        raise BadInput(
            f"{SYSTEM_NAMES[system]} '{prev['label']}' is loaded: give --effective DATE for the new release"
        )
    if prev["effective_from"] and effective <= prev["effective_from"]:
        raise BadInput(
            f"{SYSTEM_NAMES[system]} '{prev['label']}' effective {prev['effective_from']} is in place; "
            f"a new release must take effect after it (got --effective {effective})"
        )
    return prev


def add_version(
    conn: Database,
    system: str,
    label: str,
    effective_from: str | None,
    effective_to: str | None,
    source: str,
    sha256: str | None,
    rows: int,
) -> int:
    """Record the release and end the previous release's window the day before this one starts."""
    if effective_from:
        conn.execute(
            "UPDATE code_versions SET effective_to = ? WHERE code_system = ? AND COALESCE(effective_from, '') < ?"
            " AND (effective_to IS NULL OR effective_to >= ?)",
            (day_before(effective_from), system, effective_from, effective_from),
        )
    cur = conn.execute(
        "INSERT INTO code_versions (code_system, label, effective_from, effective_to, source,"
        " sha256, row_count, loaded_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (system, label, effective_from, effective_to, source, sha256, rows, now_utc()),
    )
    vid = cur.lastrowid
    assert vid is not None  # set by every INSERT
    return vid


# ---------------------------------------------------------------- code rows


@dataclass
class MergePlan:
    system: str
    effective: str | None
    inserts: list[tuple] = field(default_factory=list)  # CodeRow fields + window
    closes: list[tuple] = field(default_factory=list)  # (effective_to, id)
    updates: list[tuple] = field(
        default_factory=list
    )  # (short, kind, parent, needs_7th, effective_to, id)
    replaces: list[tuple] = field(
        default_factory=list
    )  # same-start corrections, rewritten in place
    changes: list[dict] = field(default_factory=list)
    unusable: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (from date, why)


def _current_rows(conn: Database, system: str) -> dict[str, tuple]:
    """The latest row of every code (windows of one code never overlap)."""
    out: dict[str, tuple] = {}
    for r in conn.execute(
        "SELECT code, id, description, short_description, billable, kind, parent, needs_7th,"
        " effective_from, effective_to"
        " FROM codes WHERE code_system = ? ORDER BY code, COALESCE(effective_from, '')",
        (system,),
    ):
        out[r[0]] = r
    return out


def plan_codes(
    conn: Database,
    system: str,
    rows: Iterable[CodeRow],
    effective: str | None,
    *,
    deletable: Callable[[tuple], bool] = lambda cur: True,
) -> MergePlan:
    """Compare a release with the rows in place. ``effective`` is the release's first day; None
    only for the first load of a system (its rows then have no known start)."""
    plan = MergePlan(system, effective)
    current = _current_rows(conn, system)
    first = not current
    seen: set[str] = set()
    E = effective
    for r in rows:
        if r.code in seen:
            continue
        seen.add(r.code)
        cur = current.get(r.code)
        if cur is None:
            start = r.effective_from if (r.effective_from or first) else E
            plan.inserts.append(_ins(r, start, r.effective_to))
            if not first:
                plan.changes.append(
                    {
                        "change": "added",
                        "code": r.code,
                        "field": "",
                        "old": None,
                        "new": r.description,
                    }
                )
            continue
        (_, cid, cdesc, cshort, cbill, ckind, cparent, c7, cfrom, cto) = cur
        if E and cto and cto < E and (r.effective_to is None or r.effective_to >= E):
            start = max(E, r.effective_from or E)
            plan.inserts.append(_ins(r, start, r.effective_to))
            plan.changes.append(
                {
                    "change": "added",
                    "code": r.code,
                    "field": "reactivated",
                    "old": f"ended {cto}",
                    "new": r.description,
                }
            )
            continue
        diffs = []
        if cdesc != r.description:
            diffs.append(("description", cdesc, r.description))
        if cbill != r.billable:
            diffs.append(("billable", "yes" if cbill else "no", "yes" if r.billable else "no"))
        if diffs:
            if E and (cfrom is None or cfrom < E):
                plan.closes.append((day_before(E), cid))
                plan.inserts.append(_ins(r, E, r.effective_to))
            else:  # the row starts no earlier than this release (a file-given start): replace it
                plan.replaces.append(
                    (
                        r.description,
                        r.billable,
                        r.short_description,
                        r.kind,
                        r.parent,
                        r.needs_7th,
                        r.effective_to,
                        cid,
                        r.code,
                        cdesc,
                    )
                )
            for f, old, new in diffs:
                plan.changes.append(
                    {"change": "changed", "code": r.code, "field": f, "old": old, "new": new}
                )
            if cbill and not r.billable and E:
                plan.unusable[r.code] = (E, "is no longer billable")
            continue
        if r.effective_to and r.effective_to != cto:
            plan.updates.append(
                (r.short_description, r.kind, r.parent, r.needs_7th, r.effective_to, cid)
            )
            plan.changes.append(
                {
                    "change": "deleted",
                    "code": r.code,
                    "field": "terminated",
                    "old": cto,
                    "new": r.effective_to,
                }
            )
            plan.unusable[r.code] = (
                day_after(r.effective_to),
                f"was terminated after {r.effective_to}",
            )
            continue
        if (cshort, ckind, cparent, c7) != (r.short_description, r.kind, r.parent, r.needs_7th):
            plan.updates.append((r.short_description, r.kind, r.parent, r.needs_7th, cto, cid))
            if (
                cshort != r.short_description
                and cshort is not None
                and r.short_description is not None
            ):
                plan.changes.append(
                    {
                        "change": "changed",
                        "code": r.code,
                        "field": "short description",
                        "old": cshort,
                        "new": r.short_description,
                    }
                )
    if E:
        for code, cur in current.items():
            if code in seen:
                continue
            cto = cur[9]
            if cto is not None and cto < E:
                continue
            if not deletable(cur):
                continue
            plan.closes.append((day_before(E), cur[1]))
            plan.changes.append(
                {"change": "deleted", "code": code, "field": "", "old": cur[2], "new": None}
            )
            plan.unusable[code] = (E, f"was deleted effective {E}")
    return plan


def _ins(r: CodeRow, start, end) -> tuple:
    return (
        r.code,
        r.kind,
        r.description,
        r.short_description,
        r.billable,
        r.parent,
        r.needs_7th,
        start,
        end,
    )


def apply_codes(conn: Database, plan: MergePlan, version_id: int) -> None:
    c = conn.conn
    c.executemany("UPDATE codes SET effective_to = ? WHERE id = ?", plan.closes)
    for desc, bill, short, kind, parent, n7, to, cid, code, olddesc in plan.replaces:
        c.execute(
            "INSERT INTO codes_fts (codes_fts, rowid, code, description) VALUES ('delete', ?, ?, ?)",
            (cid, code, olddesc),
        )
        c.execute(
            "UPDATE codes SET description = ?, billable = ?, short_description = ?, kind = ?, parent = ?,"
            " needs_7th = ?, effective_to = ? WHERE id = ?",
            (desc, bill, short, kind, parent, n7, to, cid),
        )
        c.execute(
            "INSERT INTO codes_fts (rowid, code, description) VALUES (?, ?, ?)", (cid, code, desc)
        )
    c.executemany(
        "UPDATE codes SET short_description = ?, kind = ?, parent = ?, needs_7th = ?, effective_to = ? WHERE id = ?",
        plan.updates,
    )
    first_new = c.execute("SELECT COALESCE(MAX(id), 0) FROM codes").fetchone()[0]
    c.executemany(
        "INSERT INTO codes (code_system, code, kind, description, short_description, billable, parent, needs_7th,"
        " effective_from, effective_to, version_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(plan.system,) + t + (version_id,) for t in plan.inserts],
    )
    c.execute(
        "INSERT INTO codes_fts (rowid, code, description) SELECT id, code, description FROM codes WHERE id > ?",
        (first_new,),
    )


def count_changes(changes: list[dict]) -> dict[str, int]:
    out = {"added": 0, "deleted": 0, "description changed": 0, "billable changed": 0}
    for ch in changes:
        if ch["change"] == "changed":
            key = f"{ch['field']} changed"
            out[key] = out.get(key, 0) + 1
        else:
            out[ch["change"]] = out.get(ch["change"], 0) + 1
    return out


# ---------------------------------------------------------------- what a change does to unbilled work


def _pointers_or_none(text: str | None) -> tuple[int, ...]:
    """A line's pointers; an unreadable text points nowhere (the scrubber reports it)."""
    try:
        return pointers.parse(text)
    except pointers.PointerError:
        return ()


def affected_lines(conn: Database, system: str, unusable: dict[str, tuple[str, str]]) -> list[dict]:
    """Unbilled charge lines on or after a change's date that use a code the change made unusable."""
    if not unusable or system not in CODE_SYSTEMS:
        return []
    from . import normalize

    out: list[dict] = []
    if system == "icd10cm":
        keys = {normalize.nodot(c): c for c in unusable}
        rows = conn.execute(
            "SELECT e.id, e.number, e.date_of_service, d.seq, d.code FROM encounter_diagnoses d"
            " JOIN encounters e ON e.id = d.encounter_id"
            " WHERE upper(replace(trim(d.code), '.', '')) IN (SELECT value FROM json_each(?))"
            " AND EXISTS (SELECT 1 FROM charge_lines l WHERE l.encounter_id = e.id AND +l.status = 'unbilled')"
            " ORDER BY e.id, d.seq",
            (json.dumps(list(keys)),),
        ).fetchall()
        for eid, number, dos, seq, raw in rows:
            code = keys[normalize.nodot(raw.strip().upper())]
            start, why = unusable[code]
            if dos < start:
                continue
            lines = conn.execute(
                "SELECT line_no, dx_pointers FROM charge_lines WHERE encounter_id = ? AND +status = 'unbilled'"
                " ORDER BY line_no",
                (eid,),
            ).fetchall()
            hit = [ln for ln, ptr in lines if seq in _pointers_or_none(ptr)]
            for ln in hit or [None]:
                out.append(
                    {
                        "encounter": number,
                        "encounter_id": eid,
                        "line": ln,
                        "code": code,
                        "problem": f"diagnosis {seq} {code} {why}",
                    }
                )
        return out
    codes = json.dumps(list(unusable))
    if system in ("hcpcs", "cpt"):
        sql = (
            "SELECT e.id, e.number, e.date_of_service, l.line_no, upper(trim(l.code)) FROM charge_lines l"
            " JOIN encounters e ON e.id = l.encounter_id WHERE l.status = 'unbilled'"
            " AND upper(trim(l.code)) IN (SELECT value FROM json_each(?)) ORDER BY e.id, l.line_no"
        )
        for eid, number, dos, ln, code in conn.execute(sql, (codes,)):
            start, why = unusable[code]
            if dos >= start:
                out.append(
                    {
                        "encounter": number,
                        "encounter_id": eid,
                        "line": ln,
                        "code": code,
                        "problem": f"{code} {why}",
                    }
                )
        return out
    sql = (
        "SELECT e.id, e.number, e.date_of_service, l.line_no, l.modifier1, l.modifier2, l.modifier3, l.modifier4"
        " FROM charge_lines l JOIN encounters e ON e.id = l.encounter_id WHERE l.status = 'unbilled'"
        " AND (upper(l.modifier1) IN (SELECT value FROM json_each(?1)) OR upper(l.modifier2) IN"
        " (SELECT value FROM json_each(?1))"
        " OR upper(l.modifier3) IN (SELECT value FROM json_each(?1)) OR upper(l.modifier4) IN"
        " (SELECT value FROM json_each(?1)))"
        " ORDER BY e.id, l.line_no"
    )
    for eid, number, dos, ln, *mods in conn.execute(sql, (codes,)):
        for m in mods:
            m = (m or "").strip().upper()
            if m in unusable and dos >= unusable[m][0]:
                out.append(
                    {
                        "encounter": number,
                        "encounter_id": eid,
                        "line": ln,
                        "code": m,
                        "problem": f"modifier {m} {unusable[m][1]}",
                    }
                )
    return out
