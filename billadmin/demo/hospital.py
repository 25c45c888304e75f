"""The demo's second billing entity (issue 17): a hospital's outpatient endoscopy and pathology
department billing Medicare on the 837I, beside the practice's 837P.

Played as the hospital's billing office does it: the facility is set up (`facility set`), the
department's claims export is imported (`import institutional`: four outpatient colonoscopies
with biopsy, type of bill 131; two inpatient stays for a GI bleed, type of bill 111, with POA
indicators, an ICD-10-PCS procedure, value and occurrence codes), and the physicians'
professional claims for the same work are imported as charges (`import charges`: the
endoscopist's procedure at place of service 22 or 21, the pathologist's reading with modifier
26). One `invoice generate` run then writes the 837I and the 837P, each validated by pyx12.
Patients are the demo's Medicare patients with coverage on the service dates (the run is
scoped to their Medicare payer, so what other steps queued for other payers waits).
"""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path

from .. import npi

ENDOSCOPIST = (npi.make("176543210"), "Maya", "Chen", "207RG0100X")  # gastroenterology
PATHOLOGIST = (npi.make("165432109"), "Omar", "Reyes", "207ZP0102X")  # anatomic/clinical
FACILITY = {
    "name": "Riverside General Hospital",
    "npi": npi.make("187654321"),
    "tax_id": "311234567",
    "taxonomy": "282N00000X",
    "facility_type": "1",
    "address1": "100 River Road",
    "city": "Columbus",
    "state": "OH",
    "zip": "432151000",
    "phone": "6145550199",
}
INST_HEADER = [
    "claim", "mrn", "type_of_bill", "statement_from", "statement_through", "admission_date",
    "admission_hour", "admission_type", "admission_source", "discharge_hour", "patient_status",
    "attending_npi", "operating_npi", "principal_dx", "principal_poa", "admitting_dx",
    "reason_dx", "other_dx", "principal_procedure", "principal_procedure_date",
    "occurrence_codes", "value_codes", "revenue_code", "hcpcs", "modifiers", "units",
    "unit_type", "charge", "line_date",
]  # fmt: skip
CHARGE_HEADER = ["Encounter", "MRN", "DOS", "Rendering NPI", "POS", "Line", "Code", "Mod1"]
CHARGE_HEADER += ["Dx1", "Dx2", "Pointers", "Units", "Charge"]
CHARGE_HEADER += ["Ordering NPI", "Ordering Last Name", "Ordering First Name", "CLIA"]
CLIA = "36D1234567"  # the hospital laboratory's (demo) CLIA number
OUTPATIENT = 4
INPATIENT = 2


def _medicare_patients(conn, first: _dt.date, last: _dt.date, n: int) -> list[str]:
    """MRNs of patients whose primary coverage is Medicare over the whole window."""
    rows = conn.execute(
        "SELECT p.mrn FROM patients p JOIN coverages c ON c.patient_id = p.id JOIN payers y ON"
        " y.id = c.payer_id WHERE y.kind = 'medicare' AND c.priority = 1 AND y.x12_payer_id IS"
        " NOT NULL AND y.id = (SELECT MIN(id) FROM payers WHERE kind = 'medicare' AND x12_payer_id"
        " IS NOT NULL) AND c.relationship = 'self' AND c.effective_from <= ? AND (c.effective_to IS"
        " NULL OR c.effective_to >= ?) AND p.address1 IS NOT NULL ORDER BY p.mrn LIMIT ?",
        (first.isoformat(), last.isoformat(), n),
    ).fetchall()
    return [r[0] for r in rows]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _blank_header(n: int) -> list[str]:
    return [""] * n


def _rows(mrns: list[str], as_of: _dt.date) -> tuple[list[list[str]], list[list[str]]]:
    """(the department's UB-04 export rows, the physicians' charge rows)."""
    inst: list[list[str]] = []
    prof: list[list[str]] = []
    gi, path = ENDOSCOPIST[0], PATHOLOGIST[0]
    head_blanks = len(INST_HEADER) - 7  # everything before revenue_code
    for i, mrn in enumerate(mrns[:OUTPATIENT]):
        day = (as_of - _dt.timedelta(days=20 - 2 * i)).isoformat()
        key = f"HOP{i + 1:04d}"
        inst.append(
            [key, mrn, "131", day, day, "", "", "3", "1", "", "01", gi, "", "K63.5", "", "",
             "R19.5", "Z12.11", "", "", "", "", "0750", "45380", "PT", "1", "", "1850.00", day]
        )  # fmt: skip
        inst.append(
            [key] + _blank_header(head_blanks - 1) + ["0310", "88305", "", "2", "", "420.00", day]
        )
        inst.append(
            [key] + _blank_header(head_blanks - 1) + ["0710", "", "", "1", "", "300.00", day]
        )
        inst.append(
            [key] + _blank_header(head_blanks - 1) + ["0370", "", "", "1", "", "250.00", day]
        )
        prof.append(
            [
                f"{key}-GI",
                mrn,
                day,
                gi,
                "22",
                "1",
                "45380",
                "",
                "K63.5",
                "Z12.11",
                "1",
                "1",
                "450.00",
            ]
        )
        prof.append(
            [f"{key}-PA", mrn, day, path, "22", "1", "88305", "26", "K63.5", "", "1", "2", "90.00"]
        )
    for i, mrn in enumerate(mrns[OUTPATIENT : OUTPATIENT + INPATIENT]):
        admit = as_of - _dt.timedelta(days=30 - 14 * i)
        disch = admit + _dt.timedelta(days=3)
        proc = admit + _dt.timedelta(days=1)
        key = f"HIP{i + 1:04d}"
        a, d, p = admit.isoformat(), disch.isoformat(), proc.isoformat()
        inst.append(
            [key, mrn, "111", a, d, a, "14", "1", "7", "11", "01", gi, gi, "K92.2", "Y", "K92.2",
             "", "D62:Y;E11.9:Y", "0DB98ZX", p, f"11:{(admit - _dt.timedelta(days=1)).isoformat()}",
             "80:3", "0120", "", "", "3", "DA", "5400.00", ""]
        )  # fmt: skip
        inst.append(
            [key] + _blank_header(head_blanks - 1) + ["0250", "", "", "12", "", "360.00", ""]
        )
        inst.append(
            [key] + _blank_header(head_blanks - 1) + ["0750", "43239", "", "1", "", "2100.00", p]
        )
        inst.append(
            [key] + _blank_header(head_blanks - 1) + ["0310", "88305", "", "1", "", "210.00", p]
        )
        prof.append(
            [f"{key}-GI", mrn, a, gi, "21", "1", "99223", "", "K92.2", "D62", "1,2", "1", "290.00"]
        )
        prof.append(
            [f"{key}-GE", mrn, p, gi, "21", "1", "43239", "", "K92.2", "", "1", "1", "380.00"]
        )
        prof.append(
            [f"{key}-PA", mrn, p, path, "21", "1", "88305", "26", "K92.2", "", "1", "1", "45.00"]
        )
    # the pathologist's reading names who ordered it (the endoscopist) and the hospital lab
    ordered = [ENDOSCOPIST[0], ENDOSCOPIST[2], ENDOSCOPIST[1], CLIA]
    prof = [r + (ordered if r[6] == "88305" else ["", "", "", ""]) for r in prof]
    return inst, prof


def step_hospital(ctx) -> None:
    """Demo step: the hospital department's 837I and its physicians' 837P (module docstring)."""
    from ..billing.generate import generate
    from ..ingest.engine import ImportOptions, run_import
    from ..institutional import ingest, store
    from ..scrub import check

    conn, as_of = ctx.conn, ctx.as_of
    files = Path(ctx.summary.files_dir)
    first = as_of - _dt.timedelta(days=31)
    mrns = _medicare_patients(conn, first, as_of, OUTPATIENT + INPATIENT)
    if len(mrns) < OUTPATIENT + INPATIENT:  # a tiny demo without enough Medicare patients
        return
    store.save_facility(conn, "RGH", dict(FACILITY))
    prov = _write(
        files / "hospital-providers.csv",
        ["NPI", "First Name", "Last Name", "Taxonomy"],
        [list(ENDOSCOPIST), list(PATHOLOGIST)],
    )
    run_import(conn, "providers", prov, ImportOptions(today=as_of))
    inst_rows, prof_rows = _rows(mrns, as_of)
    ub04 = _write(files / "hospital-ub04.csv", INST_HEADER, inst_rows)
    res = ingest.import_file(conn, ub04)
    charges = _write(files / "hospital-physician-charges.csv", CHARGE_HEADER, prof_rows)
    run_import(conn, "charges", charges, ImportOptions(today=as_of))
    (medicare,) = conn.execute(
        "SELECT y.code FROM patients p JOIN coverages c ON c.patient_id = p.id JOIN payers y"
        " ON y.id = c.payer_id WHERE p.mrn = ? AND c.priority = 1 AND y.kind = 'medicare'",
        (mrns[0],),
    ).fetchone()
    # the department bills Medicare: --payer keeps the practice's queued resends for its own run
    run = generate(
        conn,
        through=as_of,
        today=as_of,
        payer=medicare,
        patients=False,
        xlsx=False,
        out_dir=ctx.out_dir / "out" / "hospital",
        scrub=check,
    )
    mine = [h for h in run.held if h.encounter.startswith(("HOP", "HIP"))]
    kinds = {"837I": 0, "837P": 0}
    for f in run.files:
        for k in kinds:
            kinds[k] += Path(f).name.startswith(k)
    ctx.summary.counts["institutional_claims"] = res.claims
    ctx.summary.steps.append(
        f"Hospital department (facility RGH): imported {res.claims} institutional claims"
        f" ({OUTPATIENT} outpatient endoscopies, type of bill 131; {INPATIENT} inpatient stays,"
        f" 111) from {ub04.name} and the physicians' {len(prof_rows)} professional charges;"
        f" one invoice generate issued {len(run.issued)} claims in {kinds['837I']} 837I and"
        f" {kinds['837P']} 837P file(s), each validated by pyx12"
        + (f"; {len(mine)} of the department's held" if mine else "")
    )
