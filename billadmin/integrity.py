"""`billadmin check`: every integrity rule over one database, all findings at once.

Rules (each a function returning findings; severity error unless noted):
  DB-INTEGRITY    SQLite's PRAGMA integrity_check is "ok" (pages, indexes, STRICT types).
  DB-FOREIGN-KEY  PRAGMA foreign_key_check finds no dangling reference.
  AUDIT-CHAIN     the audit log's hash chain recomputes (45 CFR 164.312(b)); an edited,
                  inserted or deleted row breaks it.
  INVOICE-HASH    each issued invoice (and its lines) still hashes to the content_hash stored at
                  issue: an edit behind billadmin's back (triggers dropped) is caught.
  INVOICE-TOTAL   each invoice's total equals the sum of its lines.
  NUMBER-GAP      invoice numbers per series run 1..next-1 with no gap and no duplicate.
  ALLOCATION      a payment's allocations never exceed it (and are never of the opposite sign).
  BILLED-LINE     a charge line marked billed is on an issued invoice, and an issued invoice's
                  charge lines are marked billed.
  LEDGER-*        (accounts, reports) each patient payment equals its allocations plus unapplied
                  credit, no credit below zero, and the aging total (by payer, by patient) equals the
                  open balances, which equal charges - payments - adjustments.
"""

from __future__ import annotations

import re
from collections import Counter

from . import audit, ledger
from .findings import Finding


def _f(rule: str, message: str, severity: str = "error") -> Finding:
    return Finding(rule=rule, severity=severity, message=message, source="billadmin check")


def check_sqlite(conn) -> list[Finding]:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    if rows == ["ok"]:
        return []
    return [_f("DB-INTEGRITY", f"integrity_check: {r}") for r in rows[:50]]


def check_foreign_keys(conn) -> list[Finding]:
    return [
        _f("DB-FOREIGN-KEY", f"{table} row {rowid} refers to a missing {parent} row")
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
    ][:100]


def check_audit(conn) -> list[Finding]:
    return [_f("AUDIT-CHAIN", f"audit row {b.audit_id}: {b.reason}") for b in audit.verify(conn)]


def check_invoices(conn) -> list[Finding]:
    out = []
    for inv_id, number, stored in conn.execute(
        "SELECT id, number, content_hash FROM invoices ORDER BY id"
    ):
        if ledger.stored_content_hash(conn, inv_id) != stored:
            out.append(
                _f("INVOICE-HASH", f"invoice {number} (id {inv_id}) changed since it was issued")
            )
    for inv_id, number, total, lines in conn.execute(
        "SELECT i.id, i.number, i.total_cents, COALESCE(SUM(l.amount_cents), 0) FROM invoices i"
        " LEFT JOIN invoice_lines l ON l.invoice_id = i.id GROUP BY i.id"
        " HAVING i.total_cents != COALESCE(SUM(l.amount_cents), 0)"
    ):
        out.append(
            _f(
                "INVOICE-TOTAL",
                f"invoice {number} (id {inv_id}): total {total / 100:.2f} != lines {lines / 100:.2f}",
            )
        )
    return out


def check_numbering(conn) -> list[Finding]:
    out = []
    for kind, _prefix, nxt in conn.execute("SELECT kind, prefix, next_number FROM series"):
        nums = []
        for (number,) in conn.execute("SELECT number FROM invoices WHERE kind = ?", (kind,)):
            m = re.search(r"(\d+)$", number)
            if m:
                nums.append(int(m.group(1)))
        counts = Counter(nums)
        dups = sorted(n for n, c in counts.items() if c > 1)
        missing = sorted(set(range(1, nxt)) - set(nums))
        if dups:
            out.append(
                _f(
                    "NUMBER-GAP",
                    f"{kind} series: numbers used twice: {', '.join(map(str, dups[:20]))}",
                )
            )
        if missing:
            out.append(
                _f(
                    "NUMBER-GAP",
                    f"{kind} series: {len(missing)} number(s) missing below {nxt}: "
                    f"{', '.join(map(str, missing[:20]))}",
                )
            )
        beyond = [n for n in nums if n >= nxt]
        if beyond:
            out.append(
                _f(
                    "NUMBER-GAP",
                    f"{kind} series: {len(beyond)} number(s) at or above the next number {nxt}",
                )
            )
    return out


def check_allocations(conn) -> list[Finding]:
    return [
        _f(
            "ALLOCATION",
            f"payment {pid}: allocations {alloc / 100:.2f} exceed the payment {amount / 100:.2f}",
        )
        for pid, amount, alloc in conn.execute(
            "SELECT p.id, p.amount_cents, SUM(a.amount_cents) FROM payments p JOIN payment_allocations a"
            " ON a.payment_id = p.id GROUP BY p.id"
            " HAVING (p.amount_cents >= 0 AND (SUM(a.amount_cents) > p.amount_cents OR SUM(a.amount_cents) < 0))"
            "     OR (p.amount_cents < 0 AND (SUM(a.amount_cents) < p.amount_cents OR SUM(a.amount_cents) > 0))"
        )
    ]


def check_billed_lines(conn) -> list[Finding]:
    out = []
    for cl_id, enc in conn.execute(
        "SELECT c.id, e.number FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id WHERE c.status = 'billed'"
        " AND NOT EXISTS (SELECT 1 FROM invoice_lines l WHERE l.charge_line_id = c.id) LIMIT 100"
    ):
        out.append(
            _f(
                "BILLED-LINE",
                f"charge line {cl_id} (encounter {enc}) is marked billed but is on no invoice",
            )
        )
    for cl_id, number in conn.execute(
        "SELECT c.id, i.number FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " JOIN charge_lines c ON c.id = l.charge_line_id WHERE i.kind = 'claim' AND c.status = 'unbilled'"
        # a voided or replaced claim gives its lines back to be billed again (`invoice void --rebill`)
        " AND NOT EXISTS (SELECT 1 FROM invoices cn WHERE cn.original_invoice_id = i.id AND cn.kind = 'credit')"
        " AND NOT EXISTS (SELECT 1 FROM invoice_events ev WHERE ev.invoice_id = i.id"
        "                 AND ev.status IN ('voided', 'replaced'))"
        " LIMIT 100"
    ):
        out.append(
            _f(
                "BILLED-LINE",
                f"charge line {cl_id} is on invoice {number} but still marked unbilled",
            )
        )
    return out


CHECKS = [
    check_sqlite,
    check_foreign_keys,
    check_audit,
    check_invoices,
    check_numbering,
    check_allocations,
    check_billed_lines,
]


def extra_checks():
    """Invariants owned by other domains (each a function conn -> list[Finding])."""
    from .accounts.payments import (
        ledger_findings,
    )  # patient payment = allocations + unapplied credit
    from .remit.checks import (
        check_remittances,
    )  # 835 money: posted + unmatched + skipped - PLB = paid
    from .reports.invariants import invariant_findings  # aging total = open balances = ledger

    return [ledger_findings, invariant_findings, check_remittances]


def run_checks(conn) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS + extra_checks():
        findings.extend(check(conn))
    return findings
