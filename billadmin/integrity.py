"""`billadmin check`: every integrity rule over one database, all findings at once.

Rules (each a function returning findings; severity error unless noted):
  DB-INTEGRITY    SQLite's PRAGMA integrity_check is "ok" (pages, indexes, STRICT types).
  DB-FOREIGN-KEY  PRAGMA foreign_key_check finds no dangling reference.
  AUDIT-CHAIN     the audit log's hash chain recomputes (45 CFR 164.312(b)); an edited,
                  inserted or deleted row breaks it; keyed rows need the secret (audit.py).
  AUDIT-SECRET    the secret of a database holding keyed rows is where billadmin keeps it.
  AUDIT-ANCHOR    the database still holds the head anchored outside it (the local anchor, or
                  a shipped copy: `check --anchor FILE`): a cut tail or rebuilt chain is found.
  LEDGER-SEAL     each sealed row (schema.SEALED) matches its latest keyed seal (a per-row seal
                  or its entry in a batch seal, whichever is later), every seal is in an
                  unbroken chain, no change waits unsealed (made outside billadmin) and no seal
                  window was left open.
  TRIGGER         every protective trigger exists with the SQL the migrations give it.
  RECEIPT-GAP     receipt numbers run R0000001.. with no gap, each equal to its row id.
  AUDIT-AMOUNT    amounts the audit log recorded (payment post/refund, check-in co-pay, 835
                  posting) equal the ledger rows they name.
  INVOICE-FILE    every file recorded for an invoice exists, an 837 with its interchange's hash.
  INVOICE-HASH    each issued invoice (and its lines) still hashes to the content_hash stored at
                  issue: an edit behind billadmin's back (triggers dropped) is caught.
  INVOICE-TOTAL   each invoice's total equals the sum of its lines.
  NUMBER-GAP      invoice numbers per series run 1..next-1 with no gap and no duplicate.
  ALLOCATION      a payment's allocations never exceed it (and are never of the opposite sign);
                  an insurance payment equals its allocations (payer money is never held as
                  credit: what a payer paid is on the claims it paid); payer money pays claims
                  only, patient money (payments, co-pays, refunds) only the same patient's
                  patient invoices and credit, and nothing is allocated to a credit note (it
                  would be on no balance).
  BILLED-LINE     a charge line marked billed is on an issued invoice, and an issued invoice's
                  charge lines are marked billed.
  LEDGER-*        (accounts, reports) each patient payment equals its allocations plus unapplied
                  credit, no credit below zero, and the aging total (by payer, by patient) equals the
                  open balances, which equal charges - payments - adjustments; no patient is charged
                  below zero (LEDGER-PATIENT-CHARGED, reports/invariants.py).
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


def check_secret(conn) -> list[Finding]:
    """A database holding keyed rows needs its secret to be verified (and written)."""
    db_id = audit.database_id(conn)
    if db_id is None or audit.find_secret(db_id) is not None or not audit.has_keyed_rows(conn):
        return []
    return [
        _f(
            "AUDIT-SECRET",
            f"the audit secret of this database (id {db_id}) is missing: keyed audit rows and"
            f" ledger seals cannot be verified; restore billadmin-audit-{db_id}.secret to"
            f" {audit.secret_dirs()[0]}",
        )
    ]


def check_anchor(conn, anchor_file: str | None = None) -> list[Finding]:
    """The database still holds the head anchored outside it: the local anchor written on every
    write, or a copy shipped off the machine (`check --anchor FILE`). A database with no local
    anchor yet (a copy in a new place) is anchored by its next write."""
    from pathlib import Path

    if audit.database_id(conn) is None:
        return []
    path = Path(anchor_file) if anchor_file else audit.anchor_path(conn)
    if path is None:
        return []
    where = f"anchor {path}"
    try:
        got = audit.read_anchor(path)
    except (OSError, ValueError) as e:
        return [_f("AUDIT-ANCHOR", f"{where} cannot be read: {e}")]
    if got is None:
        if anchor_file:
            return [_f("AUDIT-ANCHOR", f"{where} does not exist")]
        return []
    head, mac = got
    return [_f("AUDIT-ANCHOR", m) for m in audit.check_anchor(conn, head, mac, where)]


def check_seals(conn) -> list[Finding]:
    """Money and identity rows against their keyed seals (schema.SEALED)."""
    from .schema import SEALED

    db_id = audit.database_id(conn)
    if db_id is None:
        return []
    out = [_f("LEDGER-SEAL", m) for m in audit.verify_seal_chain(conn, audit.load_secret(db_id))]
    out += [_f("LEDGER-SEAL", m) for m in audit.verify_sealed_rows(conn, SEALED)]
    pending = conn.execute(
        "SELECT tbl, COUNT(*), MIN(row_id) FROM seal_pending GROUP BY tbl ORDER BY tbl"
    ).fetchall()
    for table, n, first in pending:
        out.append(
            _f(
                "LEDGER-SEAL",
                f"{table}: {n} row change(s) made outside billadmin, never sealed (first row {first})",
            )
        )
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'seal_window'").fetchone():
        for table, first, last in conn.execute("SELECT tbl, first_id, last_id FROM seal_window"):
            out.append(
                _f(
                    "LEDGER-SEAL",
                    f"{table}: a seal window for rows {first}..{last} was left open outside"
                    " billadmin (rows inserted there are not queued for their seal)",
                )
            )
    return out


_expected: dict[str, str] = {}


def expected_triggers() -> dict[str, str]:
    """Every trigger a database migrated by this version has (name -> SQL), read from a fresh
    in-memory database: one definition, the migrations themselves."""
    if not _expected:
        import sqlite3

        import sqlite_utils

        from .schema import MIGRATION_SETS

        mem = sqlite_utils.Database(sqlite3.connect(":memory:", isolation_level=None))
        for s in MIGRATION_SETS():
            s.apply(mem)
        _expected.update(
            {
                n: sql
                for n, sql in mem.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                )
            }
        )
        mem.close()
    return _expected


def trigger_problems(conn) -> tuple[list[str], list[str]]:
    """(missing, changed) protective triggers."""
    have = {
        n: sql
        for n, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    }
    want = expected_triggers()
    missing = sorted(n for n in want if n not in have)
    changed = sorted(n for n in want if n in have and have[n] != want[n])
    return missing, changed


def check_triggers(conn) -> list[Finding]:
    missing, changed = trigger_problems(conn)
    out = [
        _f("TRIGGER", f"protective trigger {n} is missing: `billadmin init` restores it")
        for n in missing
    ]
    out += [
        _f("TRIGGER", f"protective trigger {n} was changed: `billadmin init` restores it")
        for n in changed
    ]
    return out


def restore_triggers(conn) -> list[str]:
    """Recreate missing or changed protective triggers (run by `billadmin init`); their names."""
    from . import db

    missing, changed = trigger_problems(conn)
    if not missing and not changed:
        return []
    want = expected_triggers()
    with db.write(conn):
        for n in changed:
            conn.execute(f'DROP TRIGGER "{n}"')
        for n in missing + changed:
            conn.execute(want[n])
        audit.record(
            conn,
            "init restore-triggers",
            count=len(missing) + len(changed),
            detail={"triggers": missing + changed},
        )
    return missing + changed


def check_receipts(conn) -> list[Finding]:
    """Receipt numbers are R0000001, R0000002, ... with no gap (a receipt's id is its number)."""
    out = []
    ids = [r[0] for r in conn.execute("SELECT id FROM receipts ORDER BY id")]
    missing = sorted(set(range(1, (ids[-1] if ids else 0) + 1)) - set(ids))
    if missing:
        out.append(
            _f(
                "RECEIPT-GAP",
                f"{len(missing)} receipt number(s) missing: {', '.join(f'R{n:07d}' for n in missing[:20])}",
            )
        )
    for rid, number in conn.execute(
        "SELECT id, number FROM receipts WHERE number != printf('R%07d', id) LIMIT 20"
    ):
        out.append(_f("RECEIPT-GAP", f"receipt id {rid} carries the number {number}"))
    return out


def _detail(text):
    import json

    try:
        d = json.loads(text) if text else None
    except ValueError:
        return None
    return d if isinstance(d, dict) else None


def check_audited_amounts(conn) -> list[Finding]:
    """Amounts the audit log recorded when money was posted still match the ledger rows."""
    out = []
    for aid, action, ids, detail in conn.execute(
        "SELECT id, action, entity_ids, detail FROM audit_log WHERE action IN"
        " ('payment post', 'payment refund', 'remit import', 'checkin') ORDER BY id"
    ):
        d = _detail(detail)
        if d is None:
            continue
        if action in ("payment post", "payment refund") and ids and "amount_cents" in d:
            row = conn.execute(
                "SELECT amount_cents FROM payments WHERE id = ?", (int(ids),)
            ).fetchone()
            found = row[0] if row else None
            want = abs(d["amount_cents"])
            if found is None or abs(found) != want:
                out.append(_audited(aid, f"payment {ids}", want, found))
        elif action == "remit import" and ids and "posted_cents" in d:
            tx = [int(i) for i in ids.split(",") if i.strip().isdigit()]
            found = conn.execute(
                f"SELECT SUM(posted_cents), COUNT(*) FROM remit_transactions WHERE id IN ({','.join('?' * len(tx))})",
                tx,
            ).fetchone()
            if found[1] != len(tx) or (found[0] or 0) != d["posted_cents"]:
                out.append(
                    _audited(
                        aid,
                        f"remit transactions {ids}",
                        d["posted_cents"],
                        found[0] if found[1] else None,
                    )
                )
        elif action == "checkin" and d.get("receipt") and d.get("collected_cents"):
            row = conn.execute(
                "SELECT p.amount_cents FROM receipts r JOIN payments p ON p.id = r.payment_id WHERE r.number = ?",
                (d["receipt"],),
            ).fetchone()
            found = row[0] if row else None
            if found != d["collected_cents"]:
                out.append(_audited(aid, f"receipt {d['receipt']}", d["collected_cents"], found))
    return out[:100]


def _audited(aid: int, what: str, want: int, found: int | None) -> Finding:
    if found is None:
        return _f(
            "AUDIT-AMOUNT",
            f"audit row {aid}: {what} recorded {want / 100:.2f} is gone from the ledger",
        )
    return _f(
        "AUDIT-AMOUNT",
        f"audit row {aid}: {what} recorded {want / 100:.2f} != ledger {found / 100:.2f}",
    )


def check_invoice_files(conn) -> list[Finding]:
    """Every file recorded for an invoice is where it was written, with the hash recorded for it
    (an 837's hash is its interchange's)."""
    import hashlib
    from pathlib import Path

    out = []
    hashes: dict[str, str | None] = {}

    def sha(path: str) -> str | None:
        if path not in hashes:
            try:
                hashes[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            except OSError:
                hashes[path] = None
        return hashes[path]

    for number, kind, path, want in conn.execute(
        "SELECT i.number, f.kind, f.path, CASE WHEN x.path = f.path THEN x.sha256 END"
        " FROM invoice_files f JOIN invoices i ON i.id = f.invoice_id"
        " LEFT JOIN x12_interchanges x ON x.id = f.interchange_id ORDER BY f.id"
    ):
        got = sha(path)
        if got is None:
            out.append(_f("INVOICE-FILE", f"invoice {number}: its {kind} file {path} is missing"))
        elif want is not None and got != want:
            out.append(
                _f(
                    "INVOICE-FILE",
                    f"invoice {number}: its {kind} file {path} changed since it was written",
                )
            )
        if len(out) >= 100:
            break
    return out


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
    out = [
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
    # an insurance payment's allocations falling short of it (more is reported above)
    for pid, amount, alloc in conn.execute(
        "SELECT p.id, p.amount_cents, COALESCE(SUM(a.amount_cents), 0) FROM payments p"
        " LEFT JOIN payment_allocations a ON a.payment_id = p.id WHERE p.kind = 'insurance'"
        " GROUP BY p.id HAVING COALESCE(SUM(a.amount_cents), 0) != p.amount_cents"
        " AND ABS(COALESCE(SUM(a.amount_cents), 0)) < ABS(p.amount_cents) LIMIT 100"
    ):
        out.append(
            _f(
                "ALLOCATION",
                f"payment {pid} (insurance): allocations {alloc / 100:.2f} != the payment"
                f" {amount / 100:.2f} ({abs(amount - alloc) / 100:.2f} on no invoice)",
            )
        )
    where = {
        "credit": "a credit note",
        "claim": "a claim",
        "patient": "a patient invoice",
        "other": "another patient's invoice",
    }
    for pid, kind, number, inv_kind, cents in conn.execute(
        "SELECT p.id, p.kind, i.number, CASE WHEN i.kind = 'credit' THEN 'credit'"
        "   WHEN (p.kind = 'insurance') != (i.kind = 'claim') THEN i.kind ELSE 'other' END,"
        " SUM(a.amount_cents) FROM payment_allocations a JOIN payments p ON p.id = a.payment_id"
        " JOIN invoices i ON i.id = a.invoice_id"
        " WHERE i.kind = 'credit' OR (p.kind = 'insurance') != (i.kind = 'claim')"
        "    OR (p.kind != 'insurance' AND p.patient_id IS NOT i.patient_id)"
        " GROUP BY a.payment_id, a.invoice_id ORDER BY a.payment_id, i.number LIMIT 100"
    ):
        out.append(
            _f(
                "ALLOCATION",
                f"payment {pid} ({kind}): {cents / 100:.2f} allocated to {number},"
                f" {where[inv_kind]}",
            )
        )
    for pid, kind, cents, holder, payer in conn.execute(
        "SELECT p.id, p.kind, SUM(c.amount_cents), c.patient_id, p.patient_id"
        " FROM unapplied_credits c JOIN payments p ON p.id = c.payment_id"
        " WHERE c.patient_id IS NOT p.patient_id GROUP BY c.payment_id, c.patient_id"
        " ORDER BY c.payment_id LIMIT 100"
    ):
        out.append(
            _f(
                "ALLOCATION",
                f"payment {pid} ({kind}): {cents / 100:.2f} held as credit for patient id"
                f" {holder}, not the payer's (patient id {payer})",
            )
        )
    return out


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
    check_secret,
    check_anchor,
    check_seals,
    check_triggers,
    check_receipts,
    check_audited_amounts,
    check_invoice_files,
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
    from .billing.files import check_run_files  # a run's files all put in place after COMMIT
    from .remit.checks import (
        check_remittances,
    )  # 835 money: posted + unmatched + skipped - PLB = paid
    from .reports.claim_checks import claim_findings  # no balance reduced twice; states agree
    from .reports.invariants import (
        invariant_findings,  # aging total = open balances = ledger
        patient_findings,  # no patient charged below zero
    )

    return [
        ledger_findings,
        invariant_findings,
        patient_findings,
        check_remittances,
        check_run_files,
        claim_findings,
    ]


def run_checks(conn, anchor_file: str | None = None) -> list[Finding]:
    """Every rule; `anchor_file` is a shipped copy of the anchor to compare with as well."""
    findings: list[Finding] = []
    for check in CHECKS + extra_checks():
        findings.extend(check(conn))
    if anchor_file:
        findings.extend(check_anchor(conn, anchor_file))
    return findings
