"""The next payer's 837I after an institutional claim's answer (coordination of benefits).

billing/cob.py routes what a payer's 835 left (COB-NEXT-PAYER) and bills it on an 837P for a
professional claim; for an institutional claim the next-payer claim is built here, by the same
rules, as an 837I (TR3 005010X223A2): a new claim invoice for the next payer with the prior
claim's revenue lines and charges (CLM02 the original total), the prior payer in loop 2320
(SBR P, claim-level CAS, AMT*D paid, AMT*EAF remaining patient liability, OI, then MIA on an
inpatient claim, with the prior payer's 835 MIA (`inpatient_adjudication`), or MOA on an
outpatient claim, or on an inpatient one its 835 answered with MOA only (an inpatient Part B
claim, 12x or 22x, is paid by the outpatient rules), with what the 835's MOA gave
(`outpatient_adjudication`); never both; 2330A/2330B), and per line its
answer in loop 2430 (SVD with the revenue code, CAS, DTP*573); ONE adjustment (source 'cob',
OA-23) of the total less what the prior payer left, so its open balance is exactly that amount.
Held (error findings) when the sums do not balance (COB-BALANCE, billing.cob.balance_problems)
or the next payer cannot be billed (INST-PAYER-ID, INST-MEMBER-ID, INST-SUBSCRIBER:
generate.build_problems' rules).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING

from ..billing import cob
from ..billing import content as bc
from ..billing.invoices import NewInvoice, line_row
from ..findings import Finding
from ..remit.parse import MIA_ELEMENTS, MOA_ELEMENTS
from .payers import payer_problems

if TYPE_CHECKING:
    from ..billing.invoices import InvoiceIds
    from ..db import Database


def is_institutional(conn: Database, invoice_id: int) -> bool:
    return cob._institutional(conn, invoice_id)


def _adjudication(conn: Database, remit_claim_id: int, kind: str) -> tuple | None:
    """The claim's first remit_adjudications row of `kind` (its MIA or MOA as read): the
    element columns of that segment, then its remarks; None when the 835 gave none."""
    elements = MIA_ELEMENTS if kind == "inpatient" else MOA_ELEMENTS
    cols = [key for _, key, k, _ in elements if k != "remark"]
    # column names come from remit.parse.MIA_ELEMENTS/MOA_ELEMENTS (constants), never from input
    row = conn.execute(
        f"SELECT {', '.join(cols)}, remarks FROM remit_adjudications"
        " WHERE claim_id = ? AND kind = ? ORDER BY id LIMIT 1",
        (remit_claim_id, kind),
    ).fetchone()
    if row is None:
        return None
    out: dict = {k: v for k, v in zip(cols, row[:-1], strict=True) if v is not None}
    known = cob.known_remarks()
    out["remarks"] = [r for r in (row[-1] or "").split(",") if r in known]
    return out, row[0]


def inpatient_adjudication(conn: Database, remit_claim_id: int) -> dict | None:
    """The prior payer's inpatient adjudication (its 835's MIA, remit_adjudications) as the
    next payer's 837I carries it in loop 2320: the MIA's counts as read, its amounts in cents,
    its remark codes in order (only those pyx12's code list knows, as for MOA:
    billing.cob.adjudication); None when the 835 carried no MIA, or one without MIA01 (covered
    days or visits, required in the 837I's MIA: never made up)."""
    found = _adjudication(conn, remit_claim_id, "inpatient")
    if found is None or found[1] is None:
        return None
    return found[0]


def outpatient_adjudication(conn: Database, remit_claim_id: int) -> dict | None:
    """The prior payer's outpatient adjudication (its 835's MOA, remit_adjudications) as the
    next payer's 837I carries it in loop 2320's MOA: MOA01 the reimbursement rate (a
    percentage, as read), MOA02 the HCPCS payable amount, MOA08 the ESRD payment amount, MOA09
    the non-payable professional component amount (amounts in cents), each only when the 835
    gave it, and its remark codes (MOA03-07, only those pyx12's code list knows); None when
    the 835 carried no MOA. The 837I's MOA elements are all Situational, the same nine as
    the 835's (pyx12 maps 837Q3.I.5010.X223.A1 loop 2320 and 835.5010.X221.A1 loop 2100)."""
    found = _adjudication(conn, remit_claim_id, "outpatient")
    return None if found is None else found[0]


def _finding(rule: str, message: str, key: str, encounter_id: int) -> Finding:
    return Finding(
        rule,
        "error",
        message,
        encounter=key,
        source="TR3 005010X223A2 (COB, loops 2320/2330/2430)",
        encounter_id=encounter_id,
    )


def build(
    conn: Database,
    d: cob.Due,
    ids: InvoiceIds,
    *,
    issued_on: str,
    payers: dict[int, dict],
) -> tuple[NewInvoice | None, list[Finding]]:
    """The next-payer 837I claim for one answer (module docstring), unnumbered; or the findings
    that hold it."""
    prior_no, patient_id, enc_id, data, key = conn.execute(
        "SELECT i.number, i.patient_id, i.encounter_id, s.data, e.number FROM invoices i"
        " JOIN invoice_snapshots s ON s.invoice_id = i.id JOIN encounters e"
        " ON e.id = i.encounter_id WHERE i.id = ?",
        (d.prior_invoice_id,),
    ).fetchone()
    base = json.loads(data)
    ans = cob.answer(conn, d.remit_claim_id)
    covs = cob.coverages_on(conn, patient_id, base["statement_from"], payers)
    pos = next((i for i, c in enumerate(covs) if c["payer_id"] == d.next_payer_id), None)
    if not pos:
        msg = f"{prior_no}: the next payer's coverage is not active on the statement date"
        return None, [_finding("COB-NEXT-PAYER", msg, key, enc_id)]
    cov, payer = covs[pos], payers[d.next_payer_id]
    pat = bc.load_patients(conn, bc.temp_ids(conn, "_inst_cob_pat", [patient_id]))[patient_id]
    problems = [_finding(rule, msg, key, enc_id) for rule, msg in payer_problems(cov, payer)]
    answered = payers.get(ans.payer_id or -1) or payers[covs[pos - 1]["payer_id"]]
    prior_cov = next(c for c in covs if c["payer_id"] == answered["id"])
    osub, _ = bc.subscriber_block(prior_cov, pat)
    adjudication = cob.adjudication(ans, answered)
    mia = inpatient_adjudication(conn, d.remit_claim_id) if base.get("inpatient") else None
    if mia is not None:
        adjudication["inpatient"] = mia
    else:
        moa = outpatient_adjudication(conn, d.remit_claim_id)
        if moa is not None:  # the 835 reported outpatient adjudication (MOA)
            adjudication["outpatient"] = moa
    others = [
        {
            "responsibility": "P",
            "payer": bc.payer_block(answered),
            "subscriber": osub,
            "adjudication": adjudication,
        }
    ]
    for later in covs[pos + 1 : pos + 2]:
        lsub, _ = bc.subscriber_block(later, pat)
        others.append(
            {
                "responsibility": "T",
                "payer": bc.payer_block(payers[later["payer_id"]]),
                "subscriber": lsub,
            }
        )
    inv_id = ids.next_invoice()
    prior_lines = conn.execute(
        "SELECT id, line_no, date_of_service, code, modifiers, units, description, amount_cents"
        " FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
        (d.prior_invoice_id,),
    ).fetchall()
    by_id = {ln["invoice_line_id"]: ln for ln in base["lines"]}
    lines, clines = [], []
    for lid, no, dos, code, mods, units, desc, cents in prior_lines:
        row = line_row(
            ids,
            inv_id,
            no,
            charge_line_id=None,
            dos=dos,
            code=code,
            modifiers=[m for m in (mods or "").split(",") if m],
            units=units,
            description=desc,
            amount=cents,
        )
        lines.append(row)
        cl = copy.deepcopy(by_id[lid])
        cl["invoice_line_id"] = row["id"]
        la = ans.lines.get(no)
        if la is not None:
            pid = answered.get("x12_payer_id") or answered["code"]
            cl["adjudications"] = [
                {
                    "payer_id": pid,
                    "paid_cents": la["paid_cents"],
                    "cas": la["cas"],
                    "date": ans.date,
                }
            ]
        clines.append(cl)
    sub, patient_block = bc.subscriber_block(cov, pat)
    c = copy.deepcopy(base)
    c.update(
        number="",
        frequency="1",
        payer_claim_number=None,
        type_of_bill=base["type_of_bill"][:2] + "1",
        payer=bc.payer_block(payer),
        subscriber=sub,
        patient=patient_block,
        other_payers=others,
        lines=clines,
        responsibility=cob.SEQUENCE.get(pos + 1, "T"),
    )
    problems += [
        _finding("COB-BALANCE", f"{prior_no}: {p}", key, enc_id) for p in cob.balance_problems(c)
    ]
    if problems:
        return None, problems
    row = {
        "id": inv_id,
        "number": "",
        "kind": "claim",
        "patient_id": patient_id,
        "payer_id": d.next_payer_id,
        "coverage_id": cov["id"],
        "encounter_id": enc_id,
        "original_invoice_id": None,
        "frequency_code": "1",
        "issued_on": issued_on,
        "due_on": None,
        "filing_deadline": bc.filing_deadline(base["statement_through"], payer),
        "total_cents": c["total_cents"],
        "copay_cents": 0,
    }
    return NewInvoice(row, lines, c, payer["code"], key, pat["mrn"], base["statement_from"]), []
