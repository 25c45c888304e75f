"""Whom to ask and the 270 files that ask: one file per payer, each checked before it is written.

Rules:
- Appointments (``--appointments FILE``): the rows dated the visit day (default tomorrow); the
  coverage asked about is the row's payer's coverage active that day, else the primary coverage
  active that day (lowest priority number). The information receiver is the row's provider NPI,
  else the practice.
- Expiring (``--expiring N``): every coverage whose end date falls within N days of --as-of,
  asked about as of --as-of, the practice as receiver.
- Not asked (listed with the reason): no coverage active that day, a self-pay payer, a payer
  without an X12 payer id (NM1*PR NM109 is required).
- Control numbers: ISA13 and GS06 come from the same counters as the 837P (billing.numbering),
  so no two interchanges billadmin sends share one. Each request row records the trace number
  (TRN02), the patient, the coverage and the visit day; a 271 is matched by that trace.
- All or nothing: the rows, the audit row and the files; a file that fails the check
  (x270.check) stops the run with nothing written.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from ..outfile import PrivateFile
from ..x12.envelope import Envelope
from . import x270

if TYPE_CHECKING:
    from ..db import Database


class X270Invalid(BadInput):
    "A 270 we built failed its structural check: nothing was written."


@dataclass
class Wanted:
    """One inquiry to send (or not, with the reason)."""

    patient_id: int
    service_date: str
    reason: str  # appointment | expiring
    provider_npi: str | None = None
    payer_code: str | None = None
    row: int | None = None
    coverage_id: int | None = None
    skipped: str | None = None


@dataclass
class SendResult:
    rows: list[dict] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(1 for r in self.rows if r["trace"])


def from_appointments(conn: Database, path, day: _dt.date) -> tuple[list[Wanted], int]:
    """The inquiries for the appointments of `day`; and how many rows were of other days."""
    from . import appointments

    appts = appointments.read(conn, path)
    want = [
        Wanted(a.patient_id, a.date, "appointment", a.provider_npi, a.payer_code, a.row)
        for a in sorted(appts, key=lambda a: (a.time, a.row))
        if a.date == day.isoformat()
    ]
    return want, len(appts) - len(want)


def from_expiring(conn: Database, as_of: _dt.date, within: int) -> list[Wanted]:
    hi = (as_of + _dt.timedelta(days=within)).isoformat()
    return [
        Wanted(pid, as_of.isoformat(), "expiring", coverage_id=cid)
        for pid, cid in conn.execute(
            "SELECT c.patient_id, c.id FROM coverages c JOIN patients p ON p.id = c.patient_id"
            " WHERE c.effective_to BETWEEN ? AND ? AND c.effective_from <= ?"
            " ORDER BY c.effective_to, p.mrn, c.priority",
            (as_of.isoformat(), hi, as_of.isoformat()),
        )
    ]


def _coverage_for(conn: Database, w: Wanted) -> int | None:
    if w.coverage_id is not None:
        return w.coverage_id
    sql = (
        "SELECT c.id FROM coverages c JOIN payers p ON p.id = c.payer_id WHERE c.patient_id = ?"
        " AND c.effective_from <= ? AND (c.effective_to IS NULL OR c.effective_to >= ?)"
    )
    args: list = [w.patient_id, w.service_date, w.service_date]
    if w.payer_code:
        sql += " AND p.code = ?"
        args.append(w.payer_code)
    row = conn.execute(sql + " ORDER BY c.priority, c.effective_from DESC, c.id", args).fetchone()
    return row[0] if row else None


_COV_COLS = (
    "c.id", "c.member_id", "c.relationship", "c.subscriber_first", "c.subscriber_last",
    "c.subscriber_dob", "py.id", "py.code", "py.name", "py.kind", "py.x12_payer_id", "p.mrn",
    "p.first_name", "p.last_name", "p.dob", "p.sex",
)  # fmt: skip
_COV_KEYS = tuple(c.replace(".", "_") for c in _COV_COLS)
_COV = (
    f"SELECT {', '.join(_COV_COLS)} FROM coverages c JOIN payers py ON py.id = c.payer_id"
    " JOIN patients p ON p.id = c.patient_id WHERE c.id = ?"
)


def _practice(conn: Database) -> dict:
    from ..billing import practice

    prac = practice.get(conn)
    missing = [
        f for f in ("npi", "tax_id", "submitter_id", "receiver_id") if not (prac or {}).get(f)
    ]
    if prac is None or missing:
        raise BadInput(
            "the practice is not set up for eligibility requests: set "
            + ", ".join(practice.option(f) for f in (missing or ["name"]))
            + " with `billadmin practice set`"
        )
    return prac


def send(
    conn: Database,
    wanted: list[Wanted],
    out_dir: Path,
    *,
    dry_run: bool = False,
    created: _dt.datetime | None = None,
) -> SendResult:
    """Write one 270 per payer for `wanted`; record the requests (see the module docstring)."""
    from ..outfile import warn_if_shared_folder

    prac = _practice(conn)
    created = (created or _dt.datetime.now()).replace(second=0, microsecond=0)
    providers = {
        r[0]: (r[1], r[2]) for r in conn.execute("SELECT npi, last_name, first_name FROM providers")
    }
    result = SendResult()
    by_payer = _plan(conn, wanted, providers, result)
    if dry_run or not by_payer:
        for items in by_payer.values():
            result.rows.extend(_row(w, c["p_mrn"], c["py_code"], None, None) for w, c in items)
        return _in_order(result, wanted)
    if not out_dir.is_dir():
        raise BadInput(f"{out_dir}: no such folder (--out)")
    warn_if_shared_folder(out_dir)
    staged: list[PrivateFile] = []
    try:
        with db.write(conn):
            for items in by_payer.values():
                staged.append(_write_payer(conn, prac, providers, items, out_dir, created, result))
            audit.record(
                conn,
                "eligibility request",
                entity="coverage",
                ids=sorted({c["c_id"] for items in by_payer.values() for _, c in items}),
                count=sum(len(items) for items in by_payer.values()),
                detail={"files": len(staged)},
            )
    except BaseException:
        for pf in staged:
            pf.discard()
        raise
    for pf in staged:
        pf.commit()
    return _in_order(result, wanted)


def _plan(
    conn: Database, wanted: list[Wanted], providers: dict, result: SendResult
) -> dict[int, list[tuple[Wanted, dict]]]:
    """Each inquiry's coverage, grouped by payer; the ones not asked go to result with why."""
    by_payer: dict[int, list[tuple[Wanted, dict]]] = {}
    for w in wanted:
        w.coverage_id = _coverage_for(conn, w)
        row = conn.execute(_COV, (w.coverage_id,)).fetchone() if w.coverage_id else None
        cov = dict(zip(_COV_KEYS, row, strict=True)) if row else None
        if cov is None:
            w.skipped = "no coverage active on the day" + (
                f" with payer {w.payer_code}" if w.payer_code else ""
            )
        elif cov["py_kind"] == "self":
            w.skipped = "self-pay: nobody to ask"
        elif not cov["py_x12_payer_id"]:
            w.skipped = f"payer {cov['py_code']} has no X12 payer id (payer set --x12-payer-id)"
        elif w.provider_npi and w.provider_npi not in providers:
            w.skipped = "the appointment's provider NPI is not a recorded provider"
        if w.skipped or cov is None:
            mrn = conn.execute("SELECT mrn FROM patients WHERE id = ?", (w.patient_id,)).fetchone()
            result.rows.append(_row(w, mrn[0], None, None, None))
            continue
        by_payer.setdefault(cov["py_id"], []).append((w, cov))
    return by_payer


def _write_payer(
    conn: Database, prac: dict, providers: dict, items: list[tuple[Wanted, dict]],
    out_dir: Path, created: _dt.datetime, result: SendResult,
) -> PrivateFile:  # fmt: skip
    """One payer's 270: control numbers, built, checked, staged beside its final name (the
    caller puts it in place after COMMIT), recorded with one request row per person."""
    from ..billing import numbering
    from ..outfile import inside

    payer = items[0][1]
    isa, gs = numbering.next_control(conn, "isa"), numbering.next_control(conn, "gs")
    envl = Envelope(
        prac["submitter_id"], prac["receiver_id"], isa, gs, created,
        usage=prac.get("usage") or "P", functional_id="HS", version=x270.VERSION,
    )  # fmt: skip
    asks = []
    for n, (w, c) in enumerate(items, start=1):
        if w.provider_npi:
            last, first = providers[w.provider_npi]
            rec = x270.Receiver(w.provider_npi, last, first, person=True)
        else:
            rec = x270.Receiver(prac["npi"], prac["name"])
        asks.append((rec, x270.Inquiry(
            f"{isa:09d}-{n}", w.service_date, c["c_member_id"], c["p_last_name"],
            c["p_first_name"], c["p_dob"], c["p_sex"],
            dependent=(c["c_relationship"] or "self") != "self", sub_last=c["c_subscriber_last"],
            sub_first=c["c_subscriber_first"], sub_dob=c["c_subscriber_dob"],
        )))  # fmt: skip
    data = x270.build(envl, payer["py_name"], payer["py_x12_payer_id"], asks, prac["tax_id"])
    problems = x270.check(data)
    if problems:
        raise X270Invalid(
            f"the 270 for payer {payer['py_code']} failed its check; nothing was written",
            details=problems,
        )
    path = inside(out_dir, f"270-{payer['py_code']}-{isa:09d}.x12")
    pf = PrivateFile(path, "w", encoding="ascii", newline="", warn=False)
    try:
        pf.handle.write(data)
        pf.seal()
        _record(conn, payer, isa, gs, path, data, items, asks, result)
    except BaseException:
        pf.discard()
        raise
    return pf


def _record(conn, payer, isa, gs, path, data, items, asks, result) -> None:
    """The file and one request row per person (the trace a 271 is matched by)."""
    fid = conn.execute(
        "INSERT INTO eligibility_files (kind, payer_id, isa_control, gs_control, path,"
        " sha256, transactions, created_at) VALUES ('270', ?, ?, ?, ?, ?, ?, ?)",
        (payer["py_id"], f"{isa:09d}", str(gs), str(path),
         hashlib.sha256(data.encode()).hexdigest(), len(asks), audit.utcnow()),
    ).lastrowid  # fmt: skip
    for n, ((w, c), (_, q)) in enumerate(zip(items, asks, strict=True), start=1):
        conn.execute(
            "INSERT INTO eligibility_requests (file_id, trace, st_control, patient_id,"
            " coverage_id, service_date, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (fid, q.trace, f"{n:04d}", w.patient_id, c["c_id"], w.service_date, w.reason,
             audit.utcnow()),
        )  # fmt: skip
        result.rows.append(_row(w, c["p_mrn"], payer["py_code"], q.trace, path.name))
    result.files.append(path)


def _in_order(result: SendResult, wanted: list[Wanted]) -> SendResult:
    """The rows in the order asked (appointment time), skipped ones among them."""
    pos = {id(w): i for i, w in enumerate(wanted)}
    result.rows.sort(key=lambda r: pos[id(r.pop("_w"))])
    return result


def _row(w: Wanted, mrn: str, payer: str | None, trace: str | None, file: str | None) -> dict:
    return {
        "_w": w,
        "row": w.row,
        "mrn": mrn,
        "service_date": w.service_date,
        "reason": w.reason,
        "coverage_id": w.coverage_id,
        "payer": payer,
        "trace": trace,
        "file": file,
        "skipped": w.skipped,
    }
