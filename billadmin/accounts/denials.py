"""The denial worklist: denied and partially denied claims, what is at stake, by when, and what
to do next.

Rules:
- A claim is on the list while its amount at stake is above zero: the sum of its denials
  (remittance CAS classed 'denial' by remit.carc_rules, read through accounts.carc's
  temp.denial_rows; a reversal's negative amounts cancel them), at most the claim's open
  balance - denials stay open on the claim, so once the clerk writes the amount off, moves it
  to the patient or the payer pays it after an appeal, it leaves the list - unless the claim was
  voided or replaced by a corrected claim (a credit note or a replacement names it as
  original). Fully denied: nothing paid by the payer; otherwise partially denied.
- Medicare CO-16 with remark MA130 (unprocessable, no appeal rights, CMS Pub. 100-04 ch. 1
  s. 80.3.2): the next step is to resubmit it as a new claim, never an appeal.
- Denied on: the latest date a denial adjustment was posted (the remittance date).
- Appeal deadline: denied on + the payer's appeal limit (default 120 days, accounts.rules).
  Corrected-claim deadline: the payer's corrected-claim limit from the remittance date, else
  its timely-filing limit from the date of service.
- Next step, from the category of the largest denied amount: missing information, coding,
  provider and coordination of benefits -> correct and resubmit (while the corrected-claim
  deadline is open, else appeal); eligibility and non-covered -> bill patient; duplicate ->
  write off; anything else -> appeal (while the appeal deadline is open, else write off). An
  open appeal overrides: submit it (draft), follow it up (submitted), await the reprocessed
  payment (won), write off (lost).
- Ordered by the deadline of the next step, soonest first; steps without one go last.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import TYPE_CHECKING

from . import carc, rules

if TYPE_CHECKING:
    from ..db import Database


def _rarcs(conn: Database, invoice_ids: list[int]) -> dict[int, list[str]]:
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'remit_claims'"
    ).fetchone()
    out: dict[int, list[str]] = defaultdict(list)
    if not has or not invoice_ids:
        return out
    q = ",".join("?" * len(invoice_ids))
    for iid, remarks in conn.execute(
        f"""SELECT c.invoice_id, c.remarks FROM remit_claims c WHERE c.invoice_id IN ({q})
                UNION ALL SELECT c.invoice_id, l.remarks FROM remit_lines l JOIN remit_claims c ON c.id = l.claim_id
                WHERE c.invoice_id IN ({q})""",
        invoice_ids + invoice_ids,
    ):
        for code in (remarks or "").replace(",", " ").split():
            if code not in out[iid]:
                out[iid].append(code)
    return out


def denied_claims(
    conn: Database, *, payer: str | None = None, since: _dt.date | None = None
) -> list[dict]:
    """Claims with a net denied amount, one dict each with the codes behind it (no next step)."""
    carc.ensure_temp_table(conn)
    where, params = ["i.kind = 'claim'"], []
    if payer:
        where.append("py.code = ?")
        params.append(payer)
    rows = conn.execute(
        f"""SELECT i.id, i.number, i.patient_id, pt.mrn, pt.last_name || ', ' || pt.first_name, i.payer_id, py.code,
                   i.total_cents, i.issued_on, i.encounter_id,
                   COALESCE(e.date_of_service, (SELECT MIN(date_of_service) FROM invoice_lines l
                   WHERE l.invoice_id = i.id), i.issued_on),
                   d.group_code, d.reason_code, d.invoice_line_id, SUM(d.amount_cents), MAX(d.created_on),
                   d.in_ledger
            FROM temp.denial_rows d JOIN invoices i ON i.id = d.invoice_id
            JOIN patients pt ON pt.id = i.patient_id LEFT JOIN payers py ON py.id = i.payer_id
            LEFT JOIN encounters e ON e.id = i.encounter_id
            WHERE {" AND ".join(where)}
            GROUP BY i.id, d.group_code, d.reason_code, d.invoice_line_id, d.in_ledger
            ORDER BY i.id""",
        params,
    ).fetchall()
    claims: dict[int, dict] = {}
    for (
        iid,
        number,
        pid,
        mrn,
        name,
        payer_id,
        code,
        total,
        issued,
        _enc,
        dos,
        group,
        reason,
        _line,
        amt,
        last,
        in_ledger,
    ) in rows:
        c = claims.setdefault(
            iid,
            {
                "invoice_id": iid,
                "invoice": number,
                "patient_id": pid,
                "mrn": mrn,
                "patient": name,
                "payer_id": payer_id,
                "payer": code,
                "total_cents": total,
                "issued_on": issued,
                "date_of_service": dos,
                "codes": defaultdict(int),
                "denied_cents": 0,
                "open_denied_cents": 0,
                "denied_on": None,
            },
        )
        c["codes"][(group, reason)] += amt
        c["denied_cents" if in_ledger else "open_denied_cents"] += amt
        if amt > 0 and (c["denied_on"] is None or last > c["denied_on"]):
            c["denied_on"] = last
    _cap_at_balance(conn, claims)
    out = [c for c in claims.values() if c["denied_cents"] > 0]
    if since:
        out = [c for c in out if c["denied_on"] and c["denied_on"] >= since.isoformat()]
    if not out:
        return []
    ids = [c["invoice_id"] for c in out]
    q = ",".join("?" * len(ids))
    paid = dict(
        conn.execute(
            f"""SELECT a.invoice_id, SUM(a.amount_cents) FROM payment_allocations a JOIN payments p
                ON p.id = a.payment_id
            WHERE p.kind = 'insurance' AND a.invoice_id IN ({q}) GROUP BY a.invoice_id""",
            ids,
        )
    )
    # voided (credit note) or replaced (corrected claim): the denial is no longer worked on this claim
    closed = {
        r[0]
        for r in conn.execute(
            f"""SELECT s.invoice_id FROM invoice_status s WHERE s.status IN ('voided', 'replaced')
                AND s.invoice_id IN ({q})
            UNION SELECT o.original_invoice_id FROM invoices o WHERE o.original_invoice_id IN ({q})""",
            ids + ids,
        )
    }
    rarcs = _rarcs(conn, ids)
    result = []
    for c in out:
        if c["invoice_id"] in closed:
            continue
        c["payer_paid_cents"] = paid.get(c["invoice_id"], 0)
        c["denial"] = "full" if c["payer_paid_cents"] <= 0 else "partial"
        codes = sorted(
            ((g, r, a) for (g, r), a in c.pop("codes").items() if a > 0), key=lambda x: -x[2]
        )
        c["carc_list"] = [(g, r, a, *carc.describe(r)) for g, r, a in codes]
        c["rarc_list"] = [(x, *carc.describe_rarc(x)) for x in rarcs.get(c["invoice_id"], [])]
        result.append(c)
    return result


def _cap_at_balance(conn: Database, claims: dict[int, dict]) -> None:
    """At stake = denials posted as adjustments (older databases) + open denials, the latter at
    most the claim's open balance (what the clerk has not yet written off, moved or been paid)."""
    ids = [i for i, c in claims.items() if c["open_denied_cents"] > 0]
    open_bal: dict[int, int] = {}
    for k in range(0, len(ids), 500):
        part = ids[k : k + 500]
        q = ",".join("?" * len(part))
        open_bal.update(
            conn.execute(
                "SELECT invoice_id, total_cents + credited_cents - paid_cents - adjusted_cents"
                f" FROM invoice_balances WHERE invoice_id IN ({q})",
                part,
            ).fetchall()
        )
    for iid, c in claims.items():
        open_part = min(c.pop("open_denied_cents"), max(open_bal.get(iid, 0), 0))
        c["denied_cents"] += max(open_part, 0)


def _latest_appeals(conn: Database, ids: list[int]) -> dict[int, tuple[int, str]]:
    if not ids:
        return {}
    q = ",".join("?" * len(ids))
    return {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            f"""SELECT a.invoice_id, a.id, a.status FROM appeals a WHERE a.invoice_id IN ({q})
            AND a.id = (SELECT MAX(id) FROM appeals b WHERE b.invoice_id = a.invoice_id)""",
            ids,
        )
    }


def next_step(
    category: str,
    *,
    today: _dt.date,
    appeal_deadline: _dt.date | None,
    corrected_deadline: _dt.date | None,
    appeal: tuple[int, str] | None = None,
) -> tuple[str, _dt.date | None]:
    """(step, its deadline) by the module rules."""
    if appeal and appeal[1] != "withdrawn":
        aid, status = appeal
        return {
            "draft": (f"submit appeal #{aid}", appeal_deadline),
            "submitted": (f"follow up appeal #{aid}", None),
            "won": (f"await reprocessed payment (appeal #{aid} won)", None),
            "lost": (f"write off (appeal #{aid} lost)", None),
        }[status]
    step = carc.NEXT_STEP.get(category, "appeal")
    if step == "correct and resubmit":
        if corrected_deadline is None or corrected_deadline >= today:
            return step, corrected_deadline
        step = "appeal"
    if step == "appeal":
        if appeal_deadline is None or appeal_deadline >= today:
            return step, appeal_deadline
        return "write off (appeal deadline passed)", None
    return step, None


def worklist(
    conn: Database, *, as_of: _dt.date, payer: str | None = None, since: _dt.date | None = None
) -> list[dict]:
    claims = denied_claims(conn, payer=payer, since=since)
    rr = rules.all_rules(conn)
    appeals = _latest_appeals(conn, [c["invoice_id"] for c in claims])
    out = []
    for c in claims:
        r = rr.get(c["payer_id"])
        denied_on = _dt.date.fromisoformat(c["denied_on"]) if c["denied_on"] else None
        dos = _dt.date.fromisoformat(c["date_of_service"])
        appeal_dl = r.appeal_deadline(denied_on) if r and denied_on else None
        corr_dl = r.corrected_deadline(dos, denied_on) if r else None
        top = c["carc_list"][0]
        step, dl = next_step(
            top[3],
            today=as_of,
            appeal_deadline=appeal_dl,
            corrected_deadline=corr_dl,
            appeal=appeals.get(c["invoice_id"]),
        )
        if any(x == "MA130" for x, *_ in c["rarc_list"]) and r and r.kind == "medicare":
            step, dl = "resubmit as a new claim, do not appeal (MA130 unprocessable)", corr_dl
        elif step == "correct and resubmit" and r and r.corrections == "reopening" and denied_on:
            # no frequency-7 claim to this payer (accounts.rules): a clerical-error reopening
            # within one year of the determination (42 CFR 405.980(b)(1))
            step = "request a reopening (this payer takes no corrected claim)"
            dl = r.reopening_deadline(denied_on)
        out.append(
            {
                "invoice": c["invoice"],
                "mrn": c["mrn"],
                "patient": c["patient"],
                "payer": c["payer"],
                "date_of_service": c["date_of_service"],
                "denied_on": c["denied_on"],
                "denial": c["denial"],
                "carcs": " ".join(f"{g}-{x}" for g, x, *_ in c["carc_list"]),
                "category": top[3],
                "meaning": top[4],
                "rarcs": " ".join(x for x, *_ in c["rarc_list"]) or None,
                "billed_cents": c["total_cents"],
                "at_stake_cents": c["denied_cents"],
                "appeal_deadline": appeal_dl.isoformat() if appeal_dl else None,
                "next_step": step,
                "deadline": dl.isoformat() if dl else None,
                "days_left": (dl - as_of).days if dl else None,
            }
        )
    out.sort(key=lambda x: (x["deadline"] is None, x["deadline"] or "", x["invoice"]))
    return out
