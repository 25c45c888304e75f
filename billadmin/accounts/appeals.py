"""Appeals of denied claims: the record, its deadline, its status, and the letter to the payer.

Rules:
- Only a claim on the denial worklist (net denied amount above zero, not voided) can be
  appealed; the appeal carries the denial codes and the amount at stake at the time.
- Deadline: the remittance (denial) date + the payer's appeal limit (accounts.rules). Creating
  an appeal after it is refused unless the clerk says it is late on purpose (good cause).
- One open appeal (draft or submitted) per claim; a new one after a decision is the next level.
- Status: draft -> submitted | withdrawn; submitted -> won | lost | withdrawn. Opening an appeal
  puts the claim in 'appealed' (and submitting records it again in the claim's history); a lost
  or withdrawn appeal puts it back to 'denied' (the denial stands); a won one stays 'appealed'
  until the payer's reprocessed 835 posts. These steps move the claim only while the appeal is
  what it waits on (its state 'appealed', or 'denied' for a submission): a claim the clerk or
  the payer meanwhile settled another way (paid, written off, moved to the patient, voided,
  replaced) keeps its state, since 'denied' and 'appealed' say money is open
  (docs/claim-states.md).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput, Conflict, NotFound
from . import denials, lookup, rules

if TYPE_CHECKING:
    from ..db import Database


TRANSITIONS = {"draft": {"submitted", "withdrawn"}, "submitted": {"won", "lost", "withdrawn"}}
STATUSES = ("draft", "submitted", "won", "lost", "withdrawn")


def _denial_for(conn: Database, inv: dict) -> dict:
    found = [c for c in denials.denied_claims(conn) if c["invoice_id"] == inv["id"]]
    if not found:
        raise BadInput(f"claim {inv['number']} has no open denial to appeal")
    return found[0]


def create(
    conn: Database,
    number: str,
    reason: str,
    *,
    on: _dt.date,
    letter: Path | None = None,
    late: bool = False,
) -> dict:
    """Record an appeal and write its letter (PDF). One transaction, audited."""
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise BadInput("--reason must say why the claim should be paid (at least 10 characters)")
    with db.write(conn):
        inv = lookup.invoice(conn, number)
        if inv["kind"] != "claim":
            raise BadInput(
                f"{inv['number']} is a {inv['kind']} invoice; only insurance claims are appealed"
            )
        den = _denial_for(conn, inv)
        r = rules.all_rules(conn)[inv["payer_id"]]
        denied_on = _dt.date.fromisoformat(den["denied_on"])
        deadline = r.appeal_deadline(denied_on)
        if on > deadline and not late:
            raise BadInput(
                f"the appeal deadline for {inv['number']} was {deadline} ({(on - deadline).days} days ago; "
                f"{r.code} allows {r.appeal_days} days from the remittance); --late to appeal anyway"
            )
        open_ = conn.execute(
            "SELECT id, status FROM appeals WHERE invoice_id = ? AND status IN ('draft','submitted')",
            (inv["id"],),
        ).fetchone()
        if open_:
            raise Conflict(f"claim {inv['number']} already has appeal #{open_[0]} ({open_[1]})")
        level = (
            conn.execute(
                "SELECT COUNT(*) FROM appeals WHERE invoice_id = ? AND status != 'withdrawn'",
                (inv["id"],),
            ).fetchone()[0]
            + 1
        )
        carcs = " ".join(f"{g}-{c}" for g, c, *_ in den["carc_list"])
        now = audit.utcnow()
        aid = conn.execute(
            "INSERT INTO appeals (invoice_id, level, reason, carcs, amount_cents, denied_on, "
            "deadline, status, created_on,"
            " updated_at) VALUES (?,?,?,?,?,?,?, 'draft', ?, ?)",
            (
                inv["id"],
                level,
                reason,
                carcs,
                den["denied_cents"],
                den["denied_on"],
                deadline.isoformat(),
                on.isoformat(),
                now,
            ),
        ).lastrowid
        assert aid is not None  # an INSERT always gives a rowid
        conn.execute(
            "INSERT INTO appeal_events (appeal_id, status, on_date, note, at) VALUES (?, 'draft', ?, NULL, ?)",
            (aid, on.isoformat(), now),
        )
        # the claim is being worked: 'appealed' from the moment an appeal is open, draft
        # included (docs/claim-states.md); it stays open in A/R
        conn.execute(
            "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'appealed', ?, ?)",
            (inv["id"], on.isoformat(), f"appeal #{aid} opened (level {level})"),
        )
        path = Path(letter) if letter else Path(f"appeal-{inv['number']}-{level}.pdf")
        write_letter(conn, aid, path, on=on)
        conn.execute("UPDATE appeals SET letter_file = ? WHERE id = ?", (str(path), aid))
        audit.record(
            conn,
            "appeal create",
            entity="appeal",
            ids=[aid],
            detail={"invoice": inv["number"], "level": level, "late": on > deadline},
        )
    row = list_appeals(conn, appeal_id=aid, as_of=on)[0]
    return row


def update(
    conn: Database, appeal_id: int, status: str, *, on: _dt.date, note: str | None = None
) -> dict:
    status = (status or "").strip().lower()
    if status not in STATUSES[1:]:
        raise BadInput("--status must be submitted, won, lost or withdrawn")
    with db.write(conn):
        row = conn.execute(
            "SELECT a.status, a.invoice_id, i.number, a.deadline FROM appeals a JOIN invoices i"
            " ON i.id = a.invoice_id WHERE a.id = ?",
            (appeal_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no appeal #{appeal_id}")
        current, invoice_id, number, deadline = row
        if status not in TRANSITIONS.get(current, set()):
            raise Conflict(
                f"appeal #{appeal_id} is {current}; it cannot become {status}"
                + (
                    f" (allowed: {', '.join(sorted(TRANSITIONS[current]))})"
                    if current in TRANSITIONS
                    else ""
                )
            )
        now = audit.utcnow()
        conn.execute(
            "UPDATE appeals SET status = ?, updated_at = ? WHERE id = ?", (status, now, appeal_id)
        )
        conn.execute(
            "INSERT INTO appeal_events (appeal_id, status, on_date, note, at) VALUES (?,?,?,?,?)",
            (appeal_id, status, on.isoformat(), note, now),
        )
        claim_state = lookup.invoice_status(conn, invoice_id)
        if status == "submitted" and claim_state in ("appealed", "denied"):
            conn.execute(
                "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'appealed', ?, ?)",
                (invoice_id, on.isoformat(), f"appeal #{appeal_id} submitted"),
            )
        elif status in ("withdrawn", "lost") and claim_state == "appealed":
            # the denial stands: back on the worklist, to write off or appeal at the next level
            conn.execute(
                "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'denied', ?, ?)",
                (invoice_id, on.isoformat(), f"appeal #{appeal_id} {status}"),
            )
        audit.record(
            conn,
            "appeal update",
            entity="appeal",
            ids=[appeal_id],
            detail={"from": current, "to": status},
        )
    out = list_appeals(conn, appeal_id=appeal_id, as_of=on)[0]
    if status == "submitted" and deadline and on.isoformat() > deadline:
        out["warning"] = f"submitted after the deadline {deadline}"
    return out


def list_appeals(
    conn: Database, *, status: str | None = None, appeal_id: int | None = None, as_of: _dt.date
) -> list[dict]:
    where: list[str] = []
    params: list[str | int] = []
    if status:
        if status not in STATUSES and status != "open":
            raise BadInput(f"--status must be one of open, {', '.join(STATUSES)}")
        if status == "open":
            where.append("a.status IN ('draft','submitted')")
        else:
            where.append("a.status = ?")
            params.append(status)
    if appeal_id is not None:
        where.append("a.id = ?")
        params.append(appeal_id)
    rows = conn.execute(
        f"""SELECT a.id, i.number, py.code, a.level, a.status, a.carcs, a.amount_cents, a.denied_on, a.deadline,
                   a.created_on, (SELECT MAX(on_date) FROM appeal_events e WHERE e.appeal_id = a.id
                   AND e.status = 'submitted'),
                   a.letter_file
            FROM appeals a JOIN invoices i ON i.id = a.invoice_id LEFT JOIN payers py ON py.id = i.payer_id
            {"WHERE " + " AND ".join(where) if where else ""} ORDER BY a.deadline, a.id""",
        params,
    )
    out = []
    for r in rows:
        open_ = r[4] in ("draft",)
        out.append(
            {
                "appeal": r[0],
                "invoice": r[1],
                "payer": r[2],
                "level": r[3],
                "status": r[4],
                "carcs": r[5],
                "at_stake_cents": r[6],
                "denied_on": r[7],
                "deadline": r[8],
                "days_left": (_dt.date.fromisoformat(r[8]) - as_of).days
                if (r[8] and open_)
                else None,
                "created_on": r[9],
                "submitted_on": r[10],
                "letter": r[11],
            }
        )
    return out


def _latin1(text: str) -> str:
    """fpdf2's core fonts are Latin-1: anything else becomes '?' rather than failing the letter."""
    return (text or "").encode("latin-1", "replace").decode("latin-1")


@dataclass
class _LetterFacts:
    """What the appeal letter says, read from the database in one place."""

    number: str
    level: int
    reason: str
    at_stake: int
    denied_on: str
    total: int
    issued: str
    dos: str | None
    practice: tuple
    payer: dict
    patient: tuple
    member: str | None
    payer_claim: str | None
    code_lines: list[tuple[str, str]]
    lines: list[tuple]


def _letter_facts(conn: Database, appeal_id: int) -> _LetterFacts:
    a = conn.execute(
        "SELECT invoice_id, level, reason, carcs, amount_cents, denied_on FROM appeals WHERE id = ?",
        (appeal_id,),
    ).fetchone()
    invoice_id, level, reason, carcs, at_stake, denied_on = a
    inv = conn.execute(
        """SELECT i.number, i.total_cents, i.issued_on, i.coverage_id, i.patient_id, i.payer_id,
                  COALESCE(e.date_of_service, (SELECT MIN(date_of_service) FROM invoice_lines l
                  WHERE l.invoice_id = i.id))
           FROM invoices i LEFT JOIN encounters e ON e.id = i.encounter_id WHERE i.id = ?""",
        (invoice_id,),
    ).fetchone()
    number, total, issued, coverage_id, patient_id, payer_id, dos = inv
    pr = conn.execute(
        "SELECT name, npi, tax_id, address1, address2, city, state, zip, phone, contact_name FROM practice"
        " WHERE id = 1"
    ).fetchone() or ("(practice not set)", "", "", "", None, "", "", "", None, None)
    py = lookup.payer_by_id(conn, payer_id)
    pat = conn.execute(
        "SELECT first_name, last_name, dob FROM patients WHERE id = ?", (patient_id,)
    ).fetchone()
    member = None
    if coverage_id:
        member = conn.execute(
            "SELECT member_id FROM coverages WHERE id = ?", (coverage_id,)
        ).fetchone()[0]
    else:
        row = conn.execute(
            "SELECT member_id FROM coverages WHERE patient_id = ? AND payer_id = ? ORDER BY effective_from DESC",
            (patient_id, payer_id),
        ).fetchone()
        member = row[0] if row else None
    payer_claim = None
    try:
        from ..remit.post import payer_claim_number

        payer_claim = payer_claim_number(conn, invoice_id)
    except Exception:  # remittance tables absent: the letter still names our claim number
        payer_claim = None
    den = [c for c in denials.denied_claims(conn) if c["invoice_id"] == invoice_id]
    code_lines = (
        [(f"{g}-{c}", meaning) for g, c, _amt, _cat, meaning in den[0]["carc_list"]]
        if den
        else [(x, "") for x in carcs.split()]
    )
    rarc_lines = [(x, meaning) for x, _cat, meaning in den[0]["rarc_list"]] if den else []
    lines_tbl = conn.execute(
        "SELECT date_of_service, code, modifiers, units, amount_cents FROM invoice_lines"
        " WHERE invoice_id = ? ORDER BY line_no",
        (invoice_id,),
    ).fetchall()

    if py is None:
        raise NotFound(f"appeal {appeal_id}: its payer is gone")
    if not py.get("address1"):
        py = {**py, **_address_from_835(conn, invoice_id, payer_id)}
    return _LetterFacts(
        number=number,
        level=level,
        reason=reason,
        at_stake=at_stake,
        denied_on=denied_on,
        total=total,
        issued=issued,
        dos=dos,
        practice=pr,
        payer=py,
        patient=pat,
        member=member,
        payer_claim=payer_claim,
        code_lines=code_lines + rarc_lines,
        lines=lines_tbl,
    )


def _address_from_835(conn: Database, invoice_id: int, payer_id: int) -> dict:
    """The payer's address as its 835 gave it (N1*PR N3/N4): the answer to this claim first,
    else the payer's latest; {} when none carried one."""
    row = conn.execute(
        "SELECT t.payer_address1, t.payer_city, t.payer_state, t.payer_zip"
        " FROM remit_transactions t WHERE t.payer_address1 IS NOT NULL AND (t.payer_id = ?"
        " OR t.id IN (SELECT c.transaction_id FROM remit_claims c WHERE c.invoice_id = ?))"
        " ORDER BY t.id IN (SELECT c.transaction_id FROM remit_claims c WHERE c.invoice_id = ?)"
        " DESC, t.id DESC LIMIT 1",
        (payer_id, invoice_id, invoice_id),
    ).fetchone()
    return dict(zip(("address1", "city", "state", "zip"), row, strict=True)) if row else {}


def _letter_head(pdf, w: float, f: _LetterFacts, on: _dt.date) -> None:
    """Practice letterhead, the date, and the payer's appeals address."""
    pr, py = f.practice, f.payer
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(w, 7, _latin1(pr[0]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    addr = ", ".join(x for x in (pr[3], pr[4]) if x)
    pdf.cell(w, 5, _latin1(f"{addr}, {pr[5]}, {pr[6]} {pr[7][:5]}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        w,
        5,
        _latin1(f"NPI {pr[1]}   Tax ID {pr[2]}" + (f"   Phone {pr[8]}" if pr[8] else "")),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(8)
    pdf.cell(w, 5, on.strftime("%B %d, %Y").replace(" 0", " "), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.cell(w, 5, _latin1(f"{py['name']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        w,
        5,
        "Redeterminations" if py["kind"] == "medicare" else "Appeals",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if py.get("address1"):
        pdf.cell(w, 5, _latin1(py["address1"]), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(
            w,
            5,
            _latin1(f"{py.get('city') or ''}, {py.get('state') or ''} {py.get('zip') or ''}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(6)


def _letter_claim(pdf, w: float, f: _LetterFacts) -> None:
    """The subject line, the identifiers the payer needs, the services and the denial codes."""
    level, number, pat, member, payer_claim = f.level, f.number, f.patient, f.member, f.payer_claim
    dos, issued, total, at_stake, denied_on = f.dos, f.issued, f.total, f.at_stake, f.denied_on
    py = f.payer
    if (
        py["kind"] == "medicare"
    ):  # Medicare's own names for appeal levels 1 and 2 (42 CFR 405.940, 405.960)
        kind = {1: "Request for redetermination", 2: "Request for reconsideration"}.get(
            level, f"Appeal, level {level}"
        )
    else:
        kind = f"Appeal (level {level})"
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(w, 6, _latin1(f"RE: {kind} of claim {number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    ident = [
        ("Patient", f"{pat[1]}, {pat[0]}"),
        ("Date of birth", pat[2]),
        ("Member ID", member or "see claim"),
        ("Our claim number", number),
        ("Payer claim number", payer_claim or "not yet assigned"),
        ("Date of service", dos or ""),
        ("Claim issued", issued),
        ("Billed", money.fmt(total, symbol=True, thousands=True)),
        (
            "Denied",
            f"{money.fmt(at_stake, symbol=True, thousands=True)} on the remittance of {denied_on}",
        ),
    ]
    for k, v in ident:
        pdf.cell(45, 5, _latin1(k + ":"))
        pdf.cell(w - 45, 5, _latin1(str(v)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(w, 6, "Services on the claim", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for d, code, mods, units, amt in f.lines:
        pdf.cell(
            w,
            5,
            _latin1(
                f"{d or ''}   {code or ''}{(' ' + mods) if mods else ''}   units {units}   "
                f"{money.fmt(amt, symbol=True, thousands=True)}"
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(w, 6, "Denial reason codes", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for code, meaning in f.code_lines:
        pdf.multi_cell(w, 5, _latin1(f"{code}: {meaning}"), new_x="LMARGIN", new_y="NEXT")


def _letter_close(pdf, w: float, f: _LetterFacts) -> None:
    """The request, the enclosure note and the signature."""
    reason, pr = f.reason, f.practice
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        w,
        5,
        _latin1(f"We ask you to review the denial of the claim above and to pay it. {reason}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.multi_cell(
        w,
        5,
        _latin1(
            "Supporting documentation is enclosed. Please send your decision to the address above. "
            "Thank you for your review."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(10)
    pdf.cell(w, 5, "Sincerely,", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.cell(w, 5, _latin1(pr[9] or "Billing Office"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(w, 5, _latin1(pr[0]), new_x="LMARGIN", new_y="NEXT")


def write_letter(conn: Database, appeal_id: int, path: Path, *, on: _dt.date) -> None:
    """The appeal letter: practice letterhead, payer address, claim and patient identifiers the
    payer needs to find the claim, each denial code with its meaning, the clerk's reasons, and
    the request. Written 0600 (it holds PHI)."""
    from fpdf import FPDF

    from ..fileutil import private_open

    f = _letter_facts(conn, appeal_id)
    number = f.number

    class Letter(FPDF):
        def footer(self) -> None:  # fpdf2 calls it at the end of every page
            self.set_y(-15)
            self.set_font("Helvetica", "", 8)
            self.cell(
                0,
                8,
                _latin1(f"Appeal of claim {number} - page {self.page_no()} of {{nb}}"),
                align="C",
            )

    pdf = Letter(format="Letter")
    pdf.set_auto_page_break(True, margin=20)
    pdf.alias_nb_pages()
    pdf.set_title(_latin1(f"Appeal of claim {number}"))
    pdf.set_creator("billadmin")
    pdf.add_page()
    w = pdf.epw
    _letter_head(pdf, w, f, on)
    _letter_claim(pdf, w, f)
    _letter_close(pdf, w, f)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = bytes(pdf.output())
    with private_open(path, "wb") as fh:
        fh.write(data)
