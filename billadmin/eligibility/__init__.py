"""Eligibility (X12 270/271, 005010X279A1): ask payers whether patients are covered, read their
answers, compare them with the stored coverage and apply the differences when asked.

- ``appointments``: the appointment list a 270 batch is made from (CSV/XLSX).
- ``x270``: the 270 request, written and checked structurally before it is written.
- ``send``: choosing whom to ask (appointments, or coverage ending soon), the files, the record
  of what was sent (so a 271 is matched by its trace number).
- ``x271``: the 271 response read into answers (status, plan dates, co-pay, coinsurance,
  deductible and what remains of it, the payer's corrections).
- ``answers``: importing 271 files, differences with the stored coverage, applying them, the
  latest answer (check-in, coverage-expiring).
"""
