"""A replacement (frequency 7) or resubmission of an issued institutional claim, built from the
claim's current data (corrected with `import institutional --correct`) for `invoice replace`
and `invoice resubmit` (billing/lifecycle.py, which issues the credit note, numbers, queues
and audits as for a professional claim; the 837I goes out with the payer's next file).

Rule: the replacement bills the coverage the original billed (its payer's claim number goes in
REF*F8), with the claim's current header, codes and lines; the INST-* rules of
institutional/generate.py refuse it (ChecksFailed, nothing issued) when the 837I could not be
built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..billing import content as bc
from ..billing.invoices import InvoiceIds, NewInvoice
from ..errors import ChecksFailed, Conflict
from . import generate, model

if TYPE_CHECKING:
    from ..db import Database


@dataclass
class Replacement:
    claim: model.InstitutionalClaim
    orig: dict
    patient: dict
    coverages: list[dict]  # the original's coverage first, then the others active
    payers: dict[int, dict]

    def build(
        self,
        ids: InvoiceIds,
        number: str,
        *,
        frequency: str,
        issued_on: str,
        payer_claim_number: str | None,
    ) -> NewInvoice:
        """The corrected claim's invoice, pointing back to the original."""
        it = generate.build_invoice(
            self.claim,
            number,
            ids,
            issued_on=issued_on,
            patient=self.patient,
            coverages=self.coverages,
            payers=self.payers,
            frequency=frequency,
            payer_claim_number=payer_claim_number,
        )
        it.row["original_invoice_id"] = self.orig["id"]
        it.row["copay_cents"] = self.orig["copay_cents"]
        return it


def prepare(conn: Database, orig: dict, snapshot: dict) -> Replacement | None:
    """None for a professional claim; else the institutional replacement, checked."""
    if snapshot.get("claim_type") != "institutional":
        return None
    row = conn.execute(
        "SELECT id FROM inst_claims WHERE encounter_id = ?", (orig["encounter_id"],)
    ).fetchone()
    if row is None:
        raise Conflict(f"{orig['number']}: its institutional claim is not in the database")
    (claim,) = model.list_claims(conn, ids=[row[0]])
    t = bc.temp_ids(conn, "_inst_repl_pat", [claim.patient_id])
    patient = bc.load_patients(conn, t)[claim.patient_id]
    covs = bc.load_coverages(conn, t).get(claim.patient_id, [])
    payers = bc.load_payers(conn)
    cov = next((c for c in covs if c["id"] == orig["coverage_id"]), None)
    if cov is None:
        raise Conflict(f"the coverage billed on {orig['number']} is gone: void it instead")
    others = [
        c for c in bc.active_coverages(covs, claim.statement_from, payers) if c["id"] != cov["id"]
    ]
    problems = generate.build_problems(claim, cov, payers[cov["payer_id"]], patient)
    if problems:
        raise ChecksFailed(
            f"{claim.key} still has {len(problems)} error(s); nothing was issued",
            details=[f"{f.rule}: {f.message}" for f in problems],
        )
    return Replacement(claim, orig, patient, [cov, *others], payers)
