"""Post parsed 835 remittances against our issued claims.

Rules (ledger conventions of this project; 835 TR3 005010X221A1 for the meaning of segments):
- A claim payment (CLP) matches the invoice whose number is CLP01 (the patient control number we
  sent in CLM01). Claims we never issued are kept as "unmatched" and reported, never dropped.
  Service lines (SVC) match invoice lines by REF*6R, else by code; an institutional claim's
  line also by its revenue code (SVC01 NU:<revenue code>, SVC04; see _with_revenue_codes).
- Money paid: one ``payments`` row (kind insurance) per transaction and payer, with allocations
  per service line (SVC03) and, when claim-level CAS changed the claim's payment, one claim-level
  allocation for CLP04 - sum(SVC03); a claim without lines is allocated CLP04 at claim level.
  Allocations of a payment sum to its amount. Money in BPR02 that is not posted (unmatched
  claims, duplicates, PLB) is kept on the transaction: BPR02 = posted + unmatched + skipped - PLB.
- Adjustments by posting class (remit.carc_rules, per payer overridable): contractual and
  payment reductions become ``adjustments`` (source 'remit'); patient responsibility (group PR)
  an adjustment with source 'transfer', the next responsible party's; denials, the prior payer's
  impact (OA-23: the next payer's claim already carries it) and duplicates (OA-18) are kept in
  remit_adjustments only (adjustment_id NULL, with their class): a denied amount stays open on
  the claim until the clerk works it.
- CLP02 23 "not our claim, forwarded to additional payer(s)" with nothing paid: the payer
  forwarded the claim to the payer it belongs to (NM1*TT names it). Nothing is posted (its CAS
  only explain the zero payment, so no denial enters the worklist); the claim is 'crossed_over'
  and waits for that payer's 835 under the same claim number.
- Status events on the claim: none on a claim already voided, replaced or corrected (final
  states, docs/claim-states.md): the payer's answer that crosses the void or the corrected
  claim (a denial, a payment, its reversal, a PLB recoupment) moves money and is recorded, the
  state stays final; a denial that finds the claim written off or closed with nothing open
  leaves it so; otherwise 'reversed' for CLP02 = 22 (before its correction, when one follows
  in the transaction; alone, only when it leaves money open: 'paid' when another payment still
  settles the claim, i.e. the payer took back a second payment); 'unprocessable' for a Medicare CO-16
  with remark MA130 and nothing paid (CMS Pub. 100-04 ch. 1 s. 80.3.2: returned as unprocessable,
  no appeal rights: resubmit as a new claim); 'denied' when CLP02 = 4 or nothing was paid and a
  CAS is a denial and nothing is paid on the claim (a denied part of a split claim, MA15, or a
  denial while another payment stands leaves it partly paid); otherwise 'paid' when the invoice
  balance is now zero (or below), else 'partially_paid'.
- A claim its credit note closed (voided, replaced or resubmitted) has nothing open: a payment
  the payer made crossing the void (not a reversal) posts its money only, the payer's credit
  until it reverses it or is refunded; its CAS are kept as read and none enters the ledger
  (the credit note already took off the whole open amount: a CO-45 would reduce it twice, a
  PR would bill the patient for a claim that was cancelled). Its reversal then takes back the
  payment alone.
- The payer settles what the clerk took off: a claim payment (or paper EOB, or a negative PLB
  recoupment giving a recouped payment back) that leaves the claim below zero while the clerk
  had written off part of it (`invoice writeoff`) or moved it to the patient (`invoice
  to-patient`) takes those entries back first: an opposite entry
  naming each (transfers to the patient first, since the patient never owes what a payer paid,
  then write-offs; newest first), up to what is below zero. A write-off is a decision that the
  money will not come; once the payer pays it, keeping both reduces the charge twice (check:
  LEDGER-DOUBLE-REDUCTION) and shows the payer's rightful payment as its credit, refundable.
  What is still below zero after that is the payer's overpayment. Not on a claim already
  voided, replaced or resubmitted (its credit note accounted for the write-off), nor when the
  same payer's earlier payment of the claim still stands (not reversed): paying again is a
  second payment, the payer's credit (see _Repeat), not a payment of what it denied.
- A replacement (or resubmitted claim) carries what its original settled. While it does (the
  payer has not reversed its payment of the original), the payer's payment of the replacement
  repeats its answer: like a second payment (see _Repeat) its CAS post only what the payer's
  postings on the original did not take off for the same group and reason, so the charge is
  reduced and the patient's share moved once, and the money is the payer's overpayment (the
  parts of a split payment, MA15, share what the original's postings took off). Once
  the payer reverses the original (billing.lifecycle.settle_takeback takes it off what the
  replacement carried), its payment of the replacement posts in full.
- Duplicates inside one transaction: a claim payment repeating an earlier one of the same
  transaction (CLP01, CLP02, CLP07, amounts and CAS) is a duplicate, as across transactions.
  A reversal and its correction, or the parts of a split claim (MA15), differ and both post.
- A reversal (CLP02 = 22, negative amounts) posts its negative amounts against the earlier
  posting it reverses (same invoice, payer claim number and amounts); a reversal of a payment we
  never posted is reported and not posted. Its adjustments take back what that posting put in
  the ledger, never more: a second payment's CAS that only explained it (see _Repeat) put
  nothing there, so its reversal takes back its payment alone (835 TR3 1.10.2.8: the reversal
  nets the original out); and it leaves what another standing payment of the same payer
  explains (the first of two payments reversed: the second's CO-45 stands on the first's),
  or what its standing payment of a replacement of the claim did not post because these
  postings had taken it off (the original reversed after the replacement was paid: the
  replacement's CO-45 and PR stand on them, so its patient share moves once). The reversal
  of such a replacement payment takes what it stood on off the original (the original re-opens
  by it and is closed again off what the replacement carries), unless another standing
  payment of the original or of a replacement still stands on it.
  Reversals in a transaction are posted first, so a corrected claim that repeats the original
  amounts is not mistaken for a duplicate.
- A reversal of a patient share that COB routed (billing/cob.py) routes its negative transfer
  as the one it reverses, so no one's pending share goes below zero: a share put back on the
  claim (crossed over to the next payer, or held for a QMB or by Medicaid) has the put-back
  undone (the opposite 'cob' adjustment), so the claim is open by what the payer took back; a
  share routed to the next payer stays with the answer its next-payer claim carries, which the
  clerk voids (docs/cob.md).
- Idempotency: a transaction whose payer (TRN03, else the payer ids) and trace number (TRN02)
  were already posted is refused as "already posted". A transaction made only of reversals is
  keyed apart, so a payer taking back a whole check under its original trace number is posted.
  A claim payment identical to one already posted and not reversed is "duplicate": not posted.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .. import audit, money
from .. import db as dbmod
from ..errors import BadInput
from . import balance, carc_rules, recoup
from .parse import Adjustment, ClaimPayment, RemitFile, Transaction, parse_file

if TYPE_CHECKING:
    from ..db import Database


@dataclass
class ClaimResult:
    file: str
    st_control: str
    trace_number: str
    claim_number: str
    status_code: str
    outcome: str
    invoice_id: int | None
    charge_cents: int
    paid_cents: int
    patient_resp_cents: int
    adjusted_cents: int
    payer_claim_number: str | None
    note: str = ""
    final_state: str | None = None  # voided, replaced or corrected before this answer

    def row(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "file",
                "trace_number",
                "claim_number",
                "status_code",
                "outcome",
                "invoice_id",
                "charge_cents",
                "paid_cents",
                "patient_resp_cents",
                "adjusted_cents",
                "payer_claim_number",
                "note",
            )
        }


@dataclass
class TransactionResult:
    file: str
    st_control: str
    trace_number: str
    payer: str
    amount_cents: int
    result: str  # posted | already posted | would post
    claims: int = 0
    matched: int = 0
    unmatched: int = 0
    posted_cents: int = 0
    unmatched_cents: int = 0
    skipped_cents: int = 0
    plb_cents: int = 0
    transaction_id: int | None = None
    note: str = ""

    def row(self) -> dict:
        row = {
            k: getattr(self, k)
            for k in (
                "file",
                "trace_number",
                "payer",
                "amount_cents",
                "result",
                "claims",
                "matched",
                "unmatched",
                "posted_cents",
                "unmatched_cents",
                "skipped_cents",
                "plb_cents",
                "transaction_id",
                "note",
            )
        }
        row["unmatched_claims"] = row.pop("unmatched")
        return row


@dataclass
class ImportResult:
    transactions: list[TransactionResult] = field(default_factory=list)
    claims: list[ClaimResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    plb: list[recoup.PlbResult] = field(default_factory=list)
    # clerk write-offs and transfers to the patient the payer's money took back (one line each)
    undone: list[str] = field(default_factory=list)

    @property
    def already_posted(self) -> list[TransactionResult]:
        return [t for t in self.transactions if t.result == "already posted"]

    @property
    def unmatched(self) -> list[ClaimResult]:
        return [c for c in self.claims if c.outcome in ("unmatched", "not_posted", "duplicate")]


class _DryRun(Exception):
    "Raised inside the write block to roll a dry run back."


def load_and_check(paths) -> list[RemitFile]:
    """Parse every file and run the balance checks; any error refuses the whole call (exit 2)."""
    files = [parse_file(p) for p in paths]
    problems: list[str] = []
    for rf in files:
        for i in rf.errors:
            problems.append(f"{rf.name}: {i}")
        for d in balance.check_file(rf):
            if d.severity == "error":
                problems.append(f"{rf.name}: {d}")
    if problems:
        n = len(problems)
        raise BadInput(
            f"{n} problem{'s' if n != 1 else ''} in the 835 input; nothing was posted",
            details=problems,
        )
    return files


def import_files(
    conn: Database, paths, *, dry_run: bool = False, today: _dt.date | None = None
) -> ImportResult:
    """Post 835 files (each whole or not at all), then route what the answers left (billing/cob.py)
    as of `today` (default the real date; the demo posts on its simulated days)."""
    files = load_and_check(paths)
    res = ImportResult(dry_run=dry_run)
    for rf in files:
        for w in rf.warnings:
            res.warnings.append(f"{rf.name}: {w}")
        for tx in rf.transactions:
            for d in balance.check_transaction(tx):
                if d.severity == "warning":
                    res.warnings.append(f"{rf.name}: {d}")
    try:
        with dbmod.write(conn):
            for rf in files:
                with dbmod.write(conn):  # a savepoint: each file posts whole or not at all
                    _post_file(conn, rf, res)
            _settle_takebacks(conn, res)
            # a patient share taken back after a patient invoice billed it is credited there;
            # what the answers left goes to the next payer, a crossover or a held rule first
            from ..billing import cob, lifecycle

            lifecycle.credit_reversed_shares(conn, today=today or _dt.date.today())
            cob.route(conn, today=today or _dt.date.today(), at=_now())
            if dry_run:
                raise _DryRun()
    except _DryRun:
        for t in res.transactions:
            if t.result == "posted":
                t.result = "would post"
            t.transaction_id = None
    return res


def _now() -> str:
    return audit.utcnow()


def _settle_takebacks(conn: Database, res: ImportResult) -> None:
    """A reversal (CLP02 22) or a PLB recoupment posted in this import to a claim that was
    already voided, replaced or resubmitted re-opens what that claim had settled: closed once,
    on the claim and its replacement (billing.lifecycle.settle_takeback), dated on the 835."""
    from ..billing import lifecycle

    tx_ids = [
        t.transaction_id for t in res.transactions if t.result == "posted" and t.transaction_id
    ]
    if not tx_ids:
        return
    marks = ",".join("?" * len(tx_ids))
    rows = conn.execute(
        "SELECT c.invoice_id, MIN(t.payment_date)"
        " FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
        f" WHERE c.transaction_id IN ({marks}) AND c.invoice_id IS NOT NULL"
        " AND (c.status_code = '22' OR c.reverses_id IS NOT NULL) GROUP BY c.invoice_id"
        " UNION SELECT r.invoice_id, MIN(r.returned_on) FROM payer_returns r"
        " JOIN remit_plb p ON p.id = r.plb_id"
        f" WHERE r.kind = 'recoupment' AND p.transaction_id IN ({marks}) GROUP BY r.invoice_id",
        [*tx_ids, *tx_ids],
    ).fetchall()
    todo = dict(rows)
    for invoice_id, on in rows:  # a reversal on a replacement may re-open what it replaced
        orig = invoice_id
        while orig := conn.execute(
            "SELECT original_invoice_id FROM invoices WHERE id = ?", (orig,)
        ).fetchone()[0]:
            todo.setdefault(orig, on)
    for invoice_id, on in sorted(todo.items()):
        lifecycle.settle_takeback(conn, invoice_id, on=on or _dt.date.today().isoformat())


def _post_file(conn: Database, rf: RemitFile, res: ImportResult) -> None:
    file_id: int | None = None
    posted_tx: list[int] = []
    for tx in rf.transactions:
        payer_key = tx.payer_key
        tr = TransactionResult(
            rf.name,
            tx.control_number,
            tx.trace_number or "",
            tx.payer_name or payer_key,
            tx.signed_amount_cents,
            "posted",
            claims=len(tx.claims),
            plb_cents=tx.plb_cents,
        )
        prior = conn.execute(
            "SELECT t.id, t.amount_cents, f.file_name"
            " FROM remit_transactions t JOIN remit_files f ON f.id = t.file_id"
            " WHERE t.payer_key = ? AND t.trace_number = ? AND t.reversal_only = ?",
            (payer_key, tx.trace_number, int(tx.reversal_only)),
        ).fetchone()
        if prior:
            tr.result = "already posted"
            tr.transaction_id = prior[0]
            same = (
                "same amount"
                if prior[1] == tx.signed_amount_cents
                else f"earlier amount {money.fmt(prior[1])},"
                f" this one {money.fmt(tx.signed_amount_cents)}"
            )
            tr.note = (
                f"payer {tx.payer_name or payer_key} trace {tx.trace_number} was posted from"
                f" {prior[2]} (remit transaction {prior[0]}, {same})"
            )
            res.transactions.append(tr)
            continue
        if file_id is None:
            file_id = _insert_file(conn, rf)
        tx_id = _post_transaction(conn, file_id, rf, tx, tr, res)
        res.transactions.append(tr)
        posted_tx.append(tx_id)
    if posted_tx:
        audit.record(
            conn,
            "remit import",
            entity="remit_transactions",
            ids=posted_tx,
            count=len(posted_tx),
            detail={
                "file_id": file_id,
                "sha256": rf.sha256,
                "posted_cents": sum(
                    t.posted_cents for t in res.transactions if t.transaction_id in posted_tx
                ),
            },
        )


def _insert_file(conn: Database, rf: RemitFile) -> int:
    """The file as read (remit_files), once it has a transaction to post; returns its id."""
    file_id = conn.execute(
        "INSERT INTO remit_files (file_name, sha256, size, interchange_control, segments,"
        " imported_at, os_user) VALUES (?,?,?,?,?,?,?)",
        (
            rf.name,
            rf.sha256,
            rf.size,
            rf.interchange_control,
            rf.segments,
            _now(),
            audit.os_user(),
        ),
    ).lastrowid
    assert file_id is not None
    return file_id


def _our_payer(conn: Database, tx: Transaction) -> int | None:
    ids = [
        x
        for x in (
            tx.payer_id,
            tx.payer_ref,
            tx.trace_company,
            tx.trace_company[1:] if tx.trace_company and len(tx.trace_company) == 10 else None,
        )
        if x
    ]
    for x in ids:
        row = conn.execute("SELECT id FROM payers WHERE x12_payer_id = ? LIMIT 1", (x,)).fetchone()
        if row:
            return row[0]
    company = tx.trace_company or ""
    if tx.control_number == "EOB" and company.startswith("EOB "):
        # a paper EOB (post_eob) names its payer by our code, also a payer with no X12 id
        row = conn.execute("SELECT id FROM payers WHERE code = ?", (company[4:],)).fetchone()
        return row[0] if row else None
    return None


_MOD_SPLIT = re.compile(r"[^0-9A-Za-z]+")


def _mods(text: str | None) -> tuple[str, ...]:
    return tuple(m.upper() for m in _MOD_SPLIT.split(text or "") if m)


def _match_lines(
    conn: Database, invoice_id: int, claim: ClaimPayment, avoid: frozenset[int] = frozenset()
) -> list[int | None]:
    """Invoice line id for each SVC: by REF*6R line control number, else by procedure code,
    modifiers and date of service, else by code alone; each invoice line used once. Lines in
    ``avoid`` (taken by another part of a split claim, MA15) are matched only when no other
    line fits."""
    rows = conn.execute(
        "SELECT id, line_no, code, modifiers, date_of_service FROM invoice_lines"
        " WHERE invoice_id = ? ORDER BY line_no",
        (invoice_id,),
    ).fetchall()
    revenue = _revenue_codes(conn, invoice_id)
    if revenue:
        rows = _with_revenue_codes(rows, revenue)
    used: set[int] = set()
    out: list[int | None] = []
    by_ctl: dict[str, int] = {}
    for row in rows:
        by_ctl.setdefault(str(row[0]), row[0])
    for ln in claim.lines:
        hit = _pick_line(rows, by_ctl, ln, used | avoid)
        if hit is None and avoid:
            hit = _pick_line(rows, by_ctl, ln, used)
        if hit is not None:
            used.add(hit)
        out.append(hit)
    return out


def _revenue_codes(conn: Database, invoice_id: int) -> dict[int, str]:
    """An institutional claim's revenue code per invoice line id (from the content it was issued
    with); empty for a professional claim."""
    return {
        lid: rev
        for lid, rev in conn.execute(
            "SELECT json_extract(l.value, '$.invoice_line_id'), json_extract(l.value,"
            " '$.revenue_code') FROM inst_claim_invoices c JOIN invoice_snapshots s"
            " ON s.invoice_id = c.invoice_id, json_each(s.data, '$.lines') l"
            " WHERE c.invoice_id = ?",
            (invoice_id,),
        )
        if lid is not None and rev
    }


def _with_revenue_codes(rows: list, revenue: dict[int, str]) -> list:
    """Institutional lines (835 TR3 005010X221A1, 2110 SVC01 and SVC04): the payer answers a
    line as HC:<HCPCS> (SVC04 its revenue code) or as NU:<revenue code>, also for a line we
    sent with a HCPCS code. So an institutional line is matched by its code, by its revenue
    code when no line has the code (each row's code becomes code|revenue code), and never by
    a revenue code that contradicts SVC04: rows get the revenue code as a sixth column."""
    return [(*r, revenue.get(r[0])) for r in rows]


def _pick_line(rows: list, by_ctl: dict[str, int], ln, used: set[int]) -> int | None:
    """One SVC's invoice line among those not in ``used`` (_match_lines' order of tries)."""
    if ln.control_number and ln.control_number in by_ctl and by_ctl[ln.control_number] not in used:
        return by_ctl[ln.control_number]
    codes_to_try = [ln.code] + ([ln.original_code.split(":")[0]] if ln.original_code else [])
    want_mods = tuple(m.upper() for m in ln.modifiers)
    for lid, _, code, mods, dos, *rev in rows:
        if lid in used or (code or "").upper() not in codes_to_try:
            continue
        if rev and rev[0] and ln.revenue_code and ln.revenue_code != rev[0]:
            continue  # SVC04 names another revenue line
        if _mods(mods) == want_mods and (not ln.service_from or not dos or dos == ln.service_from):
            return lid
    for lid, _, code, _mods_text, _dos, *_rev in rows:
        if lid not in used and (code or "").upper() in codes_to_try:
            return lid
    if ln.qualifier == "NU":  # an institutional line answered by its revenue code
        for lid, _, _code, _mods_text, _dos, *rev in rows:
            if lid not in used and rev and rev[0] == ln.code:
                return lid
    return None


def _active_posting(
    conn: Database,
    invoice_id: int,
    claim: ClaimPayment,
    *,
    want_reverse: bool,
    pending: Iterable[int] = (),
) -> int | None:
    """The latest posted (not reversed) claim payment on this invoice that this one repeats
    (want_reverse=False) or reverses (want_reverse=True); ``pending`` are the remit claims this
    transaction posted so far (their status is set at its end)."""
    sign = -1 if want_reverse else 1
    rows = conn.execute(
        "SELECT c.id, c.payer_claim_number, c.status_code, c.charge_cents, c.paid_cents"
        " FROM remit_claims c WHERE c.invoice_id = ? AND c.status_code != '22'"
        " AND (c.outcome IN ('paid','partially_paid','denied') OR c.id IN (SELECT value FROM"
        " json_each(?)))"
        " AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.reverses_id = c.id)"
        " ORDER BY c.id DESC",
        (invoice_id, json.dumps(sorted(pending))),
    ).fetchall()
    for cid, pcn, status, charge, paid in rows:
        if charge != sign * claim.charge_cents or paid != sign * claim.paid_cents:
            continue
        if claim.payer_claim_number and pcn and pcn != claim.payer_claim_number:
            continue
        if not want_reverse and status != claim.status_code:
            continue
        if not want_reverse:
            prev = sorted(
                (g, r, a)
                for g, r, a in conn.execute(
                    "SELECT group_code, reason_code, amount_cents FROM remit_adjustments"
                    " WHERE claim_id = ?",
                    (cid,),
                )
            )
            mine = sorted((a.group, a.reason, a.amount_cents) for _, a in claim.all_adjustments())
            if prev != mine:
                continue
        return cid
    return None


def _post_transaction(
    conn: Database,
    file_id: int,
    rf: RemitFile,
    tx: Transaction,
    tr: TransactionResult,
    res: ImportResult,
) -> int:
    """One ST transaction: its rows as read, each claim posted (reversals first), the payments
    with their allocations, then the claims' status events. Returns its remit_transactions id."""
    now = _now()
    tx_payer = _our_payer(conn, tx)
    tx_id = tr.transaction_id = _insert_transaction(conn, file_id, tx, tx_payer)
    posting = _TransactionPosting(
        conn,
        rf.name,
        tx,
        tx_id,
        tx_payer,
        tx.payment_date or tx.production_date or now[:10],
        now,
        carc_rules.Classifier(conn),
    )
    for claim in sorted(tx.claims, key=lambda c: (not c.is_reversal, c.seq)):
        posting.claim(claim, tr, res)
    posting.recoupments(res)
    posting.payments()
    posting.undo_clerk_entries(res)
    posting.status_events(res)
    posting.returns()
    conn.execute(
        "UPDATE remit_transactions SET posted_cents = ?, unmatched_cents = ?, skipped_cents = ?"
        " WHERE id = ?",
        (tr.posted_cents, tr.unmatched_cents, tr.skipped_cents, tx_id),
    )
    if tr.unmatched:
        tr.note = f"{tr.unmatched} claim(s) not ours: kept as unmatched"
    return tx_id


def _insert_transaction(conn: Database, file_id: int, tx: Transaction, payer_id: int | None) -> int:
    """The transaction as read (remit_transactions) and its PLB rows; returns its id."""
    tx_id = conn.execute(
        "INSERT INTO remit_transactions (file_id, st_control, payer_key, payer_name, payer_x12_id,"
        " payer_id, payee_name, payee_id_qualifier, payee_id, handling_code, credit_debit,"
        " amount_cents, method, payment_date, production_date, trace_number, trace_company,"
        " reversal_only, claims_paid_cents, plb_cents, posted_cents, unmatched_cents,"
        " payer_address1, payer_city, payer_state, payer_zip)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,?,?,?,?)",
        (
            file_id,
            tx.control_number,
            tx.payer_key,
            tx.payer_name,
            tx.payer_id or tx.payer_ref,
            payer_id,
            tx.payee_name,
            tx.payee_id_qualifier,
            tx.payee_id,
            tx.handling_code,
            tx.credit_debit,
            tx.signed_amount_cents,
            tx.method,
            tx.payment_date,
            tx.production_date,
            tx.trace_number,
            tx.trace_company,
            int(tx.reversal_only),
            tx.claims_paid_cents,
            tx.plb_cents,
            *(tx.payer_address or (None,) * 4)[:4],
        ),
    ).lastrowid
    assert tx_id is not None
    for p in tx.plb:
        conn.execute(
            "INSERT INTO remit_plb (transaction_id, provider_id, fiscal_date, reason_code, reference,"
            " amount_cents) VALUES (?,?,?,?,?,?)",
            (tx_id, p.provider_id, p.fiscal_date, p.reason, p.reference, p.amount_cents),
        )
    return tx_id


@dataclass
class _Repeat:
    """A payer's second payment of a claim (another CLP07, so not a duplicate) repeats the CAS
    that explains it, but the charge is reduced by contract once and the patient's share moves
    once (835 TR3 1.10.2.8: a change to an adjudicated claim comes as a reversal and correction,
    which nets the first posting out). So each contractual or patient CAS posts only what this
    payer has not taken off yet for its group and reason: on the same line, or at claim level
    (a paper EOB's claim-level CO-45 and an 835's line-level one are the same reduction). The
    parts of a split claim (MA15) are not repeats. The 835's CAS is kept as read either way.
    ``used`` counts, within one claim payment, what earlier CAS already matched."""

    used: dict[tuple, int] = field(default_factory=dict)

    def cap(self, amount: int, a: Adjustment, line: int | None, taken: dict) -> int:
        """How much of ``amount`` was already taken (not to post again)."""
        key = (a.group, a.reason)
        if line is None:  # claim level: whatever the payer took anywhere on the claim
            avail = max(0, sum(taken.values()) - self.used.get((*key, "all"), 0))
            cap = min(amount, avail)
            self.used[(*key, "all")] = self.used.get((*key, "all"), 0) + cap
            return cap
        on_line = max(0, taken.get(line, 0) - self.used.get((*key, line), 0))
        pool = max(0, taken.get(None, 0) - self.used.get((*key, None), 0))
        cap = min(amount, on_line + pool)
        from_line = min(cap, on_line)
        self.used[(*key, line)] = self.used.get((*key, line), 0) + from_line
        self.used[(*key, None)] = self.used.get((*key, None), 0) + cap - from_line
        return cap


class _StatusEvent(NamedTuple):
    invoice_id: int
    claim_id: int  # remit_claims.id
    result: int  # index in ImportResult.claims
    claim: ClaimPayment


@dataclass
class _TransactionPosting:
    """Posting the claims of one transaction: what they share (the transaction, its payer and
    payment date) and what they leave for the end (allocations per payer, status events)."""

    conn: Database
    file_name: str
    tx: Transaction
    tx_id: int
    tx_payer: int | None
    pay_date: str
    now: str
    classifier: carc_rules.Classifier
    # allocations waiting for their payment row: payer_id -> [(invoice_id, invoice_line_id, cents)]
    allocs: defaultdict[int | None, list[tuple[int, int | None, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    events: list[_StatusEvent] = field(default_factory=list)
    # PLB recoupments allocated to a claim: (payer_id, invoice_id, remit_plb id, cents, how)
    recouped: list[tuple[int | None, int, int, int, str]] = field(default_factory=list)
    payment_ids: dict[int | None, int] = field(default_factory=dict)
    # invoice lines the parts of a split claim (MA15) posted to so far, per invoice
    split_lines: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def payer_of(self, claim_payer: int | None) -> int | None:
        """The payer whose money this is (remit.views.ANSWERING_PAYER_SQL is the same rule): the payer of
        the 835 (its N1*PR / REF*2U / TRN03 id matched to ours), which for a crossover payer
        answering under the claim number Medicare forwarded (CLP02 19/20, MA07/MA18; 835 TR3
        1.10.2.3 coordination of benefits) is not the claim's payer; the claim's own payer when
        the 835 names none of ours or carries the claim payer's own electronic id (two payers
        of ours sharing one id). So the ledger keeps paid and adjusted amounts per payer on one
        claim (issue 12)."""
        tx = self.tx_payer
        if tx is None or claim_payer is None or tx == claim_payer:
            return claim_payer if claim_payer is not None else tx
        same = self.conn.execute(
            "SELECT a.x12_payer_id IS NOT NULL AND a.x12_payer_id = b.x12_payer_id"
            " FROM payers a, payers b WHERE a.id = ? AND b.id = ?",
            (claim_payer, tx),
        ).fetchone()
        return claim_payer if same and same[0] else tx

    def recoupments(self, res: ImportResult) -> None:
        """Each PLB of the transaction: a WO/72 naming one claim of ours is allocated to it,
        any other stays provider-level; both are reported (remit/recoup.py rules)."""
        plb_ids = [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM remit_plb WHERE transaction_id = ? ORDER BY id", (self.tx_id,)
            )
        ]
        for plb_id, p in zip(plb_ids, self.tx.plb, strict=True):
            out = recoup.PlbResult(
                self.file_name,
                self.tx.trace_number or "",
                p.reason,
                recoup.shown_reference(p.reference),
                p.amount_cents,
                None,
                "provider-level",
            )
            res.plb.append(out)
            if p.reason not in recoup.RECOUPMENT_REASONS:
                out.note = f"PLB {p.reason} is not one claim's money: kept provider-level"
                continue
            if not p.reference:
                out.note = "no reference (PLB03-2): kept provider-level"
                continue
            iid, number, how = recoup.find_claim(self.conn, self.tx, self.tx_payer, p.reference)
            if iid is None:
                out.note = f"the reference {how}: kept provider-level"
                continue
            inv_payer = self.conn.execute(
                "SELECT payer_id FROM invoices WHERE id = ?", (iid,)
            ).fetchone()[0]
            payer_id = self.payer_of(inv_payer)
            self.allocs[payer_id].append((iid, None, -p.amount_cents))
            self.recouped.append((payer_id, iid, plb_id, p.amount_cents, how))
            out.claim_number, out.outcome = number, "recouped"
            out.note = f"{recoup.RECOUPMENT_REASONS[p.reason]} allocated to {number} (by {how})"

    def returns(self) -> None:
        """The recoupments' payer_returns rows (once their payment exists) and the recouped
        claims' states."""
        for payer_id, iid, plb_id, cents, how in self.recouped:
            self.conn.execute(
                "INSERT INTO payer_returns (kind, invoice_id, payer_id, payment_id, plb_id,"
                " amount_cents, matched_by, reference, returned_on, os_user, at)"
                " VALUES ('recoupment', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    iid,
                    payer_id,
                    self.payment_ids[payer_id],
                    plb_id,
                    cents,
                    how,
                    self.tx.trace_number,
                    self.pay_date,
                    audit.os_user(),
                    self.now,
                ),
            )
        for iid in dict.fromkeys(r[1] for r in self.recouped):
            if _final_state(self.conn, iid):
                continue
            status = recoup.status_after(self.conn, iid)
            now = self.conn.execute(
                "SELECT status FROM invoice_status WHERE invoice_id = ?", (iid,)
            ).fetchone()
            if now is None or now[0] != status:
                self.conn.execute(
                    "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
                    (iid, status, self.now, f"835 trace {self.tx.trace_number}: PLB recoupment"),
                )

    def claim(self, claim: ClaimPayment, tr: TransactionResult, res: ImportResult) -> None:
        """One claim payment: matched to our invoice (or not), kept as read, and posted when it
        is ours and neither a duplicate nor a reversal of nothing."""
        conn = self.conn
        inv = conn.execute(
            "SELECT id, kind, payer_id FROM invoices WHERE number = ?", (claim.claim_number,)
        ).fetchone()
        invoice_id: int | None = inv[0] if inv and inv[1] == "claim" else None
        payer_id = self.payer_of(inv[2]) if invoice_id else None
        outcome, note, reverses = _claim_outcome(
            conn, claim, inv, invoice_id, {e.claim_id for e in self.events}
        )
        if outcome is None and self._only_duplicate(claim, payer_id):
            outcome = "duplicate"
            note = "the payer reports it as a duplicate of a claim it processed (OA-18)"
        claim_id = _insert_claim(conn, self.tx_id, claim, invoice_id, outcome, reverses, note)
        if claim.adjudications:
            _insert_adjudications(conn, claim_id, claim)
        # the invoice the payment goes to: none when it is not ours, a duplicate, or not posted
        post_to = invoice_id if outcome in (None, "reversed") else None
        avoid = (
            frozenset(self.split_lines[post_to]) if post_to and _is_split(claim) else frozenset()
        )
        line_ids: list[int | None] = (
            _match_lines(conn, post_to, claim, avoid)
            if post_to is not None and claim.lines
            else [None] * len(claim.lines)
        )
        if post_to is not None and _is_split(claim) and not claim.is_reversal:
            self.split_lines[post_to] |= {il for il in line_ids if il is not None}
        remit_line_ids = _insert_lines(conn, claim_id, claim, line_ids)
        self._adjustments(
            claim, claim_id, payer_id, post_to, line_ids, remit_line_ids, reverses=reverses
        )
        if post_to is not None:
            lines_paid = 0
            for ln, il in zip(claim.lines, line_ids, strict=True):
                if ln.paid_cents:
                    self.allocs[payer_id].append((post_to, il, ln.paid_cents))
                lines_paid += ln.paid_cents
            rest = claim.paid_cents - lines_paid
            if rest:
                self.allocs[payer_id].append((post_to, None, rest))
            tr.posted_cents += claim.paid_cents
        elif outcome == "duplicate":
            tr.skipped_cents += claim.paid_cents
        else:
            tr.unmatched_cents += claim.paid_cents
        if invoice_id is not None:
            tr.matched += 1
        else:
            tr.unmatched += 1
        res.claims.append(
            ClaimResult(
                self.file_name,
                self.tx.control_number,
                self.tx.trace_number or "",
                claim.claim_number,
                claim.status_code,
                outcome or "",
                invoice_id,
                claim.charge_cents,
                claim.paid_cents,
                claim.group_total("PR"),
                claim.adjusted_cents - claim.group_total("PR"),
                claim.payer_claim_number,
                note,
            )
        )
        if post_to is not None:
            self.events.append(_StatusEvent(post_to, claim_id, len(res.claims) - 1, claim))
        elif invoice_id is not None and claim.status_code == "23" and outcome == "not_posted":
            self.conn.execute(
                "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
                (
                    invoice_id,
                    "crossed_over",
                    self.now,
                    f"{note}; wait for that payer's 835 (trace {self.tx.trace_number},"
                    f" remit claim {claim_id})",
                ),
            )

    def _adjustments(
        self,
        claim: ClaimPayment,
        claim_id: int,
        payer_id: int | None,
        post_to: int | None,
        line_ids: list[int | None],
        remit_line_ids: list[int],
        *,
        reverses: int | None = None,
    ) -> None:
        """Every CAS kept as read (remit_adjustments) with its posting class; on a posted claim a
        non-zero contractual one becomes a ledger adjustment (source 'remit') and a patient one
        a transfer; denials, prior-payer impact and duplicates stay out of the ledger. A
        reversal takes back what the posting it reverses put in the ledger (``reverses``)."""
        line_map = {
            id(ln): (rid, il)
            for ln, rid, il in zip(claim.lines, remit_line_ids, line_ids, strict=True)
        }
        repeat = _Repeat()
        posted = self._posted_by(reverses) if claim.is_reversal and reverses else None
        # a claim its credit note closed (voided, replaced, resubmitted): nothing of it is open
        # to reduce or to move to the patient, so a payment posts its money only (module rules)
        cancelled = (
            post_to is not None and not claim.is_reversal and bool(_final_state(self.conn, post_to))
        )
        # only a replacement (or resubmitted claim) has originals whose postings it repeats
        replaces = post_to is not None and bool(
            self.conn.execute(
                "SELECT original_invoice_id IS NOT NULL FROM invoices WHERE id = ?", (post_to,)
            ).fetchone()[0]
        )
        took: dict[tuple, int] = defaultdict(int)  # what this reversal took back per CAS
        split_held: dict[tuple, int] = defaultdict(int)  # what this split part did not post
        released: dict[tuple, int] = defaultdict(int)  # what this reversal took off originals
        held: dict[int, int] = {}  # restoring 'cob' adjustment id -> cents taken back so far
        for ln, a in claim.all_adjustments():
            rid, il = line_map[id(ln)] if ln is not None else (None, None)
            adj_id = None
            cls = self.classifier.classify(payer_id, a.group, a.reason)
            amount = 0
            if (
                post_to is not None
                and not cancelled
                and a.amount_cents != 0
                and cls in ("contractual", "patient")
            ):
                amount = a.amount_cents
                if amount > 0 and not claim.is_reversal and not _is_split(claim):
                    taken = self._already_taken(post_to, claim_id, a)
                    if replaces and (carried := self._taken_on_originals(post_to, a)):
                        taken[None] = taken.get(None, 0) + carried
                    amount -= repeat.cap(amount, a, il, taken)
                elif amount > 0 and not claim.is_reversal:  # a part of a split claim (MA15)
                    if replaces:
                        amount -= self._split_cap(post_to, claim_id, a, amount, split_held)
                elif amount < 0 and posted is not None:
                    take = _take_back(posted, a, il, -amount)
                    if take < -amount and reverses:  # what it stood on, on the original
                        self._release_held(
                            post_to, reverses, a, cls, -amount - take, released, (claim_id, held)
                        )
                    amount = -self._still_owed(post_to, claim_id, reverses, a, take, took)
            if amount:
                adj_id = self.conn.execute(
                    "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
                    " amount_cents, source, created_on, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        post_to,
                        il,
                        a.group,
                        a.reason,
                        amount,
                        "transfer" if cls == "patient" else "remit",
                        self.pay_date,
                        self.now,
                    ),
                ).lastrowid
                if cls == "patient" and amount < 0 and reverses:
                    assert adj_id is not None and post_to is not None
                    self._unroute(reverses, claim_id, post_to, adj_id, a, il, -amount, held)
            self.conn.execute(
                "INSERT INTO remit_adjustments (claim_id, line_id, group_code, reason_code,"
                " amount_cents, quantity, adjustment_id, class, posted_on)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    claim_id,
                    rid,
                    a.group,
                    a.reason,
                    a.amount_cents,
                    a.quantity,
                    adj_id,
                    cls,
                    self.pay_date,
                ),
            )

    def _unroute(
        self,
        reverses: int,
        claim_id: int,
        invoice_id: int,
        transfer_id: int,
        a: Adjustment,
        line: int | None,
        cents: int,
        held: dict[int, int],
    ) -> None:
        """A reversal takes back a patient share that COB had routed (billing/cob.py): the
        negative transfer is routed like the one it reverses, so it is nobody's pending share
        (the patient's would be -cents, owed to her for nothing). A share COB had put back on
        the claim (crossed over, or held for a QMB or by Medicaid: a 'cob' adjustment) has the
        put-back undone by the opposite 'cob' adjustment; one routed to the next payer
        (COB-NEXT-PAYER) stays with the answer its next-payer claim carries (cob_claims), which
        the clerk voids (docs/cob.md)."""
        rows = self.conn.execute(
            "SELECT t.id, r.rule, r.next_payer_id, r.remit_claim_id, r.restored_adjustment_id,"
            " COALESCE(-x.amount_cents, t.amount_cents)"
            " FROM remit_adjustments ra JOIN adjustments t ON t.id = ra.adjustment_id"
            " JOIN cob_routes r ON r.adjustment_id = t.id"
            " LEFT JOIN adjustments x ON x.id = r.restored_adjustment_id"
            " WHERE ra.claim_id = ? AND ra.group_code = ? AND ra.reason_code = ?"
            " ORDER BY t.invoice_line_id IS NOT ?, t.id",
            (reverses, a.group, a.reason, line),
        ).fetchall()
        for original, rule, next_payer, answer, restored, routed in rows:
            take = min(cents, routed - held.get(original, 0))
            if take <= 0:
                continue
            held[original] = held.get(original, 0) + take
            opposite = None
            if restored is not None:
                opposite = self.conn.execute(
                    "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
                    " amount_cents, source, created_on, created_at) VALUES (?,?,?,?,?,'cob',?,?)",
                    (invoice_id, line, a.group, a.reason, take, self.pay_date, self.now),
                ).lastrowid
            self.conn.execute(
                "INSERT INTO cob_routes (adjustment_id, prior_invoice_id, remit_claim_id, rule,"
                " next_payer_id, restored_adjustment_id, routed_at) VALUES (?,?,?,?,?,?,?)",
                (
                    transfer_id,
                    invoice_id,
                    claim_id if restored is not None else answer,
                    rule,
                    next_payer,
                    opposite,
                    self.now,
                ),
            )
            return  # one route per transfer (cob_routes is keyed by it)

    def _still_owed(
        self,
        invoice_id: int,
        claim_id: int,
        reverses: int | None,
        a: Adjustment,
        take: int,
        took: dict[tuple, int],
    ) -> int:
        """What a reversal takes back of ``take`` for its CAS's group and reason: no more than
        leaves in the ledger what another standing payment of this payer on the claim explains
        (its CAS as read: a second payment whose CAS only explained it, see _Repeat, stands on
        the reduction the reversed one made). ``took`` counts this reversal's takes so far."""
        key = (a.group, a.reason)
        ledger = sum(self._already_taken(invoice_id, claim_id, a).values()) - took[key]
        explained = max(
            self._explained_on(invoice_id, a, (claim_id, reverses or 0)),
            self._held_by_replacements(invoice_id, a),
        )
        out = min(take, max(0, ledger - explained))
        took[key] += out
        return out

    def _taken_on(self, invoice_id: int, a: Adjustment) -> int:
        """What this payer's postings on a replaced claim took off for a group and reason, less
        what reversals of its replacements' payments took back there (_release_held: entries
        of the same group and reason linked to no CAS row and no clerk entry)."""
        released = self.conn.execute(
            "SELECT COALESCE(SUM(d.amount_cents), 0) FROM adjustments d"
            " WHERE d.invoice_id = ? AND d.group_code = ? AND d.reason_code = ?"
            " AND d.source IN ('remit', 'transfer') AND d.amount_cents < 0"
            " AND NOT EXISTS (SELECT 1 FROM remit_adjustments ra WHERE ra.adjustment_id = d.id)"
            " AND NOT EXISTS (SELECT 1 FROM clerk_adjustments c WHERE c.adjustment_id = d.id)",
            (invoice_id, a.group, a.reason),
        ).fetchone()[0]
        return sum(self._already_taken(invoice_id, 0, a).values()) + released

    def _explained_on(
        self, invoice_id: int, a: Adjustment, leave_out: tuple[int, int] = (0, 0)
    ) -> int:
        """The most that one standing payment of this payer on the invoice (not reversed, not
        in ``leave_out``) read for a group and reason: what its answer stands on."""
        row = self.conn.execute(
            "SELECT MAX(s) FROM (SELECT SUM(ra.amount_cents) AS s FROM remit_claims c"
            " JOIN remit_transactions t ON t.id = c.transaction_id"
            " JOIN remit_adjustments ra ON ra.claim_id = c.id"
            " WHERE c.invoice_id = ? AND c.id NOT IN (?, ?) AND c.status_code != '22'"
            " AND c.outcome IN ('paid', 'partially_paid', 'denied')"
            " AND ra.group_code = ? AND ra.reason_code = ?"
            " AND (t.payer_key = ? OR t.payer_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.reverses_id = c.id)"
            " GROUP BY c.id)",
            (invoice_id, *leave_out, a.group, a.reason, self.tx.payer_key, self.tx_payer),
        ).fetchone()
        return max(row[0] or 0, 0)

    def _release_held(
        self,
        invoice_id: int,
        reverses: int,
        a: Adjustment,
        cls: str,
        cents: int,
        released: dict[tuple, int],
        routing: tuple[int, dict[int, int]],
    ) -> None:
        """A reversal of a payment of a replacement that posted less of a CAS than it read,
        because the postings on the claim it replaced had taken it off (_taken_on_originals),
        takes that part back where it stands: on the replaced claim, once the payer's own
        answer there was reversed and left it for this payment (_held_by_replacements). Up to
        ``cents``, what the reversed payment held back and what the original still has; the
        original re-opens by it and is closed again off what the replacement carries
        (_settle_takebacks)."""
        key = (a.group, a.reason)
        held = self.conn.execute(
            "SELECT COALESCE(SUM(ra.amount_cents - COALESCE(d.amount_cents, 0)), 0)"
            " FROM remit_adjustments ra LEFT JOIN adjustments d ON d.id = ra.adjustment_id"
            " WHERE ra.claim_id = ? AND ra.group_code = ? AND ra.reason_code = ?"
            " AND ra.amount_cents > 0",
            (reverses, a.group, a.reason),
        ).fetchone()[0]
        want = min(cents, held - released[key])
        iid = invoice_id
        while want > 0:
            row = self.conn.execute(
                "SELECT original_invoice_id FROM invoices WHERE id = ?", (iid,)
            ).fetchone()
            if row is None or row[0] is None:
                return
            iid = row[0]
            # what stands there for no other answer: the payer's own standing payments of the
            # replaced claim, or other standing payments of its replacements, keep theirs
            there = self._taken_on(iid, a)
            keep = max(self._explained_on(iid, a), self._held_by_replacements(iid, a))
            take = min(want, there - keep)
            if take <= 0:
                continue
            adj_id = self.conn.execute(
                "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
                " amount_cents, source, created_on, created_at) VALUES (?,NULL,?,?,?,?,?,?)",
                (
                    iid,
                    a.group,
                    a.reason,
                    -take,
                    "transfer" if cls == "patient" else "remit",
                    self.pay_date,
                    self.now,
                ),
            ).lastrowid
            if cls == "patient":  # routed as the share it takes back was (COB)
                assert adj_id is not None
                for (answer,) in self.conn.execute(
                    "SELECT DISTINCT ra.claim_id FROM remit_adjustments ra"
                    " JOIN adjustments t ON t.id = ra.adjustment_id"
                    " JOIN cob_routes r ON r.adjustment_id = t.id JOIN remit_claims c"
                    " ON c.id = ra.claim_id WHERE c.invoice_id = ? AND ra.group_code = ?"
                    " AND ra.reason_code = ? ORDER BY ra.claim_id",
                    (iid, a.group, a.reason),
                ).fetchall():
                    self._unroute(answer, routing[0], iid, adj_id, a, None, take, routing[1])
                    if self.conn.execute(
                        "SELECT 1 FROM cob_routes WHERE adjustment_id = ?", (adj_id,)
                    ).fetchone():
                        break
            released[key] += take
            want -= take

    def _held_by_replacements(self, invoice_id: int, a: Adjustment) -> int:
        """What this payer's standing payments of the claims that replaced ``invoice_id`` (each
        while it carries what the one before settled) did not post for a group and reason
        because the original's postings had taken it off (_taken_on_originals): their answer
        stands on those postings, so reversing the original leaves them."""
        out = 0
        iid = invoice_id
        while True:
            row = self.conn.execute(
                "SELECT i.id FROM invoices i WHERE i.original_invoice_id = ? AND i.kind = 'claim'"
                " AND (SELECT COALESCE(SUM(d.amount_cents), 0) FROM adjustments d"
                "      WHERE d.invoice_id = i.id AND d.source = 'carried') > 0"
                " ORDER BY i.id DESC LIMIT 1",
                (iid,),
            ).fetchone()
            if row is None:
                return out
            iid = row[0]
            held = self.conn.execute(
                "SELECT MAX(s) FROM (SELECT SUM(ra.amount_cents - COALESCE(d.amount_cents, 0))"
                " AS s FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
                " JOIN remit_adjustments ra ON ra.claim_id = c.id"
                " LEFT JOIN adjustments d ON d.id = ra.adjustment_id"
                " WHERE c.invoice_id = ? AND c.status_code != '22'"
                " AND c.outcome IN ('paid', 'partially_paid', 'denied')"
                " AND ra.group_code = ? AND ra.reason_code = ? AND ra.amount_cents > 0"
                " AND (t.payer_key = ? OR t.payer_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.reverses_id = c.id)"
                " GROUP BY c.id)",
                (iid, a.group, a.reason, self.tx.payer_key, self.tx_payer),
            ).fetchone()
            out = max(out, held[0] or 0)

    def _posted_by(self, remit_claim_id: int) -> dict[tuple, int]:
        """What a posted claim payment put in the ledger, per (group, reason, invoice line):
        a second payment's CAS that only explained it (_Repeat) put nothing there."""
        out: dict[tuple, int] = defaultdict(int)
        for g, r, line, cents in self.conn.execute(
            "SELECT ra.group_code, ra.reason_code, d.invoice_line_id, d.amount_cents"
            " FROM remit_adjustments ra JOIN adjustments d ON d.id = ra.adjustment_id"
            " WHERE ra.claim_id = ?",
            (remit_claim_id,),
        ):
            out[(g, r, line)] += cents
        return out

    def _already_taken(
        self, invoice_id: int, claim_id: int, a: Adjustment
    ) -> dict[int | None, int]:
        """What this payer's other postings on the invoice (reversals netted) took off for the
        same group and reason, per invoice line (None: claim level). See _Repeat for the rule."""
        return {
            line: cents
            for line, cents in self.conn.execute(
                "SELECT d.invoice_line_id, SUM(d.amount_cents) FROM remit_adjustments ra"
                " JOIN adjustments d ON d.id = ra.adjustment_id"
                " JOIN remit_claims c ON c.id = ra.claim_id"
                " JOIN remit_transactions t ON t.id = c.transaction_id"
                " WHERE c.invoice_id = ? AND ra.claim_id != ? AND ra.group_code = ?"
                " AND ra.reason_code = ? AND (t.payer_key = ? OR t.payer_id = ?)"
                " GROUP BY d.invoice_line_id",
                (invoice_id, claim_id, a.group, a.reason, self.tx.payer_key, self.tx_payer),
            )
        }

    def _split_cap(
        self, invoice_id: int, claim_id: int, a: Adjustment, amount: int, held: dict[tuple, int]
    ) -> int:
        """How much of a split part's CAS (``amount``) not to post: the parts of a split claim
        are not repeats of each other, but together they repeat what the payer's standing
        postings on the claims a replacement replaced took off (_taken_on_originals): that pool
        is used up by what the other parts (and this one's earlier CAS, ``held``) left out."""
        pool = self._taken_on_originals(invoice_id, a)
        if pool <= 0:
            return 0
        key = (a.group, a.reason)
        row = self.conn.execute(
            "SELECT COALESCE(SUM(ra.amount_cents - COALESCE(d.amount_cents, 0)), 0)"
            " FROM remit_adjustments ra JOIN remit_claims c ON c.id = ra.claim_id"
            " JOIN remit_transactions t ON t.id = c.transaction_id"
            " LEFT JOIN adjustments d ON d.id = ra.adjustment_id"
            " WHERE c.invoice_id = ? AND c.id != ? AND c.status_code != '22'"
            " AND c.outcome IN ('paid', 'partially_paid', 'denied')"
            " AND ra.group_code = ? AND ra.reason_code = ? AND ra.amount_cents > 0"
            " AND (t.payer_key = ? OR t.payer_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.reverses_id = c.id)",
            (invoice_id, claim_id, a.group, a.reason, self.tx.payer_key, self.tx_payer),
        ).fetchone()
        cap = min(amount, max(0, pool - row[0] - held[key]))
        held[key] += cap
        return cap

    def _taken_on_originals(self, invoice_id: int, a: Adjustment) -> int:
        """What this payer's postings on the claims a replacement (or resubmitted claim)
        replaced took off for the same group and reason, reversals netted, while it still
        carries what they settled (its 'carried' adjustment, which billing.lifecycle's
        settle_takeback takes off when the payer reverses them): the payer answered the claim
        once already, so paying the replacement without reversing the original repeats that
        answer (see _Repeat) and its CAS only explain a second payment."""
        out = 0
        iid: int | None = invoice_id
        while iid is not None:
            row = self.conn.execute(
                "SELECT i.original_invoice_id, (SELECT COALESCE(SUM(d.amount_cents), 0)"
                " FROM adjustments d WHERE d.invoice_id = i.id AND d.source = 'carried')"
                " FROM invoices i WHERE i.id = ? AND i.kind = 'claim'",
                (iid,),
            ).fetchone()
            if row is None or row[0] is None or row[1] <= 0:
                return out
            iid = row[0]
            out += self._taken_on(iid, a)
        return out

    def _only_duplicate(self, claim: ClaimPayment, payer_id: int | None) -> bool:
        """Nothing paid and every non-PR adjustment is the payer's 'duplicate' (OA-18): the
        payer matched it to a claim it processed before; nothing to post, nothing to appeal."""
        classes = [
            self.classifier.classify(payer_id, a.group, a.reason)
            for _, a in claim.all_adjustments()
            if a.amount_cents and a.group != "PR"
        ]
        return claim.paid_cents == 0 and bool(classes) and set(classes) == {"duplicate"}

    def payments(self) -> None:
        """One payment per payer in this transaction, then its allocations."""
        conn, tx = self.conn, self.tx
        for payer_id, rows in self.allocs.items():
            total = sum(r[2] for r in rows)
            pay_id = conn.execute(
                "INSERT INTO payments (kind, patient_id, payer_id, amount_cents, method, reference,"
                " received_on, created_at) VALUES ('insurance', NULL, ?, ?, ?, ?, ?, ?)",
                (payer_id, total, tx.method, tx.trace_number, self.pay_date, self.now),
            ).lastrowid
            conn.conn.executemany(
                "INSERT INTO payment_allocations (payment_id, invoice_id, invoice_line_id,"
                " amount_cents) VALUES (?,?,?,?)",
                [(pay_id, i, il, c) for i, il, c in rows],
            )
            conn.execute(
                "INSERT INTO remit_payments (transaction_id, payment_id) VALUES (?,?)",
                (self.tx_id, pay_id),
            )
            assert pay_id is not None
            self.payment_ids[payer_id] = pay_id

    def undo_clerk_entries(self, res: ImportResult) -> None:
        """The payer settles what the clerk had already taken off (module rules): on each claim
        this transaction left below zero, the clerk's transfers to the patient, then write-offs,
        newest first, are reversed by an opposite entry naming them, up to what is below zero."""
        conn = self.conn
        done: set[int] = set()
        # claims this transaction paid (not reversals), and claims a negative PLB gave money
        # back to (a recoupment returned: the payment it took stands again)
        paid = [
            (e.invoice_id, e.claim.claim_number, True)
            for e in self.events
            if not e.claim.is_reversal
        ]
        paid += [
            (iid, self._number(iid), False)
            for _p, iid, _plb, cents, _how in self.recouped
            if cents < 0
        ]
        for iid, number, by_claim in paid:
            if iid in done or _final_state(conn, iid):
                continue
            done.add(iid)
            if by_claim and self._paid_before(iid):
                continue  # a second payment: the payer's overpayment (its credit), see _Repeat
            (bal,) = conn.execute(
                "SELECT total_cents + credited_cents - paid_cents - adjusted_cents"
                " FROM invoice_balances WHERE invoice_id = ?",
                (iid,),
            ).fetchone()
            need = -bal
            for adj_id, kind, group, reason, left in conn.execute(
                "SELECT d.id, c.kind, d.group_code, d.reason_code, d.amount_cents + COALESCE("
                " (SELECT SUM(x.amount_cents) FROM clerk_adjustments u JOIN adjustments x"
                " ON x.id = u.adjustment_id WHERE u.reverses_adjustment_id = d.id), 0)"
                " FROM adjustments d JOIN clerk_adjustments c ON c.adjustment_id = d.id"
                " WHERE d.invoice_id = ? AND c.kind IN ('transfer', 'writeoff')"
                " AND c.reverses_adjustment_id IS NULL AND d.amount_cents > 0"
                " ORDER BY c.kind = 'writeoff', d.id DESC",
                (iid,),
            ).fetchall():
                take = min(need, left)
                if take <= 0:
                    continue
                need -= take
                self._undo_clerk_entry(iid, adj_id, kind, group, reason, take, number, res)

    def _number(self, invoice_id: int) -> str:
        return self.conn.execute(
            "SELECT number FROM invoices WHERE id = ?", (invoice_id,)
        ).fetchone()[0]

    def _paid_before(self, invoice_id: int) -> bool:
        """This payer already has a payment on the claim from an earlier transaction that no
        reversal took back: what this one pays again is its overpayment (module rules)."""
        return (
            self.conn.execute(
                "SELECT 1 FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
                " WHERE c.invoice_id = ? AND c.transaction_id != ? AND c.status_code != '22'"
                " AND c.paid_cents > 0 AND c.outcome IN ('paid', 'partially_paid')"
                " AND (t.payer_key = ? OR t.payer_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.reverses_id = c.id)"
                " LIMIT 1",
                (invoice_id, self.tx_id, self.tx.payer_key, self.tx_payer),
            ).fetchone()
            is not None
        )

    def _undo_clerk_entry(
        self,
        invoice_id: int,
        entry: int,
        kind: str,
        group: str | None,
        reason: str | None,
        cents: int,
        number: str,
        res: ImportResult,
    ) -> None:
        """One opposite entry of clerk entry ``entry`` (accounts.adjust's shape: an adjustment
        of the same source with its clerk_adjustments row naming the entry), audited."""
        conn = self.conn
        why = f"the payer paid it: 835 trace {self.tx.trace_number}"
        adj = conn.execute(
            "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
            " amount_cents, source, created_on, created_at) VALUES (?,NULL,?,?,?,?,?,?)",
            (invoice_id, group, reason, -cents, kind, self.pay_date, self.now),
        ).lastrowid
        conn.execute(
            "INSERT INTO clerk_adjustments (adjustment_id, kind, reason, reference,"
            " reverses_adjustment_id, os_user, at) VALUES (?,?,?,?,?,?,?)",
            (
                adj,
                kind,
                f"undo {entry}: {why}",
                self.tx.trace_number,
                entry,
                audit.os_user(),
                self.now,
            ),
        )
        audit.record(
            conn,
            "remit undo clerk entry",
            entity="adjustments",
            ids=[adj],
            detail={"invoice_id": invoice_id, "reverses": entry, "amount_cents": -cents},
        )
        what = "write-off" if kind == "writeoff" else "transfer to the patient"
        res.undone.append(
            f"{number}: {what} {entry} reversed by {money.fmt(cents)} (entry {adj}): {why}"
        )

    def _denied(self, claim: ClaimPayment, invoice_id: int) -> bool:
        payer = self.conn.execute(
            "SELECT payer_id FROM invoices WHERE id = ?", (invoice_id,)
        ).fetchone()
        pid = self.payer_of(payer[0] if payer else None)
        return any(
            self.classifier.classify(pid, a.group, a.reason) == "denial"
            for _, a in claim.all_adjustments()
            if a.amount_cents > 0
        )

    def status_events(self, res: ImportResult) -> None:
        """Status events last, once every payment and adjustment of the transaction is in; the
        payer's claim number goes where the billing domain reads it for corrected and void
        claims (REF*F8)."""
        conn, now = self.conn, self.now
        has_pcn_table = (
            conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payer_claim_numbers'"
            ).fetchone()
            is not None
        )
        corrected = {e.invoice_id for e in self.events if not e.claim.is_reversal}
        for invoice_id, claim_id, idx, claim in self.events:
            status = _status(conn, invoice_id, claim, self._denied(claim, invoice_id))
            if claim.is_reversal and invoice_id in corrected:
                status = "reversed"  # its correction follows in this transaction, with its state
            # the claim payment's outcome is what it was; the claim's state follows its balance
            outcome = "reversed" if claim.is_reversal else status
            res.claims[idx].outcome = outcome
            if status == "unprocessable":
                res.claims[idx].note = "Medicare MA130: resubmit as a new claim, do not appeal"
            conn.execute(
                "UPDATE remit_claims SET outcome = ? WHERE id = ?",
                ("denied" if status == "unprocessable" else outcome, claim_id),
            )
            final = _final_state(conn, invoice_id)
            if final:
                res.claims[idx].final_state = final
                continue
            if status in ("denied", "unprocessable") and _settled(conn, invoice_id):
                continue  # a denial of what the clerk already settled moves nothing
            conn.execute(
                "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
                (
                    invoice_id,
                    status,
                    now,
                    f"835 trace {self.tx.trace_number}, remit claim {claim_id}",
                ),
            )
            if claim.payer_claim_number and not claim.is_reversal and has_pcn_table:
                conn.execute(
                    "INSERT INTO payer_claim_numbers (invoice_id, payer_claim_number, source,"
                    " recorded_at) VALUES (?,?,?,?)"
                    " ON CONFLICT (invoice_id) DO UPDATE SET"
                    " payer_claim_number = excluded.payer_claim_number,"
                    " source = excluded.source, recorded_at = excluded.recorded_at",
                    (invoice_id, claim.payer_claim_number, f"835 remit claim {claim_id}", now),
                )


def _claim_outcome(
    conn: Database,
    claim: ClaimPayment,
    inv: tuple | None,
    invoice_id: int | None,
    pending: set[int],
) -> tuple[str | None, str, int | None]:
    """(outcome, note, remit claim reversed) before posting: 'unmatched' (not our claim),
    'not_posted' (a reversal of nothing posted here), 'reversed', 'duplicate', or None (post
    it; its status comes from the balance afterwards)."""
    if invoice_id is None:
        if not inv:
            return "unmatched", "no claim with this number", None
        return "unmatched", f"invoice {inv[0]} is a {inv[1]} invoice, not a claim", None
    if claim.is_reversal:
        reverses = _active_posting(conn, invoice_id, claim, want_reverse=True, pending=pending)
        if reverses is None:
            return "not_posted", "reversal of a payment that was never posted here", None
        return "reversed", f"reverses remit claim {reverses}", reverses
    if _is_split(claim):  # the parts of a split claim (MA15) are not duplicates of each other
        pending = set()
    dup = _active_posting(conn, invoice_id, claim, want_reverse=False, pending=pending)
    if dup is not None:
        where = "earlier in this transaction" if dup in pending else "already posted"
        return "duplicate", f"same payment as remit claim {dup}, {where}", None
    if claim.status_code == "23" and claim.paid_cents == 0:
        to = f" to {claim.crossover_payer}" if claim.crossover_payer else ""
        return "not_posted", f"not this payer's claim: forwarded{to} (CLP02 23)", None
    return None, "", None


def _insert_claim(
    conn: Database,
    tx_id: int,
    claim: ClaimPayment,
    invoice_id: int | None,
    outcome: str | None,
    reverses: int | None,
    note: str,
) -> int:
    """The claim payment as read (remit_claims); returns its id."""
    claim_id = conn.execute(
        "INSERT INTO remit_claims (transaction_id, seq, claim_number, invoice_id, status_code,"
        " charge_cents, paid_cents, patient_resp_cents, filing_indicator, payer_claim_number,"
        " facility_code, frequency_code, statement_from, statement_to, remarks, outcome,"
        " reverses_id, note, crossover_payer, crossover_payer_id)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            tx_id,
            claim.seq,
            claim.claim_number,
            invoice_id,
            claim.status_code,
            claim.charge_cents,
            claim.paid_cents,
            claim.patient_resp_cents,
            claim.filing_indicator,
            claim.payer_claim_number,
            claim.facility_code,
            claim.frequency_code,
            claim.statement_from,
            claim.statement_to,
            ",".join(claim.remarks),
            outcome or "not_posted",  # the claim's status once the transaction is posted
            reverses,
            note or None,
            claim.crossover_payer,
            claim.crossover_payer_id,
        ),
    ).lastrowid
    assert claim_id is not None
    return claim_id


def _insert_adjudications(conn: Database, claim_id: int, claim: ClaimPayment) -> None:
    """The claim's MIA/MOA segments as read (remit_adjudications), one row each."""
    for adj in claim.adjudications:
        row: dict[str, object] = {"claim_id": claim_id, "kind": adj.kind}
        row.update(adj.amounts)
        row.update(adj.values)
        row["remarks"] = ",".join(adj.remarks)
        # column names come from parse.MIA_ELEMENTS/MOA_ELEMENTS (constants), never from input
        conn.execute(
            f"INSERT INTO remit_adjudications ({', '.join(row)})"
            f" VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )


def _insert_lines(
    conn: Database, claim_id: int, claim: ClaimPayment, line_ids: list[int | None]
) -> list[int]:
    """The claim's service lines as read (remit_lines), each with the invoice line it matched."""
    out = []
    for ln, inv_line in zip(claim.lines, line_ids, strict=True):
        rid = conn.execute(
            "INSERT INTO remit_lines (claim_id, seq, invoice_line_id, qualifier, code, modifiers,"
            " charge_cents, paid_cents, allowed_cents, units, revenue_code, original_code,"
            " service_from, service_to, control_number, remarks)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                claim_id,
                ln.seq,
                inv_line,
                ln.qualifier,
                ln.code,
                ",".join(ln.modifiers),
                ln.charge_cents,
                ln.paid_cents,
                ln.allowed_cents,
                ln.units,
                ln.revenue_code,
                ln.original_code,
                ln.service_from,
                ln.service_to,
                ln.control_number,
                ",".join(ln.remarks),
            ),
        ).lastrowid
        assert rid is not None
        out.append(rid)
    return out


def _take_back(posted: dict[tuple, int], a: Adjustment, line: int | None, cents: int) -> int:
    """How much of a reversal's CAS (``cents`` > 0 taken back) the reversed posting put in the
    ledger for its group and reason: on the same invoice line first, then anywhere on the
    claim; what it never posted is not taken back. ``posted`` is drawn down."""
    keys = [(a.group, a.reason, line)] + [
        k for k in posted if k[:2] == (a.group, a.reason) and k[2] != line
    ]
    out = 0
    for k in keys:
        take = min(cents - out, max(posted.get(k, 0), 0))
        if take > 0:
            posted[k] -= take
            out += take
    return out


def _settled(conn: Database, invoice_id: int) -> bool:
    """Nothing is open and the claim's state says the clerk settled it ('written_off', 'closed'):
    a denial posted then (a reconsideration upheld, a repeated denial) keeps that state, since
    'denied' says the amount is open (docs/claim-states.md)."""
    row = conn.execute(
        "SELECT s.status, b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents"
        " FROM invoice_status s JOIN invoice_balances b ON b.invoice_id = s.invoice_id"
        " WHERE s.invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    return bool(row) and row[0] in ("written_off", "closed") and row[1] <= 0


def _final_state(conn: Database, invoice_id: int) -> str | None:
    """'voided', 'replaced' or 'corrected' when the claim reached one of these final states
    (docs/claim-states.md): an 835 posted to it afterwards moves money, never its state."""
    row = conn.execute(
        "SELECT status FROM invoice_events WHERE invoice_id = ?"
        " AND status IN ('voided', 'replaced', 'corrected') ORDER BY id DESC LIMIT 1",
        (invoice_id,),
    ).fetchone()
    return row[0] if row else None


def _status(conn: Database, invoice_id: int, claim: ClaimPayment, denied: bool) -> str:
    """The claim's status after this payment (module rules)."""
    row = conn.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents, paid_cents"
        " FROM invoice_balances WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    bal, paid = (row[0], row[1]) if row else (0, 0)
    if claim.is_reversal:
        return "reversed" if bal > 0 else "paid"
    if claim.paid_cents == 0 and "MA130" in _all_remarks(claim) and _is_medicare(conn, invoice_id):
        return "unprocessable"
    # 'denied' is nothing paid on the claim: a denied part of a split claim (MA15), or a denial
    # after another payment stands, leaves it partly paid
    if (claim.status_code == "4" or (claim.paid_cents == 0 and denied)) and paid <= 0:
        return "denied"
    return "paid" if bal <= 0 else "partially_paid"


def payer_claim_number(conn: Database, invoice_id: int) -> str | None:
    """The payer's claim control number (CLP07) from the latest posted, not reversed, payment of
    an invoice: what a corrected (frequency 7) or void (8) claim quotes in REF*F8."""
    row = conn.execute(
        "SELECT c.payer_claim_number FROM remit_claims c"
        " WHERE c.invoice_id = ? AND c.payer_claim_number IS NOT NULL AND c.status_code != '22'"
        " ORDER BY c.id DESC LIMIT 1",
        (invoice_id,),
    ).fetchone()
    return row[0] if row else None


def _is_split(claim: ClaimPayment) -> bool:
    """RARC MA15: "your claim has been separated to expedite handling": the payer answers the
    claim in parts, each a CLP with its own lines (835 TR3 1.10.2.10); every part posts."""
    return "MA15" in _all_remarks(claim)


def _all_remarks(claim: ClaimPayment) -> set[str]:
    out = set(claim.remarks)
    for ln in claim.lines:
        out.update(ln.remarks)
    return out


def _is_medicare(conn: Database, invoice_id: int) -> bool:
    row = conn.execute(
        "SELECT p.kind FROM invoices i JOIN payers p ON p.id = i.payer_id WHERE i.id = ?",
        (invoice_id,),
    ).fetchone()
    return bool(row) and (row[0] or "").lower() == "medicare"


# -- a payer's paper EOB ----------------------------------------------------------------------------

_CAS = re.compile(r"^(CO|CR|OA|PI|PR)-([0-9A-Z]{1,5}):(-?[0-9]+(?:\.[0-9]{1,2})?)$")


def _crossover_payer(conn: Database, invoice_id: int) -> tuple | None:
    """(id, code, name, x12 id) of the payer a 'crossed_over' claim waits on (cob_crossovers,
    billing/cob.py), or None when the claim waits on no crossover."""
    row = conn.execute(
        "SELECT p.id, p.code, p.name, p.x12_payer_id FROM invoice_status s"
        " JOIN cob_crossovers x ON x.invoice_id = s.invoice_id JOIN payers p ON p.id = x.next_payer_id"
        " WHERE s.invoice_id = ? AND s.status = 'crossed_over' ORDER BY x.rowid DESC LIMIT 1",
        (invoice_id,),
    ).fetchone()
    return tuple(row) if row else None


def parse_cas(text: str) -> tuple[str, str, int]:
    """One `GROUP-CARC:AMOUNT` (e.g. CO-45:50.00) as the EOB prints it -> (group, carc, cents)."""
    m = _CAS.match((text or "").strip().upper())
    if not m:
        raise BadInput(f"--adjust {text!r}: expected GROUP-CARC:AMOUNT, e.g. CO-45:50.00")
    try:
        return m[1], m[2], money.parse_cents(m[3])
    except money.MoneyError as e:
        raise BadInput(f"--adjust {text!r}: {e}") from None


def post_eob(
    conn: Database,
    claim_number: str,
    *,
    paid_cents: int,
    cas: list[tuple[str, str, int]],
    reference: str,
    on: _dt.date,
    status_code: str | None = None,
    payer_claim_number: str | None = None,
    today: _dt.date | None = None,
    payer: str | None = None,
) -> ImportResult:
    """Post a payer's paper EOB for one claim through the 835 posting path: the EOB becomes a
    one-claim transaction (payer key 'EOB ' + payer code, trace = reference + claim, so posting
    the same EOB twice is refused as already posted) with claim-level CAS, posted by the same
    code as `remit import` (classes, transfers, denials left open, status, COB routing).
    The EOB is the claim payer's, or, for a claim that is 'crossed_over', the crossover payer's
    it waits on (billing/cob.py), or the payer whose code ``payer`` names: that payer's money
    and adjustments are its own (the per-payer ledger), as its 835 would post them.

    The EOB must balance as an 835 claim does (005010X221A1 1.10.2.1: CLP03 charge - CLP04 paid
    = the CAS total): paid + adjustments = the claim's charge. Refused (exit 2, one line naming
    the claim, nothing written): an unknown claim or one that is not ours to post (a patient
    invoice, a credit note, voided, replaced or corrected, i.e. resubmitted as a new claim),
    amounts that do not balance, no reference."""
    number = (claim_number or "").strip().upper()
    row = conn.execute(
        "SELECT i.id, i.kind, i.total_cents, p.code, p.name, p.x12_payer_id, i.payer_id"
        " FROM invoices i LEFT JOIN payers p ON p.id = i.payer_id WHERE i.number = ?",
        (number,),
    ).fetchone()
    if row is None or row[1] != "claim":
        raise BadInput(f"{number}: no such claim" + (f" (a {row[1]} invoice)" if row else ""))
    inv_id, _, charge, payer_code, payer_name, payer_x12, _pid = row
    waits_on = _crossover_payer(conn, inv_id)
    if payer is not None and payer.strip():
        waits_on = conn.execute(
            "SELECT id, code, name, x12_payer_id FROM payers WHERE UPPER(code) = ?",
            (payer.strip().upper(),),
        ).fetchone()
        if waits_on is None:
            raise BadInput(f"{number}: no payer {payer.strip().upper()}; nothing posted")
    if waits_on is not None:  # the answer the claim waits for: the crossover payer's
        _pid, payer_code, payer_name, payer_x12 = waits_on
    closed = conn.execute(
        "SELECT status FROM invoice_events WHERE invoice_id = ?"
        " AND status IN ('voided', 'replaced', 'corrected')",
        (inv_id,),
    ).fetchone()
    if closed and closed[0] == "voided":
        raise BadInput(
            f"{number}: the claim is voided, nothing is open to post an EOB to; return the"
            " payer's check, or post its 835 (its payment is then the payer's credit)"
        )
    if closed:
        raise BadInput(
            f"{number}: the claim is {closed[0]}; post the EOB to the claim that replaced it"
        )
    ref = (reference or "").strip()
    if not ref:
        raise BadInput(f"{number}: --reference (the check or EOB number) is required")
    total = paid_cents + sum(c for _, _, c in cas)
    if total != charge:
        d = total - charge
        raise BadInput(
            f"{number}: paid {money.fmt(paid_cents)} + adjustments"
            f" {money.fmt(total - paid_cents)} = {money.fmt(total)} != charge {money.fmt(charge)}"
            f" ({money.fmt(abs(d))} too {'much' if d > 0 else 'little'}); nothing posted"
        )
    denial = paid_cents == 0 and any(
        carc_rules.Classifier(conn).classify(_pid, g, r) == "denial" for g, r, c in cas if c > 0
    )
    claim = ClaimPayment(
        seq=1,
        claim_number=number,
        status_code=status_code or ("4" if denial else "1"),
        charge_cents=charge,
        paid_cents=paid_cents,
        patient_resp_cents=sum(c for g, _, c in cas if g == "PR") or None,
        filing_indicator=None,
        payer_claim_number=(payer_claim_number or "").strip() or None,
        segment=0,
        adjustments=[Adjustment(g, r, c) for g, r, c in cas],
    )
    tx = Transaction(
        control_number="EOB",
        segment=0,
        handling_code="I",
        amount_cents=paid_cents,
        method="CHK",
        payment_date=on.isoformat(),
        trace_number=f"{ref} {number}",
        trace_company=f"EOB {payer_code}",
        payer_name=payer_name,
        payer_id=payer_x12,
        claims=[claim],
    )
    body = json.dumps(
        {"claim": number, "paid": paid_cents, "cas": cas, "reference": ref, "on": on.isoformat()}
    )
    rf = RemitFile(
        path="",
        name=f"paper EOB {ref}",
        sha256=hashlib.sha256(body.encode()).hexdigest(),
        size=len(body),
        transactions=[tx],
    )
    res = ImportResult()
    with dbmod.write(conn):
        _post_file(conn, rf, res)
        if res.already_posted:
            raise BadInput(f"{number}: this EOB ({ref}) was already posted; nothing posted")
        from ..billing import cob, lifecycle

        lifecycle.credit_reversed_shares(conn, today=today or on)
        cob.route(conn, today=today or on, at=_now())
    return res
