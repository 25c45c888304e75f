"""Billing: invoice generation (claims as X12 837P, patient invoices as PDF), gapless numbering,
the invoice lifecycle (void, replace) and the practice settings claims are built from."""
