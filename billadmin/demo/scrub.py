"""The demo's scrub step: load an NCCI PTP excerpt, scrub every unbilled line, report findings.

The demo practice plants coding errors (see demo/practice.py): header codes (E11 for E11.9),
M54.5 (a header since FY2022), a line without a diagnosis pointer, and 80048 billed with 80053.
Catching the last one needs NCCI PTP data, and CMS's files cannot be downloaded here, so the
step writes a small file in CMS's practitioner PTP layout with only the pair the demo uses and
loads it through the ordinary loader, labelled as what it is: a demo excerpt, not CMS's file.
HCPCS Level II codes are checked by format only (no HCPCS file is loaded in the demo); the
findings and the run's notes say so.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


PTP_LABEL = "demo excerpt (not CMS's file): 80053/80048 only"

# (column 1, column 2, modifier indicator, rationale) of the pairs the demo bills.
DEMO_PTP_PAIRS = [
    ("80053", "80048", "0", "Demo excerpt: comprehensive metabolic panel includes the basic panel"),
]

PLANTED_RULES = {
    "header": "ICD-BILLABLE",
    "inactive": "ICD-BILLABLE",
    "pointer": "CLM-POINTER",
    "unbundle": "NCCI-PTP",
}


def write_ptp_excerpt(path: Path, pairs=DEMO_PTP_PAIRS, effective: str = "20000101") -> Path:
    """A PTP file in CMS's practitioner layout: preamble, header, legend, tab-delimited edits."""
    lines = [
        "Demo excerpt written by billadmin demo: NOT the CMS NCCI file; same layout, only the pairs the demo uses.",
        "Column1/Column2 Edits",
        "\t".join(
            [
                "Column 1",
                "Column 2",
                "*=in existence prior to 1996",
                "Effective Date",
                "Deletion Date",
                "Modifier",
                "PTP Edit Rationale",
            ]
        ),
        "\t".join(["", "", "", "", "*=no data", "0=not allowed", ""]),
        "\t".join(["", "", "", "", "", "1=allowed", ""]),
        "\t".join(["", "", "", "", "", "9=not applicable", ""]),
    ]
    for c1, c2, mod, why in pairs:
        lines.append("\t".join([c1, c2, "", effective, "*", mod, why]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    return path


def step_code_sets(ctx) -> None:
    """Demo step: the PTP excerpt loaded through `codes load ncci-ptp` (before anything is billed)."""
    from ..codesets import loader

    files = ctx.summary.files_dir
    ptp = write_ptp_excerpt(Path(files) / "ncci-ptp-demo-excerpt.txt")
    start = ctx.as_of - _dt.timedelta(days=183)  # in force for the whole six months the demo bills
    rep = loader.load(ctx.conn, "ncci-ptp", [ptp], label=PTP_LABEL, effective=start.isoformat())
    ctx.summary.counts["ptp_edits"] = rep.rows_in_file
    ctx.summary.steps.append(
        f"Loaded NCCI PTP '{rep.label}' ({rep.rows_in_file} edit) from {ptp.name}; "
        f"HCPCS Level II and CPT are checked by format only (no HCPCS or CPT file loaded)"
    )


def step_scrub(ctx) -> None:
    """Demo step: PTP excerpt loaded (unless step_code_sets ran), the unbilled lines scrubbed,
    findings summarised and saved."""
    from .. import render
    from ..scrub import check

    if "ptp_edits" not in ctx.summary.counts:
        step_code_sets(ctx)
    files = ctx.summary.files_dir
    findings = check(ctx.conn, as_of=ctx.as_of)
    out = Path(files) / "scrub-findings.csv"
    render.emit(
        [f.as_row() for f in findings],
        fmt="csv",
        output=out,
        columns=["encounter", "line", "rule", "severity", "message", "source"],
    )
    ctx.summary.paths["scrub-findings"] = out
    errors = sum(1 for f in findings if f.severity == "error")
    by_rule = Counter((f.rule, f.severity) for f in findings)
    lines, encs = ctx.conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT encounter_id) FROM charge_lines WHERE status = 'unbilled'"
    ).fetchone()
    ctx.summary.counts["scrub_errors"] = errors
    ctx.summary.counts["scrub_warnings"] = len(findings) - errors
    ctx.summary.steps.append(
        f"Scrubbed {lines:,} unbilled lines of {encs:,} encounters: {errors:,} errors, "
        f"{len(findings) - errors:,} warnings "
        f"({', '.join(f'{r} {n}' + ('' if s == 'error' else ' warn') for (r, s), n in sorted(by_rule.items()))}); "
        f"all findings in {out.name}"
    )
    hit = {(f.encounter, f.rule) for f in findings}
    caught = []
    for kind, numbers in ctx.data.planted.items():
        rule = PLANTED_RULES.get(kind)
        if rule is None or not numbers:
            continue
        missed = [e for e in numbers if (e, rule) not in hit]
        text = f"{kind} {len(numbers) - len(missed)}/{len(numbers)} ({rule})"
        if kind == "header" and missed:
            # the generator cuts the first diagnosis at its dot; for I10 or Z23 that is the code itself
            valid = sum(1 for e in missed if _first_dx_billable(ctx.conn, e))
            if valid:
                text += (
                    f", {valid} planted without effect (the cut code, e.g. I10, is itself billable)"
                )
        caught.append(text)
    ctx.summary.steps.append("Planted errors caught by the scrubber: " + "; ".join(caught))


def _first_dx_billable(conn: Database, number: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM encounter_diagnoses d JOIN encounters e ON e.id = d.encounter_id JOIN codes c"
        " ON c.code_system = 'icd10cm' AND c.code = d.code AND c.billable = 1 WHERE e.number = ? AND d.seq = 1",
        (number,),
    ).fetchone()
    return row is not None
