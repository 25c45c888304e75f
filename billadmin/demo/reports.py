"""The demo's last step: month-end reports on the demo practice (aging, KPIs, payer mix,
denials) written to reports.xlsx next to the demo database."""

from __future__ import annotations


def step_reports(ctx) -> None:
    from .. import money
    from ..accounts import denials as worklist
    from ..reports import aging, denials, kpi, mix, output

    conn, as_of = ctx.conn, ctx.as_of
    reps = [
        aging.report(conn, as_of=as_of, xlsx=True),
        kpi.report(conn, start=None, end=None, as_of=as_of, xlsx=True),
        mix.mix_report(conn, start=None, end=None, as_of=as_of),
        denials.report(conn, start=None, end=None, as_of=as_of, xlsx=True),
    ]
    path = ctx.out_dir / "reports.xlsx"
    output.write_xlsx(path, reps)
    total = reps[0].sheets["Aging by payer"][-1]
    over90 = total["91-120_cents"] + total["120+_cents"]
    k = {r["kpi"]: r["value"] for r in reps[1].sheets["KPI"]}
    work = worklist.worklist(conn, as_of=as_of)
    ctx.summary.steps.append(
        f"A/R aging: {money.fmt(total['total_cents'], thousands=True)} open on {total['invoices']} invoices, "
        f"{money.fmt(over90, thousands=True)} over 90 days"
    )
    ctx.summary.steps.append(
        "KPIs (90 days): "
        + ", ".join(
            f"{name.replace('_', ' ')} {k[name] if k[name] is not None else 'n/a'}"
            for name in ("days_in_ar", "clean_claim_rate", "denial_rate", "net_collection_rate")
        )
    )
    ctx.summary.steps.append(
        f"Denial worklist: {len(work)} claims, "
        f"{money.fmt(sum(r['at_stake_cents'] for r in work), thousands=True)} at stake"
    )
    ctx.summary.steps.append(f"Wrote aging, KPI, payer-mix and denial reports to {path}")
    ctx.summary.paths["reports"] = path
