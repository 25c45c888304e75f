"""The demo's medical-necessity step (issue 18): a lab NCD code list for one NCD, hand-made in the
layout `codes load lab-ncd` reads and labelled as a demo excerpt (not CMS's list), loaded through
the ordinary loader; then a charge file of two Medicare TSH lines whose diagnosis does not
support the test is scrubbed without being imported: the one without a modifier is held, the
one with GA (an ABN on file) passes with its warning. The excerpt lists only 84443, which the
demo practice never bills, so no other line or number of the demo changes.
"""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path

LABEL = "demo excerpt (not CMS's list): NCD 190.22, 84443 only"
HEADER = ["NCD", "Title", "List", "Code", "Description"]
ROWS = [
    ["190.22", "Thyroid Testing", "HCPCS", "84443", "Thyroid stimulating hormone (TSH)"],
    ["190.22", "Thyroid Testing", "Covered", "E03.9", "Hypothyroidism, unspecified"],
    ["190.22", "Thyroid Testing", "Covered", "E05.90", "Thyrotoxicosis, unspecified"],
    ["190.22", "Thyroid Testing", "Covered", "E89.0", "Postprocedural hypothyroidism"],
    ["190.22", "Thyroid Testing", "Does Not Support", "R53.83", "Other fatigue"],
    ["ALL", "", "Non-Covered", "Z00.00", "General adult medical examination"],
]


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def step_necessity(ctx) -> None:
    """Demo step: the NCD excerpt loaded, two Medicare TSH lines scrubbed from a file (not imported)."""
    from ..codesets import necessity
    from ..scrub.files import check_file

    files = Path(ctx.summary.files_dir)
    src = _write(files / "lab-ncd-demo-excerpt.csv", HEADER, ROWS)
    start = ctx.as_of - _dt.timedelta(days=183)
    rep = necessity.load(ctx.conn, "lab-ncd", [src], label=LABEL, effective=start.isoformat())
    dos = (ctx.as_of - _dt.timedelta(days=3)).isoformat()
    row = ctx.conn.execute(
        "SELECT p.mrn FROM patients p JOIN coverages c ON c.patient_id = p.id JOIN payers y ON"
        " y.id = c.payer_id WHERE y.kind = 'medicare' AND c.effective_from <= ? AND"
        " (c.effective_to IS NULL OR c.effective_to >= ?) ORDER BY p.id LIMIT 1",
        (dos, dos),
    ).fetchone()
    with open(files / "charges.csv", newline="", encoding="utf-8") as fh:
        npi = next(csv.DictReader(fh))["Rendering NPI"]
    if row is None:  # a tiny demo without a Medicare patient: the list is loaded, nothing shown
        ctx.summary.steps.append(f"Loaded lab NCD list '{rep.label}' from {src.name}")
        return
    charges = _write(
        files / "necessity-charges.csv",
        ["Encounter", "MRN", "DOS", "Rendering NPI", "POS", "Line", "Code", "Mod1", "Dx1"]
        + ["Pointers", "Units", "Charge"],
        [
            ["NEC-HOLD", row[0], dos, npi, "11", "1", "84443", "", "R53.83", "1", "1", "35.00"],
            ["NEC-ABN", row[0], dos, npi, "11", "1", "84443", "GA", "R53.83", "1", "1", "35.00"],
        ],
    )
    res = check_file(ctx.conn, charges, as_of=ctx.as_of)
    mine = [f for f in res.findings if f.rule == "NCD-NECESSITY"]
    held = sum(1 for f in mine if f.severity == "error")
    ctx.summary.counts["necessity_held"] = held
    abn = ctx.summary.counts["necessity_abn"] = sum(
        1 for f in mine if f.severity == "warning" and "GA:" in f.message
    )
    ctx.summary.steps.append(
        f"Loaded lab NCD list '{rep.label}' ({rep.rows_in_file} rows) from {src.name}; two Medicare"
        f" TSH lines for fatigue (R53.83) in {charges.name}, scrubbed without importing: {held}"
        f" held by NCD-NECESSITY (no modifier), {abn} with GA passing with a warning (the ABN"
        " makes the patient liable: Medicare denies it PR-50)"
    )
