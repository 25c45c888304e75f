"""Account work: check-in and co-pays, patient payments and refunds, the account view, notes,
the denial worklist, appeals and per-payer filing rules. Plain Python over the core ledger; no
typer or rich here."""
