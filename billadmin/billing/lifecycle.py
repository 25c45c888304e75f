"""After issue: void, replace, list, show, export.

Rules:
- Issued invoices and their lines are never changed (triggers abort UPDATE/DELETE); everything
  after issue is a new row: a credit note, a replacement claim, a status event.
- Void: a credit note (kind credit, CN..., negative total, original_invoice_id set) cancels the
  invoice in the ledger; the original gets the status 'voided'. A claim that was already sent
  is voided at the payer by the next 837P: the credit note is queued and goes out as the
  original claim (CLM01 = the original claim number, so the payer's reversal comes back to it)
  with frequency code 8 and REF*F8 the payer's claim control number when known (from the
  remittance that paid or denied it, or given with --payer-claim-number); TR3 005010X222A1
  2300 CLM05-3 and REF*F8. REF*F8 is "required when CLM05-3 indicates this claim is a
  replacement or void to a previously adjudicated claim; if not required, do not send" (the
  TR3's 2300 Payer Claim Control Number note, quoted in X12 RFI 1538 and 2110): a claim some
  payer answered (an 835 or a posted payer payment or adjustment) is refused, exit 2, until
  its number is known, since the payer rejects a void it cannot match; a claim sent but never
  adjudicated is voided without one. A claim not sent yet simply leaves the queue. The charge lines
  become 'void', or 'unbilled' again with --rebill (billed to the right payer on the next run;
  a next-payer claim, which has no charge lines of its own, is built again from the answer it
  carried: cob_rebills, cob.due);
  so does a facility claim a patient invoice billed (institutional/selfpay.py `unbill`).
- Replace: after its lines were corrected, a claim is replaced by a new claim (C..., frequency
  code 7, original_invoice_id set) built from the encounter's current lines and diagnoses and
  the same coverage, checked by the scrubber first; the original gets the status 'replaced'.
  The clerk's write-offs still standing on the original are undone first (each by an opposite
  entry), so the replacement asks the payer for what they had written off.
  The replacement goes out on the next 837P with REF*F8.
- The open amount moves exactly once: a claim's credit note never takes off what adjustments
  already took off (no balance is reduced twice: `billadmin check`, LEDGER-DOUBLE-REDUCTION).
  Replace and resubmit credit what is still open (total + credit notes - payments -
  adjustments); the replacement carries the whole claim (CLM02 = every line) with one
  'carried' adjustment of what the original had settled (paid + adjusted), so its open balance
  is what was open. A void credits what is open plus what the payer paid: that payment is then
  the payer's credit on the voided claim (a balance below zero explained by payments), taken
  back by the payer's reversal or recoupment or refunded. A patient invoice's credit note takes
  off its total less what adjustments (write-offs) already took off, and what the patient paid
  on it is taken off it and held as their credit (accounts.payments.hold_paid_as_credit): the
  voided invoice's balance is 0.00, and the credit is applied to the rebilled invoice when the
  run issues it (apply_credit), or to another open one, or refunded.
- Resubmit: a claim Medicare returned as unprocessable (CO-16 with MA130, state
  'unprocessable') is corrected and sent again as a NEW claim (new number, frequency 1, no
  REF*F8), never appealed or replaced; otherwise as replace, and the original's state becomes
  'corrected' (`resubmit`'s docstring cites the rule).
- Payer claim number lookup: --payer-claim-number, else the latest remittance for the claim
  that is not a reversal (remit_claims), else one recorded with record_payer_claim_number.
  It is never altered to fit X12: one holding a delimiter or a non-printable character is
  refused (--payer-claim-number) or stops the void/replacement of a sent claim (from an 835).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import audit, db, ledger
from ..errors import BadInput, ChecksFailed, Conflict, NotFound
from ..reads import record_read
from . import content, numbering, split
from .holds import check_claim
from .invoices import InvoiceIds, NewInvoice, claim_lines, insert_invoices, insert_snapshots

if TYPE_CHECKING:
    from ..db import Database

INVOICE_COLS = ("id", *ledger.INVOICE_FIELDS)  # the hashed fields, same order


def get_invoice(conn: Database, number: str) -> dict:
    row = conn.execute(
        f"SELECT {', '.join(INVOICE_COLS)} FROM invoices WHERE number = ?",
        ((number or "").strip().upper(),),
    ).fetchone()
    if row is None:
        raise NotFound(f"no invoice {number} (see billadmin invoice list)")
    return dict(zip(INVOICE_COLS, row, strict=True))


def status_of(conn: Database, invoice_id: int) -> str | None:
    row = conn.execute(
        "SELECT status FROM invoice_status WHERE invoice_id = ?", (invoice_id,)
    ).fetchone()
    return row[0] if row else None


def _closed(conn: Database, invoice_id: int) -> str | None:
    row = conn.execute(
        "SELECT status FROM invoice_events WHERE invoice_id = ?"
        " AND status IN ('voided', 'replaced', 'corrected')"
        " ORDER BY id DESC LIMIT 1",
        (invoice_id,),
    ).fetchone()
    return row[0] if row else None


def snapshot(conn: Database, invoice_id: int) -> dict | None:
    row = conn.execute(
        "SELECT data FROM invoice_snapshots WHERE invoice_id = ?", (invoice_id,)
    ).fetchone()
    return json.loads(row[0]) if row else None


def _issued_snapshot(conn: Database, inv: dict) -> dict:
    """The content an invoice was issued with; an invoice issued elsewhere has none."""
    c = snapshot(conn, inv["id"])
    if c is None:
        raise NotFound(
            f"{inv['number']} has no stored content to re-render"
            " (issued outside billadmin invoice generate)"
        )
    return c


def was_sent(conn: Database, invoice_id: int) -> bool:
    return (
        conn.execute(
            # an 837P, or (a paper-only payer's claim) its CMS-1500
            "SELECT 1 FROM invoice_files WHERE invoice_id = ? AND kind IN ('x12', 'pdf') LIMIT 1",
            (invoice_id,),
        ).fetchone()
        is not None
    )


def adjudicated(conn: Database, invoice_id: int) -> bool:
    """Some payer answered the claim: an 835 names it, or a payer's payment or adjustment (a
    paper EOB) is posted to it."""
    has_remit = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'remit_claims'").fetchone()
    if (
        has_remit
        and conn.execute(
            "SELECT 1 FROM remit_claims WHERE invoice_id = ? LIMIT 1", (invoice_id,)
        ).fetchone()
    ):
        return True
    return (
        conn.execute(
            "SELECT 1 FROM payment_allocations a JOIN payments p ON p.id = a.payment_id"
            " WHERE a.invoice_id = ? AND p.kind = 'insurance'"
            " UNION ALL SELECT 1 FROM adjustments WHERE invoice_id = ?"
            " AND source IN ('remit', 'transfer') LIMIT 1",
            (invoice_id, invoice_id),
        ).fetchone()
        is not None
    )


def record_payer_claim_number(
    conn: Database, invoice_id: int, number: str, source: str = "manual"
) -> None:
    """Keep the payer's claim control number for a claim (for REF*F8 on a void or replacement)."""
    conn.execute(
        "INSERT INTO payer_claim_numbers (invoice_id, payer_claim_number, source, recorded_at) VALUES (?,?,?,?)"
        " ON CONFLICT(invoice_id) DO UPDATE SET payer_claim_number = excluded.payer_claim_number,"
        " source = excluded.source, recorded_at = excluded.recorded_at",
        (invoice_id, number.strip(), source, audit.utcnow()),
    )


def payer_claim_number(conn: Database, invoice_id: int) -> str | None:
    has_remit = (
        conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'remit_claims'").fetchone()
        is not None
    )
    if has_remit:
        row = conn.execute(
            "SELECT payer_claim_number FROM remit_claims WHERE invoice_id = ? AND status_code != '22'"
            " AND payer_claim_number IS NOT NULL AND payer_claim_number != '' ORDER BY id DESC LIMIT 1",
            (invoice_id,),
        ).fetchone()
        if row:
            return row[0]
    row = conn.execute(
        "SELECT payer_claim_number FROM payer_claim_numbers WHERE invoice_id = ?", (invoice_id,)
    ).fetchone()
    return row[0] if row else None


def _pcn_for_x12(conn: Database, orig: dict, given: str | None, sent: bool) -> str | None:
    """The payer claim number a void or replacement of `orig` carries (REF*F8): the one given
    (recorded, and refused when it cannot be sent as written), else the one looked up. An 837P
    never carries it altered: when the number the 835 reported holds X12 delimiters or
    characters outside printable ASCII (billadmin.x12.text.identifier_problem), the void or
    replacement is refused (BadInput, nothing written) until a sendable one is given."""
    from ..x12.text import identifier_problem

    if given:
        given = given.strip()
        why = identifier_problem(given)
        if why:
            raise BadInput(f"--payer-claim-number {why}")
        record_payer_claim_number(conn, orig["id"], given)
        return given
    pcn = payer_claim_number(conn, orig["id"])
    why = identifier_problem(pcn)
    if why and sent:
        raise BadInput(
            f"{orig['number']}: the payer claim number recorded for it (REF*F8) {why}; it is kept"
            " as the payer sent it but cannot go into an 837P: give the number to send with"
            " --payer-claim-number (nothing was changed)"
        )
    return pcn


def open_cents(conn: Database, invoice_id: int) -> int:
    """What is still open on an invoice: total + credit notes - payments - adjustments."""
    row = conn.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def paid_cents(conn: Database, invoice_id: int) -> int:
    """What payments allocated to an invoice add up to (reversals netted)."""
    row = conn.execute(
        "SELECT paid_cents FROM invoice_balances WHERE invoice_id = ?", (invoice_id,)
    ).fetchone()
    return int(row[0]) if row else 0


def _credit_lines(
    conn: Database,
    ids: InvoiceIds,
    credit_id: int,
    original_id: int,
    amount_cents: int,
    prefer: dict[int, int] | None = None,
) -> list[dict]:
    """The credit note's lines: the original's, each credited for its share of `amount_cents`
    (line by line in order, never more than what is left of the line after earlier credit notes
    of the same invoice), so the note takes off exactly that. A negative line (a share the payer
    took back, say) is credited whole, and what it puts back is taken off the positive lines
    too: lines 20.00, -20.00, 10.00 credited 10.00 give -20.00, +20.00, -10.00. `prefer`
    (line_no: cents) credits those lines first (the lines a share taken back was billed on)."""
    out = []
    rows = conn.execute(
        "SELECT line_no, charge_line_id, date_of_service, code, modifiers, units, description, amount_cents"
        " FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
        (original_id,),
    ).fetchall()
    before = dict(
        conn.execute(
            "SELECT l.line_no, -SUM(l.amount_cents) FROM invoice_lines l JOIN invoices c"
            " ON c.id = l.invoice_id WHERE c.original_invoice_id = ? AND c.kind = 'credit'"
            " GROUP BY l.line_no",
            (original_id,),
        ).fetchall()
    )
    rest = {r[0]: r[-1] - before.get(r[0], 0) for r in rows}
    left = amount_cents - sum(v for v in rest.values() if v < 0)
    credited = {no: v for no, v in rest.items() if v < 0}
    for no, want in (prefer or {}).items():
        if rest.get(no, 0) > 0:
            credited[no] = min(rest[no], want, max(left, 0))
            left -= credited[no]
    for no, v in rest.items():
        if v > 0:
            more = min(v - credited.get(no, 0), max(left, 0))
            credited[no] = credited.get(no, 0) + more
            left -= more
    for line_no, cl_id, dos, code, mods, units, desc, _amount in rows:
        out.append(
            {
                "id": ids.next_line(),
                "invoice_id": credit_id,
                "line_no": line_no,
                "charge_line_id": cl_id,
                "date_of_service": dos,
                "code": code,
                "modifiers": mods,
                "units": units,
                "description": desc,
                "amount_cents": -credited.get(line_no, 0),
            }
        )
    return out


def _credit_issue(
    conn: Database,
    ids: InvoiceIds,
    orig: dict,
    number: str,
    today: str,
    frequency: str,
    content_: dict,
    *,
    voiding: bool = False,
    amount: int | None = None,
    prefer: dict[int, int] | None = None,
) -> NewInvoice:
    """A credit note (module docstring, "open amount exactly once"): for a claim replaced or
    resubmitted, what is still open on it; for a claim voided, what is open plus what the payer
    paid on it (that payment becomes the payer's credit, to be taken back or refunded), never
    what adjustments already took off; for a patient invoice its total less what adjustments
    (write-offs) already took off, the patient's payments on it being moved to their credit by
    `void`."""
    cid = ids.next_invoice()
    if amount is not None:  # a part of a patient invoice (credit_reversed_share)
        pass
    elif orig["kind"] == "claim":
        amount = max(
            open_cents(conn, orig["id"]) + (paid_cents(conn, orig["id"]) if voiding else 0), 0
        )
    else:  # total - adjustments (open + paid): what the patient paid moves to credit (void)
        amount = max(open_cents(conn, orig["id"]) + paid_cents(conn, orig["id"]), 0)
    lines = _credit_lines(conn, ids, cid, orig["id"], amount, prefer)
    row = {
        "id": cid,
        "number": number,
        "kind": "credit",
        "patient_id": orig["patient_id"],
        "payer_id": orig["payer_id"],
        "coverage_id": orig["coverage_id"],
        "encounter_id": orig["encounter_id"],
        "original_invoice_id": orig["id"],
        "frequency_code": frequency,
        "issued_on": today,
        "due_on": None,
        "filing_deadline": None,
        "total_cents": sum(ln["amount_cents"] for ln in lines),
        "copay_cents": 0,
    }
    return NewInvoice(row, lines, content_, "", None, "", None)


def _event(conn: Database, invoice_id: int, status: str, at: str, note: str | None = None) -> None:
    conn.execute(
        "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
        (invoice_id, status, at, note),
    )


def void(
    conn: Database,
    number: str,
    *,
    reason: str,
    rebill: bool = False,
    payer_claim_number_: str | None = None,
    today: _dt.date | None = None,
) -> dict:
    """Void an issued invoice with a credit note (see the module docstring)."""
    reason = (reason or "").strip()
    if not reason:
        raise BadInput("--reason is required: say why the invoice is voided")
    today_s = (today or _dt.date.today()).isoformat()
    with db.write(conn):
        orig = get_invoice(conn, number)
        if orig["kind"] == "credit":
            raise Conflict(f"{orig['number']} is a credit note: it cannot be voided")
        closed = _closed(conn, orig["id"])
        if closed:
            raise Conflict(f"{orig['number']} is already {closed}")
        at = audit.utcnow()
        ids = InvoiceIds(conn)
        (cn,) = numbering.take(conn, "credit", 1)
        sent = orig["kind"] == "claim" and was_sent(conn, orig["id"])
        pcn = None
        if orig["kind"] == "claim":
            pcn = _pcn_for_x12(conn, orig, payer_claim_number_, sent)
            if sent and not pcn and adjudicated(conn, orig["id"]):
                raise BadInput(
                    f"{orig['number']}: a payer answered it but no payer claim number is known;"
                    " a void (frequency 8) needs it (REF*F8) or the payer rejects it: give it"
                    " with --payer-claim-number (nothing was changed)"
                )
        if sent:
            c = _issued_snapshot(conn, orig)
            c.update(
                {"frequency": "8", "payer_claim_number": pcn, "credit_note": cn, "reason": reason}
            )
            frequency = "8"
        elif orig["kind"] == "claim":
            c = {
                "kind": "credit",
                "number": cn,
                "original": orig["number"],
                "reason": reason,
                "issued_on": today_s,
            }
            frequency = "1"
            conn.execute("DELETE FROM claim_queue WHERE invoice_id = ?", (orig["id"],))
        else:
            c = {}  # the patient credit note's content, from its lines (below)
            frequency = "1"
        issue = _credit_issue(conn, ids, orig, cn, today_s, frequency, c, voiding=True)
        held = 0
        if orig["kind"] == "patient":
            from ..accounts.payments import hold_paid_as_credit
            from .statement import credit_content

            c.update(
                credit_content(
                    _issued_snapshot(conn, orig),
                    number=cn,
                    issued_on=today_s,
                    reason=reason,
                    credited={ln["line_no"]: -ln["amount_cents"] for ln in issue.lines},
                )
            )
            held = hold_paid_as_credit(
                conn, orig["id"], orig["patient_id"], on=_dt.date.fromisoformat(today_s)
            )
        insert_invoices(conn, [issue], at=at)
        insert_snapshots(conn, [(issue.row["id"], c)])
        if orig["kind"] == "patient" and not rebill:  # a rebill bills the visit again
            _end_plan_if_nothing_owed(conn, orig, _dt.date.fromisoformat(today_s))
        if sent:
            conn.execute(
                "INSERT INTO claim_queue (invoice_id, queued_at) VALUES (?, ?)",
                (issue.row["id"], at),
            )
        _event(conn, orig["id"], "voided", at, f"credit note {cn}: {reason}")
        cl_ids = [
            r[0]
            for r in conn.execute(
                "SELECT charge_line_id FROM invoice_lines WHERE invoice_id = ?"
                " AND charge_line_id IS NOT NULL",
                (orig["id"],),
            )
        ]
        if cl_ids:
            t = content.temp_ids(conn, "_void_lines", cl_ids)
            conn.execute(
                f"UPDATE charge_lines SET status = ? WHERE id IN (SELECT id FROM {t})",
                ("unbilled" if rebill else "void",),
            )
        if rebill and orig["kind"] == "claim":  # a next-payer claim: its answer is due again
            conn.execute(
                "INSERT INTO cob_rebills (invoice_id, created_at)"
                " SELECT invoice_id, ? FROM cob_claims WHERE invoice_id = ?",
                (at, orig["id"]),
            )
        if rebill and orig["kind"] == "patient":
            from ..institutional.selfpay import unbill

            # the transfers it billed are due again, and so are the shares the payer took back
            # that its earlier credit notes carry (credit_reversed_share): they net again
            conn.execute(
                "DELETE FROM patient_invoice_adjustments WHERE invoice_line_id IN"
                " (SELECT l.id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
                " WHERE i.id = ? OR (i.original_invoice_id = ? AND i.kind = 'credit'))",
                (orig["id"], orig["id"]),
            )
            unbill(conn, orig["id"])  # a facility claim billed to the patient is due again
        audit.record(
            conn,
            "invoice void",
            entity="invoices",
            ids=[orig["id"], issue.row["id"]],
            count=1,
            detail={
                "credit_note": cn,
                "frequency": frequency,
                "queued": sent,
                "rebill": rebill,
                "held_as_credit_cents": held,
            },
        )
    out = {
        "number": orig["number"],
        "credit_note": cn,
        "credit_cents": issue.row["total_cents"],
        "sent_as_void": sent,
        "payer_claim_number_known": bool(pcn),
        "lines": "unbilled" if rebill else "void",
    }
    if orig["kind"] == "patient":
        out["held_as_credit_cents"] = held
    return out


def _end_plan_if_nothing_owed(conn: Database, orig: dict, on: _dt.date) -> None:
    """A patient invoice voided: the patient's open payment plan is completed when nothing is
    left owed on what it covers (statements/plans.py, settle); one still owed keeps its plan."""
    from ..statements import plans

    plans.settle_patient(conn, orig["patient_id"], on, why=f"{orig['number']} voided")


def replace(
    conn: Database,
    number: str,
    *,
    scrub: Callable | None = None,
    payer_claim_number_: str | None = None,
    today: _dt.date | None = None,
) -> dict:
    """Issue a corrected claim (frequency 7) for an issued claim (see the module docstring)."""
    return _reissue(conn, number, scrub=scrub, payer_claim_number_=payer_claim_number_, today=today)


def resubmit(
    conn: Database,
    number: str,
    *,
    scrub: Callable | None = None,
    today: _dt.date | None = None,
) -> dict:
    """Resubmit a claim Medicare returned as unprocessable (CO-16 with MA130) as a NEW claim.

    Rule: a claim returned as unprocessable has no appeal rights and is not in the payer's claim
    history as adjudicated, so it is neither appealed nor replaced (frequency 7 would point at a
    claim the payer does not hold): it is corrected and submitted again as a new claim, with a
    new claim number, frequency code 1 and no REF*F8 (CMS Pub. 100-04 ch. 1 s. 80.3.2 "return
    as unprocessable"; MA130 "Your claim contains incomplete and/or invalid information, and no
    appeal rights are afforded because the claim is unprocessable. Submit a new claim with the
    complete/correct information"). As with `replace`, the new claim is built from the
    encounter's current lines and diagnoses (after `charge correct`) and scrubbed first; the
    credit note moves the original's open amount to it once; the original's state becomes
    'corrected'. Only a claim in state 'unprocessable' is resubmitted (any other is refused,
    exit 2, naming the claim and what to do instead)."""
    return _reissue(conn, number, scrub=scrub, today=today, resubmit_=True)


def _refuse_reopening(conn: Database, orig: dict) -> None:
    """No replacement claim (frequency 7) for a claim its payer adjudicated when that payer
    corrects by reopening (accounts.rules: Medicare by default; CMS Pub. 100-04 ch. 34 s. 10):
    the clerk requests a reopening or appeals; a claim returned unprocessable (MA130) was never
    adjudicated and is resubmitted. Adjudicated: an 835 answer posted to it (paid, partly paid
    or denied). Refused with one line naming the claim (exit 2, nothing written)."""
    from ..accounts import rules

    r = rules.all_rules(conn).get(orig["payer_id"])
    if r is None or r.corrections != "reopening":
        return
    number = orig["number"]
    if status_of(conn, orig["id"]) == "unprocessable":
        raise Conflict(
            f"{number}: {r.code} returned it unprocessable (MA130): correct the charge and"
            f" `billadmin invoice resubmit {number}` (a new claim), not a replacement"
        )
    answered = conn.execute(
        "SELECT 1 FROM remit_claims WHERE invoice_id = ?"
        " AND outcome IN ('paid', 'partially_paid', 'denied') LIMIT 1",
        (orig["id"],),
    ).fetchone()
    if answered:
        raise Conflict(
            f"{number}: {r.code} corrects a claim it adjudicated by reopening, not a replacement"
            " claim (frequency 7): request a reopening from the payer (clerical error, within one"
            " year of its determination) or appeal the denial (billadmin appeal create); nothing"
            f" written (billadmin payer set {r.code} --corrections replacement if it takes"
            " frequency 7)"
        )


def _undo_clerk_writeoffs(conn: Database, orig: dict, on: _dt.date) -> None:
    """Before a claim is replaced or resubmitted: the clerk's write-offs still standing on it are
    undone (accounts.adjust.undo_writeoff, an opposite entry each, audited), so its credit note
    moves them with the open amount and the new claim carries only what payers settled: the
    corrected claim asks the payer for the whole charge again (a write-off is the practice's
    decision, not the payer's answer; the clerk writes off again if the payer denies again)."""
    from ..accounts.adjust import undo_writeoff
    from ..errors import BadInput

    entries = conn.execute(
        "SELECT d.id FROM adjustments d JOIN clerk_adjustments c ON c.adjustment_id = d.id"
        " WHERE d.invoice_id = ? AND c.kind = 'writeoff' AND c.reverses_adjustment_id IS NULL"
        " AND d.amount_cents > 0 AND d.amount_cents > COALESCE((SELECT SUM(-r.amount_cents)"
        " FROM clerk_adjustments x JOIN adjustments r ON r.id = x.adjustment_id"
        " WHERE x.reverses_adjustment_id = d.id), 0) ORDER BY d.id",
        (orig["id"],),
    ).fetchall()
    for (entry,) in entries:
        try:
            undo_writeoff(conn, orig["number"], entry, on=on)
        except BadInput:  # recovered through collections: nothing is left written off
            continue


def _reissue(
    conn: Database,
    number: str,
    *,
    scrub: Callable | None,
    payer_claim_number_: str | None = None,
    today: _dt.date | None,
    resubmit_: bool = False,
) -> dict:
    """replace (frequency 7 when the original was sent) or resubmit (always a new claim)."""
    today_d = today or _dt.date.today()
    today_s = today_d.isoformat()
    with db.write(conn):
        orig = get_invoice(conn, number)
        if orig["kind"] != "claim":
            raise Conflict(
                f"{orig['number']} is a {orig['kind']} invoice: only claims are replaced"
                " (void it instead)"
            )
        closed = _closed(conn, orig["id"])
        if closed:
            raise Conflict(f"{orig['number']} is already {closed}")
        if resubmit_ and status_of(conn, orig["id"]) != "unprocessable":
            raise Conflict(
                f"{orig['number']} is {status_of(conn, orig['id']) or 'issued'}, not unprocessable:"
                " a claim the payer adjudicated is corrected with `billadmin invoice replace`"
                " (frequency 7); resubmit is for a claim returned unprocessable (MA130)"
            )
        if not resubmit_:
            _refuse_reopening(conn, orig)
        from ..institutional.replacement import prepare  # an 837I claim's, else None

        inst = prepare(conn, orig, _issued_snapshot(conn, orig))
        if inst is None:
            enc = _encounter_now(conn, orig)
            pat, cov, others, payers, dx = _billed_parties(conn, orig, enc)
            _check_replacement(conn, enc, dx, pat, cov, payers[cov["payer_id"]], scrub, today_d)
        at = audit.utcnow()
        ids = InvoiceIds(conn)
        # a resubmission is a new claim: no frequency 7, no REF*F8 (resubmit's docstring)
        sent = was_sent(conn, orig["id"]) and not resubmit_
        pcn = None if resubmit_ else _pcn_for_x12(conn, orig, payer_claim_number_, sent)
        _undo_clerk_writeoffs(conn, orig, today_d)
        (new_no,) = numbering.take(conn, "claim", 1)
        (cn,) = numbering.take(conn, "credit", 1)
        credit = _credit_issue(
            conn,
            ids,
            orig,
            cn,
            today_s,
            "1",
            {
                "kind": "credit",
                "number": cn,
                "original": orig["number"],
                "reason": f"{'resubmitted as' if resubmit_ else 'replaced by'} {new_no}",
                "issued_on": today_s,
            },
        )
        frequency = "7" if sent else "1"
        new = (
            inst.build(
                ids,
                new_no,
                frequency=frequency,
                issued_on=today_s,
                payer_claim_number=pcn if sent else None,
            )
            if inst
            else _replacement_claim(
                conn,
                ids,
                orig,
                enc,
                new_no,
                frequency=frequency,
                issued_on=today_s,
                diagnoses=dx,
                patient=pat,
                coverage=cov,
                payers=payers,
                others=others,
                payer_claim_number=pcn if sent else None,
            )
        )
        inv_id = new.row["id"]
        settled = orig["total_cents"] + credit.row["total_cents"]  # paid + adjusted, carried
        insert_invoices(conn, [credit, new], at=at)
        insert_snapshots(
            conn, [(credit.row["id"], credit.issued_content()), (inv_id, new.issued_content())]
        )
        _carry_settled(conn, inv_id, min(settled, new.row["total_cents"]), today_s, at)
        if not sent:
            conn.execute("DELETE FROM claim_queue WHERE invoice_id = ?", (orig["id"],))
        conn.execute("INSERT INTO claim_queue (invoice_id, queued_at) VALUES (?, ?)", (inv_id, at))
        if resubmit_:
            _event(conn, orig["id"], "corrected", at, f"resubmitted as {new_no}; credit note {cn}")
        else:
            _event(conn, orig["id"], "replaced", at, f"replaced by {new_no}; credit note {cn}")
        if inst is None:
            t = content.temp_ids(conn, "_repl_lines", [ln["charge_line_id"] for ln in enc["lines"]])
            conn.execute(
                f"UPDATE charge_lines SET status = 'billed' WHERE id IN (SELECT id FROM {t})"
            )
        audit.record(
            conn,
            "invoice resubmit" if resubmit_ else "invoice replace",
            entity="invoices",
            ids=[orig["id"], credit.row["id"], inv_id],
            count=1,
            detail={"replacement": new_no, "credit_note": cn, "frequency": frequency},
        )
    return {
        "number": orig["number"],
        "replacement": new_no,
        "frequency": frequency,
        "credit_note": cn,
        "total_cents": new.row["total_cents"],
        "payer_claim_number_known": bool(pcn),
        "queued": True,
    }


def _carry_settled(conn: Database, new_id: int, cents: int, on: str, at: str) -> None:
    """The replacement is the whole claim (CLM02 the full charge), but what the payer already
    paid and adjusted on the original stays there: one adjustment (source 'carried') of that
    amount on the replacement, so its open balance is the original's open amount (plus any
    change of charge the correction made) and the open amount moves exactly once. Nothing when
    the original was wholly open (a denied or unprocessable claim)."""
    if cents > 0:
        conn.execute(
            "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
            " amount_cents, source, created_on, created_at) VALUES (?, NULL, NULL, NULL, ?,"
            " 'carried', ?, ?)",
            (new_id, cents, on, at),
        )


def credit_reversed_share(
    conn: Database, invoice_id: int, amount: int, *, taken: dict[int, list[int]], on: str
) -> str:
    """A patient invoice billed patient shares (PR transfers) that the payer then took back (an
    835 reversal posts them as negative transfers): a credit note of `amount` on it, crediting
    first the lines the shares were billed on (`taken`: line_no -> the negative transfers), the
    negative transfers linked to those lines of the note (patient_invoice_adjustments: carried,
    no longer pending), and what the patient paid beyond what is left on the invoice held as
    their credit (accounts.payments.hold_paid_as_credit), to apply or refund. Call inside the
    posting's write transaction (credit_reversed_shares); returns the credit note's number."""
    from ..accounts.payments import hold_paid_as_credit
    from .statement import credit_content

    row = conn.execute(
        f"SELECT {', '.join(INVOICE_COLS)} FROM invoices WHERE id = ?", (invoice_id,)
    ).fetchone()
    orig = dict(zip(INVOICE_COLS, row, strict=True))
    cents = dict(
        conn.execute(
            "SELECT id, -amount_cents FROM adjustments WHERE id IN"
            f" ({', '.join('?' * sum(len(v) for v in taken.values()))})",
            [a for v in taken.values() for a in v],
        ).fetchall()
    )
    prefer = {no: sum(cents[a] for a in adjs) for no, adjs in taken.items()}
    at = audit.utcnow()
    ids = InvoiceIds(conn)
    (cn,) = numbering.take(conn, "credit", 1)
    c: dict = {}
    issue = _credit_issue(conn, ids, orig, cn, on, "1", c, amount=amount, prefer=prefer)
    c.update(
        credit_content(
            _issued_snapshot(conn, orig),
            number=cn,
            issued_on=on,
            reason="patient share taken back by the payer",
            credited={ln["line_no"]: -ln["amount_cents"] for ln in issue.lines},
        )
    )
    insert_invoices(conn, [issue], at=at)
    insert_snapshots(conn, [(issue.row["id"], c)])
    _link_taken(conn, issue.lines, taken)
    held = 0
    over = -open_cents(conn, invoice_id)
    if over > 0:
        held = hold_paid_as_credit(
            conn, invoice_id, orig["patient_id"], on=_dt.date.fromisoformat(on), up_to=over
        )
    audit.record(
        conn,
        "patient share taken back",
        entity="invoices",
        ids=[invoice_id, issue.row["id"]],
        count=1,
        detail={"credit_note": cn, "cents": amount, "held_as_credit_cents": held},
    )
    return cn


def _link_taken(conn: Database, note_lines: list[dict], taken: dict[int, list[int]]) -> None:
    """The negative transfers `taken` (line_no -> ids) carried by the credit note's lines of the
    same line numbers (its first line when it has no such line)."""
    by_no = {ln["line_no"]: ln["id"] for ln in note_lines}
    first = note_lines[0]["id"]
    conn.conn.executemany(
        "INSERT INTO patient_invoice_adjustments (adjustment_id, invoice_line_id) VALUES (?, ?)",
        [(a, by_no.get(no, first)) for no, adjs in taken.items() for a in adjs],
    )


def credit_reversed_shares(conn: Database, *, today: _dt.date) -> None:
    """Negative transfers (an 835 reversal taking back a PR share) not yet carried, whose share a
    patient invoice billed, are carried by that invoice, so the patient's money is refundable or
    applied, never stuck as a pending amount below zero that no run bills (a patient whose items
    total 0.00 or less gets no invoice). Each negative transfer goes to the patient invoice line
    that billed the positive transfers of the same claim line (the claim's, for one with no
    line), the newest such invoice; then per invoice:
    - one still standing gets a credit note (credit_reversed_share) of what was taken back from
      it, never more than it still asks in all (total + credit notes - adjustments): what a
      write-off or a bad-debt hand-off already took off is not taken off twice;
    - one voided without --rebill (its credit note took the shares off already) carries them on
      that credit note's lines, with nothing more credited.
    A negative transfer whose share no patient invoice billed stays pending, to net against the
    share (still pending too) on the patient's next invoice. Called by the 835 posting (remit
    import, payment eob) before it routes what the answers left (cob.route)."""
    carried: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for adj_id, invoice_id, line_no in conn.execute(
        "SELECT n.id, l.invoice_id, l.line_no FROM adjustments n"
        " JOIN invoices i ON i.id = n.invoice_id"
        " JOIN invoice_lines l ON l.id = (SELECT pl.id FROM patient_invoice_adjustments x"
        "  JOIN adjustments p ON p.id = x.adjustment_id"
        "  JOIN invoice_lines pl ON pl.id = x.invoice_line_id"
        "  JOIN invoices pi ON pi.id = pl.invoice_id"
        "  WHERE p.invoice_id = n.invoice_id AND p.amount_cents > 0 AND pi.kind = 'patient'"
        "  AND (n.invoice_line_id IS NULL OR p.invoice_line_id = n.invoice_line_id)"
        "  ORDER BY pi.id DESC, pl.line_no LIMIT 1)"
        " WHERE n.source = 'transfer' AND i.kind = 'claim' AND n.amount_cents < 0"
        " AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = n.id)"
        " AND NOT EXISTS (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = n.id)"
        " ORDER BY n.id"
    ):
        carried[invoice_id][line_no].append(adj_id)
    for invoice_id, taken in sorted(carried.items()):
        if _closed(conn, invoice_id) == "voided":
            _carry_on_void(conn, invoice_id, taken)
            continue
        (asks,) = conn.execute(
            "SELECT total_cents + credited_cents - adjusted_cents FROM invoice_balances"
            " WHERE invoice_id = ?",
            (invoice_id,),
        ).fetchone()
        ids = [a for v in taken.values() for a in v]
        (total,) = conn.execute(
            f"SELECT -SUM(amount_cents) FROM adjustments WHERE id IN ({', '.join('?' * len(ids))})",
            ids,
        ).fetchone()
        credit_reversed_share(
            conn, invoice_id, max(min(total, asks), 0), taken=taken, on=today.isoformat()
        )


def _carry_on_void(conn: Database, invoice_id: int, taken: dict[int, list[int]]) -> None:
    """Shares taken back from an invoice voided without --rebill: carried by the void's credit
    note, which already took them off (credit_reversed_shares)."""
    lines = [
        {"id": r[0], "line_no": r[1]}
        for r in conn.execute(
            "SELECT l.id, l.line_no FROM invoice_lines l JOIN invoices c ON c.id = l.invoice_id"
            " WHERE c.original_invoice_id = ? AND c.kind = 'credit' ORDER BY c.id DESC, l.line_no",
            (invoice_id,),
        )
    ]
    _link_taken(conn, lines, taken)
    audit.record(
        conn,
        "patient share taken back",
        entity="invoices",
        ids=[invoice_id],
        count=sum(len(v) for v in taken.values()),
        detail={"cents": 0, "voided": True},
    )


def _carrier(conn: Database, invoice_id: int) -> tuple | None:
    """(id,) of the claim that carries what a replaced claim settled now: its replacement, or,
    when that was replaced too, the last of the chain (each carried what the one before it had
    settled, so the middle ones pass it on and stay at 0.00)."""
    found = None
    while True:
        row = conn.execute(
            "SELECT id FROM invoices WHERE original_invoice_id = ? AND kind = 'claim'"
            " ORDER BY id DESC LIMIT 1",
            (invoice_id,),
        ).fetchone()
        if row is None:
            return found
        found, invoice_id = tuple(row), row[0]
        if not _closed(conn, invoice_id):
            return found


def settle_takeback(conn: Database, invoice_id: int, *, on: str) -> int:
    """After a payer's takeback (an 835 reversal, CLP02 22, or a recoupment) is posted to a
    claim already voided, replaced or resubmitted: what it put back open there is not owed
    again. Its credit note took off only what was open (the module docstring), so reversing the
    payer's earlier payment and adjustments re-opens what the original had settled; that amount
    is closed on the original (one adjustment, source 'carried') and, when a replacement or new
    claim carried it, taken off that claim's carried part (the opposite adjustment; the last
    claim of a chain of replacements, which carries it now): the payer
    adjudicates the replacement afresh. Nothing for a claim still open or with a credit balance.
    What the payer took back beyond what it had paid (a refund the practice sent, then the
    payer's own reversal: net paid below zero) stays open: the payer owes it back. On a voided
    claim what the payer still has paid stays its credit (the void credited it): the claim is
    closed to minus that payment, whatever the payer reversed and paid again meanwhile.
    Call inside the posting's write transaction; returns the cents moved.

    For remit posting to call after it posts to an invoice (billing never imports remit)."""
    state = _closed(conn, invoice_id)
    if not state:
        return 0
    paid = paid_cents(conn, invoice_id)
    if state == "voided":  # the void left what the payer paid as its credit: -paid stays
        cents = open_cents(conn, invoice_id) + paid
    else:
        cents = open_cents(conn, invoice_id) - max(-paid, 0)
    if cents <= 0:
        return 0
    at = audit.utcnow()
    rows = [(invoice_id, cents)]
    repl = _carrier(conn, invoice_id)
    if repl is not None:
        carried = conn.execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM adjustments WHERE invoice_id = ?"
            " AND source = 'carried'",
            (repl[0],),
        ).fetchone()[0]
        if carried > 0:
            rows.append((repl[0], -min(cents, carried)))
    with db.write(conn):
        for inv, amount in rows:
            conn.execute(
                "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
                " amount_cents, source, created_on, created_at) VALUES (?, NULL, NULL, NULL, ?,"
                " 'carried', ?, ?)",
                (inv, amount, on, at),
            )
        audit.record(
            conn,
            "takeback settled",
            entity="invoices",
            ids=[r[0] for r in rows],
            count=len(rows),
            detail={"cents": cents},
        )
    return cents


_ENCOUNTER_COLS = (
    "id",
    "number",
    "patient_id",
    "provider_id",
    "date_of_service",
    "place_of_service",
)
_LINE_COLS = (
    "charge_line_id",
    "line_no",
    "code",
    "modifier1",
    "modifier2",
    "modifier3",
    "modifier4",
    "dx_pointers",
    "units",
    "charge_cents",
)


def _encounter_now(conn: Database, orig: dict) -> dict:
    """The claim's encounter with its current lines (void ones left out), as generate reads it."""
    row = conn.execute(
        f"SELECT {', '.join(_ENCOUNTER_COLS)} FROM encounters WHERE id = ?",
        (orig["encounter_id"],),
    ).fetchone()
    enc = dict(zip(_ENCOUNTER_COLS, row, strict=True))
    enc["lines"] = [
        dict(zip(_LINE_COLS, r, strict=True))
        for r in conn.execute(
            "SELECT id, line_no, code, modifier1, modifier2, modifier3, modifier4, dx_pointers,"
            " units, charge_cents FROM charge_lines WHERE encounter_id = ? AND status != 'void'"
            " ORDER BY line_no",
            (enc["id"],),
        )
    ]
    if not enc["lines"]:
        raise Conflict(
            f"encounter {enc['number']} has no billable lines left: void {orig['number']} instead"
        )
    for ln in enc["lines"]:
        ln["code"] = (ln["code"] or "").strip().upper()
    split.replacement_lines(conn, orig, enc)  # a part of a split encounter: its own lines
    content.load_claim_fields(conn, {enc["id"]: enc})  # issue 20's claim fields
    return enc


def _billed_parties(
    conn: Database, orig: dict, enc: dict
) -> tuple[dict, dict, list[dict], dict[int, dict], list[str]]:
    """(patient, the coverage the original billed, the other coverages active on the date of
    service, payers, the encounter's diagnoses) for a replacement claim."""
    t = content.temp_ids(conn, "_repl_pat", [enc["patient_id"]])
    pat = content.load_patients(conn, t)[enc["patient_id"]]
    covs = content.load_coverages(conn, t).get(enc["patient_id"], [])
    payers = content.load_payers(conn)
    cov = next((c for c in covs if c["id"] == orig["coverage_id"]), None)
    if cov is None:
        raise Conflict(
            f"the coverage billed on {orig['number']} is gone: void it with --rebill instead"
        )
    others = [
        c
        for c in content.active_coverages(covs, enc["date_of_service"], payers)
        if c["id"] != cov["id"]
    ]
    dx = content.load_diagnoses(conn, content.temp_ids(conn, "_repl_enc", [enc["id"]])).get(
        enc["id"], []
    )
    return pat, cov, others, payers, dx


def _check_replacement(
    conn: Database,
    enc: dict,
    dx: list[str],
    pat: dict,
    cov: dict,
    payer: dict,
    scrub: Callable | None,
    today: _dt.date,
) -> None:
    """The CLAIM-* rules and the scrubber's errors: any refuses the replacement (ChecksFailed)."""
    findings = check_claim(enc, dx, pat, cov, payer)
    if scrub is not None:
        # the scrubber reads unbilled lines: inside this transaction the lines are unbilled
        # until the replacement bills them (a refusal rolls this back)
        t = content.temp_ids(conn, "_repl_lines", [ln["charge_line_id"] for ln in enc["lines"]])
        conn.execute(
            f"UPDATE charge_lines SET status = 'unbilled' WHERE id IN (SELECT id FROM {t})"
        )
        findings += [
            f
            for f in scrub(conn, encounter_ids=[enc["id"]], as_of=today)
            if f.severity == "error"
            and (f.encounter_id == enc["id"] or f.encounter == enc["number"])
        ]
    if findings:
        raise ChecksFailed(
            f"{enc['number']} still has {len(findings)} error(s); nothing was issued",
            details=[
                f"{f.rule}: {'line ' + str(f.line) + ': ' if f.line else ''}{f.message}"
                for f in findings
            ],
        )


def _replacement_claim(
    conn: Database,
    ids: InvoiceIds,
    orig: dict,
    enc: dict,
    number: str,
    *,
    frequency: str,
    issued_on: str,
    diagnoses: list[str],
    patient: dict,
    coverage: dict,
    payers: dict[int, dict],
    others: list[dict],
    payer_claim_number: str | None,
) -> NewInvoice:
    """The corrected claim: the encounter's current lines and diagnoses, the original's coverage
    and co-pay, pointing back to the original."""
    inv_id = ids.next_invoice()
    lines, clines = claim_lines(ids, inv_id, enc)
    providers = content.load_providers(conn)
    payer = payers[coverage["payer_id"]]
    c = content.claim_content(
        number=number,
        frequency=frequency,
        encounter=enc,
        lines=clines,
        diagnoses=diagnoses,
        patient=patient,
        coverage=coverage,
        payer=payer,
        others=[(o, payers[o["payer_id"]]) for o in others],
        provider=providers[enc["provider_id"]],
        copay_cents=orig["copay_cents"],
        payer_claim_number=payer_claim_number,
    )
    row = {
        "id": inv_id,
        "number": number,
        "kind": "claim",
        "patient_id": orig["patient_id"],
        "payer_id": orig["payer_id"],
        "coverage_id": orig["coverage_id"],
        "encounter_id": enc["id"],
        "original_invoice_id": orig["id"],
        "frequency_code": frequency,
        "issued_on": issued_on,
        "due_on": None,
        "filing_deadline": content.filing_deadline(enc["date_of_service"], payer),
        "total_cents": c["total_cents"],
        "copay_cents": orig["copay_cents"],
    }
    return NewInvoice(row, lines, c, "", None, "", None)


# ---------------------------------------------------------------------------------------------
# reading


LIST_COLUMNS = [
    "number",
    "kind",
    "frequency",
    "issued_on",
    "bill_to",
    "encounter",
    "total_cents",
    "balance_cents",
    "status",
    "filing_deadline",
]


def list_invoices(
    conn: Database,
    *,
    kind: str | None = None,
    status: str | None = None,
    payer: str | None = None,
    since: _dt.date | None = None,
    limit: int | None = None,
) -> list[dict]:
    where, args = [], []
    if kind:
        if kind not in ("claim", "patient", "credit"):
            raise BadInput("--kind must be claim, patient or credit")
        where.append("i.kind = ?")
        args.append(kind)
    if status:
        where.append("COALESCE(s.status, '') = ?")
        args.append(status.strip().lower())
    if payer:
        row = conn.execute("SELECT id FROM payers WHERE code = ?", (payer.strip(),)).fetchone()
        if row is None:
            raise NotFound(f"--payer {payer}: no payer with that code")
        where.append("i.payer_id = ?")
        args.append(row[0])
    if since:
        where.append("i.issued_on >= ?")
        args.append(since.isoformat())
    sql = (
        "SELECT i.number, i.kind, i.frequency_code, i.issued_on, COALESCE(py.code, 'patient'), e.number, i.total_cents,"
        " CASE WHEN i.kind = 'credit' THEN NULL ELSE i.total_cents"
        "  + COALESCE((SELECT SUM(c.total_cents) FROM invoices c WHERE c.original_invoice_id ="
        " i.id AND c.kind = 'credit'), 0)"
        "  - COALESCE((SELECT SUM(a.amount_cents) FROM payment_allocations a WHERE a.invoice_id = i.id), 0)"
        "  - COALESCE((SELECT SUM(d.amount_cents) FROM adjustments d WHERE d.invoice_id = i.id), 0) END,"
        " s.status, i.filing_deadline"
        " FROM invoices i LEFT JOIN payers py ON py.id = i.payer_id LEFT JOIN encounters e ON e.id = i.encounter_id"
        " LEFT JOIN invoice_status s ON s.invoice_id = i.id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY i.id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = [dict(zip(LIST_COLUMNS, r, strict=True)) for r in conn.execute(sql, args)]
    # invoices name patients' encounters: a PHI read, audited
    record_read(conn, "invoice list", entity="invoice", count=len(rows))
    return rows


def show(conn: Database, number: str) -> dict:
    """One invoice with its totals, lines, history and files; the read is audited here."""
    data = details(conn, number)
    record_read(conn, "invoice show", entity="invoices", ids=[data["number"]], count=1)
    return data


def details(conn: Database, number: str) -> dict:
    """What `show` returns, unaudited: for callers that record their own read (export)."""
    inv = get_invoice(conn, number)
    bal = conn.execute(
        "SELECT credited_cents, paid_cents, adjusted_cents FROM invoice_balances WHERE invoice_id = ?",
        (inv["id"],),
    ).fetchone()
    payer = (
        conn.execute("SELECT code FROM payers WHERE id = ?", (inv["payer_id"],)).fetchone()
        if inv["payer_id"]
        else None
    )
    enc = (
        conn.execute(
            "SELECT number FROM encounters WHERE id = ?", (inv["encounter_id"],)
        ).fetchone()
        if inv["encounter_id"]
        else None
    )
    orig = (
        conn.execute(
            "SELECT number FROM invoices WHERE id = ?", (inv["original_invoice_id"],)
        ).fetchone()
        if inv["original_invoice_id"]
        else None
    )
    mrn = conn.execute("SELECT mrn FROM patients WHERE id = ?", (inv["patient_id"],)).fetchone()[0]
    out = {
        "number": inv["number"],
        "kind": inv["kind"],
        "frequency": inv["frequency_code"],
        "issued_on": inv["issued_on"],
        "bill_to": payer[0] if payer else "patient",
        "account": mrn,
        "encounter": enc[0] if enc else None,
        "original": orig[0] if orig else None,
        "due_on": inv["due_on"],
        "filing_deadline": inv["filing_deadline"],
        "total_cents": inv["total_cents"],
        "copay_cents": inv["copay_cents"],
        "status": status_of(conn, inv["id"]),
    }
    if bal:
        out.update(
            {
                "credited_cents": bal[0],
                "paid_cents": bal[1],
                "adjusted_cents": bal[2],
                "balance_cents": inv["total_cents"] + bal[0] - bal[1] - bal[2],
            }
        )
    if inv["kind"] == "claim":
        from ..remit.views import claim_payers

        out["payer_claim_number"] = payer_claim_number(conn, inv["id"])
        out["payers"] = claim_payers(conn, inv["id"])  # per payer: a crossover payer apart
    out["queued_for_837p"] = (
        conn.execute("SELECT 1 FROM claim_queue WHERE invoice_id = ?", (inv["id"],)).fetchone()
        is not None
    )
    out["lines"] = [
        dict(
            zip(
                (
                    "line_no",
                    "date_of_service",
                    "code",
                    "modifiers",
                    "units",
                    "description",
                    "amount_cents",
                ),
                r,
                strict=True,
            )
        )
        for r in conn.execute(
            "SELECT line_no, date_of_service, code, modifiers, units, description, amount_cents"
            " FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
            (inv["id"],),
        )
    ]
    out["history"] = [
        dict(zip(("status", "at", "note"), r, strict=True))
        for r in conn.execute(
            "SELECT status, at, note FROM invoice_events WHERE invoice_id = ? ORDER BY id",
            (inv["id"],),
        )
    ]
    out["files"] = [
        dict(zip(("kind", "path", "st_control", "created_at"), r, strict=True))
        for r in conn.execute(
            "SELECT kind, path, st_control, created_at FROM invoice_files WHERE invoice_id = ? ORDER BY id",
            (inv["id"],),
        )
    ]
    return out


def export(conn: Database, number: str, fmt: str) -> tuple[bytes, str]:
    """Re-render an issued invoice from the content it was issued with: (bytes, suggested name).

    x12: the claim (or the void of a claim) in an 837P with the envelope of the interchange that
    carried it (same control numbers; today's envelope dates), else a preview envelope numbered 0.
    pdf: a patient invoice or its credit note. csv: the invoice lines.
    """
    inv = get_invoice(conn, number)
    fmt = fmt.lower()
    record_read(
        conn,
        "invoice export",
        entity="invoices",
        ids=[inv["number"]],
        count=1,
        detail={"format": fmt},
    )
    if fmt in ("ub04", "ub04-data"):  # an institutional claim on the UB-04 (ub04.py)
        from . import ub04

        return ub04.export(
            snapshot(conn, inv["id"]), inv, _payer_address(conn, inv), form=fmt == "ub04"
        )
    if fmt == "csv":
        import io

        from ..formats import write_csv

        data = details(conn, number)
        buf = io.StringIO()
        write_csv(
            [{"number": inv["number"], **ln} for ln in data["lines"]],
            [
                "number",
                "line_no",
                "date_of_service",
                "code",
                "modifiers",
                "units",
                "description",
                "amount_cents",
            ],
            buf,
        )
        return buf.getvalue().encode("utf-8"), f"{inv['number']}.csv"
    c = _issued_snapshot(conn, inv)
    if fmt == "pdf":
        if c.get("kind") not in ("patient", "credit") or "lines" not in c or "practice" not in c:
            raise BadInput(
                f"{inv['number']} is a {inv['kind']} invoice: export it with --format x12 or csv"
            )
        from . import pdf

        return pdf.render(c), f"{inv['number']}.pdf"
    if fmt in ("cms1500", "cms1500-data"):
        if c.get("kind") != "claim":
            raise BadInput(
                f"{inv['number']} is not a claim: a patient invoice exports with --format pdf or csv"
            )
        from . import cms1500

        if c.get("claim_type") == "institutional":
            raise BadInput(
                f"{inv['number']} is an institutional claim: export it with --format ub04"
            )
        prac = _claim_envelope(conn, inv)[0]
        form = cms1500.render(c, prac, _payer_address(conn, inv), form=fmt == "cms1500")
        return form, f"{inv['number']}-cms1500.pdf"
    if fmt == "x12":
        if c.get("kind") != "claim":
            raise BadInput(
                f"{inv['number']} is not a claim sent on an 837P: export it with --format pdf or csv"
            )
        from ..x12 import envelope, x837

        prac, isa, gs, usage = _claim_envelope(conn, inv)
        env = envelope.Envelope(
            sender_id=prac["submitter_id"],
            receiver_id=prac["receiver_id"],
            isa_control=isa,
            gs_control=gs,
            created=_dt.datetime.now().replace(second=0, microsecond=0),
            usage=usage,
        )
        if c.get("claim_type") == "institutional":  # an 837I (x12/x837i.py)
            from ..x12 import x837i

            block = {"submitter": prac, "facility": c["facility"]}
            return x837i.render(env, block, [c]).text.encode("ascii"), f"{inv['number']}.edi"
        return x837.render(env, prac, [c]).text.encode("ascii"), f"{inv['number']}.edi"
    raise BadInput("--format must be pdf, x12, csv, cms1500, cms1500-data, ub04 or ub04-data")


def _payer_address(conn: Database, inv: dict) -> dict | None:
    """The payer's mailing address as recorded now (a paper claim is mailed now)."""
    row = conn.execute(
        "SELECT address1, city, state, zip FROM payers WHERE id = ?", (inv["payer_id"],)
    ).fetchone()
    return dict(zip(("address1", "city", "state", "zip"), row, strict=True)) if row else None


def _claim_envelope(conn: Database, inv: dict) -> tuple[dict, int, int, str]:
    """(practice block, ISA and GS control numbers, usage) of the interchange that carried a
    claim; never sent: today's practice and a preview envelope numbered 0."""
    from . import practice as practice_mod

    row = conn.execute(
        "SELECT x.isa_control, x.gs_control, x.envelope FROM invoice_files f JOIN"
        " x12_interchanges x ON x.id = f.interchange_id"
        " WHERE f.invoice_id = ? ORDER BY f.id DESC LIMIT 1",
        (inv["id"],),
    ).fetchone()
    if row:
        env_data = json.loads(row[2])
        return env_data["practice"], int(row[0]), int(row[1]), env_data["usage"]
    p = practice_mod.for_claims(conn)
    return content.practice_block(p), 0, 0, p.get("usage") or "P"


def paper_note(conn: Database, number: str) -> str | None:
    """What to say when a claim to Medicare goes out on paper: Medicare takes the CMS-1500 only
    from providers the ASCA exceptions cover (42 CFR 424.32(d)); others must bill electronically."""
    row = conn.execute(
        "SELECT p.kind FROM invoices i JOIN payers p ON p.id = i.payer_id WHERE i.number = ?",
        (number.upper(),),
    ).fetchone()
    if row and row[0] == "medicare":
        return (
            "Medicare accepts paper claims only under the ASCA exceptions (42 CFR 424.32(d):"
            " small providers and the listed situations); otherwise bill it electronically"
        )
    return None


def content_hash_ok(conn: Database, invoice_id: int) -> bool:
    stored = conn.execute(
        "SELECT content_hash FROM invoices WHERE id = ?", (invoice_id,)
    ).fetchone()[0]
    return ledger.stored_content_hash(conn, invoice_id) == stored
