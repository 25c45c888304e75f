"""Collections: accounts past their final notice handed to an agency, written off to bad debt,
and what the agency recovers posted back.

Rules:
- On the collections list: a patient whose latest statement was a final notice
  (settings.STEPS), the first of those final notices stated at least collections.after_days
  ago, who still owes (the balance
  `account show` tells), has no open payment plan, no statement hold, and was not sent since
  that notice. No account goes to collections without a final notice first.
- What is sent: the patient invoices issued on or before that first final notice (what the
  notice stated) and still open. Newer invoices, and amounts a payer moved to the patient that
  no invoice carries yet, stay with the practice and go on in the statement cycle.
- Sending: in one transaction, the patient's credit is applied (accounts.payments.apply_credit),
  then each invoice sent has its open balance written off with reason bad-debt through
  accounts.adjust.writeoff (one new ledger entry each, audited; nothing edited), and the
  hand-off is recorded with its entries. The agency's file is written
  before the transaction commits: if it cannot be written nothing is recorded.
- The agency's file: CSV, in the practice's layout (a TOML file: `[columns]` lines
  "Agency header" = "field", in order; fields in FIELDS), else DEFAULT_LAYOUT.
- A recovery (money the agency sends back, for one patient): at most what was written off and
  not yet recovered, a write-off the clerk undid (`invoice writeoff-undo`, accounts.adjust)
  counting as no longer written off; oldest write-off first, each part reverses that much of the bad-debt
  write-off (an opposite entry, reason 'bad-debt recovery') and is posted as a patient payment
  on the invoice, so the invoice ends paid by the recovery and written off by the rest. An
  invoice voided after the hand-off owed nothing and has nothing to recover: money the agency
  sends for it is refused with the way to post it (a patient payment held as credit).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..accounts import adjust, lookup, payments
from ..errors import BadInput
from . import account, plans, run, settings

if TYPE_CHECKING:
    from ..db import Database

FIELDS = (
    "collection",
    "account",
    "last_name",
    "first_name",
    "dob",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "phone",
    "amount",
    "sent_on",
    "final_notice_on",
    "oldest_invoice_on",
    "last_payment_on",
    "invoices",
)
DEFAULT_LAYOUT = {f: f for f in FIELDS}


def load_layout(path: Path | None) -> dict[str, str]:
    """{agency header: field} from a layout TOML (module rules), in file order."""
    if path is None:
        return dict(DEFAULT_LAYOUT)
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise BadInput(f"--layout {path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"--layout {Path(path).name}: not valid TOML ({e})") from None
    cols = data.get("columns")
    if set(data) - {"columns"} or not isinstance(cols, dict) or not cols:
        raise BadInput(f'--layout {Path(path).name}: one [columns] table of "Header" = "field"')
    for header, field in cols.items():
        if field not in FIELDS:
            raise BadInput(
                f"--layout {Path(path).name}: column {header!r}: unknown field {field!r}"
                f" (one of {', '.join(FIELDS)})"
            )
    return dict(cols)


def _final_notice(conn: Database, pid: int) -> tuple[int, str] | None:
    """The first final notice of the patient's latest statements when they are all final
    notices (a notice repeated the next month does not restart the wait), else None."""
    first = None
    for sid, step, stated in conn.execute(
        "SELECT id, step, stated_on FROM statements WHERE patient_id = ?"
        " ORDER BY stated_on DESC, id DESC",
        (pid,),
    ):
        if step != "final":
            break
        first = (sid, stated)
    return first


def candidates(conn: Database, on: _dt.date) -> list[dict]:
    """The collections list on a day (module rules)."""
    after = settings.after_days(conn)
    out = []
    for pid in account.candidates(conn):
        final = _final_notice(conn, pid)
        if final is None:
            continue
        days = (on - _dt.date.fromisoformat(final[1])).days
        if days < after or plans.open_plan(conn, pid) or run.on_hold(conn, pid):
            continue
        if conn.execute(
            "SELECT 1 FROM collection_accounts WHERE patient_id = ? AND sent_on >= ?",
            (pid, final[1]),
        ).fetchone():
            continue
        owed = account.owed(conn, pid, on)
        if owed.balance_cents <= 0:
            continue
        invoiced = sum(
            i["open_cents"] for i in owed.items if i["kind"] == "invoice" and i["date"] <= final[1]
        )
        if invoiced <= 0:
            continue
        mrn = conn.execute("SELECT mrn FROM patients WHERE id = ?", (pid,)).fetchone()[0]
        out.append(
            {
                "patient_id": pid,
                "mrn": mrn,
                "statement_id": final[0],
                "final_notice_on": final[1],
                "days_since_notice": days,
                "balance_cents": owed.balance_cents,
                "to_write_off_cents": invoiced,
            }
        )
    return out


def list_candidates(conn: Database, on: _dt.date) -> list[dict]:
    from ..reads import record_read

    rows = [{k: v for k, v in r.items() if k != "patient_id"} for r in candidates(conn, on)]
    record_read(conn, "collections list", entity="patient", count=len(rows))
    return rows


def _export_row(conn: Database, cid: int, cand: dict, on: _dt.date, numbers: list[str]) -> dict:
    pat = conn.execute(
        "SELECT mrn, last_name, first_name, dob, address1, address2, city, state, zip, phone"
        " FROM patients WHERE id = ?",
        (cand["patient_id"],),
    ).fetchone()
    marks = ",".join("?" * len(numbers))
    oldest = conn.execute(
        f"SELECT MIN(issued_on) FROM invoices WHERE number IN ({marks})", numbers
    ).fetchone()[0]
    last_pay = conn.execute(
        "SELECT MAX(received_on) FROM payments WHERE patient_id = ? AND kind IN ('patient','copay')",
        (cand["patient_id"],),
    ).fetchone()[0]
    keys = ("account", "last_name", "first_name", "dob", "address1", "address2", "city")
    row = dict(zip(keys + ("state", "zip", "phone"), pat, strict=True))
    row.update(
        collection=f"K{cid:06d}",
        sent_on=on.isoformat(),
        final_notice_on=cand["final_notice_on"],
        oldest_invoice_on=oldest,
        last_payment_on=last_pay,
        invoices=" ".join(numbers),
    )
    return row


def send(
    conn: Database,
    on: _dt.date,
    *,
    agency: str,
    out: Path,
    layout: Path | None = None,
    mrns: list[str] | None = None,
) -> list[dict]:
    """Hand the collections list (or the named patients on it) to the agency (module rules)."""
    from .. import formats

    agency = (agency or "").strip()
    if not agency:
        raise BadInput("--agency is required (the agency's name)")
    cols = load_layout(layout)
    sent: list[dict] = []
    export: list[dict] = []
    with db.write(conn):
        cands = candidates(conn, on)
        if mrns:
            by_mrn = {c["mrn"]: c for c in cands}
            missing = [m for m in mrns if m not in by_mrn]
            if missing:
                raise BadInput(
                    f"{len(missing)} of the patients named are not on the collections list"
                    " (no final notice old enough, a plan, a hold, or nothing owed)"
                )
            cands = [by_mrn[m] for m in mrns]
        if not cands:
            raise BadInput("nothing to send: the collections list is empty")
        for cand in cands:
            pid = cand["patient_id"]
            payments.apply_credit(conn, pid, on)
            invs = [
                i
                for i in payments.patient_invoices(conn, pid)
                if not i["voided"]
                and i["balance_cents"] > 0
                and i["issued_on"] <= cand["final_notice_on"]
            ]
            total = sum(i["balance_cents"] for i in invs)
            if total <= 0:
                continue
            cid = conn.execute(
                "INSERT INTO collection_accounts (patient_id, statement_id, agency, sent_on,"
                " amount_cents, created_at) VALUES (?,?,?,?,?,?)",
                (pid, cand["statement_id"], agency, on.isoformat(), total, audit.utcnow()),
            ).lastrowid
            assert cid is not None
            for inv in invs:
                w = adjust.writeoff(conn, inv["number"], inv["balance_cents"], "bad-debt", on=on)
                conn.execute(
                    "INSERT INTO collection_entries (collection_id, kind, invoice_id,"
                    " adjustment_id, payment_id, amount_cents, on_date)"
                    " VALUES (?, 'writeoff', ?, ?, NULL, ?, ?)",
                    (cid, inv["id"], w["entry"], inv["balance_cents"], on.isoformat()),
                )
            numbers = [i["number"] for i in invs]
            row = _export_row(conn, cid, cand, on, numbers)
            row["amount"] = money.fmt(total)
            export.append(row)
            sent.append(
                {
                    "collection": row["collection"],
                    "mrn": cand["mrn"],
                    "written_off_cents": total,
                    "invoices": row["invoices"],
                    "not_sent_cents": cand["balance_cents"] - total,
                }
            )
        audit.record(
            conn,
            "collections send",
            entity="collection_accounts",
            count=len(sent),
            detail={"written_off_cents": sum(s["written_off_cents"] for s in sent)},
        )
        # the agency's file before COMMIT: if it cannot be written nothing is recorded
        headers = list(cols)
        formats.write_csv_file(out, [{h: r.get(cols[h]) for h in headers} for r in export], headers)
    return sent


def recover(
    conn: Database,
    mrn: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    reference: str | None = None,
    again: bool = False,
) -> dict:
    """Post money an agency recovered for a patient (module rules); one transaction.
    ``again``: a second remittance, not the same one keyed twice (accounts.payments)."""
    if amount_cents <= 0:
        raise BadInput("the recovered amount must be more than 0.00")
    payments.check_method(method)
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        entries = conn.execute(
            "SELECT e.collection_id, e.invoice_id, i.number, e.amount_cents,"
            " (SELECT COALESCE(SUM(r.amount_cents), 0) FROM collection_entries r"
            "  WHERE r.collection_id = e.collection_id AND r.invoice_id = e.invoice_id"
            "  AND r.kind = 'recovery')"
            # what an undo of the write-off put back (accounts.adjust: the rest not recovered)
            " + (SELECT COALESCE(SUM(-d.amount_cents), 0) FROM clerk_adjustments u"
            "  JOIN adjustments d ON d.id = u.adjustment_id"
            "  WHERE u.reverses_adjustment_id = e.adjustment_id)"
            " FROM collection_entries e JOIN collection_accounts c ON c.id = e.collection_id"
            " JOIN invoices i ON i.id = e.invoice_id"
            " WHERE c.patient_id = ? AND e.kind = 'writeoff' ORDER BY c.sent_on, e.id",
            (pat["id"],),
        ).fetchall()
        if not entries:
            raise BadInput(f"patient {pat['id']} was never sent to collections")
        # an invoice voided after the hand-off owed nothing: nothing of it is to recover
        voided = {e[2] for e in entries if lookup.is_voided(conn, lookup.invoice(conn, e[2]))}
        entries = [e for e in entries if e[2] not in voided]
        left = sum(e[3] - e[4] for e in entries)
        if amount_cents > left:
            raise BadInput(
                f"recovery {money.fmt(amount_cents)} is more than the {money.fmt(left)} written off"
                f" and not yet recovered ({money.fmt(amount_cents - left)} too much)"
                + (
                    f"; {', '.join(sorted(voided))} was voided after the hand-off and owed"
                    " nothing: post what the agency sent for it as the patient's credit"
                    " (`payment post MRN AMOUNT --credit`) and recall it from the agency"
                    if voided
                    else ""
                )
            )
        todo, posted = amount_cents, []
        for cid, inv_id, number, written, recovered in entries:
            take = min(todo, written - recovered)
            if take <= 0:
                continue
            adj = adjust._insert(
                conn,
                lookup.invoice(conn, number),
                group=None,
                reason_code="bad-debt",
                amount=-take,
                source="writeoff",
                kind="writeoff",
                reason="bad-debt recovery",
                on=on,
                reference=f"K{cid:06d}",
            )
            post = payments.post_payment(
                conn,
                mrn,
                take,
                method=method,
                on=on,
                invoice_number=number,
                reference=reference,
                again=again,
            )
            conn.execute(
                "INSERT INTO collection_entries (collection_id, kind, invoice_id, adjustment_id,"
                " payment_id, amount_cents, on_date) VALUES (?, 'recovery', ?, ?, ?, ?, ?)",
                (cid, inv_id, adj, post.payment_id, take, on.isoformat()),
            )
            posted.append({"invoice": number, "receipt": post.receipt, "amount_cents": take})
            todo -= take
            if todo == 0:
                break
        audit.record(
            conn,
            "collections recover",
            entity="patient",
            ids=[pat["id"]],
            detail={"amount_cents": amount_cents},
        )
    return {
        "mrn": pat["mrn"],
        "recovered_cents": amount_cents,
        "left_cents": left - amount_cents,
        "receipts": " ".join(p["receipt"] for p in posted),
        "invoices": " ".join(p["invoice"] for p in posted),
    }
