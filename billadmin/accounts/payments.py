"""Patient money at the desk: co-pays, payments, refunds, and the patient's credit balance.

Ledger rules (shared with invoicing and remittances):
- Every payment is a ``payments`` row; the part that pays invoices is in ``payment_allocations``,
  the part not (yet) on any invoice is in ``unapplied_credits``. For every payment,
  amount = SUM(allocations) + SUM(unapplied rows with its payment_id); `billadmin check` verifies
  it (see :func:`ledger_findings`). A patient's credit balance is SUM(unapplied_credits.amount)
  over the patient; credit rows are append-only (using credit adds a negative row).
- A co-pay taken at check-in has no invoice yet: it is held as credit (reason 'copay') until
  the patient invoice that carries the co-pay is issued, then applied (:func:`apply_credit`).
- A payment is applied oldest-first (issue date, then invoice number) to the patient's open
  patient invoices, or to the one invoice named. Zero or negative amounts are refused; a voided
  invoice takes no payment. Insurance claims take payer money only (remittances), never patient
  money.
- The most a payment may be without --credit is what the patient owes now: the open patient
  invoices plus the patient shares a payer's answer moved that no invoice carries yet
  (accounts.balances.pending: the patient owes them at once, docs/claim-states.md), less the
  credit the patient already holds (the "patient owes" of `account show`), never less than the
  open invoices. What pays no open invoice is held as credit for the pending share (reason
  'copay': the patient's share paid before the invoice that bills it, as a co-pay is) and the
  run that bills the share applies it (:func:`apply_credit`). More than that is refused unless
  the clerk asks to keep the rest as credit (reason 'overpayment'). With one invoice named, the
  most is that invoice's balance.
- A payment is refused as the same money keyed twice (:func:`earlier_payment`) unless the
  clerk says it is a second payment (`again`).
- A refund pays back credit: first the unapplied credit, then overpaid patient invoices (negative
  balances), never more than that. It is a payment of kind 'refund' with a negative amount.
- A voided patient invoice keeps no money: what the patient paid on it is taken off it and held
  as their credit (:func:`hold_paid_as_credit`), applied to the invoice that bills the visit
  again (`invoice void --rebill`, then the next run) or to another open one, or refunded.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput, Conflict
from ..reads import record_read
from . import balances, lookup

if TYPE_CHECKING:
    from ..db import Database


METHODS = ("cash", "card", "check", "eft", "other")


@dataclass
class Posting:
    payment_id: int
    receipt: str
    kind: str
    amount_cents: int
    allocations: list[dict] = field(
        default_factory=list
    )  # {invoice, amount_cents, balance_after_cents}
    credit_cents: int = 0  # kept as (or taken from) credit
    pending_cents: int = 0  # of credit_cents: held for the pending patient share

    def rows(self) -> list[dict]:
        out = [
            {
                "receipt": self.receipt,
                "invoice": a["invoice"],
                "applied_cents": a["amount_cents"],
                "balance_after_cents": a["balance_after_cents"],
            }
            for a in self.allocations
        ]
        for label, cents in (
            ("(pending share)", self.pending_cents),
            ("(credit)", self.credit_cents - self.pending_cents),
        ):
            if cents:
                out.append(
                    {
                        "receipt": self.receipt,
                        "invoice": label,
                        "applied_cents": cents,
                        "balance_after_cents": None,
                    }
                )
        return out


class DuplicatePayment(BadInput):
    "The payment repeats one already posted (earlier_payment); nothing was written."


def check_method(method: str | None) -> str:
    if not method:
        raise BadInput(f"--method is required ({'|'.join(METHODS)})")
    m = method.strip().lower()
    if m not in METHODS:
        raise BadInput(f"--method must be one of {', '.join(METHODS)}")
    return m


def credit_balance(conn: Database, patient_id: int) -> int:
    return conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM unapplied_credits WHERE patient_id = ?",
        (patient_id,),
    ).fetchone()[0]


def holding_credit(conn: Database, patients: str) -> set[int]:
    """Of the patients whose ids the table `patients` holds (column id), those with unapplied
    credit (credit_balance above zero): the ones apply_credit has anything to apply for."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT c.patient_id FROM unapplied_credits c"
            f" WHERE c.patient_id IN (SELECT id FROM {patients})"
            " GROUP BY c.patient_id HAVING SUM(c.amount_cents) > 0"
        )
    }


def patient_invoices(conn: Database, patient_id: int) -> list[dict]:
    """The patient's patient invoices with balance and voided flag, oldest first."""
    rows = conn.execute(
        """SELECT b.invoice_id, b.number, i.issued_on, b.total_cents + b.credited_cents -
            b.paid_cents - b.adjusted_cents,
                  COALESCE(s.status, '')
           FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id
           LEFT JOIN invoice_status s ON s.invoice_id = b.invoice_id
           WHERE b.patient_id = ? AND b.kind = 'patient'
           ORDER BY i.issued_on, b.number""",
        (patient_id,),
    ).fetchall()
    out = []
    for iid, number, issued, bal, status in rows:
        inv = {
            "id": iid,
            "number": number,
            "issued_on": issued,
            "balance_cents": bal,
            "status": status,
        }
        inv["voided"] = (
            status == "voided"
            or bool(
                conn.execute(
                    "SELECT 1 FROM invoices WHERE original_invoice_id = ? AND kind = 'credit' LIMIT 1",
                    (iid,),
                ).fetchone()
            )
            and bal == 0
        )
        out.append(inv)
    return out


def _next_receipt(conn: Database) -> tuple[int, str]:
    n = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM receipts").fetchone()[0]
    return n, f"R{n:07d}"


def _insert_payment(
    conn: Database,
    *,
    kind,
    patient_id,
    amount,
    method,
    reference,
    on,
    service_date=None,
    coverage_id=None,
):
    now = audit.utcnow()
    pid = conn.execute(
        "INSERT INTO payments (kind, patient_id, payer_id, amount_cents, method, reference, received_on, created_at)"
        " VALUES (?,?,NULL,?,?,?,?,?)",
        (kind, patient_id, amount, method, reference, on.isoformat(), now),
    ).lastrowid
    rid, number = _next_receipt(conn)
    conn.execute(
        "INSERT INTO receipts (id, number, payment_id, patient_id, service_date, coverage_id, created_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (rid, number, pid, patient_id, service_date, coverage_id, now),
    )
    return pid, number


def _allocate(
    conn: Database, payment_id: int, invoice_id: int, amount: int, applied_on: str | None = None
) -> None:
    """One allocation; `applied_on` when it is made on another day than the payment's
    (accounts/schema.py m008_allocation_dates)."""
    conn.execute(
        "INSERT INTO payment_allocations (payment_id, invoice_id, invoice_line_id, amount_cents,"
        " applied_on) VALUES (?,?,NULL,?,?)",
        (payment_id, invoice_id, amount, applied_on),
    )


def _credit_row(conn: Database, payment_id, patient_id, amount, reason, on) -> None:
    conn.execute(
        "INSERT INTO unapplied_credits (payment_id, patient_id, amount_cents, reason, created_on, created_at)"
        " VALUES (?,?,?,?,?,?)",
        (payment_id, patient_id, amount, reason, on.isoformat(), audit.utcnow()),
    )


def _status_event(
    conn: Database, invoice_id: int, balance_after: int, on: _dt.date, note: str
) -> None:
    status = "paid" if balance_after <= 0 else "partially_paid"
    conn.execute(
        "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
        (invoice_id, status, on.isoformat(), note),
    )


def earlier_payment(
    conn: Database,
    patient_id: int,
    amount_cents: int,
    *,
    method: str,
    reference: str | None,
    on: _dt.date,
    invoice_id: int | None = None,
) -> dict | None:
    """The patient's earlier payment that a new one repeats (the same money keyed twice), or None.

    Rule (the front desk's double entry: one check, card slip or cash amount keyed twice):
    - an earlier payment is money the patient handed over: kind 'patient' or 'copay' (a co-pay
      taken at check-in is the same card slip if keyed again), of the same patient and method;
    - with a reference (check number, card slip), it repeats one with the same reference
      (spaces around it and letter case aside), whatever its amount or date: a typo in the
      amount is still the same check;
    - without one, it repeats one of the same amount received the same day;
    - with an invoice named, one that paid only other invoices is another part of the same check
      split over several invoices (one posting per invoice, as `collections recover` does), not
      a repeat;
    - one paid back in full no longer counts: the patient's refunds of the same method received
      on or after it pay back the patient's payments of that method (whatever their reference)
      oldest first, each its whole amount or nothing (a
      refund is not linked to the payment it pays back, and a practice's refund check has its
      own number, so the method and the dates are what tie them). Paid back in part, the rest
      of the payment still stands and it still counts.
    Of those left, the latest. Returns {payment_id, receipt, received_on, rule}.
    """
    ref = (reference or "").strip().lower()
    same = (
        "lower(trim(p.reference)) = :ref"
        if ref
        else "p.amount_cents = :amount AND p.received_on = :on"
    )
    other_invoices_only = (
        "EXISTS (SELECT 1 FROM payment_allocations a WHERE a.payment_id = p.id)"
        " AND NOT EXISTS (SELECT 1 FROM payment_allocations a WHERE a.payment_id = p.id"
        " AND a.invoice_id = :inv)"
    )
    args = {
        "pid": patient_id,
        "method": method,
        "ref": ref,
        "amount": amount_cents,
        "on": on.isoformat(),
        "inv": invoice_id,
    }
    # every payment of the method (refunds pay them back oldest first, whatever their
    # reference), each flagged when it is one the new payment would repeat
    rows = conn.execute(
        # through receipts (indexed by patient): every payment of the patient's own has one
        f"SELECT p.id, p.amount_cents, p.received_on, r.number, ({same})"
        + (f" AND NOT ({other_invoices_only})" if invoice_id is not None else "")
        + " FROM receipts r JOIN payments p ON p.id = r.payment_id"
        " WHERE r.patient_id = :pid AND p.kind IN ('patient', 'copay') AND p.method = :method"
        " ORDER BY p.received_on, p.id",
        args,
    ).fetchall()
    if not any(r[4] for r in rows):
        return None
    refunds = [
        list(r)
        for r in conn.execute(
            "SELECT p.received_on, -p.amount_cents FROM receipts r"
            " JOIN payments p ON p.id = r.payment_id WHERE r.patient_id = ?"
            " AND p.kind = 'refund' AND p.method = ? ORDER BY p.received_on, p.id",
            (patient_id, method),
        )
    ]
    standing = []
    for pay_id, amount, received, receipt, repeats in rows:
        after = [r for r in refunds if r[0] >= received and r[1] > 0]
        if sum(r[1] for r in after) < amount:
            if repeats:
                standing.append((pay_id, received, receipt))
            continue
        need = amount
        for r in after:
            take = min(r[1], need)
            r[1] -= take
            need -= take
    if not standing:
        return None
    pay_id, received, receipt = standing[-1]
    return {
        "payment_id": pay_id,
        "receipt": receipt,
        "received_on": received,
        "rule": "reference" if ref else "amount",
    }


def _refuse_repeat(
    conn: Database,
    patient_id: int,
    amount_cents: int,
    method: str,
    reference: str | None,
    on: _dt.date,
    invoice_id: int | None,
) -> None:
    dup = earlier_payment(
        conn,
        patient_id,
        amount_cents,
        method=method,
        reference=reference,
        on=on,
        invoice_id=invoice_id,
    )
    if dup is None:
        return
    same = (
        "the same reference and method"
        if dup["rule"] == "reference"
        else "the same amount and method on the same day"
    )
    raise DuplicatePayment(
        f"receipt {dup['receipt']} of {dup['received_on']} has {same}: this looks like that"
        " payment keyed twice, nothing posted; --again posts it as a second payment"
    )


def owes_now(conn: Database, patient_id: int, invs: list[dict] | None = None) -> dict:
    """What the patient owes now, as `account show` (patient owes) and `checkin` count it: the
    balances of the patient's patient invoices (voided ones left out) plus the pending patient
    shares (accounts.balances.pending), less the unapplied credit. {open_cents (the invoices'
    open balances), pending_cents, credit_cents, owes_cents}."""
    if invs is None:
        invs = patient_invoices(conn, patient_id)
    kept = [i for i in invs if not i["voided"]]
    pending = balances.pending(conn, patient_id=patient_id)["patient_cents"]
    credit = credit_balance(conn, patient_id)
    return {
        "open_cents": sum(i["balance_cents"] for i in kept if i["balance_cents"] > 0),
        "pending_cents": pending,
        "credit_cents": credit,
        "owes_cents": sum(i["balance_cents"] for i in kept) + pending - credit,
    }


def _targets(
    conn: Database, pat: dict, invoice_number: str | None
) -> tuple[list[dict], dict | None, int | None]:
    """(the open invoices a payment goes to, oldest first; what the patient owes now (owes_now),
    None with an invoice named; the id of the invoice named)."""
    invs = patient_invoices(conn, pat["id"])
    if not invoice_number:
        targets = [i for i in invs if not i["voided"] and i["balance_cents"] > 0]
        return targets, owes_now(conn, pat["id"], invs), None
    inv = lookup.invoice(conn, invoice_number)
    if inv["patient_id"] != pat["id"]:
        raise BadInput(f"invoice {inv['number']} is not on this patient's account")
    if inv["kind"] == "credit":
        raise BadInput(f"{inv['number']} is a credit note; pay the invoice it credits")
    if inv["kind"] == "claim":
        raise BadInput(
            f"invoice {inv['number']} is an insurance claim; patient payments go to patient "
            "invoices (or use --credit to hold it as credit)"
        )
    if lookup.is_voided(conn, inv):
        raise Conflict(f"invoice {inv['number']} is voided; it takes no payment")
    return [i for i in invs if i["id"] == inv["id"] and i["balance_cents"] > 0], None, inv["id"]


def post_payment(
    conn: Database,
    mrn: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    invoice_number: str | None = None,
    reference: str | None = None,
    credit: bool = False,
    again: bool = False,
) -> Posting:
    """Record a patient payment and apply it (see the module rules). One transaction, audited.

    `again`: the clerk says this is a second payment; without it a payment that repeats an
    earlier one (:func:`earlier_payment`) is refused (DuplicatePayment, exit 2)."""
    method = check_method(method)
    if amount_cents <= 0:
        raise BadInput(
            f"amount must be more than 0.00 (got {money.fmt(amount_cents)}); "
            "to pay money back use `billadmin payment refund`"
        )
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        open_targets, now, named = _targets(conn, pat, invoice_number)
        if not again:  # first: a repeat that paid the balance would read as "over the balance"
            _refuse_repeat(conn, pat["id"], amount_cents, method, reference, on, named)
        open_total = sum(i["balance_cents"] for i in open_targets)
        # owed now beyond the open invoices: the pending share less the credit that pays it
        pending_room = max(now["owes_cents"] - now["open_cents"], 0) if now else 0
        if amount_cents > open_total + pending_room and not credit:
            raise BadInput(_over_message(amount_cents, open_total, now, invoice_number))
        pid, receipt = _insert_payment(
            conn,
            kind="patient",
            patient_id=pat["id"],
            amount=amount_cents,
            method=method,
            reference=reference,
            on=on,
        )
        post = Posting(pid, receipt, "patient", amount_cents)
        left = amount_cents
        for inv in open_targets:
            if left <= 0:
                break
            take = min(left, inv["balance_cents"])
            _allocate(conn, pid, inv["id"], take)
            after = inv["balance_cents"] - take
            _status_event(conn, inv["id"], after, on, f"patient payment {receipt}")
            post.allocations.append(
                {"invoice": inv["number"], "amount_cents": take, "balance_after_cents": after}
            )
            left -= take
        post.pending_cents = min(left, pending_room)
        if post.pending_cents:
            _credit_row(conn, pid, pat["id"], post.pending_cents, "copay", on)
        if left > post.pending_cents:
            _credit_row(conn, pid, pat["id"], left - post.pending_cents, "overpayment", on)
        post.credit_cents = left
        audit.record(
            conn,
            "payment post",
            entity="payment",
            ids=[pid],
            detail={
                "patient_id": pat["id"],
                "amount_cents": amount_cents,
                "receipt": receipt,
                "invoices": len(post.allocations),
                "credit_cents": post.credit_cents,
                "pending_cents": post.pending_cents,
                "again": again,
            },
        )
    return post


def _over_message(
    amount_cents: int, open_total: int, now: dict | None, invoice_number: str | None
) -> str:
    room = max(now["owes_cents"] - open_total, 0) if now else 0
    limit = open_total + room
    if invoice_number:
        where = f"invoice {invoice_number.strip()}'s balance {money.fmt(open_total)}"
    elif room and now:
        # the credit shown takes in overpaid invoices, so the three add up to the limit
        held = now["pending_cents"] - room
        where = (
            f"what the patient owes now {money.fmt(limit)} (open patient invoices"
            f" {money.fmt(open_total)} + {money.fmt(now['pending_cents'])} pending, not invoiced"
            " yet" + (f", - {money.fmt(held)} credit)" if held else ")")
        )
    else:
        where = f"the open patient balance {money.fmt(open_total)}"
    return (
        f"payment {money.fmt(amount_cents)} is over {where} "
        f"({money.fmt(amount_cents - limit)} too much); --credit keeps the rest as credit"
    )


def refundable(conn: Database, patient_id: int) -> tuple[int, list[dict]]:
    """(unapplied credit, overpaid patient invoices oldest first)."""
    over = [i for i in patient_invoices(conn, patient_id) if i["balance_cents"] < 0]
    return credit_balance(conn, patient_id), over


def refund(
    conn: Database,
    mrn: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    invoice_number: str | None = None,
    reference: str | None = None,
) -> Posting:
    """Pay a patient back from their credit (see the module rules). One transaction, audited."""
    method = check_method(method)
    if amount_cents <= 0:
        raise BadInput(f"refund amount must be more than 0.00 (got {money.fmt(amount_cents)})")
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        credit, over = refundable(conn, pat["id"])
        if invoice_number:
            inv = lookup.invoice(conn, invoice_number)
            if inv["patient_id"] != pat["id"]:
                raise BadInput(f"invoice {inv['number']} is not on this patient's account")
            over = [i for i in over if i["id"] == inv["id"]]
            credit = 0
        available = max(credit, 0) + sum(-i["balance_cents"] for i in over)
        if amount_cents > available:
            raise BadInput(
                f"refund {money.fmt(amount_cents)} is more than the refundable credit {money.fmt(available)} "
                f"({money.fmt(amount_cents - available)} too much)"
            )
        pid, receipt = _insert_payment(
            conn,
            kind="refund",
            patient_id=pat["id"],
            amount=-amount_cents,
            method=method,
            reference=reference,
            on=on,
        )
        post = Posting(pid, receipt, "refund", -amount_cents)
        left = amount_cents
        take = min(left, max(credit, 0))
        if take:
            _credit_row(conn, pid, pat["id"], -take, "refunded", on)
            post.credit_cents = -take
            left -= take
        for inv in over:
            if left <= 0:
                break
            take = min(left, -inv["balance_cents"])
            _allocate(conn, pid, inv["id"], -take)
            post.allocations.append(
                {
                    "invoice": inv["number"],
                    "amount_cents": -take,
                    "balance_after_cents": inv["balance_cents"] + take,
                }
            )
            left -= take
        audit.record(
            conn,
            "payment refund",
            entity="payment",
            ids=[pid],
            detail={"patient_id": pat["id"], "amount_cents": -amount_cents, "receipt": receipt},
        )
    return post


def hold_paid_as_credit(
    conn: Database, invoice_id: int, patient_id: int, on: _dt.date, up_to: int | None = None
) -> int:
    """What the patient paid on a patient invoice being voided (lifecycle.void), taken off it and
    held as their credit; returns the amount. Per payment, newest first and never more than the
    invoice's net paid (refunds netted): an allocation of the opposite amount and a credit row
    of the same amount (reason 'overpayment': nothing is owed against it any more), so each
    payment still adds up (:func:`ledger_findings`) and the voided invoice's balance is 0.00.
    `up_to`: hold no more than that (what a credit note left overpaid). Call inside the write
    transaction that voided or credited the invoice."""
    if not conn.conn.in_transaction:
        raise RuntimeError("hold_paid_as_credit must run inside db.write()")
    (left,) = conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM payment_allocations WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    left = left if up_to is None else min(left, up_to)
    held = max(left, 0)
    for payment_id, net in conn.execute(
        "SELECT payment_id, SUM(amount_cents) FROM payment_allocations WHERE invoice_id = ?"
        " GROUP BY payment_id HAVING SUM(amount_cents) > 0 ORDER BY MAX(id) DESC",
        (invoice_id,),
    ).fetchall():
        if left <= 0:
            break
        take = min(net, left)
        _allocate(conn, payment_id, invoice_id, -take, on.isoformat())
        _credit_row(conn, payment_id, patient_id, take, "overpayment", on)
        left -= take
    return held


def apply_credit(conn: Database, patient_id: int, on: _dt.date) -> list[dict]:
    """Apply a patient's unapplied credit to their open patient invoices, oldest first.

    Call inside a write transaction (invoicing may call it right after issuing a patient
    invoice). Each application is an allocation from the payment that holds the credit plus a
    negative credit row on that payment, so both payment and patient sums stay exact.
    Returns [{invoice, payment_id, amount_cents}].
    """
    if not conn.conn.in_transaction:
        raise RuntimeError("apply_credit must run inside db.write()")
    total = credit_balance(conn, patient_id)
    if total <= 0:
        return []
    sources = [
        list(r)
        for r in conn.execute(
            """SELECT c.payment_id, SUM(c.amount_cents) FROM unapplied_credits c JOIN payments p ON p.id = c.payment_id
           WHERE c.patient_id = ? GROUP BY c.payment_id HAVING SUM(c.amount_cents) > 0
           ORDER BY MIN(p.received_on), c.payment_id""",
            (patient_id,),
        )
    ]
    out = []
    for inv in patient_invoices(conn, patient_id):
        if inv["voided"] or inv["balance_cents"] <= 0:
            continue
        need = inv["balance_cents"]
        for src in sources:
            if total <= 0 or need <= 0:
                break
            take = min(src[1], need, total)
            if take <= 0:
                continue
            _allocate(conn, src[0], inv["id"], take, on.isoformat())
            _credit_row(conn, src[0], patient_id, -take, "applied", on)
            src[1] -= take
            need -= take
            total -= take
            out.append({"invoice": inv["number"], "payment_id": src[0], "amount_cents": take})
        if need < inv["balance_cents"]:
            _status_event(conn, inv["id"], need, on, "credit applied")
    return out


def apply_credit_for(conn: Database, mrn: str, on: _dt.date) -> list[dict]:
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        out = apply_credit(conn, pat["id"], on)
        audit.record(
            conn,
            "payment apply-credit",
            entity="patient",
            ids=[pat["id"]],
            count=len(out),
            detail={"amount_cents": sum(r["amount_cents"] for r in out)},
        )
    return out


def list_payments(
    conn: Database,
    *,
    mrn: str | None = None,
    kind: str | None = None,
    since: _dt.date | None = None,
    until: _dt.date | None = None,
    limit: int | None = None,
) -> list[dict]:
    where, params = [], []
    if mrn:
        where.append("p.patient_id = ?")
        params.append(lookup.patient(conn, mrn)["id"])
    if kind:
        kinds = ("insurance", "patient", "copay", "refund")
        if kind not in kinds:
            raise BadInput(f"--kind must be one of {', '.join(kinds)}")
        where.append("p.kind = ?")
        params.append(kind)
    if since:
        where.append("p.received_on >= ?")
        params.append(since.isoformat())
    if until:
        where.append("p.received_on <= ?")
        params.append(until.isoformat())
    sql = f"""
        SELECT p.id, p.received_on, p.kind, r.number, pt.mrn, py.code, p.method, p.reference, p.amount_cents,
               COALESCE((SELECT SUM(amount_cents) FROM payment_allocations a WHERE a.payment_id = p.id), 0),
               COALESCE((SELECT SUM(amount_cents) FROM unapplied_credits c WHERE c.payment_id = p.id), 0),
               (SELECT group_concat(number, ' ') FROM (SELECT DISTINCT i.number FROM payment_allocations a
                    JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = p.id ORDER BY i.number))
        FROM payments p LEFT JOIN receipts r ON r.payment_id = p.id
        LEFT JOIN patients pt ON pt.id = p.patient_id LEFT JOIN payers py ON py.id = p.payer_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY p.received_on DESC, p.id DESC {f"LIMIT {int(limit)}" if limit else ""}"""
    cols = (
        "payment_id",
        "received_on",
        "kind",
        "receipt",
        "mrn",
        "payer",
        "method",
        "reference",
        "amount_cents",
        "applied_cents",
        "credit_cents",
        "invoices",
    )
    rows = [dict(zip(cols, r, strict=True)) for r in conn.execute(sql, params)]
    # a PHI read (who paid what): audited with the count
    record_read(conn, "payment list", entity="payment", count=len(rows))
    return rows


def ledger_findings(conn: Database) -> list:
    """Checks for `billadmin check`: each patient payment = allocations + unapplied credit; no
    patient's credit below zero. Returns findings (empty when the ledger holds)."""
    from ..findings import Finding

    out = []
    for pid, amount, alloc, unapplied in conn.execute(
        """SELECT p.id, p.amount_cents,
                      COALESCE((SELECT SUM(amount_cents) FROM payment_allocations a WHERE a.payment_id = p.id), 0),
                      COALESCE((SELECT SUM(amount_cents) FROM unapplied_credits c WHERE c.payment_id = p.id), 0)
               FROM payments p WHERE p.kind IN ('patient','copay','refund')
                  OR p.id IN (SELECT payment_id FROM unapplied_credits)"""
    ):
        if amount != alloc + unapplied:
            diff = amount - alloc - unapplied
            out.append(
                Finding(
                    "PAYMENT-ALLOCATED",
                    "error",
                    f"payment {pid}: amount {money.fmt(amount)} != allocated {money.fmt(alloc)} + credit "
                    f"{money.fmt(unapplied)} ({money.fmt(abs(diff))} {'unaccounted' if diff > 0 else 'too much'})",
                )
            )
    for patient_id, credit in conn.execute(
        "SELECT patient_id, SUM(amount_cents) FROM unapplied_credits GROUP BY patient_id HAVING SUM(amount_cents) < 0"
    ):
        out.append(
            Finding(
                "CREDIT-NEGATIVE",
                "error",
                f"patient id {patient_id}: credit balance {money.fmt(credit)} is below zero",
            )
        )
    return out
