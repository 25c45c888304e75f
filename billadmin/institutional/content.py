"""The content an institutional claim is issued with (its invoice snapshot, rendered by
x12/x837i.py and by the UB-04), built from the model (model.InstitutionalClaim).

Keys (JSON-ready; money in cents, dates ISO):
  kind "claim", claim_type "institutional", number (our invoice number, CLM01), frequency,
  payer_claim_number (7 and 8), encounter (the claim key), mrn (the patient's medical record
  number, UB-04 FL 3b), date_of_service (statement from),
  type_of_bill, inpatient (bool), statement_from, statement_through,
  admission {date, hour, type, source}, discharge_hour, patient_status, prior_auth,
  facility {code, name, npi, tax_id, taxonomy, address1, address2, city, state, zip, phone},
  total_cents, payer, subscriber, patient (None when the patient is the subscriber),
  other_payers [{priority, payer, subscriber}] (as billing/content.py builds them),
  providers [{role, npi, last, first}], diagnoses [[qualifier, code, poa]],
  procedures [[qualifier, code, date]], conditions [code], occurrences [[code, date]],
  spans [[code, from, through]], values [[code, cents]],
  lines [{invoice_line_id, revenue_code, code (HCPCS or None), modifiers, units, unit_type,
          charge_cents, non_covered_cents, date}].
"""

from __future__ import annotations

from dataclasses import asdict

from ..billing import content as billing_content
from .model import InstitutionalClaim


def facility_block(claim: InstitutionalClaim) -> dict:
    f = asdict(claim.facility)
    f.pop("id")
    f.pop("facility_type")
    return f


def claim_content(
    claim: InstitutionalClaim,
    *,
    number: str,
    frequency: str,
    line_ids: list[int],
    patient: dict,
    coverage: dict,
    payer: dict,
    others: list[tuple[dict, dict]],
    payer_claim_number: str | None = None,
) -> dict:
    """One institutional claim's content; `line_ids` are its invoice lines' ids, in line order."""
    sub, pat = billing_content.subscriber_block(coverage, patient)
    other_blocks = []
    for pos, (ocov, opayer) in enumerate(others[:2], start=2):
        osub, _ = billing_content.subscriber_block(ocov, patient)
        other_blocks.append(
            {"priority": pos, "payer": billing_content.payer_block(opayer), "subscriber": osub}
        )
    return {
        "kind": "claim",
        "claim_type": "institutional",
        "number": number,
        "frequency": frequency,
        "payer_claim_number": payer_claim_number,
        "encounter": claim.key,
        # UB-04 FL 3b (medical record number): the patient's MRN, printed on the paper form only
        "mrn": patient.get("mrn"),
        "date_of_service": claim.statement_from,
        "type_of_bill": claim.type_of_bill[:2] + frequency,
        "inpatient": claim.inpatient,
        "statement_from": claim.statement_from,
        "statement_through": claim.statement_through,
        "admission": {
            "date": claim.admission_date,
            "hour": claim.admission_hour,
            "type": claim.admission_type,
            "source": claim.admission_source,
        },
        "discharge_hour": claim.discharge_hour,
        "patient_status": claim.patient_status,
        "prior_auth": claim.prior_auth,
        "facility": facility_block(claim),
        "total_cents": claim.total_cents,
        "payer": billing_content.payer_block(payer),
        "subscriber": sub,
        "patient": pat,
        "other_payers": other_blocks,
        "providers": [
            {"role": p.role, "npi": p.npi, "last": p.last_name, "first": p.first_name}
            for p in claim.providers
        ],
        "diagnoses": [[d.qualifier, d.code, d.poa] for d in claim.diagnoses],
        "procedures": [[p.qualifier, p.code, p.date] for p in claim.procedures],
        "conditions": list(claim.condition_codes),
        "occurrences": [[o.code, o.date] for o in claim.occurrence_codes],
        "spans": [[s.code, s.date_from, s.date_through] for s in claim.occurrence_spans],
        "values": [[v.code, v.amount_cents] for v in claim.value_codes],
        "lines": [
            {
                "invoice_line_id": lid,
                "revenue_code": ln.revenue_code,
                "code": ln.hcpcs,
                "modifiers": list(ln.modifiers),
                "units": ln.units,
                "unit_type": ln.unit_type,
                "charge_cents": ln.charge_cents,
                "non_covered_cents": ln.non_covered_cents,
                "date": ln.line_date,
            }
            for lid, ln in zip(line_ids, claim.lines, strict=True)
        ],
    }


def block(practice: dict, facility: dict) -> dict:
    """What x837i.render takes for the envelope's parties: the practice's EDI enrolment
    (submitter, receiver) and the facility as billing provider."""
    return {"submitter": billing_content.practice_block(practice), "facility": facility}
