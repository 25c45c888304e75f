"""Code-set currency: which release of each code set is loaded, and whether it covers today.

Code sets change on a schedule: ICD-10-CM every October 1 (some years also April 1: CDC),
HCPCS Level II each quarter (CMS), NCCI PTP edits and MUEs each quarter (CMS). A claim is coded
with the release in force on its date of service, so a release that has ended leaves later
dates of service checked against an old list. ICD-9-CM ended on 2015-09-30 (45 CFR
162.1002(b)-(c)) and is kept for legacy dates of service only.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .store import SYSTEM_NAMES, day_after

if TYPE_CHECKING:
    from ..db import Database

COLUMNS = [
    "code_set",
    "version",
    "effective_from",
    "effective_to",
    "rows",
    "covers_today",
    "in_use",
    "note",
]

# what to fetch when a set has ended (no file can be fetched from here: the clerk downloads it)
_WHERE = {
    "icd10cm": "CDC's ICD-10-CM files (the code descriptions in tabular order, icd10cm-order-YYYY.txt)",
    "hcpcs": "CMS's HCPCS quarterly update (the alpha-numeric file, HCPC20YY_..._ANWEB.txt)",
    "cpt": "the AMA's CPT data file from your licence",
    "ncci-ptp": "CMS's NCCI PTP practitioner edits for the quarter",
    "mue": "CMS's MUE practitioner table for the quarter",
    "modifier": "the modifiers file",
    "poa-exempt": "CMS's POA-exempt list of the fiscal year (POAexemptCodesFYnn.txt)",
    "ncci-hospital": "CMS's NCCI PTP hospital outpatient edits for the quarter (ccioph-...)",
    "mue-hospital": "CMS's MUE outpatient hospital services table for the quarter",
    "ioce-revenue": "the I/OCE quarterly data files' revenue codes needing HCPCS",
}
_KIND = {"modifier": "modifiers"}


def release_name(first_day: str) -> str:
    """The ICD-10-CM release that starts on a day: FY2027 for 2026-10-01, 'April 2027' else."""
    d = _dt.date.fromisoformat(first_day)
    if d.month == 10 and d.day == 1:
        return f"FY{d.year + 1} ICD-10-CM"
    return f"ICD-10-CM {d.strftime('%B %Y')}"


def icd10cm_load_hint(ended: str) -> str:
    """What to load after the ICD-10-CM release that ended on ``ended``, and how."""
    nxt = day_after(ended)
    d = _dt.date.fromisoformat(nxt)
    fy = d.year + 1 if d.month >= 10 else d.year
    return (
        f"load the {release_name(nxt)} release (effective {nxt}) or later:"
        f" `billadmin codes load icd10cm icd10cm-order-{fy}.txt` ({_WHERE['icd10cm']})"
    )


def code_sets(conn: Database, day: _dt.date | None = None) -> list[dict]:
    """One row per code set: its newest version, window, rows, whether it covers ``day``."""
    today = (day or _dt.date.today()).isoformat()
    newest: dict[str, tuple] = {}
    for system, label, frm, to, n in conn.execute(
        "SELECT code_system, label, effective_from, effective_to, row_count FROM code_versions"
        " ORDER BY code_system, COALESCE(effective_from, ''), id"
    ):
        newest[system] = (label, frm, to, n)
    for system, label, frm, to, n in conn.execute(  # the institutional rules' (instref.py)
        "SELECT kind, label, effective_from, effective_to, row_count FROM inst_ref_versions"
        " ORDER BY kind, effective_from, id"
    ):
        newest[system] = (label, frm, to, n)
    out = []
    for system, (label, frm, to, n) in newest.items():
        covers = (frm is None or frm <= today) and (to is None or to >= today)
        note = ""
        if not covers and to is not None and to < today:
            if system == "icd10cm":
                note = f"ended {to}: {icd10cm_load_hint(to)}"
            else:
                kind = _KIND.get(system, system)
                note = (
                    f"ended {to}: load the release in force from {day_after(to)}"
                    f" (`billadmin codes load {kind} FILE`, {_WHERE.get(system, 'its file')})"
                )
        elif not covers:
            note = f"starts {frm}"
        out.append(
            {
                "code_set": SYSTEM_NAMES.get(system, system),
                "version": label,
                "effective_from": frm,
                "effective_to": to,
                "rows": n,
                "covers_today": covers,
                "in_use": True,
                "note": note,
            }
        )
    for system, label, frm, to, n in conn.execute(
        "SELECT code_system, label, effective_from, effective_to, row_count FROM"
        " legacy_code_versions ORDER BY id"
    ):
        if system == "icd9cm":
            out.append(
                {
                    "code_set": "ICD-9-CM",
                    "version": label,
                    "effective_from": frm,
                    "effective_to": to,
                    "rows": n,
                    "covers_today": (to or "") >= today,
                    "in_use": False,
                    "note": "legacy: dates of service before 2015-10-01 only (frozen, last release)",
                }
            )
        else:
            way = "ICD-9-CM to ICD-10-CM" if system == "gem-9to10" else "ICD-10-CM to ICD-9-CM"
            out.append(
                {
                    "code_set": f"GEMs {way}",
                    "version": label,
                    "effective_from": frm,
                    "effective_to": to,
                    "rows": n,
                    "covers_today": None,
                    "in_use": False,
                    "note": "a crosswalk for coders (candidates, never a conversion)",
                }
            )
    out += _snapshots(conn, today)
    return out


_SNAPSHOT_NAMES = {
    "lab-ncd": "Lab NCD code lists",
    "mcd-articles": "MCD billing and coding articles",
    "rvu": "MPFS relative values (PPRRVU)",
    "gpci": "MPFS GPCIs",
}


def _snapshots(conn: Database, today: str) -> list[dict]:
    """The medical-necessity snapshots (lab NCD lists, MCD articles) and the Medicare fee
    schedule releases, every one loaded: an open one ends the day before the next of its kind
    starts; the newest of each kind is the current one (in use)."""
    rows = [
        (kind, label, frm, to, n)
        for kind, label, frm, to, n in conn.execute(
            "SELECT kind, label, effective_from, effective_to, row_count FROM necessity_versions"
            " ORDER BY kind, effective_from, id"
        )
    ]
    rows += [
        (kind, label, frm, to, n)
        for kind, label, frm, to, n in conn.execute(
            "SELECT kind, version, effective_from, effective_to, rows FROM mpfs_releases"
            " ORDER BY kind DESC, effective_from"
        )
    ]
    out = []
    covered = {
        r[0] for i, r in enumerate(rows) if _window(rows, i)[0] <= today <= _window(rows, i)[1]
    }
    for i, (kind, label, frm, to, n) in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) and rows[i + 1][0] == kind else None
        to = _window(rows, i)[1] if to is not None or nxt is not None else None
        covers = frm <= today and (to is None or to >= today)
        if covers:
            in_use, note = True, "current" + (f"; {nxt[1]} from {nxt[2]}" if nxt else "")
        elif frm > today:
            in_use, note = False, f"starts {frm}"
        elif nxt is None and kind not in covered and to:
            in_use, note = True, f"ended {to}: load the release in force from {day_after(to)}"
        else:
            in_use, note = False, f"superseded by {nxt[1]}" if nxt else f"ended {to}"
        out.append(
            {
                "code_set": _SNAPSHOT_NAMES.get(kind, kind),
                "version": label,
                "effective_from": frm,
                "effective_to": to,
                "rows": n,
                "covers_today": covers,
                "in_use": in_use,
                "note": note,
            }
        )
    return out


def _window(rows: list[tuple], i: int) -> tuple[str, str]:
    """A snapshot's first and last day: its own end, else the day before the next of its kind
    starts, else open ('9999-12-31')."""
    kind, _label, frm, to, _n = rows[i]
    if to is None and i + 1 < len(rows) and rows[i + 1][0] == kind:
        to = (_dt.date.fromisoformat(rows[i + 1][2]) - _dt.timedelta(days=1)).isoformat()
    return frm, to or "9999-12-31"
