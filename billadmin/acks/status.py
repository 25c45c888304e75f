"""`ack status-request`: 276 claim status requests for claims nobody has answered.

Rules:
- A claim is asked about when its latest state is `sent` or `accepted` (no 835, no rejection
  to work), its latest send is at least DAYS days old, and no 276 asked about it in the last
  DAYS days (so a daily run asks each silent claim once every DAYS days). DAYS is the payer's
  rule (`ack status-rule CODE DAYS`: its companion guide's wait) when it has one, else the
  option (default 30: many payers' companion guides ask providers to wait 30 days).
- One file per payer, one transaction set; each claim identified as we sent it (the content of
  its latest send: subscriber, patient, member id) with its claim number (REF*EJ), the payer's
  claim number when known (REF*1K), its total (AMT*T3) and date of service. The trace (TRN02)
  is recorded with the claim, so the 277 that answers is matched by it.
- Each file is checked (x276.check) before it is written; a failure writes nothing (exit 2).
  Payers without an X12 payer id are skipped and reported.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from . import x276

if TYPE_CHECKING:
    from ..db import Database


class X276Invalid(BadInput):
    "A 276 we built failed its check: nothing was written."


@dataclass
class StatusResult:
    rows: list[dict] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def set_rule(conn: Database, code: str, days: int) -> dict:
    """A payer's wait before a 276 (`ack status-rule`), audited."""
    from ..errors import NotFound

    if days < 0:
        raise BadInput("DAYS must be 0 or more")
    row = conn.execute("SELECT id, code FROM payers WHERE code = ?", (code.strip(),)).fetchone()
    if row is None:
        raise NotFound(f"payer {code}: no payer with that code (see billadmin payer list)")
    with db.write(conn):
        conn.execute(
            "INSERT INTO claim_status_rules (payer_id, days, set_at) VALUES (?,?,?)"
            " ON CONFLICT(payer_id) DO UPDATE SET days = excluded.days, set_at = excluded.set_at",
            (row[0], days, audit.utcnow()),
        )
        audit.record(conn, "ack status-rule", entity="payers", ids=[row[1]], count=1,
                     detail={"days": days})  # fmt: skip
    return {"payer": row[1], "days": days}


def silent_claims(conn: Database, today: _dt.date, days: int) -> list[tuple]:
    """(invoice id, number, payer id, last sent on) of the claims to ask about, oldest first;
    DAYS is the payer's rule (claim_status_rules) when it has one, else `days`."""
    return conn.execute(
        "SELECT i.id, i.number, i.payer_id,"
        " MAX(COALESCE(b.issued_on, substr(f.created_at, 1, 10))) AS sent_on"
        " FROM invoices i JOIN invoice_status s ON s.invoice_id = i.id"
        " JOIN invoice_files f ON f.invoice_id = i.id AND f.kind = 'x12'"
        " LEFT JOIN billing_runs b ON b.id = f.run_id"
        " WHERE i.kind = 'claim' AND s.status IN ('sent', 'accepted')"
        " AND NOT EXISTS (SELECT 1 FROM claim_status_requests r WHERE r.invoice_id = i.id"
        "   AND julianday(:today) - julianday(r.asked_on) < " + _WAIT + ")"
        " GROUP BY i.id HAVING julianday(:today) - julianday(sent_on) >= "
        + _WAIT
        + " ORDER BY sent_on, i.number",
        {"today": today.isoformat(), "days": days},
    ).fetchall()


_WAIT = "COALESCE((SELECT w.days FROM claim_status_rules w WHERE w.payer_id = i.payer_id), :days)"


def _content(conn: Database, invoice_id: int) -> dict:
    row = (
        conn.execute(
            "SELECT data FROM claim_resends WHERE invoice_id = ? ORDER BY id DESC LIMIT 1",
            (invoice_id,),
        ).fetchone()
        or conn.execute(
            "SELECT data FROM invoice_snapshots WHERE invoice_id = ?", (invoice_id,)
        ).fetchone()
    )
    return json.loads(row[0]) if row else {}


def request(
    conn: Database,
    out_dir: Path,
    *,
    days: int = 30,
    today: _dt.date | None = None,
    dry_run: bool = False,
    created: _dt.datetime | None = None,
) -> StatusResult:
    """Write the 276 requests (module docstring)."""
    from ..billing import lifecycle, numbering
    from ..billing import practice as practice_mod
    from ..outfile import PrivateFile, inside
    from ..x12.envelope import Envelope

    if days < 0:
        raise BadInput("--days must be 0 or more")
    today = today or _dt.date.today()
    created = (created or _dt.datetime.now()).replace(second=0, microsecond=0)
    prac = practice_mod.get(conn)
    if not prac or not prac.get("submitter_id") or not prac.get("receiver_id"):
        raise BadInput("the practice has no EDI ids: set them with `billadmin practice set`")
    res = StatusResult()
    by_payer: dict[int, list[tuple]] = {}
    payers = {
        r[0]: {"code": r[1], "name": r[2], "x12": r[3]}
        for r in conn.execute("SELECT id, code, name, x12_payer_id FROM payers")
    }
    for iid, number, payer_id, sent_on in silent_claims(conn, today, days):
        p = payers[payer_id]
        row = {"claim": number, "payer": p["code"], "sent_on": sent_on, "trace": "", "file": "",
               "skipped": ""}  # fmt: skip
        if not p["x12"]:
            row["skipped"] = f"payer {p['code']} has no X12 payer id"
        else:
            by_payer.setdefault(payer_id, []).append((iid, number, row))
        res.rows.append(row)
    if dry_run or not by_payer:
        return res
    if not out_dir.is_dir():
        raise BadInput(f"{out_dir}: no such folder (--out)")
    staged: list = []
    try:
        with db.write(conn):
            for payer_id, items in by_payer.items():
                isa, gs = numbering.next_control(conn, "isa"), numbering.next_control(conn, "gs")
                env = Envelope(prac["submitter_id"], prac["receiver_id"], isa, gs, created,
                               usage=prac.get("usage") or "P", functional_id="HR",
                               version=x276.VERSION)  # fmt: skip
                asks = []
                for n, (iid, number, row) in enumerate(items, start=1):
                    c = _content(conn, iid)
                    row["trace"] = f"{isa:09d}-{n}"
                    asks.append(x276.Ask(
                        row["trace"], number, lifecycle.payer_claim_number(conn, iid),
                        int(c.get("total_cents") or 0), c.get("date_of_service") or "",
                        c.get("subscriber") or {}, c.get("patient"),
                    ))  # fmt: skip
                data = x276.build(env, prac, payers[payer_id], asks)
                problems = x276.check(data)
                if problems:
                    raise X276Invalid(
                        f"the 276 for payer {payers[payer_id]['code']} failed its check;"
                        " nothing was written",
                        details=problems,
                    )
                path = inside(out_dir, f"276-{payers[payer_id]['code']}-{isa:09d}.x12")
                pf = PrivateFile(path, "w", encoding="ascii", newline="", warn=False)
                staged.append(pf)
                pf.handle.write(data)
                pf.seal()
                now = audit.utcnow()
                for (iid, _number, row), a in zip(items, asks, strict=True):
                    conn.execute(
                        "INSERT INTO claim_status_requests (trace, invoice_id, payer_id,"
                        " isa_control, path, asked_on, created_at) VALUES (?,?,?,?,?,?,?)",
                        (a.trace, iid, payer_id, f"{isa:09d}", str(path), today.isoformat(), now),
                    )
                    row["file"] = path.name
                res.files.append(path)
            audit.record(
                conn,
                "ack status-request",
                entity="invoices",
                ids=[r["claim"] for r in res.rows if r["trace"]],
                count=sum(len(v) for v in by_payer.values()),
                detail={"files": len(staged), "days": days},
            )
    except BaseException:
        for pf in staged:
            pf.discard()
        raise
    for pf in staged:
        pf.commit()
    return res
