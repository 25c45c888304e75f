"""`ack import`: acknowledgements matched to what we sent, recorded, and the claims' states moved.

Rules:
- The file is read whole first (parse.read): a malformed file is refused, nothing written. The
  same file again (same sha256) changes nothing.
- TA1: TA101 is our ISA13. R rejects every claim of that interchange (TA105 says why).
- 999: AK102 is our GS06 (one interchange, one group); AK202 our ST02. A 999 for a group of
  270s or 276s (AK101 HS, HR) is noted; no claim moves. IK5 R (also M, W, X)
  rejects every claim of that transaction set; AK9 R rejects the sets the 999 did not list.
  IK3/IK4 errors are mapped back to our file: IK302 counts from our ST (= 1), so the segment
  is our file's segment ST + IK302 - 1 (the file is read again when it is still where we wrote
  it, unchanged: its sha256 is kept); the claim is the one CTX*CLM01 names, else the CLM that
  segment is in. IK5 A or E: the file passed the clearinghouse's syntax check (outcome
  'received'; no state change: only a 277CA says a claim was accepted).
- 277CA: 2200D TRN02 is our claim number (CLM01). The statuses of 2200B (the batch) and 2200C
  (the billing provider) apply to every claim below them. Categories A3, A6, A7, A8 (at any
  level, or on a 2220D line) reject the claim; A2 or A5 accept it (code list 507). The batch
  number (2200B TRN02) is our BHT03 "ISA13-n", which names the send answered; without it,
  the latest send on or before the status date. REF*1K, the payer's claim number, is recorded
  for an accepted claim. Several 277CAs per claim are normal (clearinghouse, then payer).
- 277 (an answer to our 276): 2200D TRN02 is our 276's trace; the statuses are recorded and
  shown on the claim (no state change: the 835 settles the claim).
- State moves (claim-states.md): sent -> accepted | rejected, accepted -> rejected (a payer may
  reject what the clearinghouse accepted). A claim in any later state (an 835 came) keeps it;
  an answer to an earlier send than the latest is recorded only.
- Control numbers and claim numbers that match nothing we sent are reported (never a name or
  member id), and the import exits 1, as it does when a claim was rejected.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db
from ..billing import lifecycle
from ..errors import BadInput
from . import codes, parse

if TYPE_CHECKING:
    from ..db import Database

REJECT_999 = {"R", "M", "W", "X"}
REJECT_CATEGORIES = {"A3", "A6", "A7", "A8"}
ACCEPT_CATEGORIES = {"A2", "A5"}


@dataclass
class ImportResult:
    file: str
    kind: str = ""
    duplicate: bool = False
    rows: list[dict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.rows if r["outcome"] == "rejected")


@dataclass
class _Ack:
    """One answer about one claim, ready to record."""

    invoice_id: int
    send_id: int | None  # invoice_files.id of the send it answers
    by: str
    outcome: str
    codes: list[str]
    reasons: list[str]
    fixes: list[str]
    payer_claim_number: str | None = None
    effective_on: str | None = None


def import_file(conn: Database, path: Path) -> ImportResult:
    """Read one acknowledgement file and record what it says (see the module docstring)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a file") from None
    ack = parse.read(data, path.name)
    sha = hashlib.sha256(data).hexdigest()
    res = ImportResult(path.name, ack.kind)
    with db.write(conn):
        if conn.execute("SELECT 1 FROM ack_files WHERE sha256 = ?", (sha,)).fetchone():
            res.duplicate = True
            return res
        answers: list[_Ack] = []
        for t in ack.ta1:
            answers += _ta1(conn, t, res)
        for g in ack.groups:
            answers += _group(conn, g, res)
        for s in ack.statuses:
            answers += _statuses(conn, s, res)
        now = audit.utcnow()
        fid = conn.execute(
            "INSERT INTO ack_files (kind, isa_control, path, sha256, summary, read_at)"
            " VALUES (?,?,?,?,?,?)",
            (ack.kind, ack.isa_control, str(path), sha,
             json.dumps({"notes": res.notes, "unmatched": len(res.unknown)}), now),
        ).lastrowid  # fmt: skip
        for a in answers:
            res.rows.append(_record(conn, fid, ack.kind, a, now))
        audit.record(
            conn,
            "ack import",
            entity="invoices",
            ids=sorted({r["claim"] for r in res.rows}),
            count=len(res.rows),
            detail={"file": fid, "kind": ack.kind, "rejected": res.rejected,
                    "unmatched": len(res.unknown)},
        )  # fmt: skip
    return res


def _record(conn: Database, fid: int | None, kind: str, a: _Ack, now: str) -> dict:
    conn.execute(
        "INSERT INTO claim_acks (file_id, invoice_id, invoice_file_id, kind, by, outcome, codes,"
        " reasons, fixes, payer_claim_number, effective_on, read_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (fid, a.invoice_id, a.send_id, kind, a.by, a.outcome, json.dumps(a.codes),
         json.dumps(a.reasons), json.dumps(a.fixes), a.payer_claim_number, a.effective_on, now),
    )  # fmt: skip
    number = conn.execute("SELECT number FROM invoices WHERE id = ?", (a.invoice_id,)).fetchone()[0]
    before = lifecycle.status_of(conn, a.invoice_id)
    after = before
    latest = _latest_send(conn, a.invoice_id)
    if a.send_id is None or a.send_id == latest:
        if a.outcome == "rejected" and before in ("sent", "accepted"):
            after = "rejected"
        elif a.outcome == "accepted" and before == "sent":
            after = "accepted"
    if after != before:
        conn.execute(
            "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
            (a.invoice_id, after, now, f"{kind} from the {a.by}"),
        )
    if a.payer_claim_number and a.outcome in ("accepted", "pending", "finalized"):
        lifecycle.record_payer_claim_number(conn, a.invoice_id, a.payer_claim_number, kind)
    return {
        "claim": number,
        "kind": kind,
        "by": a.by,
        "outcome": a.outcome,
        "state": after or "",
        "why": "; ".join(a.reasons),
        "fix": "; ".join(dict.fromkeys(a.fixes)),
        "payer_claim_number": a.payer_claim_number or "",
    }


def _latest_send(conn: Database, invoice_id: int) -> int | None:
    row = conn.execute(
        "SELECT MAX(id) FROM invoice_files WHERE invoice_id = ? AND kind = 'x12'", (invoice_id,)
    ).fetchone()
    return row[0] if row else None


def _isa(value: str) -> str:
    v = value.strip()
    return f"{int(v):09d}" if v.isdigit() else v


def _interchange_claims(conn: Database, interchange_id: int, st: str | None = None) -> list:
    q = "SELECT invoice_id, id FROM invoice_files WHERE interchange_id = ? AND kind = 'x12'"
    args: tuple = (interchange_id,)
    if st is not None:
        q += " AND st_control = ?"
        args += (st,)
    return conn.execute(q + " ORDER BY id", args).fetchall()


# ---- TA1 ---------------------------------------------------------------------------------------


def _ta1(conn: Database, t: parse.TA1, res: ImportResult) -> list[_Ack]:
    row = conn.execute(
        "SELECT id FROM x12_interchanges WHERE isa_control = ?", (_isa(t.control),)
    ).fetchone()
    if row is None:
        res.unknown.append(f"TA1 for interchange {t.control}: matches no file we sent")
        return []
    words = codes.TA1_CODES.get(t.code, t.code)
    note = codes.TA1_NOTES.get(t.note, f"note code {t.note}")
    res.notes.append(f"interchange {t.control}: {words} ({note})")
    if t.code != "R":
        return []
    return [
        _Ack(inv, send, "clearinghouse", "rejected", [f"TA1:{t.note}"],
             [f"the whole file was rejected: {note}"],
             ["fix the interchange header (ISA) with the clearinghouse, then resend"])
        for inv, send in _interchange_claims(conn, row[0])
    ]  # fmt: skip


# ---- 999 ---------------------------------------------------------------------------------------


def _group(conn: Database, g: parse.GroupAck, res: ImportResult) -> list[_Ack]:
    if g.functional_id != "HC":  # a 999 for one of our 270s (HS) or 276s (HR): no claim moves
        res.notes.append(
            f"group {g.group_control} ({g.functional_id}, not claims):"
            f" {codes.AK9_CODES.get(g.code, g.code)}"
        )
        return []
    row = conn.execute(
        "SELECT id, path, sha256, isa_control FROM x12_interchanges WHERE gs_control = ?",
        (g.group_control,),
    ).fetchone()
    if row is None:
        res.unknown.append(f"999 for group {g.group_control}: matches no file we sent")
        return []
    ic_id, path, sha, isa = row
    res.notes.append(
        f"group {g.group_control} (interchange {isa}): {codes.AK9_CODES.get(g.code, g.code)},"
        f" {g.counts[2]} of {g.counts[0]} set(s) accepted"
    )
    ours = _our_segments(path, sha)
    out: list[_Ack] = []
    listed = set()
    for s in g.sets:
        listed.add(s.st_control)
        claims = _interchange_claims(conn, ic_id, s.st_control)
        if not claims:
            res.unknown.append(
                f"999 for group {g.group_control}, transaction set {s.st_control}:"
                " matches no set we sent"
            )
            continue
        out += _set_acks(conn, s, claims, ours, res)
    if g.code in REJECT_999:
        for st in {r[0] for r in conn.execute(
            "SELECT DISTINCT st_control FROM invoice_files WHERE interchange_id = ?", (ic_id,)
        )} - listed:  # fmt: skip
            out += [
                _Ack(inv, send, "clearinghouse", "rejected", [f"AK9:{g.code}"],
                     ["the whole functional group was rejected"],
                     ["send the claims again once the file is fixed"])
                for inv, send in _interchange_claims(conn, ic_id, st)
            ]  # fmt: skip
    return out


def _our_segments(path: str, sha: str) -> list[list[str]] | None:
    """Our 837P as sent, when it is still where we wrote it and unchanged."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != sha:
        return None
    from ..x12 import reader

    return reader.segments(data)


def _locate(ours: list[list[str]] | None, st: str, position: int) -> tuple[int, str | None] | None:
    """(segment number in our file, CLM01 of the claim it is in) for IK302 of set `st`."""
    if ours is None:
        return None
    start = next((i for i, s in enumerate(ours) if s[0] == "ST" and len(s) > 2 and s[2] == st),
                 None)  # fmt: skip
    if start is None:
        return None
    k = start + position - 1
    if k >= len(ours):
        return None
    claim = None
    for j in range(k, start, -1):
        if ours[j][0] == "CLM":
            claim = ours[j][1]
            break
    return k + 1, claim


def _element_words(seg: str, e: parse.ElementError) -> str:
    pos = e.position.split(":")
    name = f"{seg}{int(pos[0]):02d}" if pos[0].isdigit() else seg
    if len(pos) > 1:
        name += f"-{pos[1]}"
    return f"{name} {codes.IK4_ERRORS.get(e.code, 'element error ' + e.code)}"


def _set_acks(conn: Database, s: parse.SetAck, claims: list, ours, res: ImportResult) -> list[_Ack]:
    ids = {inv: send for inv, send in claims}
    numbers = dict(conn.execute(
        f"SELECT number, id FROM invoices WHERE id IN ({','.join('?' * len(ids))})", list(ids)
    ).fetchall())  # fmt: skip
    per_claim: dict[int, list[str]] = {}
    general: list[str] = []
    for err in s.errors:
        where = _locate(ours, s.st_control, err.position)
        claim = err.claim or (where[1] if where else None)
        seg_no = (
            f"segment {where[0]} of our file"
            if where
            else f"segment {err.position} of set {s.st_control}"
        )
        text = f"{seg_no} ({err.segment}): " + (
            "; ".join(_element_words(err.segment, e) for e in err.elements)
            or codes.IK3_ERRORS.get(err.code, "segment error " + err.code)
        )
        if claim and claim in numbers:
            per_claim.setdefault(numbers[claim], []).append(text)
        else:
            if claim:
                res.unknown.append(
                    f"999 names claim {claim}: not in transaction set {s.st_control}"
                )
            general.append(text)
    rejected = s.code in REJECT_999
    why_set = [codes.IK502_ERRORS.get(r, "set error " + r) for r in s.reasons]
    out = []
    for inv, send in claims:
        mine = per_claim.get(inv, [])
        if not rejected and not mine:
            reasons = ["passed the clearinghouse's syntax check"]
        else:
            reasons = mine + general + ([] if mine else why_set)
        out.append(
            _Ack(inv, send, "clearinghouse", "rejected" if rejected else "received",
                 [f"IK5:{s.code}"], reasons,
                 ["correct the segment named, then resend"] if rejected else [])
        )  # fmt: skip
    return out


# ---- 277CA / 277 -------------------------------------------------------------------------------

_BATCH = re.compile(r"^(\d{1,9})-\d+$")


def _statuses(conn: Database, s: parse.StatusSet, res: ImportResult) -> list[_Ack]:
    kind = "277CA" if s.version.startswith("005010X214") else "277"
    by = "payer" if s.source == "PR" else "clearinghouse"
    interchange = None
    m = _BATCH.match(s.batch or "")
    if m:
        row = conn.execute(
            "SELECT id FROM x12_interchanges WHERE isa_control = ?", (f"{int(m.group(1)):09d}",)
        ).fetchone()
        interchange = row[0] if row else None
    out = []
    for c in s.claims:
        inv = _claim_for(conn, kind, c.trace)
        if inv is None:
            what = "claim" if kind == "277CA" else "trace"
            res.unknown.append(
                f"{kind} transaction {s.st_control}, {what} {c.trace}: matches no claim we sent"
            )
            continue
        out.append(_claim_ack(conn, kind, by, inv, c, interchange))
    return out


def _claim_for(conn: Database, kind: str, trace: str) -> int | None:
    if kind == "277":
        row = conn.execute(
            "SELECT invoice_id FROM claim_status_requests WHERE trace = ?", (trace,)
        ).fetchone()
        if row:
            return row[0]
    row = conn.execute(
        "SELECT i.id FROM invoices i WHERE i.number = ? AND i.kind = 'claim'"
        " AND EXISTS (SELECT 1 FROM invoice_files f WHERE f.invoice_id = i.id AND f.kind = 'x12')",
        (trace,),
    ).fetchone()
    return row[0] if row else None


def _send_for(conn: Database, inv: int, interchange: int | None, on: str | None) -> int | None:
    if interchange is not None:
        row = conn.execute(
            "SELECT MAX(id) FROM invoice_files WHERE invoice_id = ? AND interchange_id = ?",
            (inv, interchange),
        ).fetchone()
        if row and row[0]:
            return row[0]
    if on:
        row = conn.execute(
            "SELECT MAX(f.id) FROM invoice_files f LEFT JOIN billing_runs b ON b.id = f.run_id"
            " WHERE f.invoice_id = ? AND f.kind = 'x12'"
            " AND COALESCE(b.issued_on, substr(f.created_at, 1, 10)) <= ?",
            (inv, on),
        ).fetchone()
        if row and row[0]:
            return row[0]
    return _latest_send(conn, inv)


def _claim_ack(
    conn: Database, kind: str, by: str, inv: int, c: parse.ClaimStatus, interchange: int | None
) -> _Ack:
    cats = [x.category for x in c.statuses + c.above]
    line_cats = [x.category for ln in c.lines for x in ln.statuses]
    if any(x in REJECT_CATEGORIES for x in cats + line_cats):
        outcome = "rejected"
    elif any(x.category in ACCEPT_CATEGORIES for x in c.statuses) or (
        not c.statuses and any(x in ACCEPT_CATEGORIES for x in cats)
    ):
        outcome = "accepted"
    else:
        outcome = codes.outcome(c.statuses[0].category if c.statuses else cats[0])
    reasons, fixes, cs = [], [], []
    for where, sts in (("batch", c.above), ("claim", c.statuses)):
        for x in sts:
            cs.append(f"{x.category}:{x.code}" + (f":{x.entity}" if x.entity else ""))
            if where == "batch" and x.category not in REJECT_CATEGORIES:
                continue
            reasons.append(codes.explain(x.category, x.code, x.entity))
            if x.category in REJECT_CATEGORIES or codes.outcome(x.category) == "pending":
                fixes.append(codes.fix_words(x.code))
    lines = _our_lines(conn, inv)
    for n, ln in enumerate(c.lines, start=1):
        no = _line_no(lines, ln, n)
        for x in ln.statuses:
            cs.append(f"line {no}:{x.category}:{x.code}" + (f":{x.entity}" if x.entity else ""))
            reasons.append(
                f"line {no} ({ln.procedure}): {codes.explain(x.category, x.code, x.entity)}"
            )
            if x.category in REJECT_CATEGORIES:
                fixes.append(codes.fix_words(x.code))
    return _Ack(inv, _send_for(conn, inv, interchange, c.effective_on), by, outcome, cs,
                reasons, fixes, c.payer_claim_number, c.effective_on)  # fmt: skip


def _our_lines(conn: Database, inv: int) -> list[tuple[int, int, str]]:
    return conn.execute(
        "SELECT id, line_no, code FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no", (inv,)
    ).fetchall()


def _line_no(lines: list, ln: parse.LineStatus, n: int) -> str:
    """Our line number for a 2220D line: by REF*FJ (our REF*6R, the invoice line id), else the
    n-th line with that procedure code, else its position."""
    if ln.line_ref and ln.line_ref.isdigit():
        for lid, no, _code in lines:
            if lid == int(ln.line_ref):
                return str(no)
    same = [no for _lid, no, code in lines if code == ln.procedure]
    if len(same) == 1:
        return str(same[0])
    return str(n)
