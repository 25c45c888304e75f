"""Reports over the ledger: aging, kpi, medicare, payer-mix, payer-cpt, denials, daysheet,
timely-filing, coverage-expiring. Each module computes a :class:`base.Report` (sheets of rows,
charts, notes) from the core tables; `billadmin report NAME` prints its main sheet as a table,
CSV or JSON, or writes every sheet with charts to xlsx. No typer or rich here."""
