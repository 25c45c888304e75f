"""`invoice generate` for institutional claims: 837I files beside the run's 837Ps.

Called by billing/generate.py inside the run's write transaction, after the professional claims
(so both share the run, the gapless C... claim series, the invoice ids and the listing):
1. Unbilled institutional claims with a statement-through date up to --through are read through
   the model; each one's bill-to is the primary coverage active on its statement-from date
   (billing/content.active_coverages), within --payer when given.
2. A claim is held (result.held, held.csv) with an error finding when the 837I cannot be built
   (rules INST-* below) or when the institutional scrub rules (billadmin/scrub/institutional.py:
   type of bill, revenue codes needing HCPCS, admission data, POA, statement period, patient
   status, the payment window, NCCI/MUE) report an error for it.
3. The others are numbered, inserted (invoice, lines, 'issued' event, snapshot; immutable like
   every invoice) and linked to their claim (inst_claim_invoices); the claim is marked billed.
   Voids (frequency 8, `invoice void`) of issued institutional claims queued for the payer join
   them. One 837I per payer and facility, each validated by the gate (x12files.Gate) before anything is recorded:
   a file that fails raises X12Invalid and the whole run rolls back. A payer that takes paper
   (`payer set CODE --paper`) gets each claim on the UB-04 instead (billing/ub04.add_paper).
4. What a payer's posted answer left for the next coverage (billing/cob.py routes it
   COB-NEXT-PAYER) is billed to that payer on its 837I as a next-payer claim built by
   institutional/cob.py, numbered and listed with the others.

Rules for building an 837I (each holds the claim, severity error):
  INST-NO-COVERAGE  no insurance coverage is active on the statement-from date (institutional
                    self-pay is not billed by billadmin).
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
from typing import TYPE_CHECKING

from ..billing import content as bc
from ..billing import numbering, ub04
from ..billing.invoices import InvoiceIds, NewInvoice, insert_invoices, insert_snapshots, line_row
from ..billing.result import Held, Progress, RunResult, silent
from ..billing.x12files import X12Run
from ..findings import Finding
from ..scrub import claim as claim_checks
from . import content, model
from .payers import payer_problems

if TYPE_CHECKING:
    import datetime as _dt

    from ..billing.files import Staged
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


def _next_payer_claims(
    conn: Database,
    result: RunResult,
    payers: dict[int, dict],
    ids: InvoiceIds,
    *,
    scope_id: int | None,
    issued_on: str,
    at: str,
) -> list[NewInvoice]:
    """Next-payer 837I claims for what an institutional claim's answer left (institutional/
    cob.py), numbered and inserted with their 'cob' OA-23 adjustment and cob_claims row; held
    ones join result.held."""
    from ..billing import cob as billing_cob
    from . import cob

    built: list[tuple[NewInvoice, billing_cob.Due]] = []
    for d in billing_cob.due(conn, scope_id):
        if not cob.is_institutional(conn, d.prior_invoice_id):
            continue
        it, findings = cob.build(conn, d, ids, issued_on=issued_on, payers=payers)
        if findings or it is None:
            f = findings[0]
            result.held.append(Held(f.encounter or "", f.encounter_id or 0, findings))
            continue
        built.append((it, d))
    if not built:
        return []
    for (it, _d), number in zip(built, numbering.take(conn, "claim", len(built)), strict=True):
        it.row["number"] = number
        it.issued_content()["number"] = number
    insert_invoices(conn, [it for it, _ in built], at=at)
    insert_snapshots(conn, [(it.row["id"], it.issued_content()) for it, _ in built])
    for it, d in built:
        conn.execute(
            "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
            " amount_cents, source, created_on, created_at)"
            " VALUES (?, NULL, 'OA', '23', ?, 'cob', ?, ?)",
            (it.row["id"], it.row["total_cents"] - d.left_cents, issued_on, at),
        )
        conn.execute(
            "INSERT INTO cob_claims (invoice_id, prior_invoice_id, remit_claim_id, sequence)"
            " VALUES (?,?,?,?)",
            (
                it.row["id"],
                d.prior_invoice_id,
                d.remit_claim_id,
                it.issued_content()["responsibility"],
            ),
        )
        claim_id = conn.execute(
            "SELECT claim_id FROM inst_claim_invoices WHERE invoice_id = ?", (d.prior_invoice_id,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO inst_claim_invoices (invoice_id, claim_id) VALUES (?, ?)",
            (it.row["id"], claim_id),
        )
    return [it for it, _ in built]


def _scrub_findings(conn: Database, claims: list[model.InstitutionalClaim], today) -> list[Finding]:
    """The institutional scrub rules' findings (billadmin/scrub/institutional.py)."""
    from ..scrub.institutional import check_claims

    return check_claims(conn, claims, today) if claims else []


class InstitutionalX12Run(X12Run):
    """The run's 837I files: rendered by x837i, validated and recorded like the 837Ps."""

    def add_institutional(
        self, payer_id: int, facility: dict, items: list[tuple[int, dict]]
    ) -> None:
        from ..x12 import x837i

        env = self.envelope(version=x837i.VERSION)
        rendered = x837i.render(env, content.block(self.prac, facility), [c for _, c in items])
        self.stage(payer_id, items, env, rendered, "837I")


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


def issue(
    conn: Database,
    result: RunResult,
    staged: Staged,
    prac: dict,
    ids: InvoiceIds,
    *,
    through: _dt.date,
    today: _dt.date,
    scope_id: int | None,
    run_id: int,
    at: str,
    files_by_invoice: dict[int, str],
    workers: int | None = None,
    pyx12: bool = False,
    say: Progress = silent,
) -> tuple[list[NewInvoice], list[int]]:
    """Bill every ready institutional claim (see the module docstring). Returns the new claims
    (slimmed for the listing) and the queued voids sent; their files go into files_by_invoice."""
    claims = model.list_claims(conn, status="unbilled", through=through)
    payers = bc.load_payers(conn)
    queued_by_payer, queued = _queued(conn, result, payers, scope_id)
    next_payer = _next_payer_claims(
        conn, result, payers, ids, scope_id=scope_id, issued_on=today.isoformat(), at=at
    )
    if not claims and not queued and not next_payer:
        return [], []
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
    numbers = numbering.take(conn, "claim", len(ready))
    built = [
        build_invoice(
            c,
            n,
            ids,
            issued_on=today.isoformat(),
            patient=pats[c.patient_id],
            coverages=covs[c.id],
            payers=payers,
        )
        for c, n in zip(ready, numbers, strict=True)
    ]
    insert_invoices(conn, built, at=at)
    insert_snapshots(conn, [(it.row["id"], it.issued_content()) for it in built])
    conn.conn.executemany(
        "INSERT INTO inst_claim_invoices (invoice_id, claim_id) VALUES (?, ?)",
        [(it.row["id"], c.id) for it, c in zip(built, ready, strict=True)],
    )
    conn.conn.executemany(
        "UPDATE inst_claims SET status = 'billed' WHERE id = ?", [(c.id,) for c in ready]
    )
    # one 837I per payer and facility: the new claims, then the payer's queued voids
    groups: dict[tuple[int, str], list[tuple[int, dict]]] = defaultdict(list)
    facilities: dict[str, dict] = {}
    built += next_payer
    for it in built:
        cnt = it.issued_content()
        facilities[cnt["facility"]["code"]] = cnt["facility"]
        groups[(it.row["payer_id"], cnt["facility"]["code"])].append((it.row["id"], cnt))
    for payer_id, items in queued_by_payer.items():
        for iid, cnt in items:
            facilities.setdefault(cnt["facility"]["code"], cnt["facility"])
            groups[(payer_id, cnt["facility"]["code"])].append((iid, cnt))
    if queued:
        t = bc.temp_ids(conn, "_inst_sent_queue", queued)
        conn.execute(f"DELETE FROM claim_queue WHERE invoice_id IN (SELECT id FROM {t})")
    x12 = InstitutionalX12Run(
        conn,
        result,
        staged,
        prac,
        payers,
        run_id=run_id,
        at=at,
        workers=workers,
        say=say,
        pyx12=pyx12,
    )
    try:
        for (payer_id, fac_code), items in sorted(
            groups.items(), key=lambda kv: (payers[kv[0][0]]["code"], kv[0][1])
        ):
            if payers[payer_id].get("claim_media") == "paper":  # printed on the UB-04
                say(f"UB-04 to {payers[payer_id]['code']}: {len(items)} claim(s)")
                ub04.add_paper(x12, payer_id, items)
                continue
            say(f"837I to {payers[payer_id]['code']} from {fac_code}: {len(items)} claim(s)")
            x12.add_institutional(payer_id, facilities[fac_code], items)
        files_by_invoice.update(x12.finish())
    finally:
        x12.close()
    return [it.slim() for it in built], queued
