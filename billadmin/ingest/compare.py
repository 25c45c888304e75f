"""`patient compare`: a registration file against the records, writing nothing.

For each row of the file (patients columns, optionally Payer Code / Member ID / Group):

* status ``new``: no patient has this MRN;
* status ``changed``: the MRN exists and some fields differ; ``fields`` names them (never the
  values). payer / member_id / group_number compare with the patient's current primary
  coverage (priority 1, effective today);
* status ``same``: nothing differs;
* status ``invalid``: the row breaks a column rule (``reason`` says which; no values).

``duplicate_of`` flags likely duplicates: the same normalised name (case, accents, spaces and
punctuation ignored) and date of birth under another MRN, either a recorded patient
(``patient 12``) or an earlier row of the file (``row 7``), or the same member id on another
patient. Rows are compared as the import would read them (same headers, map file, formats).
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import specs
from .columns import CellError, Column, parse_cell
from .engine import ImportOptions, load_map, resolve_mapping
from .readers import Table, open_table

if TYPE_CHECKING:
    from ..db import Database


COMPARE_COLUMNS = specs.PATIENTS + [
    Column("payer_code", "Payer Code", "code", False, ("Payer", "Insurance", "Primary Payer")),
    Column(
        "member_id", "Member ID", "id", False, ("Subscriber ID", "Policy Number", "Insurance ID")
    ),
    Column("group_number", "Group", "text", False, ("Group Number",)),
]
PATIENT_FIELDS = [c.field for c in specs.PATIENTS if c.field != "mrn"]


def name_key(first: str | None, last: str | None) -> str:
    def norm(s):
        s = unicodedata.normalize("NFKD", s or "")
        return "".join(ch for ch in s if ch.isalpha()).casefold()

    return norm(last) + "|" + norm(first)


@dataclass
class CompareResult:
    file: str
    rows: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"new": 0, "changed": 0, "same": 0, "invalid": 0, "duplicates": 0}
        for r in self.rows:
            out[r["status"]] += 1
            if r["duplicate_of"]:
                out["duplicates"] += 1
        return out


class _Run:
    """What a profile transform needs of an import run: the table, and problem() (here a reason
    for a field, kept with the compared row)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def problem(self, row: int, fld: str | None, reason: str) -> _Reason:
        return _Reason(fld, reason)


def compare_patients(db: Database, path, opts: ImportOptions | None = None) -> CompareResult:
    opts = opts or ImportOptions()
    profile = None
    if opts.profile:
        from . import profiles

        profile = profiles.get(opts.profile, "patients")
    map_cfg = load_map(opts.map_file) if opts.map_file else None
    today = opts.today or _dt.date.today()
    bad: list = []
    table = open_table(
        Path(path),
        sheet=opts.sheet,
        encoding=opts.encoding,
        on_bad_row=lambda row, cells, p: bad.append((row, p)),
    )
    result = CompareResult(table.file)

    run = _Run(table)
    with table:
        mapping, synth = resolve_mapping(
            table,
            COMPARE_COLUMNS,
            map_cfg=map_cfg,
            profile_map=profile.fields if profile else None,
            date_format=opts.date_format,
            kind="patients",
        )
        result.ignored_columns = mapping.ignored
        by_field = {c.field: c for c in COMPARE_COLUMNS}
        present = [c.field for c in COMPARE_COLUMNS if c.field in mapping.index or c.field in synth]

        # what is recorded, indexed the ways duplicates are found
        by_name: dict[tuple, list[tuple[int, str]]] = {}
        for pid, mrn, first, last, dob in db.execute(
            "SELECT id, mrn, first_name, last_name, dob FROM patients"
        ):
            by_name.setdefault((name_key(first, last), dob), []).append((pid, mrn))
        by_member: dict[str, dict[int, str]] = {}
        for pid, mrn, member in db.execute(
            "SELECT DISTINCT c.patient_id, p.mrn, c.member_id FROM coverages c"
            " JOIN patients p ON p.id = c.patient_id WHERE c.member_id != ''"
        ):
            by_member.setdefault(member, {})[pid] = mrn
        seen_name: dict[tuple, tuple[int, str]] = {}
        seen_member: dict[str, tuple[int, str]] = {}

        for row, cells in table:
            raw = {f: cells[i] for f, i in mapping.index.items()}
            reasons = []
            if profile is not None:
                raws, probs = profile.transform(run, row, raw, cells)
                raw = raws[0]
                reasons += [f"{p.field}: {p.reason}" for p in probs]
            values = {}
            for fld in present:
                try:
                    values[fld] = parse_cell(
                        raw.get(fld, ""),
                        by_field[fld],
                        date_format=mapping.formats.get(fld),
                        today=today,
                    )
                except CellError as e:
                    reasons.append(f"{_header(table, mapping, by_field, fld)}: {e}")
            if reasons:
                result.rows.append(
                    _out(row, "invalid", values.get("mrn"), None, [], [], "; ".join(reasons))
                )
                continue
            mrn = values["mrn"]
            cur = db.execute("SELECT * FROM patients WHERE mrn = ?", (mrn,))
            rec = cur.fetchone()
            dups: list[str] = []
            pid = None
            changed: list[str] = []
            if rec is None:
                status = "new"
            else:
                rec = dict(zip([d[0] for d in cur.description], rec, strict=True))
                pid = rec["id"]
                changed = [f for f in PATIENT_FIELDS if f in values and values[f] != rec[f]]
                changed += _coverage_changes(db, pid, values, today)
                status = "changed" if changed else "same"
            if "first_name" in values and "last_name" in values and "dob" in values:
                key = (name_key(values["first_name"], values["last_name"]), values["dob"])
                listed = set()
                for other_id, other_mrn in by_name.get(key, []):
                    if other_mrn != mrn:
                        dups.append(f"patient {other_id} (same name and DOB)")
                        listed.add(other_mrn)
                earlier = seen_name.get(key)
                if earlier and earlier[1] != mrn and earlier[1] not in listed:
                    dups.append(f"row {earlier[0]} (same name and DOB)")
                seen_name.setdefault(key, (row, mrn))
            member = values.get("member_id")
            if member:
                listed = set()
                for other, other_mrn in sorted(by_member.get(member, {}).items()):
                    if other != pid:
                        dups.append(f"patient {other} (same member id)")
                        listed.add(other_mrn)
                earlier = seen_member.get(member)
                if earlier and earlier[1] != mrn and earlier[1] not in listed:
                    dups.append(f"row {earlier[0]} (same member id)")
                seen_member.setdefault(member, (row, mrn))
            result.rows.append(_out(row, status, mrn, pid, changed, dups, ""))
    for row, p in bad:
        result.rows.append(_out(row, "invalid", None, None, [], [], p.reason))
    result.rows.sort(key=lambda r: r["row"])
    return result


class _Reason:
    def __init__(self, fld, reason):
        self.field, self.reason = fld, reason


def _header(table, mapping, by_field, fld) -> str:
    i = mapping.index.get(fld)
    return table.headers[i] if i is not None else by_field[fld].header


def _coverage_changes(db: Database, pid: int, values: dict, today: _dt.date) -> list[str]:
    wanted = [f for f in ("payer_code", "member_id", "group_number") if values.get(f) is not None]
    if not wanted:
        return []
    day = today.isoformat()
    cov = db.execute(
        "SELECT p.code, c.member_id, c.group_number FROM coverages c JOIN payers p ON p.id = c.payer_id"
        " WHERE c.patient_id = ? AND c.priority = 1 AND c.effective_from <= ? AND (c.effective_to "
        "IS NULL OR c.effective_to >= ?)"
        " ORDER BY c.effective_from DESC, c.id DESC LIMIT 1",
        (pid, day, day),
    ).fetchone()
    if cov is None:
        return ["payer (no current coverage)"] if values.get("payer_code") else [f for f in wanted]
    current = {"payer_code": cov[0], "member_id": cov[1], "group_number": cov[2]}
    names = {"payer_code": "payer", "member_id": "member_id", "group_number": "group_number"}
    return [names[f] for f in wanted if values[f] != current[f]]


def _out(row, status, mrn, pid, changed, dups, reason) -> dict:
    return {
        "row": row,
        "status": status,
        "mrn": mrn,
        "patient_id": pid,
        "fields": ", ".join(changed),
        "duplicate_of": "; ".join(dups),
        "reason": reason,
    }
