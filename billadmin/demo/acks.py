"""The demo's acknowledgements: the clearinghouse answers each 837P of the last billing run
with a 999 and a 277CA, and the clerk works one rejection.

Only the last run's files are answered (the earlier claims were answered by 835s already, and a
277CA comes before the 835). Every transaction set passes the 999 (IK5 A, AK9 A). The 277CA
(005010X214, from the clearinghouse, NM1*AY) accepts every claim (A2:20, with the payer's claim
number in REF*1K) but three, rejected the way clearinghouses commonly reject:
  - the first claim: an invalid member id (A7:164:IL, the subscriber's contract/member number);
  - the second: the subscriber's birth date does not match the payer's (A8:158:IL);
  - the third: the referring provider is missing (A6:562:DN, the referring provider's NPI).
The clerk then works the first: the member id is corrected on the coverage (as the card
shows) and the claim is queued to be sent again (`ack resend`: same claim number, frequency 1).
The files are written beside the 835s (acks/DATE/), 0600.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

REJECT = ["A7:164:IL", "A8:158:IL", "A6:562:DN"]


def _envelope(gs01: str, version: str, st01: str, bodies: list[list[str]], isa13: str,
              sender: str, receiver: str, on: _dt.date) -> str:  # fmt: skip
    segs = [
        f"ISA*00*          *00*          *ZZ*{sender[:15]:<15}*ZZ*{receiver[:15]:<15}"
        f"*{on:%y%m%d}*1800*^*00501*{isa13}*0*P*:",
        f"GS*{gs01}*{sender}*{receiver}*{on:%Y%m%d}*1800*{int(isa13)}*X*{version}",
    ]
    for n, body in enumerate(bodies, start=1):
        ts = [f"ST*{st01}*{n:04d}*{version}", *body]
        segs += ts + [f"SE*{len(ts) + 1}*{n:04d}"]
    segs += [f"GE*{len(bodies)}*{int(isa13)}", f"IEA*1*{isa13}"]
    return "".join(s + "~\n" for s in segs)


def answer_999(conn: Database, interchange_id: int, isa13: str, prac: dict, on: _dt.date) -> str:
    gs, = conn.execute("SELECT gs_control FROM x12_interchanges WHERE id = ?",
                       (interchange_id,)).fetchone()  # fmt: skip
    sts = [r[0] for r in conn.execute(
        "SELECT DISTINCT st_control FROM invoice_files WHERE interchange_id = ? ORDER BY 1",
        (interchange_id,))]  # fmt: skip
    body = [f"AK1*HC*{gs}*005010X222A1"]
    for st in sts:
        body += [f"AK2*837*{st}*005010X222A1", "IK5*A"]
    body.append(f"AK9*A*{len(sts)}*{len(sts)}*{len(sts)}")
    return _envelope("FA", "005010X231A1", "999", [body], isa13, prac["receiver_id"],
                     prac["submitter_id"], on)  # fmt: skip


def answer_277ca(
    conn: Database, interchange_id: int, isa13: str, prac: dict, on: _dt.date, start: int
) -> tuple[str, int]:
    """The 277CA for one of our 837Ps; `start` counts claims across files (the rejections go to
    the first three of the run). Returns (text, next)."""
    isa, payer = conn.execute(
        "SELECT x.isa_control, p.code FROM x12_interchanges x JOIN payers p ON p.id = x.payer_id"
        " WHERE x.id = ?", (interchange_id,)).fetchone()  # fmt: skip
    claims = conn.execute(
        "SELECT i.number, i.total_cents, e.date_of_service, pt.last_name, pt.first_name,"
        " c.member_id FROM invoice_files f JOIN invoices i ON i.id = f.invoice_id"
        " JOIN encounters e ON e.id = i.encounter_id JOIN patients pt ON pt.id = i.patient_id"
        " JOIN coverages c ON c.id = i.coverage_id WHERE f.interchange_id = ? ORDER BY f.id",
        (interchange_id,),
    ).fetchall()
    total = sum(c[1] for c in claims)
    from ..money import x12_amount
    from ..x12.envelope import ident, text

    d8 = f"{on:%Y%m%d}"
    body = [
        f"BHT*0085*08*{isa13}*{d8}*1800*TH",
        "HL*1**20*1",
        f"NM1*AY*2*{text(prac['receiver_name'], 60)}*****46*{prac['receiver_id']}",
        f"TRN*1*{isa13}",
        f"DTP*050*D8*{d8}",
        f"DTP*009*D8*{d8}",
        "HL*2*1*21*1",
        f"NM1*41*2*{text(prac['name'], 60)}*****46*{prac['submitter_id']}",
        f"TRN*2*{int(isa)}-1",
        f"STC*A1:19:PR*{d8}*WQ*{x12_amount(total)}",
        "HL*3*2*19*1",
        f"NM1*85*2*{text(prac['name'], 60)}*****XX*{prac['npi']}",
        "TRN*1*0",
        f"STC*A1:19:PR**WQ*{x12_amount(total)}",
    ]
    hl = 3
    n = start
    for number, cents, dos, last, first, member in claims:
        hl += 1
        stc = REJECT[n] if n < len(REJECT) else "A2:20"
        body += [
            f"HL*{hl}*3*PT",
            f"NM1*QC*1*{text(last, 60)}*{text(first, 35)}****MI*{ident(member, 80)}",
            f"TRN*2*{number}",
            f"STC*{stc}*{d8}*{'U' if n < len(REJECT) else 'WQ'}*{x12_amount(cents)}",
        ]
        if n >= len(REJECT):
            body.append(f"REF*1K*{payer}{on:%y%j}{n:05d}")
        body.append(f"DTP*472*D8*{dos.replace('-', '')}")
        n += 1
    return _envelope("HN", "005010X214", "277", [body], isa13, prac["receiver_id"],
                     prac["submitter_id"], on), n  # fmt: skip


def step_acks(ctx) -> None:
    """Demo step: the clearinghouse's 999s and 277CAs for the last run, one rejection worked."""
    from .. import audit, db
    from ..acks import imports, views
    from ..billing import resend
    from ..outfile import write_bytes

    conn, on = ctx.conn, ctx.as_of
    cols = ("name", "npi", "submitter_id", "receiver_id", "receiver_name")
    prac = dict(zip(cols, conn.execute(f"SELECT {', '.join(cols)} FROM practice").fetchone(),
                    strict=True))  # fmt: skip
    last_run = conn.execute("SELECT MAX(run_id) FROM x12_interchanges").fetchone()[0]
    ics = [r[0] for r in conn.execute(
        "SELECT x.id FROM x12_interchanges x WHERE x.run_id = ? AND NOT EXISTS (SELECT 1 FROM"
        " invoice_files f JOIN invoice_status s ON s.invoice_id = f.invoice_id WHERE"
        " f.interchange_id = x.id AND s.status != 'sent') ORDER BY x.id", (last_run,))]  # fmt: skip
    folder = Path(ctx.out_dir) / "acks" / on.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    n, files, rows = 0, 0, []
    for k, ic in enumerate(ics, start=1):
        for kind, isa13 in (
            ("999", f"{700000000 + 2 * k:09d}"),
            ("277CA", f"{700000001 + 2 * k:09d}"),
        ):
            if kind == "999":
                data = answer_999(conn, ic, isa13, prac, on)
            else:
                data, n = answer_277ca(conn, ic, isa13, prac, on, n)
            path = folder / f"{kind}-{isa13}.x12"
            write_bytes(path, data.encode("ascii"))
            rows += imports.import_file(conn, path).rows
            files += 1
    rejected = views.rejections(conn, on)
    worked = None
    for r in rejected:
        if r["why"].endswith("contract/member number (subscriber)"):
            worked = r["claim"]
            with db.write(conn):  # the clerk types the member id from the card
                conn.execute(
                    "UPDATE coverages SET member_id = member_id || 'A' WHERE id ="
                    " (SELECT coverage_id FROM invoices WHERE number = ?)", (worked,))  # fmt: skip
                audit.record(conn, "demo coverage correction", entity="invoices", ids=[worked],
                             count=1, detail={"fields": ["member_id"]})  # fmt: skip
            resend.resend(conn, worked)
            break
    accepted = sum(1 for r in rows if r["outcome"] == "accepted")
    ctx.summary.paths["acks"] = folder
    ctx.summary.counts["ack_files"] = files
    ctx.summary.counts["claims_rejected"] = len(rejected)
    ctx.summary.steps.append(
        f"The clearinghouse answered the last run's {len(ics)} 837P file(s) with 999s and"
        f" 277CAs: {accepted} claims accepted, {len(rejected)} rejected (billadmin ack"
        " rejections); the clerk corrected the member id of "
        f"{worked or 'none'} and queued it to be sent again (billadmin ack resend)"
    )
