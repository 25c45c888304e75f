"""The demo's invoice step: `invoice generate` on the demo practice, as the night job would run it.

Bills every encounter up to the demo's as-of date with the real scrubber: encounters with the
planted coding errors are held, the rest become one 837P per payer (each validated by pyx12)
and patient invoice PDFs for the self-pay patients, with invoices.csv/.xlsx beside them.
"""

from __future__ import annotations


def step_invoice(ctx) -> None:
    from ..scrub import check
    from .generate import generate

    out = ctx.out_dir / "out" / ctx.as_of.isoformat()
    res = generate(ctx.conn, through=ctx.as_of, today=ctx.as_of, out_dir=out, scrub=check)
    claims = [r for r in res.issued if r["kind"] == "claim"]
    patients = [r for r in res.issued if r["kind"] == "patient"]
    edis = [f for f in res.files if f.suffix == ".edi"]
    pdfs = [f for f in res.files if f.suffix == ".pdf"]
    ctx.summary.counts.update({"claims": len(claims), "patient_invoices": len(patients), "held": len(res.held)})
    ctx.summary.paths["invoices"] = out
    ctx.summary.steps.append(
        f"Invoice generate: {len(claims)} claims in {len(edis)} 837P files (one per payer, each passed pyx12) and "
        f"{len(patients)} patient invoices ({len(pdfs)} PDFs); {len(res.held)} encounters held by the scrubber")
    ctx.summary.steps.append(f"Claims and invoices are in {out}/ (invoices.csv and invoices.xlsx list them)")
