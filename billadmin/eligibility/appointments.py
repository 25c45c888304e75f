"""The appointment list a batch of 270 requests is made from (CSV or XLSX, one row a visit).

Columns (headers matched without case, spaces or punctuation; aliases in brackets):
- ``mrn`` [patient, patient mrn, chart] or ``patient_id`` [patient id, id]: who (one of them);
- ``date`` [appointment date, visit date, service date]: YYYY-MM-DD (or M/D/YYYY);
- ``time`` [appointment time, start]: HH:MM, optional (kept for the listing order);
- ``provider_npi`` [provider, npi, rendering npi]: the rendering provider's NPI (10 digits, check
  digit), the information receiver of the 270; empty: the practice's NPI;
- ``payer`` [payer code, insurance]: optional payer code; without it the primary coverage
  active on the date is asked about.

Every problem is reported at once (file, row, column), and nothing is sent when there is one.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path

from .. import npi
from ..errors import BadInput, Problem

COLUMNS: dict[str, tuple[str, ...]] = {
    "mrn": ("mrn", "patient", "patientmrn", "chart", "chartnumber"),
    "patient_id": ("patientid", "id"),
    "date": ("date", "appointmentdate", "visitdate", "servicedate"),
    "time": ("time", "appointmenttime", "start"),
    "provider_npi": ("providernpi", "provider", "npi", "renderingnpi"),
    "payer": ("payer", "payercode", "insurance"),
}


@dataclass(frozen=True)
class Appointment:
    row: int
    patient_id: int
    date: str
    time: str
    provider_npi: str | None
    payer_code: str | None


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _date(text: str) -> str:
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return _dt.datetime.strptime(t, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError("not a date (YYYY-MM-DD or M/D/YYYY)")


def _time(text: str) -> str:
    t = text.strip()
    if not t:
        return ""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", t)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError("not a time (HH:MM)")
    return f"{int(m[1]):02d}:{m[2]}"


def read(conn, path: Path | str) -> list[Appointment]:
    """Every appointment of the file; BadInput listing every problem when there is one."""
    from ..ingest.readers import open_table

    table = open_table(Path(path))
    problems: list[Problem] = []
    out: list[Appointment] = []
    with table:
        keys = [_key(h) for h in table.headers]
        index: dict[str, int] = {}
        for name, aliases in COLUMNS.items():
            for i, k in enumerate(keys):
                if k in aliases and name not in index:
                    index[name] = i
        if "date" not in index or not ({"mrn", "patient_id"} & set(index)):
            raise BadInput(
                f"{table.file}: the appointment list needs a date column and an mrn or"
                " patient_id column"
            )
        by_mrn = dict(conn.execute("SELECT mrn, id FROM patients").fetchall())
        ids = {r[0] for r in conn.execute("SELECT id FROM patients")}
        payers = {r[0] for r in conn.execute("SELECT code FROM payers")}

        def cell(cells, name) -> str:
            i = index.get(name)
            v = cells[i] if i is not None and i < len(cells) else None
            if isinstance(v, _dt.datetime):  # an XLSX date cell
                v = v.date()
            if isinstance(v, _dt.date):
                return v.isoformat()
            return "" if v is None else str(v).strip()

        for row, cells in table:
            bad = len(problems)

            def problem(col: str, why: str, row=row) -> None:
                header = table.headers[index[col]] if col in index else col
                problems.append(Problem(row, header, why, table.file))

            pid = None
            if cell(cells, "mrn"):
                pid = by_mrn.get(cell(cells, "mrn"))
                if pid is None:
                    problem("mrn", "no patient with that MRN")
            elif cell(cells, "patient_id"):
                raw = cell(cells, "patient_id")
                pid = int(raw) if raw.isdigit() and int(raw) in ids else None
                if pid is None:
                    problem("patient_id", "no patient with that id")
            else:
                problem("mrn", "empty: give the MRN or the patient id")
            try:
                day = _date(cell(cells, "date"))
            except ValueError as e:
                problem("date", str(e))
            try:
                at = _time(cell(cells, "time"))
            except ValueError as e:
                problem("time", str(e))
            prov = cell(cells, "provider_npi") or None
            if prov and not npi.is_valid(prov):
                problem("provider_npi", npi.problem(prov) or "not a valid NPI")
            payer = cell(cells, "payer") or None
            if payer and payer not in payers:
                problem("payer", "no payer with that code")
            if len(problems) == bad and pid is not None:
                out.append(Appointment(row, pid, day, at, prov, payer))
    problems = table.problems + problems
    if problems:
        raise BadInput(
            f"{table.file}: {len(problems)} problem(s) in the appointment list; nothing was sent",
            details=[str(p) for p in problems],
        )
    return out
