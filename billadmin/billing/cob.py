"""Coordination of benefits: what a payer's answer leaves goes to the next payer, then the patient.

After a payer's 835 is posted (remit/post.py), its patient responsibility (CAS group PR) sits in
adjustments with source 'transfer'. `route` decides, once per transfer, where it goes
(cob_routes), by these rules in order:

  COB-CROSSOVER       the 835 says the payer forwarded the claim (CLP02 19, 20 or 21 "processed
                      as primary/secondary/tertiary, forwarded to additional payer(s)", or remark
                      MA18 forwarded to the supplemental insurer, MA07 to Medicaid, N89 to more
                      than one payer; MA19 and MA08 say it was not forwarded and win). No claim
                      is sent: the amount goes back on the claim (an opposite adjustment, source
                      'cob'), the claim is 'crossed_over' and waits for the next payer's 835 on
                      the same claim, followed up after the payer's crossover_follow_up_days
                      (default 30; CMS Medicare Claims Processing Manual ch. 28 s. 70.6).
  COB-NEXT-PAYER      another coverage is active on the date of service after the payer that
                      answered (coverages.priority 1/2/3): the next `invoice generate` bills it
                      an 837P COB claim (S, then T) for the amounts the answer left.
  COB-QMB             no payer is left and the patient is a Qualified Medicare Beneficiary (the
                      coverage's qmb flag, or remark N781-N783 on the answer) with Medicare on
                      the claim: Medicare cost-sharing is never billed to the patient (SSA
                      1902(n)(3)(B), 1866(a)(1)(A)). Held on the claim for the clerk.
  COB-MEDICAID-PAID-IN-FULL
                      no payer is left and Medicaid answered the claim: what Medicaid accepted
                      is payment in full (42 CFR 447.15), so only the state's nominal co-pay
                      (CARC 3) and the patient's share of cost or spend-down (CARC 142, 178)
                      go to the patient; the rest is held on the claim.
  otherwise           the patient's: the next patient invoice bills it (patient_invoices.py).

A next-payer claim (`issue`) is a new claim invoice for the next payer carrying the same lines
and charges (CLM02 is the original total, as the guide requires; its lines name no charge
line, which stays on the first claim only) and ONE adjustment (source
'cob', OA-23, prior payers' impact) of the total less what the prior payer left, so its open
balance is exactly that amount. Its content carries each prior payer's answer (loop 2320: SBR,
claim-level CAS, AMT*D paid, AMT*EAF remaining patient liability, OI, MOA remark codes; 2330A,
2330B; per line 2430 SVD, CAS, DTP*573), from the prior payer's 835 as posted; a tertiary claim
carries the primary's answer from the secondary claim's content and the secondary's from its
835. Before it is written the claim must balance (`balance_problems`; pyx12 does not add):
for each prior payer, AMT*D + its claim-level CAS + its 2430 CAS = CLM02; the 2430 SVD02 add up
to AMT*D + the claim-level CAS; per 2430, SVD02 + its CAS = the line's SV102; SVD01 = 2330B
NM109 (005010X222A1 sections 1.4.1.1 and the 2320 AMT*D, 2430 SVD notes). A claim that does
not balance is held (COB-BALANCE), as is one whose next payer cannot be billed (CLAIM-PAYER-ID,
CLAIM-MEMBER-ID, CLAIM-SUBSCRIBER) or a Medicare secondary claim without the Medicare secondary
payer type (COB-MSP-TYPE, SBR05). An institutional claim's next-payer claim is an 837I, built
by institutional/cob.py by the same rules.

AMT*A8 is not sent: the guide uses it only when the prior payer was bypassed (then it equals
CLM02), and billadmin always bills the prior payer first.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import BadInput
from ..findings import Finding
from . import content

if TYPE_CHECKING:
    from ..db import Database
    from .invoices import InvoiceIds, NewInvoice

SOURCE = "X12 837P 005010X222A1 TR3 (COB, loops 2320/2330/2430)"
FORWARDED_STATUS = frozenset({"19", "20", "21"})
FORWARDED_REMARKS = frozenset({"MA18", "MA07", "N89"})
NOT_FORWARDED_REMARKS = frozenset({"MA19", "MA08"})
QMB_REMARKS = frozenset({"N781", "N782", "N783"})
MEDICAID_BILLABLE_CARCS = frozenset({"3", "142", "178"})
FOLLOW_UP_DAYS = 30
SEQUENCE = {2: "S", 3: "T"}

# rules that hold an amount on the claim (not billed to anyone until the clerk acts)
HOLD_RULES = ("COB-QMB", "COB-MEDICAID-PAID-IN-FULL")


@dataclass
class Answer:
    """One payer's posted answer to a claim (remit_claims and its lines and CAS)."""

    remit_claim_id: int
    invoice_id: int
    payer_id: int | None
    status_code: str
    charge_cents: int
    paid_cents: int
    remarks: list[str]
    date: str
    claim_cas: list[list] = field(default_factory=list)  # [group, reason, cents]
    lines: dict[int, dict] = field(default_factory=dict)  # prior invoice line_no -> line answer

    @property
    def forwarded(self) -> bool:
        r = set(self.remarks)
        if r & NOT_FORWARDED_REMARKS:
            return False
        return self.status_code in FORWARDED_STATUS or bool(r & FORWARDED_REMARKS)

    @property
    def qmb(self) -> bool:
        return bool(set(self.remarks) & QMB_REMARKS)


def answer(conn: Database, remit_claim_id: int) -> Answer:
    """A posted answer with its claim-level CAS and its lines by the claim's line number."""
    r = conn.execute(
        "SELECT c.id, c.invoice_id, t.payer_id, c.status_code, c.charge_cents, c.paid_cents,"
        " c.remarks, COALESCE(t.payment_date, t.production_date)"
        " FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id WHERE c.id = ?",
        (remit_claim_id,),
    ).fetchone()
    a = Answer(
        r[0], r[1], r[2], r[3], r[4], r[5], [x for x in (r[6] or "").split(",") if x], r[7] or ""
    )
    line_no: dict[int, int] = {}
    for rid, paid, charge, no in conn.execute(
        "SELECT l.id, l.paid_cents, l.charge_cents, il.line_no FROM remit_lines l"
        " LEFT JOIN invoice_lines il ON il.id = l.invoice_line_id WHERE l.claim_id = ?"
        " ORDER BY l.seq",
        (remit_claim_id,),
    ):
        if no is None:
            no = -rid  # matched no line of ours: kept, so the sums show it does not balance
        line_no[rid] = no
        a.lines[no] = {"paid_cents": paid, "charge_cents": charge, "cas": []}
    for line_id, group, reason, cents in conn.execute(
        "SELECT line_id, group_code, reason_code, amount_cents FROM remit_adjustments"
        " WHERE claim_id = ? ORDER BY id",
        (remit_claim_id,),
    ):
        if cents == 0:
            continue
        if line_id is None:
            a.claim_cas.append([group, reason, cents])
        else:
            a.lines[line_no[line_id]]["cas"].append([group, reason, cents])
    return a


# -- routing -------------------------------------------------------------------------------------


@dataclass
class Routed:
    invoice: str
    rule: str
    amount_cents: int
    next_payer: str | None
    note: str = ""

    def row(self) -> dict:
        return {
            "claim": self.invoice,
            "rule": self.rule,
            "amount_cents": self.amount_cents,
            "next_payer": self.next_payer,
            "note": self.note,
        }


def _claim_facts(conn: Database, invoice_id: int) -> dict:
    r = conn.execute(
        "SELECT i.number, i.patient_id, i.payer_id, COALESCE(e.date_of_service, MIN(l.date_of_service))"
        " FROM invoices i LEFT JOIN encounters e ON e.id = i.encounter_id"
        " LEFT JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.id = ?",
        (invoice_id,),
    ).fetchone()
    return {"number": r[0], "patient_id": r[1], "payer_id": r[2], "dos": r[3]}


def coverages_on(conn: Database, patient_id: int, dos: str | None, payers: dict) -> list[dict]:
    """The patient's insurance coverages active on the date of service, primary first, each
    with its qmb flag and Medicare secondary payer type (content.active_coverages' order)."""
    cols = content.COVERAGE_COLS + ("qmb", "msp_type")
    covs = [
        dict(zip(cols, r, strict=True))
        for r in conn.execute(
            f"SELECT {', '.join(cols)} FROM coverages WHERE patient_id = ?", (patient_id,)
        )
    ]
    return content.active_coverages(covs, dos, payers) if dos else []


def chain(conn: Database, invoice_id: int) -> list[int]:
    """The claim and the claims it follows (cob_claims), latest first."""
    out = [invoice_id]
    while True:
        r = conn.execute(
            "SELECT prior_invoice_id FROM cob_claims WHERE invoice_id = ?", (out[-1],)
        ).fetchone()
        if r is None or r[0] in out:
            return out
        out.append(r[0])


def _answering_payers(conn: Database, invoices: list[int]) -> set[int]:
    out = set()
    for iid in invoices:
        out |= {
            r[0]
            for r in conn.execute(
                "SELECT i.payer_id FROM invoices i WHERE i.id = ?"
                " UNION SELECT t.payer_id FROM remit_claims c"
                " JOIN remit_transactions t ON t.id = c.transaction_id"
                " WHERE c.invoice_id = ? AND t.payer_id IS NOT NULL",
                (iid, iid),
            )
        }
    return out


def next_coverage(covs: list[dict], answered_by: int | None) -> dict | None:
    """The coverage after the one whose payer answered (None: no payer is left)."""
    pos = next((i for i, c in enumerate(covs) if c["payer_id"] == answered_by), None)
    if pos is None:
        return None
    return covs[pos + 1] if pos + 1 < len(covs) else None


def route(conn: Database, *, today: _dt.date, at: str) -> list[Routed]:
    """Route every patient-responsibility transfer not yet routed nor on a patient invoice
    (rules in the module docstring). Called by `invoice generate` before it bills; safe to
    call again (each transfer is routed once) and from the 835 posting."""
    pending: dict[tuple[int, int | None], list[tuple]] = defaultdict(list)
    for row in conn.execute(
        "SELECT a.id, a.invoice_id, a.invoice_line_id, a.group_code, a.reason_code,"
        " a.amount_cents, ra.claim_id FROM adjustments a JOIN invoices i ON i.id = a.invoice_id"
        " LEFT JOIN remit_adjustments ra ON ra.adjustment_id = a.id"
        " WHERE a.source = 'transfer' AND i.kind = 'claim' AND a.amount_cents > 0"
        " AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = a.id)"
        " AND NOT EXISTS (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = a.id)"
        " ORDER BY a.invoice_id, a.id"
    ):
        pending[(row[1], row[6])].append(row)
    if not pending:
        return []
    payers = content.load_payers(conn)
    out: list[Routed] = []
    for (invoice_id, remit_claim_id), rows in pending.items():
        if remit_claim_id is None:
            continue  # not from an 835 (no answer to pass on): the patient's, as before
        out += _route_answer(
            conn, invoice_id, answer(conn, remit_claim_id), rows, payers, today, at
        )
    return out


def _route_answer(
    conn: Database,
    invoice_id: int,
    ans: Answer,
    rows: list[tuple],
    payers: dict,
    today: _dt.date,
    at: str,
) -> list[Routed]:
    facts = _claim_facts(conn, invoice_id)
    covs = coverages_on(conn, facts["patient_id"], facts["dos"], payers)
    answered_by = ans.payer_id or facts["payer_id"]
    nxt = next_coverage(covs, answered_by)
    claims = chain(conn, invoice_id)
    kinds = {payers[p]["kind"] for p in _answering_payers(conn, claims) if p in payers}
    qmb = ans.qmb or any(c["qmb"] for c in covs)
    total = sum(r[5] for r in rows)
    if ans.forwarded:
        to, to_name = crossover_payer(conn, ans, covs, answered_by, payers)
        days = payers.get(to, {}).get("crossover_follow_up_days") if to else None
        follow = today + _dt.timedelta(days=int(days or FOLLOW_UP_DAYS))
        _record(conn, rows, invoice_id, ans, "COB-CROSSOVER", to, restore=True, today=today, at=at)
        conn.execute(
            "INSERT OR IGNORE INTO cob_crossovers (remit_claim_id, invoice_id, next_payer_id,"
            " follow_up_on, at) VALUES (?,?,?,?,?)",
            (ans.remit_claim_id, invoice_id, to, follow.isoformat(), at),
        )
        conn.execute(
            "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'crossed_over', ?, ?)",
            (
                invoice_id,
                at,
                f"{to_name}remit claim {ans.remit_claim_id}; follow up on {follow.isoformat()}",
            ),
        )
        code = payers[to]["code"] if to else None
        note = f"{to_name}follow up {follow}" if "assumed" in to_name else f"follow up {follow}"
        return [Routed(facts["number"], "COB-CROSSOVER", total, code, note)]
    if nxt is not None:
        to = nxt["payer_id"]
        _record(
            conn, rows, invoice_id, ans, "COB-NEXT-PAYER", to, restore=False, today=today, at=at
        )
        return [Routed(facts["number"], "COB-NEXT-PAYER", total, payers[to]["code"])]
    if qmb and "medicare" in kinds:
        _record(conn, rows, invoice_id, ans, "COB-QMB", None, restore=True, today=today, at=at)
        _held_event(conn, invoice_id, "COB-QMB", total, at)
        return [Routed(facts["number"], "COB-QMB", total, None, "held on the claim")]
    if "medicaid" in kinds:
        held = [r for r in rows if r[4] not in MEDICAID_BILLABLE_CARCS]
        if held:
            rule = "COB-MEDICAID-PAID-IN-FULL"
            _record(conn, held, invoice_id, ans, rule, None, restore=True, today=today, at=at)
            amount = sum(r[5] for r in held)
            _held_event(conn, invoice_id, rule, amount, at)
            return [Routed(facts["number"], rule, amount, None, "held on the claim")]
    return []


def _name_key(text: str | None) -> str:
    return " ".join((text or "").upper().replace(",", " ").replace(".", " ").split())


def crossover_payer(
    conn: Database, ans: Answer, covs: list[dict], answered_by: int | None, payers: dict
) -> tuple[int | None, str]:
    """(the payer a forwarded claim waits on, the event note's opening words).

    Rule: the crossover payer is the one the 835 names in loop 2100 NM1*TT (835 TR3
    005010X221A1: "Crossover Carrier Name", NM103 the name, NM109 its identifier, for Medicare
    the COBA id of the trading partner agreement, CMS Pub. 100-04 ch. 28 s. 70.6), matched to
    the patient's coverages active on the date of service other than the payer that answered:
    by electronic payer id (NM109 = the payer's x12 id), else by name (case, commas and periods
    ignored). When the 835 names none, or one that is no coverage of the patient (a COBA id we
    do not keep, a plan the front desk has not recorded), the next coverage after the payer that
    answered is assumed, as before, and the note says so."""
    xo = conn.execute(
        "SELECT crossover_payer, crossover_payer_id FROM remit_claims WHERE id = ?",
        (ans.remit_claim_id,),
    ).fetchone()
    name, ident = (xo[0], xo[1]) if xo else (None, None)
    others = [c["payer_id"] for c in covs if c["payer_id"] != answered_by]
    for pid in others:
        p = payers.get(pid, {})
        if ident and p.get("x12_payer_id") and p["x12_payer_id"].upper() == ident.upper():
            return pid, f"crossed over to {name or ident} (NM1*TT) = {p['code']}; "
    for pid in others:
        p = payers.get(pid, {})
        if name and _name_key(p.get("name")) == _name_key(name):
            return pid, f"crossed over to {name} (NM1*TT) = {p['code']}; "
    nxt = next_coverage(covs, answered_by)
    to = nxt["payer_id"] if nxt else None
    guess = payers[to]["code"] if to in payers else "no payer"
    if name or ident:
        return to, (
            f"crossed over to {name or ident} (NM1*TT), no coverage of the patient:"
            f" assumed the next coverage ({guess}); "
        )
    return to, f"the 835 names no crossover payer (NM1*TT): assumed the next coverage ({guess}); "


def _held_event(conn: Database, invoice_id: int, rule: str, cents: int, at: str) -> None:
    """A protected patient amount put back on the claim leaves it open: its state says so
    ('partially_paid', docs/claim-states.md) until the clerk writes the amount off, rather than
    the 'paid' the 835 posting gave it (which `check`'s CLAIM-STATE rule rightly refuses)."""
    conn.execute(
        "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'partially_paid', ?, ?)",
        (invoice_id, at, f"{rule}: {cents / 100:.2f} held on the claim, not billed to the patient"),
    )


def _record(
    conn: Database,
    rows: list[tuple],
    invoice_id: int,
    ans: Answer,
    rule: str,
    next_payer_id: int | None,
    *,
    restore: bool,
    today: _dt.date,
    at: str,
) -> None:
    """One cob_routes row per transfer; `restore` puts the amount back on the claim with an
    opposite adjustment (source 'cob'), where it waits (crossover) or is held (QMB, Medicaid)."""
    for adj_id, _inv, line_id, group, reason, cents, _rc in rows:
        restored = None
        if restore:
            restored = conn.execute(
                "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
                " amount_cents, source, created_on, created_at) VALUES (?,?,?,?,?,'cob',?,?)",
                # dated as the transfer it puts back (the answer's 835), not the routing day
                (invoice_id, line_id, group, reason, -cents, ans.date or today.isoformat(), at),
            ).lastrowid
        conn.execute(
            "INSERT INTO cob_routes (adjustment_id, prior_invoice_id, remit_claim_id, rule,"
            " next_payer_id, restored_adjustment_id, routed_at) VALUES (?,?,?,?,?,?,?)",
            (adj_id, invoice_id, ans.remit_claim_id, rule, next_payer_id, restored, at),
        )


# -- next-payer claims -----------------------------------------------------------------------------


@dataclass
class Due:
    """A claim whose answer left an amount for the next payer, not yet billed to it."""

    prior_invoice_id: int
    remit_claim_id: int
    next_payer_id: int
    left_cents: int


# a routed answer (cob_routes r) a next-payer claim carries: one was built for it and not voided
# with --rebill (lifecycle.void records those in cob_rebills: the answer is due again)
CARRIED = (
    "EXISTS (SELECT 1 FROM cob_claims c WHERE c.remit_claim_id = r.remit_claim_id"
    " AND NOT EXISTS (SELECT 1 FROM cob_rebills b WHERE b.invoice_id = c.invoice_id))"
)


def due(conn: Database, scope_payer_id: int | None = None) -> list[Due]:
    """Answers routed COB-NEXT-PAYER that no next-payer claim carries yet (CARRIED) and that
    still leave the next payer something: a reversal of the answer (CLP02 22) routes its
    negative share to the same answer (remit/post.py), so an answer taken back leaves 0.00,
    and a next-payer claim for 0.00 is never billed."""
    q = (
        "SELECT r.prior_invoice_id, r.remit_claim_id, r.next_payer_id, SUM(a.amount_cents)"
        " FROM cob_routes r JOIN adjustments a ON a.id = r.adjustment_id"
        f" WHERE r.rule = 'COB-NEXT-PAYER' AND NOT {CARRIED}"
    )
    args: tuple = ()
    if scope_payer_id is not None:
        q += " AND r.next_payer_id = ?"
        args = (scope_payer_id,)
    q += (
        " GROUP BY r.prior_invoice_id, r.remit_claim_id, r.next_payer_id"
        " HAVING SUM(a.amount_cents) > 0 ORDER BY r.prior_invoice_id"
    )
    return [Due(*r) for r in conn.execute(q, args)]


@functools.cache
def known_remarks() -> frozenset[str]:
    """The remark codes (RARC, X12 external code list 411) the outside oracle knows: pyx12's
    code list, against which every 837 we write is validated."""
    from pyx12.codes import ExternalCodes

    return frozenset(c for c in ExternalCodes().codes["remark_code"]["codes"] if c)


def adjudication(ans: Answer, payer: dict) -> dict:
    """A prior payer's answer as the 2320 loop carries it.

    MOA remark codes are informational for the next payer (the amounts it adjudicates on are
    the CAS and AMT segments). A remark newer than pyx12's code list (N781-N783, the QMB
    remarks, for one) would make pyx12 refuse the whole file, and with it every claim of the
    run, so only codes the list knows are copied; the others stay in our remit tables."""
    all_cas = ans.claim_cas + [c for ln in ans.lines.values() for c in ln["cas"]]
    known = known_remarks()
    return {
        "paid_cents": ans.paid_cents,
        "cas": ans.claim_cas,
        "remaining_cents": sum(c[2] for c in all_cas if c[0] == "PR"),
        "remarks": [r for r in ans.remarks if r in known][:5],
    }


def build(
    conn: Database,
    d: Due,
    number: str,
    ids: InvoiceIds,
    *,
    issued_on: str,
    payers: dict[int, dict],
) -> tuple[NewInvoice, list[Finding]]:
    """The next-payer claim for one answer: invoice row, lines and COB content, and the findings
    that hold it (module docstring)."""
    from .invoices import NewInvoice, line_row

    prior = conn.execute(
        "SELECT i.number, i.patient_id, i.encounter_id, s.data, e.number, e.date_of_service"
        " FROM invoices i JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " LEFT JOIN encounters e ON e.id = i.encounter_id WHERE i.id = ?",
        (d.prior_invoice_id,),
    ).fetchone()
    if prior is None:
        raise BadInput(f"claim {d.prior_invoice_id}: no issued content to bill the next payer from")
    prior_no, patient_id, enc_id, data, enc_no, dos = prior
    base = json.loads(data)
    dos = dos or base["date_of_service"]
    ans = answer(conn, d.remit_claim_id)
    covs = coverages_on(conn, patient_id, dos, payers)
    pos = next((i for i, c in enumerate(covs) if c["payer_id"] == d.next_payer_id), None)
    enc = {"id": enc_id, "number": enc_no or prior_no}
    if pos is None or pos == 0:
        raise BadInput(
            f"claim {prior_no}: the next payer's coverage is not active on the date of service"
        )
    cov = covs[pos]
    payer = payers[d.next_payer_id]
    pat = content.load_patients(conn, content.temp_ids(conn, "_cob_pat", [patient_id]))[patient_id]
    inv_id = ids.next_invoice()

    answered = payers[ans.payer_id] if ans.payer_id in payers else payers[covs[pos - 1]["payer_id"]]
    prior_cov = next(c for c in covs if c["payer_id"] == answered["id"])
    osub, _ = content.subscriber_block(prior_cov, pat)
    earlier = [o for o in base.get("other_payers") or [] if o.get("adjudication")]
    others = earlier + [
        {
            "responsibility": "P" if not earlier else "S",
            "payer": content.payer_block(answered),
            "subscriber": osub,
            "adjudication": adjudication(ans, answered),
        }
    ]
    for later in covs[pos + 1 : pos + 2]:
        lsub, _ = content.subscriber_block(later, pat)
        others.append(
            {
                "responsibility": SEQUENCE.get(pos + 2, "T"),
                "payer": content.payer_block(payers[later["payer_id"]]),
                "subscriber": lsub,
            }
        )

    lines, clines = [], []
    prior_lines = conn.execute(
        "SELECT line_no, charge_line_id, date_of_service, code, modifiers, units, amount_cents"
        " FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
        (d.prior_invoice_id,),
    ).fetchall()
    by_no = {cl.get("invoice_line_id"): cl for cl in base["lines"]}
    prior_ids = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT line_no, id FROM invoice_lines WHERE invoice_id = ?", (d.prior_invoice_id,)
        )
    }
    for no, _cl_id, ldos, code, mods, units, cents in prior_lines:
        mod_list = [m for m in (mods or "").split(",") if m]
        row = line_row(
            ids,
            inv_id,
            no,
            # a charge line is on one claim only (the first payer's); cob_claims links the rest
            charge_line_id=None,
            dos=ldos,
            code=code,
            modifiers=mod_list,
            units=units,
            description=None,
            amount=cents,
        )
        lines.append(row)
        src = by_no.get(prior_ids[no]) or {}
        cline = content.claim_line(
            row["id"], code, mod_list, units, cents, list(src.get("pointers") or [1])
        )
        content.carry_line_fields(cline, src)  # NDC, ordering/referring, CLIA (issue 20)
        adjs = [copy.deepcopy(a) for a in src.get("adjudications") or []]
        la = ans.lines.get(no)
        if la is not None:
            adjs.append(
                {
                    "payer_id": answered.get("x12_payer_id") or answered["code"],
                    "paid_cents": la["paid_cents"],
                    "cas": la["cas"],
                    "date": ans.date,
                }
            )
        if adjs:
            cline["adjudications"] = adjs
        clines.append(cline)
    c = content.claim_content(
        number=number,
        frequency="1",
        encounter={
            "number": base["encounter"],
            "date_of_service": base["date_of_service"],
            "place_of_service": base.get("place_of_service"),
        },
        lines=clines,
        diagnoses=base["diagnoses"],
        patient=pat,
        coverage=cov,
        payer=payer,
        others=[],
        provider={
            "npi": base["rendering"]["npi"],
            "last_name": base["rendering"]["last"],
            "first_name": base["rendering"].get("first"),
            "taxonomy": base["rendering"].get("taxonomy"),
        },
        copay_cents=0,
    )
    content.carry_claim_fields(c, base)
    c["responsibility"] = SEQUENCE.get(pos + 1, "T")
    if payer["kind"] == "medicare" and cov.get("msp_type"):
        c["msp_type"] = cov["msp_type"]
    c["other_payers"] = others
    row = {
        "id": inv_id,
        "number": number,
        "kind": "claim",
        "patient_id": patient_id,
        "payer_id": d.next_payer_id,
        "coverage_id": cov["id"],
        "encounter_id": enc_id,
        "original_invoice_id": None,
        "frequency_code": "1",
        "issued_on": issued_on,
        "due_on": None,
        "filing_deadline": content.filing_deadline(dos, payer),
        "total_cents": c["total_cents"],
        "copay_cents": 0,
    }
    it = NewInvoice(row, lines, c, payer["code"], enc_no, pat["mrn"], dos)
    findings = _checks(enc, cov, payer, c, ans)
    return it, findings


def _finding(rule: str, message: str, enc: dict) -> Finding:
    return Finding(
        rule=rule,
        severity="error",
        message=message,
        encounter=enc["number"],
        source=SOURCE,
        encounter_id=enc["id"],
    )


def _checks(enc: dict, cov: dict, payer: dict, c: dict, ans: Answer) -> list[Finding]:
    """What holds a next-payer claim (scrub/claim.py's checks, then the COB ones); messages name
    the payer code and the prior claim, never a row id."""
    from ..scrub import claim

    code = payer["code"]
    out = [
        _finding(rule, msg, enc)
        for rule, msg in (
            ("CLAIM-PAYER-ID", claim.payer_id_problem(payer.get("x12_payer_id"), code)),
            ("CLAIM-MEMBER-ID", claim.member_id_problem(cov.get("member_id"), code)),
            (
                "CLAIM-SUBSCRIBER",
                claim.subscriber_problem(
                    cov.get("relationship"),
                    cov.get("subscriber_last"),
                    cov.get("subscriber_first"),
                    code,
                ),
            ),
        )
        if msg
    ]
    if payer["kind"] == "medicare" and not cov.get("msp_type"):
        out.append(
            _finding(
                "COB-MSP-TYPE",
                f"the {code} coverage: Medicare is secondary; record its Medicare secondary"
                " payer type (SBR05, e.g. 12 working aged, 43 disabled, 47 other liability)",
                enc,
            )
        )
    if not ans.date:
        out.append(_finding("COB-BALANCE", "the prior payer's answer has no date (DTP*573)", enc))
    for p in balance_problems(c):
        out.append(_finding("COB-BALANCE", p, enc))
    return out


def balance_problems(c: dict) -> list[str]:
    """The COB sums of one claim's content (module docstring); [] when it balances."""
    from .. import money

    out = []
    total = c["total_cents"]
    lines = c["lines"]
    if sum(ln["charge_cents"] for ln in lines) != total:
        out.append("the lines do not add up to CLM02")
    for o in c.get("other_payers") or []:
        adj = o.get("adjudication")
        if not adj:
            continue
        pid = o["payer"].get("id") or o["payer"]["code"]
        claim_cas = sum(x[2] for x in adj["cas"])
        svds = [a for ln in lines for a in ln.get("adjudications") or [] if a["payer_id"] == pid]
        line_cas = sum(x[2] for a in svds for x in a["cas"])
        got = adj["paid_cents"] + claim_cas + line_cas
        if got != total:
            out.append(
                f"prior payer {pid}: AMT*D + CAS = {money.fmt(got)} != CLM02 {money.fmt(total)}"
                f" ({money.fmt(abs(total - got))} {'too little' if got < total else 'too much'})"
            )
        if svds:
            paid = sum(a["paid_cents"] for a in svds)
            if paid != adj["paid_cents"] + claim_cas:
                out.append(
                    f"prior payer {pid}: the 2430 SVD02 add up to {money.fmt(paid)},"
                    f" AMT*D + claim-level CAS to {money.fmt(adj['paid_cents'] + claim_cas)}"
                )
    ids = {o["payer"].get("id") or o["payer"]["code"] for o in c.get("other_payers") or []}
    for n, ln in enumerate(lines, start=1):
        for a in ln.get("adjudications") or []:
            if a["payer_id"] not in ids:
                out.append(f"line {n}: SVD01 {a['payer_id']} names no 2330B payer")
            got = a["paid_cents"] + sum(x[2] for x in a["cas"])
            if got != ln["charge_cents"]:
                out.append(
                    f"line {n}: SVD02 + CAS = {money.fmt(got)} != SV102"
                    f" {money.fmt(ln['charge_cents'])}"
                )
    return out


# -- the step `invoice generate` runs ---------------------------------------------------------------


def require_answers(conn: Database, numbers: list[str]) -> list[int]:
    """The claims named for a next-payer claim, each with a posted answer from its payer
    (else BadInput naming the first claim without one: nothing is written)."""
    out = []
    for number in numbers:
        r = conn.execute(
            "SELECT i.id, (SELECT COUNT(*) FROM remit_claims c WHERE c.invoice_id = i.id"
            " AND c.outcome IN ('paid', 'partially_paid', 'denied'))"
            " FROM invoices i WHERE i.number = ? AND i.kind = 'claim'",
            (number.strip(),),
        ).fetchone()
        if r is None:
            raise BadInput(f"{number}: no claim with this number")
        if not r[1]:
            raise BadInput(
                f"{number}: no answer from its payer is posted: a secondary claim needs the prior"
                " payer's 835 (billadmin remit import)"
            )
        out.append(r[0])
    return out


# transfers from 835s that `route` looks at: not routed, not on a patient invoice (the ones it
# leaves to the patient stay here until a patient invoice bills them)
PENDING_SQL = (
    "SELECT a.id FROM adjustments a JOIN invoices i ON i.id = a.invoice_id"
    " JOIN remit_adjustments ra ON ra.adjustment_id = a.id"
    " WHERE a.source = 'transfer' AND i.kind = 'claim' AND a.amount_cents > 0"
    " AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = a.id)"
    " AND NOT EXISTS (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = a.id)"
)


def unrouted(conn: Database) -> bool:
    """Whether `route` has transfers to look at (PENDING_SQL)."""
    return conn.execute(PENDING_SQL + " LIMIT 1").fetchone() is not None


@dataclass
class Planned:
    """A run's next-payer claims (`plan_claims`), built and numbered, their invoice rows
    inserted `into` the run's plan (or the ledger); the rows that go with them wait here for
    `write_claims` under the write lock."""

    issues: list[NewInvoice] = field(default_factory=list)
    adjustments: list[tuple] = field(default_factory=list)  # the OA-23 'cob' adjustment of each
    cob_claims: list[tuple] = field(default_factory=list)
    links: list[tuple[int, int]] = field(default_factory=list)  # inst_claim_invoices rows
    priors: list[int] = field(default_factory=list)  # the prior claims they were built from
    rows: list[dict] = field(default_factory=list)  # result.cob: billed, held

    def by_payer(self) -> dict[int, list[tuple[int, dict]]]:
        out: dict[int, list[tuple[int, dict]]] = defaultdict(list)
        for it in self.issues:
            out[it.row["payer_id"]].append((it.row["id"], it.issued_content()))
        return out


# builds one next-payer claim from its answer: (the claim, unnumbered, or None; findings)
Builder = Callable[["Database", "Due", "InvoiceIds"], tuple["NewInvoice | None", list[Finding]]]


def plan_claims(
    conn: Database,
    result,
    payers: dict[int, dict],
    ids: InvoiceIds,
    numbers: Callable[[int], list[str]],
    build_one: Builder,
    *,
    institutional: bool,
    scope_payer_id: int | None,
    only: list[int] | None,
    at: str,
    into: str = "",
) -> Planned:
    """Every next-payer claim due (`due`, within --payer and --cob) for professional claims
    (837P: `build`) or institutional ones (837I: institutional/cob.py), built by `build_one`,
    numbered with `numbers(count)` (peeked before the lock, taken inside it) and inserted with
    their snapshots `into` the run's plan tables; held ones join result.held. One implementation
    for both kinds: the OA-23 adjustment (the total less what the prior payer left, so the open
    balance is exactly that), the cob_claims row and, for an 837I, the link to the facility
    claim are returned for `write_claims`."""
    from .invoices import insert_invoices, insert_snapshots
    from .result import Held

    out = Planned()
    built: list[tuple[NewInvoice, Due]] = []
    for d in due(conn, scope_payer_id):
        if only is not None and d.prior_invoice_id not in only:
            continue
        if _institutional(conn, d.prior_invoice_id) != institutional:
            continue
        it, findings = build_one(conn, d, ids)
        prior_no = _claim_facts(conn, d.prior_invoice_id)["number"]
        if findings or it is None:
            f = findings[0]
            result.held.append(Held(f.encounter or prior_no, f.encounter_id or 0, findings))
            out.rows.append(_wait_row(prior_no, f.rule, d, payers, f.message))
            continue
        built.append((it, d))
    if not built:
        return out
    for (it, _d), number in zip(built, numbers(len(built)), strict=True):
        it.row["number"] = number
        it.issued_content()["number"] = number
    insert_invoices(conn, [it for it, _ in built], at=at, into=into)
    insert_snapshots(conn, [(it.row["id"], it.issued_content()) for it, _ in built], into=into)
    for it, d in built:
        c = it.issued_content()
        iid = it.row["id"]
        out.adjustments.append((iid, it.row["total_cents"] - d.left_cents, it.row["issued_on"], at))
        out.cob_claims.append((iid, d.prior_invoice_id, d.remit_claim_id, c["responsibility"]))
        if institutional:
            (claim_id,) = conn.execute(
                "SELECT claim_id FROM inst_claim_invoices WHERE invoice_id = ?",
                (d.prior_invoice_id,),
            ).fetchone()
            out.links.append((iid, claim_id))
        out.priors.append(d.prior_invoice_id)
        prior_no = _claim_facts(conn, d.prior_invoice_id)["number"]
        out.rows.append(
            _wait_row(prior_no, "COB-NEXT-PAYER", d, payers, f"billed as {c['number']}")
        )
        out.issues.append(it)
    return out


def write_claims(conn: Database, planned: Planned) -> None:
    """Under the write lock: the rows `plan_claims` prepared for its claims."""
    conn.conn.executemany(
        "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
        " amount_cents, source, created_on, created_at)"
        " VALUES (?, NULL, 'OA', '23', ?, 'cob', ?, ?)",
        planned.adjustments,
    )
    conn.conn.executemany(
        "INSERT INTO cob_claims (invoice_id, prior_invoice_id, remit_claim_id, sequence)"
        " VALUES (?,?,?,?)",
        planned.cob_claims,
    )
    conn.conn.executemany(
        "INSERT INTO inst_claim_invoices (invoice_id, claim_id) VALUES (?, ?)", planned.links
    )


def build_professional(payers: dict[int, dict], issued_on: str) -> Builder:
    """`build` (the 837P next-payer claim) as plan_claims calls it."""

    def build_one(conn: Database, d: Due, ids: InvoiceIds):
        return build(conn, d, "", ids, issued_on=issued_on, payers=payers)

    return build_one


def _institutional(conn: Database, invoice_id: int) -> bool:
    """An institutional claim (837I, UB-04): institutional/cob.py builds its next-payer claim."""
    return (
        conn.execute(
            "SELECT 1 FROM inst_claim_invoices WHERE invoice_id = ?", (invoice_id,)
        ).fetchone()
        is not None
    )


def _wait_row(number: str, rule: str, d: Due, payers: dict, note: str) -> dict:
    return {
        "claim": number,
        "rule": rule,
        "amount_cents": d.left_cents,
        "next_payer": payers[d.next_payer_id]["code"],
        "note": note,
    }


def waiting(conn: Database, payers: dict, today: _dt.date) -> list[dict]:
    """Crossed-over claims still open, waiting for the next payer's 835 (overdue past the
    follow-up date), and amounts held on a claim by a patient-protection rule."""
    out = []
    for number, next_payer, follow, bal, carrier in conn.execute(
        "SELECT i.number, x.next_payer_id, MAX(x.follow_up_on),"
        " b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents,"
        " (SELECT MAX(c.crossover_payer) FROM remit_claims c WHERE c.id = x.remit_claim_id)"
        " FROM cob_crossovers x JOIN invoices i ON i.id = x.invoice_id"
        " JOIN invoice_balances b ON b.invoice_id = i.id GROUP BY i.id ORDER BY i.number"
    ):
        if bal > 0:
            late = "overdue: " if follow < today.isoformat() else ""
            out.append(
                {
                    "claim": number,
                    "rule": "COB-CROSSOVER",
                    "amount_cents": bal,
                    "next_payer": payers[next_payer]["code"] if next_payer in payers else None,
                    "note": f"{late}waiting for {carrier or 'the crossover payer'}'s 835;"
                    f" follow up on {follow}",
                }
            )
    for number, rule, cents in conn.execute(
        "SELECT i.number, r.rule, SUM(a.amount_cents) FROM cob_routes r"
        " JOIN adjustments a ON a.id = r.adjustment_id JOIN invoices i ON i.id = r.prior_invoice_id"
        f" WHERE r.rule IN ({', '.join('?' * len(HOLD_RULES))})"
        " AND (SELECT b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents"
        " FROM invoice_balances b WHERE b.invoice_id = i.id) > 0"
        " GROUP BY i.id, r.rule ORDER BY i.number",
        HOLD_RULES,
    ):
        out.append(
            {
                "claim": number,
                "rule": rule,
                "amount_cents": cents,
                "next_payer": None,
                "note": "held on the claim: not the patient's to pay (write it off or correct it)",
            }
        )
    return out
