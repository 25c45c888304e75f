"""`invoice generate` for institutional claims: 837I files beside the run's 837Ps.

Called by billing/generate.py after the professional claims (so both share the run, the gapless
C... claim series, the invoice ids, the X12 control numbers and the listing), in its two phases
(issue 15: nothing is rendered or validated under the write lock):
1. Unbilled institutional claims with a statement-through date up to --through are read through
   the model; each one's bill-to is the primary coverage active on its statement-from date
   (billing/content.active_coverages), within --payer when given (`prepare`, in the run's read
   snapshot).
2. A claim is held (result.held, held.csv) with an error finding when the 837I cannot be built
   (rules INST-* below) or when the institutional scrub rules (billadmin/scrub/institutional.py:
   type of bill, revenue codes needing HCPCS, admission data, POA, statement period, patient
   status, the payment window, NCCI/MUE) report an error for it.
3. The others are numbered with the numbers the snapshot says come next, built and planned
   (invoice, lines, 'issued' event, snapshot; immutable like every invoice) in the run's plan
   tables; voids (frequency 8, `invoice void`) of issued institutional claims queued for the
   payer join them. One 837I per payer and facility is rendered on the run's X12Run and
   validated by the gate (x12files.Gate) with its 837Ps before the lock (`stage`): a file that
   fails raises X12Invalid and nothing is written. A payer that takes paper (`payer set CODE
   --paper`) gets each claim on the UB-04 instead (billing/ub04.add_paper). Under the lock the
   planned rows are copied and `write` links each claim to its invoice (inst_claim_invoices)
   and marks it billed.
4. What a payer's posted answer left for the next coverage (billing/cob.py routes it
   COB-NEXT-PAYER) is billed to that payer on its 837I as a next-payer claim built by
   institutional/cob.py (`build_next_payer`, planned by billing.cob.plan_claims like the 837P
   ones), numbered and listed with the others.

Rules for building an 837I (each holds the claim, severity error):
  INST-NO-COVERAGE  no insurance coverage is active on the statement-from date, and the run
                    issues no patient invoices (--claims-only, --payer); otherwise the claim is
                    billed to the patient (institutional/selfpay.py).
  INST-PAYER-ID     the payer has no X12 payer id (NM1*PR NM109, loop 2010BB); not for a payer
                    that takes paper (its claims are printed on the UB-04).
  INST-MEMBER-ID    the coverage has no member id (NM1*IL NM109).
  INST-SUBSCRIBER   the patient is a dependent and the subscriber's name is not recorded.
  INST-ADDRESS      the patient's address is incomplete (N3/N4, loop 2010BA or 2010CA).
  INST-STATUS       no patient status: CL103 is required on every 837I (TR3 005010X223A2, 2300
                    CL1).
  INST-ATTENDING    no attending provider: loop 2310A is required on every claim but
                    non-scheduled transportation (TR3 2310A usage note).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..billing import content as bc
from ..billing import ub04
from ..billing.invoices import InvoiceIds, NewInvoice, insert_invoices, insert_snapshots, line_row
from ..billing.result import Held, Progress, RunResult, silent
from ..billing.x12files import X12Run
from ..findings import Finding
from ..scrub import claim as claim_checks
from . import content, model
from .payers import payer_problems

if TYPE_CHECKING:
    import datetime as _dt

    from ..db import Database


def _finding(rule: str, message: str, c: model.InstitutionalClaim) -> Finding:
    return Finding(
        rule,
        "error",
        message,
        encounter=c.key,
        source="TR3 005010X223A2",
        encounter_id=c.encounter_id,
    )


def build_problems(
    c: model.InstitutionalClaim, cov: dict | None, payer: dict | None, patient: dict
) -> list[Finding]:
    """What keeps the 837I from being built (the INST-* rules of the module docstring)."""
    if cov is None or payer is None:
        return [
            _finding(
                "INST-NO-COVERAGE",
                "no insurance coverage is active on the statement-from date",
                c,
            )
        ]
    out = []
    checks = [
        *payer_problems(cov, payer),
        (
            "INST-ADDRESS",
            claim_checks.address_problem(
                patient.get("address1"),
                patient.get("city"),
                patient.get("state"),
                patient.get("zip"),
            ),
        ),
        ("INST-STATUS", None if c.patient_status else "no patient status (CL103): add it"),
        ("INST-ATTENDING", None if c.attending else "no attending provider (loop 2310A)"),
    ]
    out += [_finding(rule, msg, c) for rule, msg in checks if msg]
    return out


def _scrub_findings(conn: Database, claims: list[model.InstitutionalClaim], today) -> list[Finding]:
    """The institutional scrub rules' findings (billadmin/scrub/institutional.py)."""
    from ..scrub.institutional import check_claims

    return check_claims(conn, claims, today) if claims else []


def add_institutional(
    x12: X12Run, payer_id: int, facility: dict, items: list[tuple[int, dict]]
) -> None:
    """One payer's 837I from one facility on the run's X12Run: rendered by x837i with the
    run's next control numbers, staged and handed to the gate like its 837Ps."""
    from ..x12 import x837i

    env = x12.envelope(version=x837i.VERSION)
    rendered = x837i.render(env, content.block(x12.prac, facility), [c for _, c in items])
    x12.stage(payer_id, items, env, rendered, "837I")


def _queued(conn: Database, result: RunResult, payers: dict[int, dict], scope_id: int | None):
    """Institutional voids and replacements waiting in claim_queue: (invoice id, content) by
    payer, and their ids (taken off the queue by the caller)."""
    q = (
        "SELECT q.invoice_id, i.number, i.kind, i.payer_id, i.total_cents, s.data"
        " FROM claim_queue q JOIN invoices i ON i.id = q.invoice_id"
        " JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " WHERE json_extract(s.data, '$.claim_type') = 'institutional'"
    )
    args: tuple = ()
    if scope_id is not None:
        q += " AND i.payer_id = ?"
        args = (scope_id,)
    by_payer: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    ids = []
    for iid, number, kind, payer_id, total, data in conn.execute(
        q + " ORDER BY q.invoice_id", args
    ):
        c = json.loads(data)
        by_payer[payer_id].append((iid, c))
        ids.append(iid)
        result.issued.append(
            {
                "number": number,
                "kind": kind,
                "frequency": c.get("frequency"),
                "bill_to": payers[payer_id]["code"],
                "encounter": c.get("encounter"),
                "total_cents": total,
                "file": None,
                "invoice_id": iid,
                "queued": True,
            }
        )
    return by_payer, ids


def _bill_to(conn: Database, claims: list[model.InstitutionalClaim], payers: dict[int, dict]):
    """Each claim's patient and active coverages (primary first) on its statement-from date."""
    t = bc.temp_ids(conn, "_inst_pat", {c.patient_id for c in claims})
    pats = bc.load_patients(conn, t)
    covs = bc.load_coverages(conn, t)
    return pats, {
        c.id: bc.active_coverages(covs.get(c.patient_id, []), c.statement_from, payers)
        for c in claims
    }


def build_invoice(
    c: model.InstitutionalClaim,
    number: str,
    ids: InvoiceIds,
    *,
    issued_on: str,
    patient: dict,
    coverages: list[dict],
    payers: dict[int, dict],
    frequency: str = "1",
    payer_claim_number: str | None = None,
) -> NewInvoice:
    """One claim's invoice (row, lines, content) billed to coverages[0]."""
    cov = coverages[0]
    payer = payers[cov["payer_id"]]
    inv_id = ids.next_invoice()
    lines = [
        line_row(
            ids,
            inv_id,
            n,
            charge_line_id=None,
            dos=ln.line_date or c.statement_from,
            code=ln.hcpcs or ln.revenue_code,
            modifiers=list(ln.modifiers),
            units=ln.units,
            description=f"revenue code {ln.revenue_code}",
            amount=ln.charge_cents,
        )
        for n, ln in enumerate(c.lines, start=1)
    ]
    cnt = content.claim_content(
        c,
        number=number,
        frequency=frequency,
        line_ids=[ln["id"] for ln in lines],
        patient=patient,
        coverage=cov,
        payer=payer,
        others=[(o, payers[o["payer_id"]]) for o in coverages[1:]],
        payer_claim_number=payer_claim_number,
    )
    row = {
        "id": inv_id,
        "number": number,
        "kind": "claim",
        "patient_id": c.patient_id,
        "payer_id": cov["payer_id"],
        "coverage_id": cov["id"],
        "encounter_id": c.encounter_id,
        "original_invoice_id": None,
        "frequency_code": frequency,
        "issued_on": issued_on,
        "due_on": None,
        # timely filing counts from the claim's through date on institutional claims (42 CFR
        # 424.44(a); CMS Pub. 100-04 ch. 1 s. 70.1)
        "filing_deadline": bc.filing_deadline(c.statement_through, payer),
        "total_cents": cnt["total_cents"],
        "copay_cents": 0,
    }
    return NewInvoice(row, lines, cnt, payer["code"], c.key, patient["mrn"], c.statement_from)


@dataclass
class Prepared:
    """What a run bills of the institutional claims (`prepare`, read from the run's snapshot):
    the claims ready to bill (held ones are in result.held), their patients and coverages, and
    the institutional voids and replacements queued by payer."""

    ready: list[model.InstitutionalClaim]
    pats: dict[int, dict]
    covs: dict[int, list[dict]]
    queued_by_payer: dict[int, list[tuple[int, dict]]]
    queued: list[int]
    links: list[tuple[int, int]] = field(default_factory=list)  # (invoice id, claim id)

    @property
    def patient_ids(self) -> set[int]:
        return {c.patient_id for c in self.ready}


def prepare(
    conn: Database,
    result: RunResult,
    payers: dict[int, dict],
    *,
    through: _dt.date,
    today: _dt.date,
    scope_id: int | None,
    say: Progress = silent,
) -> Prepared:
    """Steps 1-2 of the module docstring: the unbilled claims read, held or ready (sorted as
    they are numbered: payer code, statement-from date, key), and the queued voids."""
    claims = model.list_claims(conn, status="unbilled", through=through)
    queued_by_payer, queued = _queued(conn, result, payers, scope_id)
    if not claims:
        return Prepared([], {}, {}, queued_by_payer, queued)
    say(f"institutional claims: {len(claims):,} unbilled")
    pats, covs = _bill_to(conn, claims, payers)
    ready: list[model.InstitutionalClaim] = []
    held: dict[int, list[Finding]] = defaultdict(list)
    for c in claims:
        active = covs[c.id]
        if scope_id is not None and (not active or active[0]["payer_id"] != scope_id):
            continue
        payer = payers[active[0]["payer_id"]] if active else None
        problems = build_problems(c, active[0] if active else None, payer, pats[c.patient_id])
        if problems:
            held[c.id] += problems
        else:
            ready.append(c)
    for f in _scrub_findings(conn, ready, today):
        if f.severity == "error":
            for c in ready:
                if f.encounter_id == c.encounter_id or f.encounter == c.key:
                    held[c.id].append(f)
    by_id = {c.id: c for c in claims}
    for cid, findings in held.items():
        result.held.append(Held(by_id[cid].key, by_id[cid].encounter_id, findings))
    ready = [c for c in ready if c.id not in held]
    ready.sort(key=lambda c: (payers[covs[c.id][0]["payer_id"]]["code"], c.statement_from, c.key))
    return Prepared(ready, pats, covs, queued_by_payer, queued)


def build_next_payer(payers: dict[int, dict], issued_on: str):
    """institutional/cob.build as billing.cob.plan_claims calls it (the next payer's 837I)."""
    from . import cob

    def build_one(conn: Database, d, ids: InvoiceIds):
        return cob.build(conn, d, ids, issued_on=issued_on, payers=payers)

    return build_one


def stage(
    conn: Database,
    p: Prepared,
    x12: X12Run,
    ids: InvoiceIds,
    numbers: Callable[[int], list[str]],
    *,
    next_payer: list[NewInvoice],
    payers: dict[int, dict],
    today: _dt.date,
    at: str,
    into: str = "",
    say: Progress = silent,
) -> list[NewInvoice]:
    """Step 3 without its writes: the ready claims numbered with `numbers(count)` (peeked
    before the lock), built, inserted `into` the run's plan tables, and rendered with the
    next-payer claims and the queued voids into one 837I per payer and facility (or UB-04s) on
    `x12`, which the gate validates with the run's other files. Their links and the claims'
    'billed' status wait for `write` (p.links). Returns the new claims (slimmed)."""
    built = [
        build_invoice(
            c,
            n,
            ids,
            issued_on=today.isoformat(),
            patient=p.pats[c.patient_id],
            coverages=p.covs[c.id],
            payers=payers,
        )
        for c, n in zip(p.ready, numbers(len(p.ready)), strict=True)
    ]
    if built:
        insert_invoices(conn, built, at=at, into=into)
        insert_snapshots(conn, [(it.row["id"], it.issued_content()) for it in built], into=into)
    p.links = [(it.row["id"], c.id) for it, c in zip(built, p.ready, strict=True)]
    # one 837I per payer and facility: the new claims, then the payer's queued voids
    groups: dict[tuple[int, str], list[tuple[int, dict]]] = defaultdict(list)
    facilities: dict[str, dict] = {}
    built += next_payer
    for it in built:
        cnt = it.issued_content()
        facilities[cnt["facility"]["code"]] = cnt["facility"]
        groups[(it.row["payer_id"], cnt["facility"]["code"])].append((it.row["id"], cnt))
    for payer_id, items in p.queued_by_payer.items():
        for iid, cnt in items:
            facilities.setdefault(cnt["facility"]["code"], cnt["facility"])
            groups[(payer_id, cnt["facility"]["code"])].append((iid, cnt))
    for (payer_id, fac_code), items in sorted(
        groups.items(), key=lambda kv: (payers[kv[0][0]]["code"], kv[0][1])
    ):
        if payers[payer_id].get("claim_media") == "paper":  # printed on the UB-04
            say(f"UB-04 to {payers[payer_id]['code']}: {len(items)} claim(s)")
            ub04.add_paper(x12, payer_id, items)
            continue
        say(f"837I to {payers[payer_id]['code']} from {fac_code}: {len(items)} claim(s)")
        add_institutional(x12, payer_id, facilities[fac_code], items)
    return [it.slim() for it in built]


def write(conn: Database, p: Prepared) -> None:
    """Under the write lock: the new claims linked to their facility claims, which are marked
    billed (their invoice rows are copied from the plan by billing/generate.py)."""
    conn.conn.executemany(
        "INSERT INTO inst_claim_invoices (invoice_id, claim_id) VALUES (?, ?)", p.links
    )
    conn.conn.executemany(
        "UPDATE inst_claims SET status = 'billed' WHERE id = ?", [(cid,) for _, cid in p.links]
    )
