"""271 answers: import (matched to our 270s by trace number), differences with the stored
coverage, applying them when asked, and the latest answer for check-in and reports.

Rules:
- Import: the file is read whole first (x271.read: a malformed file is refused, nothing
  written). Each answer is matched to the request whose trace it returns; one that matches
  nothing we sent, and a transaction the payer refused before any person (AAA at the payer or
  receiver level), is reported by interchange, transaction and trace number (never a name or
  member id), and the command exits 1. The same file again (same sha256) changes nothing.
- Differences (the way `patient compare` names them, never showing values on the summary):
  ``status`` when the payer says inactive; ``effective_from``/``effective_to`` when the plan
  dates differ; ``copay`` when the office-visit co-pay differs; ``member_id``, ``group_number``
  when the payer returns other ones; the patient's ``last_name``, ``first_name``, ``dob`` (for a
  dependent also the subscriber's ``subscriber_last``, ``subscriber_first``, ``subscriber_dob``)
  when the payer spells them otherwise (compared as X12 writes them: case and accents ignored).
  A field the payer did not send is not a difference.
- Apply: only the fields asked for (default: every difference but ``status``, which is not a
  stored field: an inactive coverage is ended by the payer's plan end date), in one
  transaction with one audit row naming the answer, the coverage and the field names. An
  answer is applied once; an older answer than the coverage's latest is refused.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput, Conflict, NotFound
from ..x12.text import clean
from . import x271

if TYPE_CHECKING:
    from ..db import Database


@dataclass
class ImportResult:
    file: str
    duplicate: bool = False
    rows: list[dict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def import_file(conn: Database, path: Path) -> ImportResult:
    """Read one 271 file and record its answers (see the module docstring)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a file") from None
    resp = x271.read(data, path.name)
    sha = hashlib.sha256(data).hexdigest()
    res = ImportResult(path.name)
    with db.write(conn):
        if conn.execute(
            "SELECT 1 FROM eligibility_files WHERE kind = '271' AND sha256 = ?", (sha,)
        ).fetchone():
            res.duplicate = True
            return res
        fid = conn.execute(
            "INSERT INTO eligibility_files (kind, isa_control, gs_control, path, sha256,"
            " transactions, created_at) VALUES ('271', ?, '', ?, ?, ?, ?)",
            (resp.interchange, str(path), sha, len(resp.answers), audit.utcnow()),
        ).lastrowid
        assert fid is not None
        for st02, bht03, aaa in resp.refused:
            why = x271.REJECT_REASONS.get(aaa or "", "no reason given")
            res.unknown.append(
                f"interchange {resp.interchange}, transaction {st02} (reference {bht03}):"
                f" the payer answered no one: AAA {aaa or '-'} {why}"
            )
        for a in resp.answers:
            req = _request(conn, a.traces)
            if req is None:
                res.unknown.append(
                    f"interchange {resp.interchange}, transaction {a.st_control}, trace"
                    f" {a.traces[0] if a.traces else '(none)'}: matches no 270 we sent"
                )
                continue
            aid = _insert(conn, fid, req, a)
            res.rows.append(_summary(conn, aid))
        audit.record(
            conn,
            "eligibility import",
            entity="eligibility_answer",
            ids=[r["answer"] for r in res.rows],
            count=len(res.rows),
            detail={"file": fid, "unmatched": len(res.unknown)},
        )
    return res


def _request(conn: Database, traces: list[str]):
    for t in traces:
        row = conn.execute(
            "SELECT id, patient_id, coverage_id FROM eligibility_requests WHERE trace = ?", (t,)
        ).fetchone()
        if row:
            return row
    return None


def _insert(conn: Database, fid: int, req, a: x271.Answer) -> int:
    return int(
        conn.execute(
            "INSERT INTO eligibility_answers (file_id, request_id, patient_id, coverage_id,"
            " st_control, answered_on, status, reject_code, plan_begin, plan_end, copay_cents,"
            " coinsurance_pct, deductible_cents, deductible_remaining_cents, corrected,"
            " payer_data, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                fid,
                req[0],
                req[1],
                req[2],
                a.st_control,
                a.answered_on,
                a.status,
                a.reject_code,
                a.plan_begin,
                a.plan_end,
                a.copay_cents,
                a.coinsurance_pct,
                a.deductible_cents,
                a.deductible_remaining_cents,
                int(a.corrected),
                json.dumps(a.payer, sort_keys=True),
                audit.utcnow(),
            ),  # fmt: skip
        ).lastrowid
        or 0
    )


ANSWER_COLS = (
    "id", "request_id", "patient_id", "coverage_id", "answered_on", "status", "reject_code",
    "plan_begin", "plan_end", "copay_cents", "coinsurance_pct", "deductible_cents",
    "deductible_remaining_cents", "corrected", "payer_data",
)  # fmt: skip


def _answer(conn: Database, answer_id: int) -> dict:
    row = conn.execute(
        f"SELECT {', '.join(ANSWER_COLS)} FROM eligibility_answers WHERE id = ?", (answer_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no eligibility answer {answer_id}")
    d = dict(zip(ANSWER_COLS, row, strict=True))
    d["payer_data"] = json.loads(d["payer_data"])
    return d


_COV = (
    "SELECT c.member_id, c.group_number, c.relationship, c.subscriber_first, c.subscriber_last,"
    " c.subscriber_dob, c.effective_from, c.effective_to, c.copay_cents, p.last_name,"
    " p.first_name, p.dob, p.mrn, py.code"
    " FROM coverages c JOIN patients p ON p.id = c.patient_id JOIN payers py ON py.id = c.payer_id"
    " WHERE c.id = ?"
)
_COV_NAMES = (
    "member_id", "group_number", "relationship", "subscriber_first", "subscriber_last",
    "subscriber_dob", "effective_from", "effective_to", "copay_cents", "last_name", "first_name",
    "dob", "mrn", "payer",
)  # fmt: skip


def _stored(conn: Database, coverage_id: int) -> dict:
    return dict(zip(_COV_NAMES, conn.execute(_COV, (coverage_id,)).fetchone(), strict=True))


def differences(conn: Database, ans: dict) -> list[tuple[str, object, object]]:
    """(field, stored value, payer's value) for each difference (module docstring rules)."""
    cov = _stored(conn, ans["coverage_id"])
    pay = ans["payer_data"]
    out: list[tuple[str, object, object]] = []
    if ans["status"] == "inactive":
        out.append(("status", "active", "inactive"))
    if ans["status"] in ("rejected", "unknown"):
        return out
    for fld, theirs in (
        ("effective_from", ans["plan_begin"]),
        ("effective_to", ans["plan_end"]),
        ("copay", ans["copay_cents"]),
        ("member_id", pay.get("member_id")),
        ("group_number", pay.get("group_number")),
    ):
        mine = cov["copay_cents" if fld == "copay" else fld]
        if theirs is not None and theirs != mine:
            out.append((fld, mine, theirs))
    dependent = (cov["relationship"] or "self") != "self"
    names = [("last_name", "last_name"), ("first_name", "first_name"), ("dob", "dob")]
    if dependent:
        names += [
            ("subscriber_last", "sub_last_name"),
            ("subscriber_first", "sub_first_name"),
            ("subscriber_dob", "sub_dob"),
        ]
    for fld, key in names:
        theirs = pay.get(key)
        mine = cov[fld]
        if theirs is None:
            continue
        same = theirs == mine if fld.endswith("dob") else clean(theirs) == clean(mine)
        if not same:
            out.append((fld, mine, theirs))
    return out


def _summary(conn: Database, answer_id: int) -> dict:
    ans = _answer(conn, answer_id)
    cov = _stored(conn, ans["coverage_id"])
    return {
        "answer": ans["id"],
        "mrn": cov["mrn"],
        "coverage_id": ans["coverage_id"],
        "payer": cov["payer"],
        "status": ans["status"],
        "reason": x271.REJECT_REASONS.get(ans["reject_code"] or "", ans["reject_code"]),
        "copay_cents": ans["copay_cents"],
        "differences": ", ".join(f for f, _, _ in differences(conn, ans)),
        "corrected": bool(ans["corrected"]),
    }


# ---- show and apply -----------------------------------------------------------------------


def show(conn: Database, mrn: str) -> tuple[list[dict], list[dict]]:
    """The patient's answers, newest first, and the latest one's differences with the stored
    values (both sides: an audited PHI read, as `patient show`)."""
    from ..accounts import lookup

    pat = lookup.patient(conn, mrn)
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM eligibility_answers WHERE patient_id = ?"
            " ORDER BY answered_on DESC, id DESC",
            (pat["id"],),
        )
    ]
    rows = []
    for i in ids:
        s = _summary(conn, i)
        a = _answer(conn, i)
        s.update(
            answered_on=a["answered_on"],
            plan_begin=a["plan_begin"],
            plan_end=a["plan_end"],
            coinsurance_pct=a["coinsurance_pct"],
            deductible_cents=a["deductible_cents"],
            deductible_remaining_cents=a["deductible_remaining_cents"],
            applied=_applied(conn, i),
        )
        rows.append(s)
    diffs = []
    if ids:
        diffs = [
            {"field": f, "stored": _text(f, mine), "payer": _text(f, theirs)}
            for f, mine, theirs in differences(conn, _answer(conn, ids[0]))
        ]
    from ..reads import record_read

    record_read(conn, "eligibility show", entity="patient", ids=[pat["id"]], count=len(rows))
    return rows, diffs


def _text(fld: str, v) -> str:
    if v is None:
        return ""
    return money.fmt(v) if fld == "copay" else str(v)


def _applied(conn: Database, answer_id: int) -> str | None:
    row = conn.execute(
        "SELECT fields FROM eligibility_applied WHERE answer_id = ?", (answer_id,)
    ).fetchone()
    return row[0] if row else None


APPLICABLE = {
    "effective_from": ("coverages", "effective_from"),
    "effective_to": ("coverages", "effective_to"),
    "copay": ("coverages", "copay_cents"),
    "member_id": ("coverages", "member_id"),
    "group_number": ("coverages", "group_number"),
    "subscriber_last": ("coverages", "subscriber_last"),
    "subscriber_first": ("coverages", "subscriber_first"),
    "subscriber_dob": ("coverages", "subscriber_dob"),
    "last_name": ("patients", "last_name"),
    "first_name": ("patients", "first_name"),
    "dob": ("patients", "dob"),
}


def apply(conn: Database, answer_id: int, fields: list[str] | None = None) -> list[str]:
    """Write the payer's values of the answer's differences (all, or `fields`) to the coverage
    and patient; returns the fields written."""
    unknown = [f for f in fields or [] if f not in APPLICABLE]
    if unknown:
        raise BadInput(
            f"--field {unknown[0]}: not a field that can be applied (one of"
            f" {', '.join(APPLICABLE)})"
        )
    with db.write(conn):
        ans = _answer(conn, answer_id)
        if _applied(conn, answer_id) is not None:
            raise Conflict(f"eligibility answer {answer_id} was already applied")
        newer = conn.execute(
            "SELECT id FROM eligibility_answers WHERE coverage_id = ? AND id != ?"
            " AND (answered_on > ? OR (answered_on = ? AND id > ?)) LIMIT 1",
            (ans["coverage_id"], answer_id, ans["answered_on"], ans["answered_on"], answer_id),
        ).fetchone()
        if newer:
            raise Conflict(
                f"eligibility answer {answer_id} is not the coverage's latest (answer"
                f" {newer[0]} is newer): apply that one"
            )
        diffs = {f: theirs for f, _, theirs in differences(conn, ans) if f in APPLICABLE}
        wanted = fields or list(diffs)
        missing = [f for f in wanted if f not in diffs]
        if missing:
            raise BadInput(f"--field {missing[0]}: the answer does not differ in it")
        if not wanted:
            raise BadInput(f"eligibility answer {answer_id} has no difference to apply")
        cov_id, pid = ans["coverage_id"], ans["patient_id"]
        for f in wanted:
            table, col = APPLICABLE[f]
            key = cov_id if table == "coverages" else pid
            try:
                conn.execute(f"UPDATE {table} SET {col} = ? WHERE id = ?", (diffs[f], key))
            except Exception as e:
                if db.is_db_error(e) and "UNIQUE" in str(e):
                    raise Conflict(
                        f"coverage {cov_id}: another coverage of the patient already has this"
                        " payer, member id and start date; nothing was applied"
                    ) from None
                raise
        if any(APPLICABLE[f][0] == "patients" for f in wanted):
            conn.execute("UPDATE patients SET updated_at = ? WHERE id = ?", (audit.utcnow(), pid))
        conn.execute(
            "INSERT INTO eligibility_applied (answer_id, fields, at) VALUES (?, ?, ?)",
            (answer_id, ", ".join(wanted), audit.utcnow()),
        )
        audit.record(
            conn,
            "eligibility apply",
            entity="coverage",
            ids=[cov_id],
            detail={"answer": answer_id, "patient": pid, "fields": wanted},
        )
    return wanted


# ---- the latest answer (check-in, coverage-expiring) ----------------------------------------


def latest(conn: Database, patient_id: int, coverage_id: int | None = None) -> dict | None:
    """The patient's (or that coverage's) most recent answer: answered_on, status, copay_cents,
    plan_end; None when there is none."""
    sql = "SELECT answered_on, status, copay_cents, plan_end, coverage_id FROM eligibility_answers"
    if coverage_id is not None:
        row = conn.execute(
            sql + " WHERE coverage_id = ? ORDER BY answered_on DESC, id DESC LIMIT 1",
            (coverage_id,),
        ).fetchone()
    else:
        row = conn.execute(
            sql + " WHERE patient_id = ? ORDER BY answered_on DESC, id DESC LIMIT 1",
            (patient_id,),
        ).fetchone()
    if row is None:
        return None
    return dict(
        zip(("answered_on", "status", "copay_cents", "plan_end", "coverage_id"), row, strict=True)
    )


def days_old(answer: dict | None, on: _dt.date) -> int | None:
    if not answer:
        return None
    return (on - _dt.date.fromisoformat(answer["answered_on"])).days
