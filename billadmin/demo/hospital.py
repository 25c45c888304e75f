"""The demo's second billing entity (issue 17): a hospital's outpatient endoscopy and pathology
department billing Medicare on the 837I, beside the practice's 837P.

Played as the hospital's billing office does it: the facility is set up (`facility set`), the
department's claims export is imported (`import institutional`: four outpatient colonoscopies
with biopsy, type of bill 131; two inpatient stays for a GI bleed, type of bill 111, with POA
indicators, an ICD-10-PCS procedure, value and occurrence codes), and the physicians'
professional claims for the same work are imported as charges (`import charges`: the
endoscopist's procedure at place of service 22 or 21, the pathologist's reading with modifier
26). One `invoice generate` run then writes the 837I and the 837P, each validated before it was written.
Patients are the demo's Medicare patients with coverage on the service dates (the run is
scoped to their Medicare payer, so what other steps queued for other payers waits).

Medicare then answers the 837I with one 835 (`medicare_835`), posted by `remit import` on the
demo's last day (the demo ends there; a real answer comes after Medicare's payment floor):
- outpatient (CLP08 13, MOA): OPPS pays the colonoscopy and the pathology by a made-up APC
  amount per unit (coinsurance 20% as PR-2, the deductible waived for a screening turned
  diagnostic, modifier PT), the rest of each charge CO-45; recovery (0710) and anesthesia
  (0370) are packaged into the APC (paid 0, the charge CO-45; a contractor that reports packaged
  lines as CO-97 is answered with `payer carc-rule`). On HOP0002 the pathology line is denied
  (CO-50, remark N115): it stays open on the claim for the clerk.
- inpatient (CLP08 11, MIA): the stay is paid by its MS-DRG (a made-up amount) less the 2026
  Part A deductible (PR-1 1,736.00), the rest of the charge CO-45, at claim level (no SVC).
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
# Medicare's answer (module docstring); made-up amounts, not CMS's rates
APC_PER_UNIT = {"45380": 76500, "88305": 4800}
DRG_CENTS = 684217
PART_A_DEDUCTIBLE = 173600  # 2026 (CMS fact sheet, Nov. 2025)
DENIED_LINE = ("HOP0002", "88305", ("CO", "50", "N115"))


def _medicare_patients(conn, first: _dt.date, last: _dt.date, n: int) -> list[str]:
    """MRNs of patients whose primary coverage is Medicare over the whole window, and who have
    no other coverage (a next-payer claim is not made for institutional claims yet)."""
    rows = conn.execute(
        "SELECT p.mrn FROM patients p JOIN coverages c ON c.patient_id = p.id JOIN payers y ON"
        " y.id = c.payer_id WHERE y.kind = 'medicare' AND c.priority = 1 AND y.x12_payer_id IS"
        " NOT NULL AND y.id = (SELECT MIN(id) FROM payers WHERE kind = 'medicare' AND x12_payer_id"
        " IS NOT NULL) AND c.relationship = 'self' AND c.effective_from <= ? AND (c.effective_to IS"
        " NULL OR c.effective_to >= ?) AND p.address1 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
        " coverages s WHERE s.patient_id = p.id AND s.priority > 1) ORDER BY p.mrn LIMIT ?",
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
    answered = _post_medicare(conn, ctx.out_dir / "remits" / "hospital", as_of)
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
        f" {kinds['837P']} 837P file(s), each validated before it was written"
        + (f"; {len(mine)} of the department's held" if mine else "")
        + answered
    )


def _post_medicare(conn, out_dir: Path, as_of: _dt.date) -> str:
    """Medicare's 835 for the department's claims, posted (`remit import`); -> a summary."""
    from .. import money
    from ..remit import post

    path = medicare_835(conn, out_dir, as_of)
    if path is None:
        return ""
    res = post.import_files(conn, [path], today=as_of)
    outcomes: dict[str, int] = {}
    for c in res.claims:
        outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    paid = sum(t.posted_cents for t in res.transactions)
    return (
        f"; Medicare's 835 ({path.name}: MOA outpatient, MIA inpatient) posted"
        f" {money.fmt(paid, thousands=True)}: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(outcomes.items()))
    )


def _claims_billed(conn) -> list[tuple[str, int, dict]]:
    """The department's claims as issued: (encounter key, patient id, content)."""
    import json

    return [
        (key, pid, json.loads(data))
        for key, pid, data in conn.execute(
            "SELECT e.number, i.patient_id, s.data FROM inst_claim_invoices x"
            " JOIN invoices i ON i.id = x.invoice_id JOIN encounters e ON e.id = i.encounter_id"
            " JOIN invoice_snapshots s ON s.invoice_id = i.id WHERE i.frequency_code = '1'"
            " AND (e.number LIKE 'HOP%' OR e.number LIKE 'HIP%') ORDER BY i.number"
        )
    ]


def _outpatient_lines(key: str, c: dict) -> tuple[list[list[str]], int, int]:
    """SVC loops of an outpatient claim under OPPS -> (segments, paid, patient resp.)."""
    from .. import money

    segs: list[list[str]] = []
    paid_total = pr_total = 0
    for ln in c["lines"]:
        charge, code, units = ln["charge_cents"], ln["code"], ln["units"]
        cas: list[tuple[str, str, int]] = []
        remark = None
        if DENIED_LINE[:2] == (key, code):
            g, r, remark = DENIED_LINE[2]
            cas.append((g, r, charge))
            paid = 0
        else:
            allowed = min(charge, APC_PER_UNIT.get(code or "", 0) * units)
            pr = money.percent_of(allowed, 20)
            paid = allowed - pr
            if charge - allowed:
                cas.append(("CO", "45", charge - allowed))
            if pr:
                cas.append(("PR", "2", pr))
                pr_total += pr
        paid_total += paid
        if code:  # SVC01 the HCPCS code, SVC04 the revenue code (835 TR3 2110 SVC)
            mods = "".join(":" + m for m in ln["modifiers"])
            svc = ["SVC", f"HC:{code}{mods}", _x12(charge), _x12(paid), ln["revenue_code"]]
        else:
            svc = ["SVC", f"NU:{ln['revenue_code']}", _x12(charge), _x12(paid), ""]
        segs.append([*svc, str(units)])
        segs.append(["DTM", "472", (ln["date"] or c["statement_from"]).replace("-", "")])
        segs += [["CAS", g, r, _x12(a)] for g, r, a in cas]
        segs.append(["REF", "6R", str(ln["invoice_line_id"])])
        if remark:
            segs.append(["LQ", "HE", remark])
    return segs, paid_total, pr_total


def _x12(cents: int) -> str:
    from .. import money

    return money.x12_amount(cents)


def _answer(key: str, pid: int, c: dict) -> tuple[list[list[str]], int]:
    """Medicare's CLP loop for one claim (module docstring) -> (segments, paid cents)."""
    charge = c["total_cents"]
    remarks = ["MA01"]
    if c["inpatient"]:
        paid, pr = DRG_CENTS - PART_A_DEDUCTIBLE, PART_A_DEDUCTIBLE
        body = [["CAS", "CO", "45", _x12(charge - DRG_CENTS)], ["CAS", "PR", "1", _x12(pr)]]
        lines: list[list[str]] = []
    else:
        body = []
        lines, paid, pr = _outpatient_lines(key, c)
    tob = c["type_of_bill"]
    clp = ["CLP", c["number"], "1", _x12(charge), _x12(paid), _x12(pr)]
    clp += ["MA", f"2126{pid:05d}{c['number'][1:]}", tob[:2], tob[2]]
    segs = [clp, *body]
    segs.append(["NM1", "QC", "1", "PATIENT", "DEMO", "", "", "", "MI", f"M{pid:08d}"])
    if c["inpatient"]:
        days = str(len(c["lines"]) and c["lines"][0]["units"])
        segs.append(["MIA", days, "", "", _x12(DRG_CENTS), *remarks])
    else:
        segs.append(["MOA", "", _x12(paid), *remarks])
    return segs + lines, paid


def medicare_835(conn, out_dir: Path, as_of: _dt.date) -> Path | None:
    """Medicare's 835 for the department's claims (module docstring), written to out_dir."""
    from .remits import _File, _payers

    claims = _claims_billed(conn)
    if not claims:
        return None
    payers = _payers(conn)
    payer = payers[_payer_id(conn, claims[0][2])]
    fac = claims[0][2]["facility"]
    f = _File(payer, f"FISS{as_of:%y%m%d}", as_of, {"name": fac["name"], "npi": fac["npi"]})
    for key, pid, c in claims:
        f.add(*_answer(key, pid, c))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{payer['code']}-{as_of.isoformat()}-{f.trace}.835"
    isa = conn.execute("SELECT COUNT(*) FROM remit_files").fetchone()[0] + 1
    path.write_text(f.text(isa))
    return path


def _payer_id(conn, c: dict) -> int:
    return conn.execute(
        "SELECT payer_id FROM invoices WHERE number = ?", (c["number"],)
    ).fetchone()[0]
