"""The demo's clerk at work between the payers' answers and the next billing run, and the
demo's summary of coordination of benefits and of the clerk's corrections.

On each billing day, after the 835s that arrived are posted and before `invoice generate`:
  - denied claims the payer returned for missing or invalid information (CO-16) are corrected
    and replaced (`invoice replace`: a new claim with frequency 7 and the payer's claim number),
    at most REPLACE_PER_DAY a day, never a Medicare claim (Medicare Part B corrects an
    adjudicated claim by a reopening, not a frequency-7 claim: Medicare Claims Processing Manual
    ch. 34 s. 10);
  - Medicare claims returned unprocessable (CO-16 with MA130; M51: the visit's E/M billed beside
    other services without modifier 25) have no appeal rights: the clerk corrects the encounter
    (`charge correct --line 1 --modifier 25`, with a reason) and resubmits it as a new claim
    (`invoice resubmit`: frequency 1, no REF*F8; CMS Pub. 100-04 ch. 1 s. 80.3.2);
  - patient statements that were paid all but a small rest (SMALL_BALANCE_CENTS or less) at least
    SMALL_BALANCE_AGE_DAYS after they were issued are written off (`invoice writeoff ... --reason
    small-balance`).
Both go through the same domain functions as the commands, audited.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import money

if TYPE_CHECKING:
    from ..db import Database

REPLACE_PER_DAY = 2
SMALL_BALANCE_CENTS = 1000
SMALL_BALANCE_AGE_DAYS = 45


@dataclass
class ClerkTally:
    replaced: list[str] = field(default_factory=list)
    resubmitted: list[str] = field(default_factory=list)  # the new claims
    corrected: list[str] = field(default_factory=list)  # the MA130 claims they correct
    refused: int = 0
    written_off: int = 0
    written_off_cents: int = 0


def _denied_for_information(conn: Database, since: _dt.date, day: _dt.date) -> list[str]:
    """Denied non-Medicare claims whose answer (posted for (since, day]) says CO-16."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT i.number FROM invoices i JOIN invoice_status s ON s.invoice_id = i.id"
            " JOIN payers p ON p.id = i.payer_id JOIN remit_claims c ON c.invoice_id = i.id"
            " JOIN remit_transactions t ON t.id = c.transaction_id"
            " JOIN remit_adjustments a ON a.claim_id = c.id"
            " WHERE i.kind = 'claim' AND s.status = 'denied' AND p.kind != 'medicare'"
            " AND a.group_code = 'CO' AND a.reason_code = '16'"
            " AND COALESCE(t.payment_date, t.production_date) > ?"
            " AND COALESCE(t.payment_date, t.production_date) <= ? ORDER BY i.number",
            (since.isoformat(), day.isoformat()),
        )
    ]


def _unprocessable(conn: Database, since: _dt.date, day: _dt.date) -> list[tuple[str, str]]:
    """[(claim number, encounter number)]: Medicare claims returned unprocessable (MA130) by an
    answer posted for (since, day] and not resubmitted yet."""
    return conn.execute(
        "SELECT DISTINCT i.number, e.number FROM invoices i JOIN invoice_status s"
        " ON s.invoice_id = i.id JOIN encounters e ON e.id = i.encounter_id"
        " JOIN remit_claims c ON c.invoice_id = i.id"
        " JOIN remit_transactions t ON t.id = c.transaction_id"
        " WHERE i.kind = 'claim' AND s.status = 'unprocessable'"
        " AND COALESCE(t.payment_date, t.production_date) > ?"
        " AND COALESCE(t.payment_date, t.production_date) <= ? ORDER BY i.number",
        (since.isoformat(), day.isoformat()),
    ).fetchall()


def _modifier_fix(conn: Database, encounter: str) -> list[str] | None:
    """The first billed line's modifiers with 25 added (a significant, separately identifiable
    E/M on the day of another service: CPT modifier 25), or None when it has it or no room."""
    row = conn.execute(
        "SELECT l.modifier1, l.modifier2, l.modifier3, l.modifier4 FROM charge_lines l"
        " JOIN encounters e ON e.id = l.encounter_id WHERE e.number = ? AND l.line_no = 1",
        (encounter,),
    ).fetchone()
    mods = [m for m in row or () if m]
    return None if row is None or "25" in mods or len(mods) >= 4 else [*mods, "25"]


def _resubmit_unprocessable(conn: Database, since: _dt.date, day: _dt.date, tally) -> None:
    """MA130: correct the encounter, then resubmit the claim as a new one (module docstring)."""
    from ..billing import corrections, lifecycle
    from ..errors import BillAdminError
    from ..scrub import check

    for number, encounter in _unprocessable(conn, since, day):
        mods = _modifier_fix(conn, encounter)
        if mods is None:
            continue  # nothing the demo's clerk knows to correct: left in the worklist
        try:
            corrections.correct(
                conn,
                encounter,
                line=1,
                change=corrections.LineChange(modifiers=mods),
                reason=f"MA130/M51 on {number}: E/M with another service, modifier 25",
                on=day,
            )
            res = lifecycle.resubmit(conn, number, scrub=check, today=day)
        except BillAdminError:
            tally.refused += 1  # the scrubber still finds an error: the clerk works it later
            continue
        tally.corrected.append(number)
        tally.resubmitted.append(res["replacement"])


def _small_balances(conn: Database, day: _dt.date) -> list[tuple[str, int]]:
    """Patient statements partly paid, with SMALL_BALANCE_CENTS or less open, issued at least
    SMALL_BALANCE_AGE_DAYS before day."""
    return [
        (number, bal)
        for number, bal in conn.execute(
            "SELECT b.number, b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents"
            " FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id"
            " WHERE i.kind = 'patient' AND b.paid_cents > 0 AND i.issued_on <= ?"
            " ORDER BY b.number",
            ((day - _dt.timedelta(days=SMALL_BALANCE_AGE_DAYS)).isoformat(),),
        )
        if 0 < bal <= SMALL_BALANCE_CENTS
    ]


def clerk_works(conn: Database, since: _dt.date, day: _dt.date, tally: ClerkTally) -> None:
    """The clerk's corrections and write-offs on one billing day (module docstring)."""
    from ..accounts import adjust
    from ..billing import lifecycle
    from ..errors import BillAdminError
    from ..scrub import check

    for number in _denied_for_information(conn, since, day)[:REPLACE_PER_DAY]:
        try:
            res = lifecycle.replace(conn, number, scrub=check, today=day)
        except BillAdminError:
            tally.refused += 1  # the scrubber still finds an error: the clerk works it later
            continue
        tally.replaced.append(res["replacement"])
    _resubmit_unprocessable(conn, since, day, tally)
    for number, bal in _small_balances(conn, day):
        adjust.writeoff(conn, number, bal, "small-balance", on=day)
        tally.written_off += 1
        tally.written_off_cents += bal


def _one(conn: Database, sql: str, args: tuple = ()) -> tuple:
    return tuple(v or 0 for v in conn.execute(sql, args).fetchone())


def cob_lines(conn: Database) -> list[str]:
    """The summary's lines on secondary coverage, crossovers and next-payer claims."""
    medigap, dual = _one(
        conn,
        "SELECT SUM(p.kind != 'medicaid'), SUM(p.kind = 'medicaid') FROM coverages c"
        " JOIN payers p ON p.id = c.payer_id WHERE c.priority = 2",
    )
    (qmb,) = _one(
        conn,
        "SELECT COUNT(DISTINCT i.patient_id) FROM remit_lines l JOIN remit_claims c"
        " ON c.id = l.claim_id JOIN invoices i ON i.id = c.invoice_id"
        " WHERE ',' || l.remarks || ',' LIKE '%,N781,%'",
    )
    crossed, ma18, ma07, crossed_cents = _one(
        conn,
        "SELECT COUNT(DISTINCT x.invoice_id), SUM(',' || c.remarks || ',' LIKE '%,MA18,%'),"
        " SUM(',' || c.remarks || ',' LIKE '%,MA07,%'),"
        " (SELECT -SUM(a.amount_cents) FROM cob_routes r JOIN adjustments a"
        " ON a.id = r.restored_adjustment_id WHERE r.rule = 'COB-CROSSOVER')"
        " FROM cob_crossovers x JOIN remit_claims c ON c.id = x.remit_claim_id",
    )
    x_answered, x_paid = _one(
        conn,
        "SELECT COUNT(*), SUM(c.paid_cents) FROM cob_crossovers x JOIN remit_claims c"
        " ON c.invoice_id = x.invoice_id JOIN remit_transactions t ON t.id = c.transaction_id"
        " WHERE t.payer_id = x.next_payer_id",
    )
    waiting, waiting_cents = _one(
        conn,
        "SELECT COUNT(*), SUM(b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents)"
        " FROM invoice_balances b WHERE b.invoice_id IN (SELECT x.invoice_id FROM cob_crossovers x"
        " WHERE NOT EXISTS (SELECT 1 FROM remit_claims c JOIN remit_transactions t"
        " ON t.id = c.transaction_id WHERE c.invoice_id = x.invoice_id"
        " AND t.payer_id = x.next_payer_id))",
    )
    cob_n, cob_left = _one(
        conn,
        "SELECT COUNT(*), SUM(i.total_cents - (SELECT COALESCE(SUM(a.amount_cents), 0)"
        " FROM adjustments a WHERE a.invoice_id = i.id AND a.source = 'cob'))"
        " FROM cob_claims x JOIN invoices i ON i.id = x.invoice_id",
    )
    cob_answered, cob_paid, cob_pr = _one(
        conn,
        "SELECT COUNT(*), SUM(c.paid_cents), SUM(c.patient_resp_cents) FROM cob_claims x"
        " JOIN remit_claims c ON c.invoice_id = x.invoice_id",
    )
    fmt = lambda c: money.fmt(c, thousands=True)  # noqa: E731
    return [
        f"Coordination of benefits: {medigap + dual} Medicare patients have a second coverage"
        f" ({medigap} Medigap, {dual} Medicaid dual eligibles, {qmb} of them QMB: remark N781 on"
        f" Medicare's 835s); Medicare forwarded {crossed} of their claims (crossover, CLP02 19:"
        f" {ma18} MA18 to Medigap, {ma07} MA07 to Medicaid) with {fmt(crossed_cents)} of"
        f" coinsurance and deductible, never put on a patient statement; the crossover payers"
        f" answered {x_answered} on the same claim ({fmt(x_paid)} paid), {waiting} still wait"
        f" ({fmt(waiting_cents)} open)",
        f"Secondary claims: `invoice generate` billed {cob_n} COB 837P claims (MA19 or no"
        f" remark: not forwarded) for the {fmt(cob_left)} the primary left (OA-23 the prior"
        f" payer's impact); the secondary payers answered {cob_answered}: {fmt(cob_paid)} paid,"
        f" {fmt(cob_pr)} left to the patient",
    ]


def clerk_lines(conn: Database, tally: ClerkTally) -> list[str]:
    """The summary's line on the clerk's corrections and write-offs."""
    replaced_cents, answered, paid = 0, 0, 0
    for number in tally.replaced:
        total, n, p = _one(
            conn,
            "SELECT i.total_cents, COUNT(c.id), SUM(c.paid_cents) FROM invoices i"
            " LEFT JOIN remit_claims c ON c.invoice_id = i.id WHERE i.number = ?",
            (number,),
        )
        replaced_cents, answered, paid = replaced_cents + total, answered + (n > 0), paid + p
    fmt = lambda c: money.fmt(c, thousands=True)  # noqa: E731
    refused = f"; {tally.refused} still refused by the scrubber" if tally.refused else ""
    re_cents, re_answered, re_paid = 0, 0, 0
    for number in tally.resubmitted:
        total, n, p = _one(
            conn,
            "SELECT i.total_cents, COUNT(c.id), SUM(c.paid_cents) FROM invoices i"
            " LEFT JOIN remit_claims c ON c.invoice_id = i.id WHERE i.number = ?",
            (number,),
        )
        re_cents, re_answered, re_paid = re_cents + total, re_answered + (n > 0), re_paid + p
    pairs = ", ".join(
        f"{a} as {b}" for a, b in zip(tally.corrected[:3], tally.resubmitted[:3], strict=True)
    ) + (f" and {len(tally.corrected) - 3} more" if len(tally.corrected) > 3 else "")
    return [
        f"The clerk corrected and replaced {len(tally.replaced)} claims denied CO-16 (missing"
        f" information; `invoice replace`, frequency 7: {fmt(replaced_cents)}, {answered}"
        f" answered, {fmt(paid)} paid{refused}) and wrote off {tally.written_off} small"
        f" balances (`invoice writeoff ... --reason small-balance`:"
        f" {fmt(tally.written_off_cents)})",
        f"Medicare returned {len(tally.corrected)}"
        f" claim{'' if len(tally.corrected) == 1 else 's'} unprocessable (CO-16 with MA130, M51:"
        f" no appeal rights): the clerk added modifier 25 to each visit's E/M (`charge correct"
        f" ... --modifier 25 --reason`)"
        f" and resubmitted it as a new claim (`invoice resubmit`, frequency 1: {pairs or 'none'};"
        f" {fmt(re_cents)}, {re_answered} answered, {fmt(re_paid)} paid)",
    ]
