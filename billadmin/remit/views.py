"""Rows for people: what an 835 says (remit show) and what was posted (remit list)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import money
from . import balance, codes, recoup
from .parse import Adjudication, ClaimPayment, RemitFile, ServiceLine, Transaction

if TYPE_CHECKING:
    from ..db import Database


PATIENT_GROUP = "PR"

# The payer whose money a posted claim payment is (remit/post.py's _TransactionPosting.payer_of,
# in SQL over remit_claims c, remit_transactions t and invoices i).
ANSWERING_PAYER_SQL = (
    "CASE WHEN t.payer_id IS NULL OR i.payer_id IS NULL OR t.payer_id = i.payer_id"
    " OR (SELECT q.x12_payer_id FROM payers q WHERE q.id = i.payer_id)"
    " = (SELECT q.x12_payer_id FROM payers q WHERE q.id = t.payer_id)"
    " THEN COALESCE(i.payer_id, t.payer_id) ELSE t.payer_id END"
)


def split_adjustments(pairs: Iterable[tuple[str, int]]) -> tuple[int, int]:
    """(group code, cents) of CAS adjustments -> (patient responsibility, adjusted): the one
    definition of "adjusted" every remittance view shows (remit show, remit list --claims).

    Rule: "adjusted" is what the payer took off the charge that the patient does not owe: the
    CAS groups CO (contractual), OA (other), PI (payer initiated) and CR (correction); group PR
    (deductible, coinsurance, co-pay) is patient responsibility, a column of its own. So, for a
    claim that balances (835 TR3 1.10.2, CLAIM-BALANCE), charge = paid + patient_resp + adjusted.
    """
    patient = adjusted = 0
    for group, cents in pairs:
        if group == PATIENT_GROUP:
            patient += cents
        else:
            adjusted += cents
    return patient, adjusted


def _split(adjs) -> tuple[int, int]:
    return split_adjustments((a.group, a.amount_cents) for a in adjs)


def _adj_text(adjs) -> str:
    return "; ".join(f"{a.group}-{a.reason} {money.fmt(a.amount_cents)}" for a in adjs)


def transaction_row(rf: RemitFile, tx: Transaction, diffs) -> dict:
    errors = [d for d in diffs if d.severity == "error"]
    return {
        "file": rf.name,
        "st": tx.control_number,
        "payer": tx.payer_name,
        "payer_key": tx.payer_key,
        "payee": tx.payee_name,
        "trace_number": tx.trace_number,
        "method": tx.method,
        "payment_date": tx.payment_date,
        "handling": tx.handling_code,
        "credit_debit": tx.credit_debit,
        "amount_cents": tx.signed_amount_cents,
        "claims": len(tx.claims),
        "claims_paid_cents": tx.claims_paid_cents,
        "plb_cents": tx.plb_cents,
        "balance": "ok" if not errors else f"{len(errors)} difference(s)",
    }


def _adjustments(adjs) -> list[dict]:
    out = []
    for a in adjs:
        cat, meaning = codes.describe("CARC", a.reason)
        out.append(
            {
                "group": a.group,
                "reason": a.reason,
                "amount_cents": a.amount_cents,
                "quantity": a.quantity,
                "category": cat,
                "meaning": meaning,
            }
        )
    return out


def _remarks(remarks) -> list[dict]:
    out = []
    for r in remarks:
        cat, meaning = codes.describe("RARC", r)
        out.append({"code": r, "category": cat, "meaning": meaning})
    return out


def _verdict(diffs) -> str:
    return "ok" if not diffs else "; ".join(d.message for d in diffs)


def _line_dict(ln: ServiceLine, diffs) -> dict:
    return {
        "line": ln.seq,
        "qualifier": ln.qualifier,
        "code": ln.code,
        "modifiers": ",".join(ln.modifiers),
        "service_from": ln.service_from,
        "service_to": ln.service_to,
        "units": ln.units,
        "charge_cents": ln.charge_cents,
        "paid_cents": ln.paid_cents,
        "allowed_cents": ln.allowed_cents,
        "patient_resp_cents": _split(ln.adjustments)[0],
        "adjusted_cents": _split(ln.adjustments)[1],
        "original_code": ln.original_code,
        "control_number": ln.control_number,
        "adjustments": _adjustments(ln.adjustments),
        "remarks": _remarks(ln.remarks),
        "balance": _verdict([d for d in diffs if d.segment == ln.segment and d.line is not None]),
    }


def claim_dict(c: ClaimPayment, diffs) -> dict:
    """One claim payment with its lines; diffs are the transaction's balance differences
    (matched by segment number: several CLPs may carry the same claim number). A claim the
    payer forwarded names the crossover payer (NM1*TT) when the 835 does."""
    out = {
        "claim_number": c.claim_number,
        "status_code": c.status_code,
        "status": c.status_text,
        "charge_cents": c.charge_cents,
        "paid_cents": c.paid_cents,
        "patient_resp_cents": c.patient_resp_cents,
        "adjusted_cents": _split(a for _, a in c.all_adjustments())[1],
        "payer_claim_number": c.payer_claim_number,
        "filing_indicator": c.filing_indicator,
        "statement_from": c.statement_from,
        "statement_to": c.statement_to,
        "adjustments": _adjustments(c.adjustments),
        "remarks": _remarks(c.remarks),
        "lines": [_line_dict(ln, diffs) for ln in c.lines],
        "balance": _verdict([d for d in diffs if d.segment == c.segment and d.line is None]),
    }
    if c.crossover_payer or c.crossover_payer_id:
        out["crossover_payer"] = c.crossover_payer
        out["crossover_payer_id"] = c.crossover_payer_id
    for adj in c.adjudications:
        out[f"{adj.kind}_adjudication"] = adjudication_dict(adj)
    return out


ADJUDICATION_TITLE = "Medicare inpatient/outpatient adjudication"


def adjudication_dict(adj: Adjudication) -> dict:
    """One MIA/MOA segment: its elements by name in the TR3's order (amounts in cents), then
    its remark codes in words."""
    out: dict = {}
    for _pos, key, _kind, _label in adj.elements:
        if key in adj.amounts:
            out[key] = adj.amounts[key]
        elif key in adj.values:
            out[key] = adj.values[key]
    out["remarks"] = _remarks(adj.remarks)
    return out


def adjudication_rows(rf: RemitFile) -> list[dict]:
    """The MIA/MOA block of `remit show`: one row per element present, for each claim payment
    that has one (element id, what it is, the amount in cents or the count/rate as read)."""
    out = []
    for tx in rf.transactions:
        for c in tx.claims:
            for adj in c.adjudications:
                seg = "MIA" if adj.kind == "inpatient" else "MOA"
                for pos, key, kind, label in adj.elements:
                    if kind == "remark" or not (key in adj.amounts or key in adj.values):
                        continue
                    out.append(
                        {
                            "claim": c.claim_number,
                            "adjudication": adj.kind,
                            "element": f"{seg}{pos:02d}",
                            "item": label,
                            "amount_cents": adj.amounts.get(key),
                            "value": adj.values.get(key, ""),
                        }
                    )
                if adj.remarks:
                    out.append(
                        {
                            "claim": c.claim_number,
                            "adjudication": adj.kind,
                            "element": seg,
                            "item": "remarks",
                            "amount_cents": None,
                            "value": ",".join(adj.remarks),
                        }
                    )
    return out


def status_shown(c: ClaimPayment) -> str:
    """CLP02 in words, and the crossover payer (NM1*TT) when the 835 names one."""
    if c.crossover_payer or c.crossover_payer_id:
        return f"{c.status_text} to {c.crossover_payer or c.crossover_payer_id}"
    return c.status_text


def show_document(rf: RemitFile) -> dict:
    """Everything `remit show --format json` prints for one file."""
    txs = []
    for tx in rf.transactions:
        diffs = balance.check_transaction(tx)
        row = transaction_row(rf, tx, diffs)
        row["claims"] = [claim_dict(c, diffs) for c in tx.claims]
        row["claims_count"] = len(tx.claims)
        row["provider_adjustments"] = [
            {
                "provider_id": p.provider_id,
                "fiscal_date": p.fiscal_date,
                "reason": p.reason,
                "reference": recoup.shown_reference(p.reference),
                "amount_cents": p.amount_cents,
            }
            for p in tx.plb
        ]
        row["balance_check"] = [
            {"rule": d.rule, "severity": d.severity, "message": str(d)} for d in diffs
        ]
        txs.append(row)
    return {
        "file": rf.name,
        "sha256": rf.sha256,
        "segments": rf.segments,
        "transactions": txs,
        "issues": [{"severity": i.severity, "message": str(i)} for i in rf.issues],
    }


def claim_line_rows(rf: RemitFile) -> list[dict]:
    """Flat rows: each claim, then its lines (for the table and CSV forms of remit show)."""
    out = []
    for tx in rf.transactions:
        diffs = balance.check_transaction(tx)
        for c in tx.claims:
            cd = [d for d in diffs if d.segment == c.segment and d.line is None]
            pr, adjusted = _split(a for _, a in c.all_adjustments())
            out.append(
                {
                    "trace_number": tx.trace_number,
                    "claim": c.claim_number,
                    "line": "",
                    "code": "",
                    "status": status_shown(c),
                    "charge_cents": c.charge_cents,
                    "paid_cents": c.paid_cents,
                    "patient_resp_cents": pr,
                    "adjusted_cents": adjusted,
                    "adjustments": _adj_text(c.adjustments),
                    "remarks": ",".join(c.remarks),
                    "balance": _verdict(cd),
                }
            )
            for ln in c.lines:
                ld = [d for d in diffs if d.segment == ln.segment and d.line is not None]
                pr, adjusted = _split(ln.adjustments)
                out.append(
                    {
                        "trace_number": tx.trace_number,
                        "claim": c.claim_number,
                        "line": ln.seq,
                        "code": ":".join([ln.code] + ln.modifiers),
                        "status": ln.service_from or "",
                        "charge_cents": ln.charge_cents,
                        "paid_cents": ln.paid_cents,
                        "patient_resp_cents": pr,
                        "adjusted_cents": adjusted,
                        "adjustments": _adj_text(ln.adjustments),
                        "remarks": ",".join(ln.remarks),
                        "balance": _verdict(ld),
                    }
                )
    return out


TRANSACTION_COLUMNS = [
    "id",
    "imported_at",
    "file",
    "payer",
    "trace_number",
    "method",
    "payment_date",
    "amount_cents",
    "claims",
    "unmatched_claims",
    "posted_cents",
    "unmatched_cents",
    "skipped_cents",
    "plb_cents",
]


# Who paid, as `remit list` names it: our payer's code when the 835's payer is one of ours, else
# the payer's name as its N1*PR spells it (never the internal idempotency key). "One of ours":
# the payer the posting matched (remit_transactions.payer_id), else exactly one payer whose
# electronic payer id is the 835's (N1*PR N104 / REF*2U, or TRN03 with or without its leading
# "1"), else exactly one payer with the same name (case and outer spaces ignored). Matched here,
# at listing time, so a payer added after its 835 was posted is named like the others.
PAYER_LABEL_SQL = (
    "COALESCE(p.code,"
    " (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(q.code) END FROM payers q"
    "  WHERE q.x12_payer_id IN (t.payer_x12_id, t.trace_company,"
    "  CASE WHEN length(t.trace_company) = 10 THEN substr(t.trace_company, 2) END)),"
    " (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(q.code) END FROM payers q"
    "  WHERE upper(trim(q.name)) = upper(trim(t.payer_name))),"
    " t.payer_name, t.payer_x12_id, t.trace_company)"
)


def list_transactions(
    conn: Database,
    *,
    trace: str | None = None,
    payer: str | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Posted 835 transactions, newest first; ``payer`` is a payer code (as the payer column
    shows it) or part of the 835's payer name."""
    where, params = _transaction_filters(
        trace, payer, since, "COALESCE(t.payment_date, substr(f.imported_at, 1, 10))"
    )
    sql = (
        "SELECT t.id, substr(replace(f.imported_at, 'T', ' '), 1, 16), f.file_name,"
        f" {PAYER_LABEL_SQL}, t.trace_number, t.method,"
        " t.payment_date, t.amount_cents,"
        " (SELECT COUNT(*) FROM remit_claims c WHERE c.transaction_id = t.id),"
        " (SELECT COUNT(*) FROM remit_claims c WHERE c.transaction_id = t.id AND c.invoice_id IS NULL),"
        " t.posted_cents, t.unmatched_cents, t.skipped_cents, t.plb_cents"
        " FROM remit_transactions t JOIN remit_files f ON f.id = t.file_id"
        " LEFT JOIN payers p ON p.id = t.payer_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY t.id DESC"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    return [dict(zip(TRANSACTION_COLUMNS, r, strict=True)) for r in conn.execute(sql, params)]


CLAIM_COLUMNS = [
    "id",
    "transaction_id",
    "trace_number",
    "payment_date",
    "claim_number",
    "invoice_id",
    "status_code",
    "outcome",
    "charge_cents",
    "paid_cents",
    "patient_resp_cents",
    "adjusted_cents",
    "reasons",
    "remarks",
    "payer_claim_number",
    "note",
    "crossover_payer",
]
CLAIM_TABLE_COLUMNS = [
    "id",
    "trace_number",
    "payment_date",
    "claim_number",
    "status_code",
    "outcome",
    "charge_cents",
    "paid_cents",
    "patient_resp_cents",
    "adjusted_cents",
    "reasons",
    "remarks",
    "note",
]


def list_claims(
    conn: Database,
    *,
    outcome: str | None = None,
    trace: str | None = None,
    claim: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Posted claim payments, newest first; patient_resp_cents and adjusted_cents split the
    claim's CAS adjustments (claim and line level) by split_adjustments, as remit show does."""
    where, params = [], []
    if outcome:
        where.append("c.outcome = ?")
        params.append(outcome)
    if trace:
        where.append("t.trace_number = ?")
        params.append(trace)
    if claim:
        where.append("c.claim_number = ?")
        params.append(claim)
    sql = (
        "SELECT c.id, t.id, t.trace_number, t.payment_date, c.claim_number, c.invoice_id,"
        " c.status_code, c.outcome, c.charge_cents, c.paid_cents,"
        " (SELECT json_group_array(json_array(g, s)) FROM (SELECT a.group_code AS g,"
        "  SUM(a.amount_cents) AS s FROM remit_adjustments a WHERE a.claim_id = c.id"
        "  GROUP BY a.group_code)), NULL,"
        " (SELECT group_concat(DISTINCT a.group_code || '-' || a.reason_code)"
        "  FROM remit_adjustments a WHERE a.claim_id = c.id),"
        " c.remarks, c.payer_claim_number, c.note, c.crossover_payer"
        " FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY c.id DESC"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    out = []
    for r in conn.execute(sql, params):
        row = dict(zip(CLAIM_COLUMNS, r, strict=True))
        pairs = json.loads(row["patient_resp_cents"])
        row["patient_resp_cents"], row["adjusted_cents"] = split_adjustments(map(tuple, pairs))
        out.append(row)
    return out


PLB_COLUMNS = [
    "id",
    "trace_number",
    "payment_date",
    "payer",
    "reason",
    "reference",
    "amount_cents",
    "outcome",
    "claim_number",
]


def list_plb(
    conn: Database,
    *,
    trace: str | None = None,
    payer: str | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Posted provider-level adjustments (PLB), newest first: each recoupment with the claim it
    was allocated to, the others 'provider-level' (remit/recoup.py). A positive amount is taken
    from the payment; the reference is shown as recoup.shown_reference cuts it."""
    where, params = _transaction_filters(
        trace, payer, since, "COALESCE(t.payment_date, t.production_date)"
    )
    sql = (
        "SELECT b.id, t.trace_number, t.payment_date,"
        f" {PAYER_LABEL_SQL}, b.reason_code, b.reference, b.amount_cents,"
        " CASE WHEN r.id IS NULL THEN 'provider-level' ELSE 'recouped' END, i.number"
        " FROM remit_plb b JOIN remit_transactions t ON t.id = b.transaction_id"
        " LEFT JOIN payers p ON p.id = t.payer_id"
        " LEFT JOIN payer_returns r ON r.plb_id = b.id"
        " LEFT JOIN invoices i ON i.id = r.invoice_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY b.id DESC"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    out = []
    for r in conn.execute(sql, params):
        row = dict(zip(PLB_COLUMNS, r, strict=True))
        row["reference"] = recoup.shown_reference(row["reference"])
        out.append(row)
    return out


def claim_payers(conn: Database, invoice_id: int) -> list[dict]:
    """What each payer did on one claim: paid (its insurance payments allocated to the claim,
    refunds and recoupments netted), adjusted (its contractual CAS posted), moved to the next
    party (its PR CAS posted as transfers) and denied (denial CAS kept open), under the payer
    whose 835 it was (ANSWERING_PAYER_SQL): a crossover payer answering on the claim
    Medicare forwarded shows apart from Medicare (issue 12: the ledger keeps paid and adjusted
    amounts per payer). Payers first by who answered first."""
    acc: dict[int | None, dict] = {}

    def row(pid: int | None) -> dict:
        return acc.setdefault(
            pid,
            {"paid_cents": 0, "adjusted_cents": 0, "patient_resp_cents": 0, "denied_cents": 0},
        )

    for pid, _cls, source, posted, denied in conn.execute(
        f"SELECT {ANSWERING_PAYER_SQL}, ra.class, d.source, SUM(COALESCE(d.amount_cents, 0)),"
        " SUM(CASE WHEN d.id IS NULL AND ra.class = 'denial' THEN ra.amount_cents ELSE 0 END)"
        " FROM remit_adjustments ra JOIN remit_claims c ON c.id = ra.claim_id"
        " JOIN remit_transactions t ON t.id = c.transaction_id"
        " JOIN invoices i ON i.id = c.invoice_id"
        " LEFT JOIN adjustments d ON d.id = ra.adjustment_id"
        " WHERE c.invoice_id = ? AND c.outcome NOT IN ('not_posted', 'duplicate', 'unmatched')"
        " GROUP BY 1, 2, 3 ORDER BY MIN(ra.id)",
        (invoice_id,),
    ):
        r = row(pid)
        r["patient_resp_cents" if source == "transfer" else "adjusted_cents"] += posted or 0
        r["denied_cents"] += denied or 0
    for pid, cents in conn.execute(
        "SELECT p.payer_id, SUM(a.amount_cents) FROM payment_allocations a"
        " JOIN payments p ON p.id = a.payment_id"
        " WHERE a.invoice_id = ? AND p.kind = 'insurance' GROUP BY p.payer_id ORDER BY MIN(a.id)",
        (invoice_id,),
    ):
        row(pid)["paid_cents"] += cents
    codes_ = dict(conn.execute("SELECT id, code FROM payers"))
    return [{"payer": codes_.get(pid, "?"), **v} for pid, v in acc.items()]


def _transaction_filters(
    trace: str | None, payer: str | None, since: str | None, date_sql: str
) -> tuple[list[str], list]:
    """WHERE terms and parameters over remit_transactions t: its trace, its payer (our code as
    the payer column shows it, part of the 835's payer name, or TRN03), a date from `since` on."""
    where: list[str] = []
    params: list = []
    if trace:
        where.append("t.trace_number = ?")
        params.append(trace)
    if payer:
        where.append(
            f"(upper({PAYER_LABEL_SQL}) = ? OR t.payer_name LIKE ? OR t.trace_company = ?)"
        )
        params += [payer.upper(), f"%{payer}%", payer.upper()]
    if since:
        where.append(f"{date_sql} >= ?")
        params.append(since)
    return where, params
