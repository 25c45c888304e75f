"""`codes load KIND FILE...`: read an official file, compare it with the version in place,
report the change, and (unless dry-run) apply it in one transaction with an audit row.

Code sets sit below the scrubber: what a new NCCI or MUE quarter does to unbilled work is
found by running the scrubber's edit rules before and after, and the scrubber is handed in by
the caller (``load(..., scrub=billadmin.scrub.check)``) rather than imported here.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .. import audit, db
from ..errors import BadInput
from ..fileutil import sha256_files as _sha
from . import store
from .store import ChangeReport, CodeRow

if TYPE_CHECKING:
    from ..db import Database
    from ..findings import Finding

KINDS = (
    "icd10cm",
    "hcpcs",
    "cpt",
    "ncci-ptp",
    "mue",
    "modifiers",
    "icd10pcs",
    "poa-exempt",
    "ncci-hospital",
    "mue-hospital",
    "ioce-revenue",
)
# the scrubber's edit rules whose findings a new NCCI/MUE quarter can change
EDIT_RULES = ("NCCI-PTP", "MUE-LINE", "MUE-DAY")
# ... and the institutional ones whose findings a hospital outpatient quarter can change
HOSPITAL_EDIT_RULES = ("INST-NCCI", "INST-MUE")
# scrub(conn, rules=...) -> findings: billadmin.scrub.check
Scrub = Callable[..., "Iterable[Finding]"]


class _DryRun(Exception):
    "Raised inside the write transaction to roll a dry run back."


def _check_date(value: str | None, what: str = "--effective") -> str | None:
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise BadInput(f"{what}: not a date YYYY-MM-DD") from None


def load(
    conn: Database,
    kind: str,
    paths: list[Path],
    *,
    label: str | None = None,
    effective: str | None = None,
    dry_run: bool = False,
    scrub: Scrub | None = None,
) -> ChangeReport:
    """Load one release of a code set or edit table (several files for a split NCCI quarter).
    With `scrub` (billadmin.scrub.check), a new NCCI PTP or MUE quarter also reports the unbilled
    lines its edits now deny (`ChangeReport.affected`); without it, none are looked for."""
    if kind not in KINDS:
        raise BadInput(f"unknown code set {kind!r}: one of {', '.join(KINDS)}")
    paths = [Path(p) for p in paths]
    if not paths:
        raise BadInput("give the file(s) to load")
    for p in paths:
        if not p.is_file():
            raise BadInput(f"{p}: no such file")
    if kind not in ("ncci-ptp", "mue", "ncci-hospital", "mue-hospital") and len(paths) > 1:
        raise BadInput(f"{kind}: load one file at a time")
    effective = _check_date(effective)
    sha = _sha(paths)
    source = ", ".join(p.name for p in paths)
    loaders: dict[str, Callable[..., ChangeReport]] = {
        "icd10cm": _load_icd,
        "hcpcs": _load_hcpcs,
        "cpt": _load_listed,
        "modifiers": _load_listed,
        "ncci-ptp": partial(_load_ptp, scrub=scrub),
        "mue": partial(_load_mue, scrub=scrub),
        "icd10pcs": _load_pcs,
        "poa-exempt": _load_poa,
        "ncci-hospital": partial(_load_ptp, scrub=scrub),
        "mue-hospital": partial(_load_mue, scrub=scrub),
        "ioce-revenue": _load_ioce,
    }
    fn = loaders[kind]
    report_box: list[ChangeReport] = []
    try:
        with db.write(conn):
            rep = fn(conn, kind, paths, label, effective, source, sha)
            report_box.append(rep)
            audit.record(
                conn,
                "codes load",
                entity="code_versions",
                count=rep.rows_in_file,
                detail={
                    "system": rep.system,
                    "label": rep.label,
                    "effective": rep.effective_from,
                    "file": source,
                    "sha256": sha,
                    **rep.counts,
                },
            )
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    rep = report_box[0]
    rep.dry_run = dry_run
    return rep


# ------------------------------------------------------------------ code sets


def _merge(
    conn: Database,
    system: str,
    rows: list[CodeRow],
    effective: str | None,
    version_id: int,
    deletable=lambda cur: True,
) -> tuple[list[dict], list[dict]]:
    """Merge rows into a system: (changes, unbilled lines the change makes unusable). The first
    rows of a system have no start date (history before the first load is unknown)."""
    E = effective if _has_rows(conn, system) else None
    plan = store.plan_codes(conn, system, rows, E, deletable=deletable)
    affected = store.affected_lines(conn, system, plan.unusable)
    store.apply_codes(conn, plan, version_id)
    return plan.changes, affected


def _has_rows(conn: Database, system: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM codes WHERE code_system = ? LIMIT 1", (system,)).fetchone()
        is not None
    )


def _report(system, label, effective, source, n, prev, changes, affected) -> ChangeReport:
    rep = ChangeReport(
        system, label, effective, source, rows_in_file=n, previous=prev["label"] if prev else None
    )
    rep.changes, rep.affected = changes, affected
    if prev:
        rep.counts = store.count_changes(changes)
    return rep


def _load_icd(conn: Database, kind, paths, label, effective, source, sha) -> ChangeReport:
    from . import icd10cm

    parsed = icd10cm.parse_file(paths[0])
    label = label or (f"CDC {parsed.label}" if parsed.label else None)
    effective = effective or parsed.effective
    if not label:
        raise BadInput(
            f"{paths[0].name}: cannot tell the release from the file name: give --version LABEL"
        )
    if effective is None:
        raise BadInput(
            f"{paths[0].name}: give --effective DATE (the release's first date of service)"
        )
    prev = store.check_order(conn, "icd10cm", label, effective)
    rows, deletable = icd10cm.prepare_rows(parsed, store._current_rows(conn, "icd10cm"))
    n = len(parsed.rows) if parsed.layout == "order" else sum(1 for r in parsed.rows if r.billable)
    vid = store.add_version(
        conn, "icd10cm", label, effective, icd10cm.release_through(effective), source, sha, n
    )
    changes, affected = _merge(conn, "icd10cm", rows, effective, vid, deletable)
    rep = _report("icd10cm", label, effective, source, n, prev, changes, affected)
    if parsed.layout == "codes":
        rep.notes.append(
            "codes-only file: billable codes; headers in place are kept, codes that gained children became headers"
        )
    rep.notes.append(
        "Excludes1 notes and 7th-character rules come from the bundled tabular; CDC text files do not carry them"
    )
    return rep


def _load_pcs(conn: Database, kind, paths, label, effective, source, sha) -> ChangeReport:
    from . import pcs  # ICD-10-PCS keeps its own tables (pcs_versions, pcs_codes)

    return pcs.load_release(conn, kind, paths, label, effective, source, sha)


def _load_poa(conn: Database, kind, paths, label, effective, source, sha) -> ChangeReport:
    from . import instref  # the institutional rules' reference files keep their own tables

    return instref.load_poa_exempt(conn, kind, paths, label, effective, source, sha)


def _load_ioce(conn: Database, kind, paths, label, effective, source, sha) -> ChangeReport:
    from . import instref

    return instref.load_ioce_revenue(conn, kind, paths, label, effective, source, sha)


def _load_hcpcs(conn: Database, kind, paths, label, effective, source, sha) -> ChangeReport:
    from . import hcpcs

    parsed = hcpcs.parse_file(paths[0])
    through = None
    if parsed.year:
        name, first, last = hcpcs.release_window(parsed.year, parsed.month)
        label = label or name
        through = last if effective in (None, first) else None
        effective = effective or first
    if not label:
        raise BadInput(
            f"{paths[0].name}: cannot tell the release year from the file name: give --version LABEL"
        )
    prev = store.check_order(conn, "hcpcs", label, effective)
    if through is None and effective:
        through = f"{effective[:4]}-12-31"
    n = len(parsed.procedures) + len(parsed.modifiers)
    vid = store.add_version(conn, "hcpcs", label, effective, through, source, sha, n)
    changes, affected = _merge(conn, "hcpcs", parsed.procedures, effective, vid)
    for r in parsed.modifiers:
        r.kind = "hcpcs"
    mchanges, maffected = _merge(
        conn, "modifier", parsed.modifiers, effective, vid, deletable=lambda cur: cur[5] == "hcpcs"
    )
    for c in mchanges:
        c["field"] = ("modifier " + c["field"]).strip()
    rep = _report(
        "hcpcs", label, effective, source, n, prev, changes + mchanges, affected + maffected
    )
    rep.notes.append(
        f"{len(parsed.procedures):,} procedure codes and {len(parsed.modifiers):,} modifiers"
    )
    return rep


def _load_listed(conn: Database, kind, paths, label, effective, source, sha) -> ChangeReport:
    """CPT (a licensed user's own code,description file) or a modifier list, CSV or XLSX."""
    from ..errors import InvalidRows, Problem
    from ..ingest.readers import normalise_header, open_table
    from . import normalize

    system = "cpt" if kind == "cpt" else "modifier"
    label = label or paths[0].stem
    rows: list[CodeRow] = []
    problems: list[Problem] = []
    with open_table(paths[0]) as t:
        keys = [normalise_header(h) for h in t.headers]
        ci = next(
            (
                i
                for i, k in enumerate(keys)
                if k in ("code", "cpt", "cptcode", "hcpcs", "hcpcscode", "modifier")
            ),
            None,
        )
        di = next(
            (
                i
                for i, k in enumerate(keys)
                if k in ("description", "longdescription", "descriptor", "desc")
            ),
            None,
        )
        si = next((i for i, k in enumerate(keys) if k in ("shortdescription", "short")), None)
        if ci is None or di is None:
            raise BadInput(f"{t.file}: needs a header row with Code and Description columns")
        for n, cells in t:
            code = str(cells[ci]).strip().upper()
            desc = str(cells[di]).strip()
            ok = (
                normalize.CPT_RX.match(code)
                if system == "cpt"
                else normalize.MODIFIER_RX.match(code)
            )
            if not ok:
                problems.append(
                    Problem(
                        n,
                        t.headers[ci],
                        "is not a CPT code (5 digits, or 4 digits + F/T/U)"
                        if system == "cpt"
                        else "is not a 2-character modifier",
                        t.file,
                    )
                )
                continue
            if not desc:
                problems.append(Problem(n, t.headers[di], "is empty", t.file))
                continue
            short = str(cells[si]).strip() if si is not None else ""
            rows.append(
                CodeRow(
                    code, desc, 1, "listed" if system == "modifier" else "procedure", short or None
                )
            )
        problems += t.problems
    if problems:
        raise InvalidRows(problems[:50], file=paths[0].name)
    prev = store.check_order(conn, system, label, effective)
    through = f"{effective[:4]}-12-31" if system == "cpt" and effective else None
    vid = store.add_version(conn, system, label, effective, through, source, sha, len(rows))
    changes, affected = _merge(
        conn,
        system,
        rows,
        effective,
        vid,
        deletable=(lambda cur: cur[5] == "listed") if system == "modifier" else (lambda cur: True),
    )
    return _report(system, label, effective, source, len(rows), prev, changes, affected)


# ------------------------------------------------------------------ NCCI edits


def _ncci_label(
    paths: list[Path], label: str | None, effective: str | None, what: str
) -> tuple[str, str]:
    from . import ncci

    lab, eff = ncci.version_from_name(paths[0].name)
    label = label or (f"{what} {lab}" if lab else None)
    effective = effective or eff
    if not label:
        if effective:
            label = f"{what} effective {effective}"
        else:
            raise BadInput(
                f"{paths[0].name}: cannot tell the quarter from the file name: give --version"
                " LABEL and --effective DATE"
            )
    if not effective:
        raise BadInput(f"{paths[0].name}: give --effective DATE (the quarter's first day)")
    return label, effective


class _Edits(NamedTuple):
    """Where an NCCI table of one setting lives: CMS publishes the practitioner and the hospital
    outpatient PTP edits and MUEs as separate files of the same layout; the hospital ones keep
    their own tables and releases (codesets m006, instref.py)."""

    table: str
    what: str  # the label's prefix
    check_order: Callable[..., dict | None]
    add_version: Callable[..., int]
    rules: tuple[str, ...]  # the scrub rules whose findings the table changes


def _edits(kind: str) -> _Edits:
    if kind in ("ncci-ptp", "mue"):
        table, what = ("ncci_ptp", "PTP") if kind == "ncci-ptp" else ("mue", "MUE")
        return _Edits(table, what, store.check_order, store.add_version, EDIT_RULES)
    from . import instref

    table, what = ("ncci_ptp_hospital", "PTP hospital")
    if kind == "mue-hospital":
        table, what = ("mue_hospital", "MUE hospital")
    return _Edits(table, what, instref.check_order, instref.add_version, HOSPITAL_EDIT_RULES)


def _load_ptp(
    conn: Database, kind, paths, label, effective, source, sha, *, scrub: Scrub | None
) -> ChangeReport:
    from . import ncci

    t = _edits(kind)
    edits = ncci.parse_ptp(paths, "hospital" if kind == "ncci-hospital" else "practitioner")
    label, effective = _ncci_label(paths, label, effective, t.what)
    prev = t.check_order(conn, kind, label, effective)
    old = {
        (c1, c2, eff): (dele, mod)
        for c1, c2, eff, dele, mod in conn.execute(
            "SELECT column1, column2, effective_from, deleted_on, modifier_indicator"
            f" FROM {t.table}"
        )
    }
    before = _edit_findings(conn, scrub, t.rules) if prev and scrub else set()
    version_id = t.add_version(
        conn, kind, label, effective, ncci.quarter_end(effective), source, sha, len(edits)
    )
    rep = ChangeReport(
        kind,
        label,
        effective,
        source,
        rows_in_file=len(edits),
        previous=prev["label"] if prev else None,
    )
    new_keys = set()
    if prev:
        for e in edits:
            key = (e.column1, e.column2, e.effective_from)
            new_keys.add(key)
            was = old.get(key)
            pair = f"{e.column1}/{e.column2}"
            if was is None:
                rep.changes.append(
                    {
                        "change": "added",
                        "code": pair,
                        "field": f"effective {e.effective_from}",
                        "old": None,
                        "new": f"modifier {e.modifier_indicator}",
                    }
                )
            else:
                if was[0] != e.deleted_on:
                    rep.changes.append(
                        {
                            "change": "deleted" if e.deleted_on else "changed",
                            "code": pair,
                            "field": "deletion date",
                            "old": was[0] or "*",
                            "new": e.deleted_on or "*",
                        }
                    )
                if was[1] != e.modifier_indicator:
                    rep.changes.append(
                        {
                            "change": "changed",
                            "code": pair,
                            "field": "modifier indicator",
                            "old": str(was[1]),
                            "new": str(e.modifier_indicator),
                        }
                    )
        for key in old:
            if key not in new_keys:
                rep.changes.append(
                    {
                        "change": "deleted",
                        "code": f"{key[0]}/{key[1]}",
                        "field": "dropped from file",
                        "old": f"effective {key[2]}",
                        "new": None,
                    }
                )
    c = conn.conn
    c.execute(f"DELETE FROM {t.table}")
    c.executemany(
        f"INSERT INTO {t.table} (column1, column2, prior_1996, effective_from, deleted_on, modifier_indicator,"
        " rationale, version_id) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                e.column1,
                e.column2,
                e.prior_1996,
                e.effective_from,
                e.deleted_on,
                e.modifier_indicator,
                e.rationale,
                version_id,
            )
            for e in edits
        ],
    )
    if prev:
        rep.counts = store.count_changes(rep.changes)
        if scrub:
            rep.affected = _new_findings(conn, scrub, before, t.rules)
    return rep


def _load_mue(
    conn: Database, kind, paths, label, effective, source, sha, *, scrub: Scrub | None
) -> ChangeReport:
    from . import ncci

    t = _edits(kind)
    rows = ncci.parse_mue(paths, "hospital" if kind == "mue-hospital" else "practitioner")
    label, effective = _ncci_label(paths, label, effective, t.what)
    prev = t.check_order(conn, kind, label, effective)
    before = _edit_findings(conn, scrub, t.rules) if prev and scrub else set()
    version_id = t.add_version(
        conn, kind, label, effective, ncci.quarter_end(effective), source, sha, len(rows)
    )
    rep = ChangeReport(
        kind,
        label,
        effective,
        source,
        rows_in_file=len(rows),
        previous=prev["label"] if prev else None,
    )
    c = conn.conn
    current = {}
    for rid, code, val, mai, frm, to in c.execute(
        "SELECT id, code, mue_value, mai, effective_from, effective_to"
        f" FROM {t.table} ORDER BY code, COALESCE(effective_from, '')"
    ):
        current[code] = (rid, val, mai, frm, to)
    inserts, closes = [], []
    seen = set()
    for r in rows:
        seen.add(r.code)
        cur = current.get(r.code)
        if cur is None or (cur[4] is not None and cur[4] < effective):
            inserts.append(
                (
                    r.code,
                    r.mue_value,
                    r.mai,
                    r.rationale,
                    effective if prev else None,
                    None,
                    version_id,
                )
            )
            if prev:
                rep.changes.append(
                    {
                        "change": "added",
                        "code": r.code,
                        "field": "",
                        "old": None,
                        "new": f"{r.mue_value} (MAI {r.mai})",
                    }
                )
            continue
        if (cur[1], cur[2]) != (r.mue_value, r.mai):
            closes.append((store.day_before(effective), cur[0]))
            inserts.append((r.code, r.mue_value, r.mai, r.rationale, effective, None, version_id))
            rep.changes.append(
                {
                    "change": "changed",
                    "code": r.code,
                    "field": "MUE value",
                    "old": f"{cur[1]} (MAI {cur[2]})",
                    "new": f"{r.mue_value} (MAI {r.mai})",
                }
            )
    if prev:
        for code, cur in current.items():
            if code not in seen and (cur[4] is None or cur[4] >= effective):
                closes.append((store.day_before(effective), cur[0]))
                rep.changes.append(
                    {
                        "change": "deleted",
                        "code": code,
                        "field": "",
                        "old": f"{cur[1]} (MAI {cur[2]})",
                        "new": None,
                    }
                )
    c.executemany(f"UPDATE {t.table} SET effective_to = ? WHERE id = ?", closes)
    c.executemany(
        f"INSERT INTO {t.table} (code, mue_value, mai, rationale, effective_from, effective_to, version_id)"
        " VALUES (?,?,?,?,?,?,?)",
        inserts,
    )
    if prev:
        rep.counts = store.count_changes(rep.changes)
        if scrub:
            rep.affected = _new_findings(conn, scrub, before, t.rules)
    return rep


def _edit_findings(conn: Database, scrub: Scrub, rules: tuple[str, ...] = EDIT_RULES) -> set:
    # compared without the edit's rationale text, which a new quarter may reword
    return {
        (f.encounter, f.encounter_id, f.line, f.rule, f.message.split(" (edit rationale:")[0])
        for f in scrub(conn, rules=rules)
    }


def _new_findings(
    conn: Database, scrub: Scrub, before: set, rules: tuple[str, ...] = EDIT_RULES
) -> list[dict]:
    """Unbilled lines the new edits hit that the old ones did not (the code is the one denied)."""
    import re

    out = []
    for e, eid, ln, rule, msg in sorted(
        _edit_findings(conn, scrub, rules) - before, key=lambda x: (x[1] or 0, x[2] or 0)
    ):
        m = re.search(r"\b[0-9A-Z]{5}\b", msg)
        out.append(
            {
                "encounter": e,
                "encounter_id": eid,
                "line": ln,
                "code": m.group(0) if m else "",
                "problem": f"{rule}: {msg}",
            }
        )
    return out


# ------------------------------------------------------------------ the bundled ICD-10-CM release


def ensure_icd10cm(conn: Database) -> str | None:
    """Load the bundled ICD-10-CM release when no ICD-10-CM version is loaded yet (init, demo)."""
    if store.current_version(conn, "icd10cm") is not None:
        return None
    t0 = time.perf_counter()
    from . import icd10cm

    b = icd10cm.bundled_release()
    with db.write(conn):
        if store.current_version(conn, "icd10cm") is not None:  # another process won the race
            return None
        vid = store.add_version(
            conn, "icd10cm", b.label, b.effective_from, b.effective_to, b.source, None, len(b.rows)
        )
        c = conn.conn
        c.executemany(
            "INSERT INTO codes (code_system, code, kind, description, short_description, billable, parent, needs_7th,"
            " effective_from, effective_to, version_id) VALUES ('icd10cm',?,?,?,?,?,?,?,NULL,NULL,?)",
            [
                (
                    r.code,
                    r.kind,
                    r.description,
                    r.short_description,
                    r.billable,
                    r.parent,
                    r.needs_7th,
                    vid,
                )
                for r in sorted(b.rows, key=lambda r: r.code)
            ],
        )  # key order: the unique index fills sequentially
        c.execute(
            "INSERT INTO codes_fts (rowid, code, description) SELECT id, code, description FROM"
            " codes WHERE version_id = ?",
            (vid,),
        )
        c.execute("DELETE FROM icd10cm_excludes1")
        c.executemany(
            "INSERT INTO icd10cm_excludes1 (code, ref_lo, ref_hi, note) VALUES (?,?,?,?)",
            b.excludes1,
        )
        billable = sum(r.billable for r in b.rows)
        audit.record(
            conn,
            "codes load",
            entity="code_versions",
            ids=[vid],
            count=len(b.rows),
            detail={
                "system": "icd10cm",
                "label": b.label,
                "effective": b.effective_from,
                "billable": billable,
            },
        )
    return (
        f"Loaded ICD-10-CM {b.label}: {len(b.rows):,} items, {billable:,} billable, in force "
        f"{b.effective_from} to {b.effective_to} ({time.perf_counter() - t0:.1f} s)"
    )
