"""The demo's eligibility step: tomorrow's appointments asked about (270s), the payers' answers
(271s) read back.

The front desk's schedule for the day after --as-of is written as an appointment list (eight
insured patients, each with a rendering provider); `eligibility request` sends one 270 per
payer. The payers' side is played here: each 270 is answered with a 271 that echoes the trace,
the names and the member id and adds the plan's begin date, active coverage and the in-network
office co-pay. Planted so the clerk has something to look at: every fourth answer says the
coverage is inactive (ended the day before --as-of), and the sixth the co-pay the payer
charges now (5.00 more than the records). Nothing is applied: the clerk applies what the
differences show (`eligibility show`, `eligibility apply`).
"""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

APPOINTMENTS = 8


def write_appointments(conn: Database, day: _dt.date, path: Path) -> Path:
    """The day's schedule: the first insured patients (by MRN) with a coverage active that day."""
    d = day.isoformat()
    rows = conn.execute(
        "SELECT p.mrn FROM patients p WHERE EXISTS (SELECT 1 FROM coverages c JOIN payers y"
        " ON y.id = c.payer_id WHERE c.patient_id = p.id AND c.priority = 1 AND y.kind != 'self'"
        " AND y.x12_payer_id IS NOT NULL AND c.effective_from <= ? AND (c.effective_to IS NULL"
        " OR c.effective_to >= ?)) ORDER BY p.mrn LIMIT ?",
        (d, d, APPOINTMENTS),
    ).fetchall()
    npis = [r[0] for r in conn.execute("SELECT npi FROM providers ORDER BY id")]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["mrn", "date", "time", "provider_npi", "payer"])
        for i, (mrn,) in enumerate(rows):
            w.writerow([mrn, d, f"{8 + i // 2:02d}:{30 * (i % 2):02d}", npis[i % len(npis)], ""])
    return path


def answer_270(conn: Database, text: str, as_of: _dt.date, start: int) -> tuple[str, int]:
    """The payer's 271 for one of our 270 files (see the module docstring); `start` numbers the
    answers across files so the planted ones are spread over payers. Returns (text, next)."""
    from ..money import x12_amount
    from ..x12 import reader

    out: list[str] = []
    n = start
    body: list[str] = []
    for s in reader.segments(text):
        tag = s[0]
        if tag == "GS":
            s = ["GS", "HB", s[3], s[2], *s[4:]]
        elif tag == "ISA":
            s = [*s[:5], s[7], s[8], s[5], s[6], *s[9:]]
        elif tag == "ST":
            body = []
            s = ["ST", "271", *s[2:]]
        elif tag == "BHT":
            s = ["BHT", "0022", "11", *s[3:]]
        elif tag == "TRN":
            trace = s[2]
            s = ["TRN", "2", *s[2:]]
        elif tag == "DTP":
            continue
        elif tag == "EQ":
            n += 1
            body.extend(_benefits(conn, trace, as_of, n, x12_amount))
            continue
        elif tag == "SE":
            s = ["SE", str(len(body) + 2), s[2]]
        if tag not in ("ISA", "GS", "GE", "IEA", "ST", "SE"):
            body.append("*".join(s))
            continue
        if tag == "SE":
            out.extend(body)
        out.append("*".join(s))
    return "".join(seg + "~\n" for seg in out), n


def _benefits(conn: Database, trace: str, as_of: _dt.date, n: int, amount) -> list[str]:
    begin, copay = conn.execute(
        "SELECT c.effective_from, c.copay_cents FROM eligibility_requests r JOIN coverages c"
        " ON c.id = r.coverage_id WHERE r.trace = ?",
        (trace,),
    ).fetchone()
    if n % 4 == 0:
        ended = (as_of - _dt.timedelta(days=1)).strftime("%Y%m%d")
        return ["EB*6**30", f"DTP*357*D8*{ended}"]
    if n == 6:
        copay += 500
    return [
        f"DTP*346*D8*{begin.replace('-', '')}",
        "EB*1**30",
        f"EB*B**98***27*{amount(copay)}*****Y",
    ]


def step_eligibility(ctx) -> None:
    """Demo step: 270s for tomorrow's appointments, the payers' 271s read back."""
    from ..eligibility import answers, send

    day = ctx.as_of + _dt.timedelta(days=1)
    schedule = write_appointments(
        ctx.conn, day, Path(ctx.summary.files_dir) / f"appointments-{day}.csv"
    )
    outbox = Path(ctx.out_dir) / "eligibility"  # the 270s sent and the 271s answered
    outbox.mkdir(parents=True, exist_ok=True)
    wanted, _ = send.from_appointments(ctx.conn, schedule, day)
    sent = send.send(
        ctx.conn, wanted, outbox, created=_dt.datetime.combine(ctx.as_of, _dt.time(17))
    )
    n = 0
    read = []
    for f in sent.files:
        text, n = answer_270(ctx.conn, f.read_text(), ctx.as_of, n)
        # named by payer and day (the 270's name carries its ISA13, which earlier steps move)
        answer = outbox / f"271-{f.name.split('-')[1]}-{ctx.as_of}.x12"
        answer.write_text(text)
        read += answers.import_file(ctx.conn, answer).rows
    ctx.summary.paths["appointments"] = schedule
    ctx.summary.counts["eligibility_requests"] = sent.sent
    ctx.summary.counts["eligibility_answers"] = len(read)
    inactive = sum(1 for r in read if r["status"] == "inactive")
    differing = sum(1 for r in read if r["differences"])
    ctx.summary.steps.append(
        f"Asked the payers about tomorrow's {sent.sent} appointments ({schedule.name}: 270s in"
        f" {len(sent.files)} files) and read their 271s: {len(read) - inactive} active,"
        f" {inactive} inactive, {differing} differing from the records"
        " (billadmin eligibility show MRN)"
    )
