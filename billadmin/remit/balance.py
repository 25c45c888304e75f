"""Balance checks on a parsed 835, before anything is posted.

Rules (835 TR3 005010X221A1, section 1.10.2 "Balancing"):
- Service line (1.10.2.1.1): SVC02 charge - sum of the line's CAS amounts = SVC03 payment.
- Claim (1.10.2.1.2): CLP03 charge - sum of all CAS amounts (claim and line level) = CLP04
  payment; and when service lines are present, sum of SVC03 - sum of claim-level CAS = CLP04.
- Transaction (1.10.2.1.3): BPR02 = sum of CLP04 - sum of PLB amounts (a debit, BPR03 = D,
  counts negative).
- CLP05 patient responsibility should equal the claim's PR adjustments; payers disagree about
  that in practice, so a difference is a warning, not a refusal.
Every difference is reported with both sides ("expected 120.00 != found 118.00").
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import money
from .parse import RemitFile, Transaction


@dataclass(frozen=True, slots=True)
class Difference:
    rule: str
    severity: str  # "error" refuses the file; "warning" is shown
    message: str
    claim: str | None = None  # CLP01
    line: int | None = None  # service line number within the claim
    segment: int | None = None
    transaction: str | None = None  # ST02

    def __str__(self) -> str:
        where = []
        if self.transaction:
            where.append(f"ST {self.transaction}")
        if self.claim:
            where.append(f"claim {self.claim}")
        if self.line:
            where.append(f"line {self.line}")
        if self.segment:
            where.append(f"segment {self.segment}")
        return (", ".join(where) + ": " if where else "") + self.message


def _diff(expected: int, found: int) -> str:
    d = found - expected
    how = "too much" if d > 0 else "too little"
    return f"expected {money.fmt(expected)} != found {money.fmt(found)} ({money.fmt(abs(d))} {how})"


def check_transaction(tx: Transaction) -> list[Difference]:
    out: list[Difference] = []
    st = tx.control_number
    for c in tx.claims:
        claim_level = 0
        pr = 0
        for a in c.adjustments:
            claim_level += a[2]
            if a[0] == "PR":
                pr += a[2]
        line_adj = 0
        lines_paid = 0
        for ln in c.lines:
            adj = 0
            for a in ln.adjustments:
                adj += a[2]
                if a[0] == "PR":
                    pr += a[2]
            line_adj += adj
            lines_paid += ln.paid_cents
            exp = ln.charge_cents - adj
            if exp != ln.paid_cents:
                out.append(
                    Difference(
                        "LINE-BALANCE",
                        "error",
                        f"line payment SVC03 does not balance: charge {money.fmt(ln.charge_cents)} - adjustments "
                        f"{money.fmt(adj)}: {_diff(exp, ln.paid_cents)}",
                        c.claim_number,
                        ln.seq,
                        ln.segment,
                        st,
                    )
                )
        adjusted = claim_level + line_adj
        exp = c.charge_cents - adjusted
        if exp != c.paid_cents:
            out.append(
                Difference(
                    "CLAIM-BALANCE",
                    "error",
                    f"claim payment CLP04 does not balance: charge {money.fmt(c.charge_cents)} - adjustments "
                    f"{money.fmt(adjusted)}: {_diff(exp, c.paid_cents)}",
                    c.claim_number,
                    None,
                    c.segment,
                    st,
                )
            )
        if c.lines:
            exp = lines_paid - claim_level
            if exp != c.paid_cents:
                out.append(
                    Difference(
                        "CLAIM-LINES",
                        "error",
                        f"claim payment CLP04 is not the lines' payments {money.fmt(lines_paid)} - claim-level "
                        f"adjustments {money.fmt(claim_level)}: {_diff(exp, c.paid_cents)}",
                        c.claim_number,
                        None,
                        c.segment,
                        st,
                    )
                )
        if c.patient_resp_cents is not None:
            if pr != c.patient_resp_cents:
                out.append(
                    Difference(
                        "CLAIM-PR",
                        "warning",
                        f"CLP05 patient responsibility is not the sum of PR adjustments: "
                        f"{_diff(pr, c.patient_resp_cents)}",
                        c.claim_number,
                        None,
                        c.segment,
                        st,
                    )
                )
    exp = tx.claims_paid_cents - tx.plb_cents
    if exp != tx.signed_amount_cents:
        out.append(
            Difference(
                "TRANSACTION-BALANCE",
                "error",
                f"BPR02 payment does not balance: claims paid {money.fmt(tx.claims_paid_cents)} - provider "
                f"adjustments {money.fmt(tx.plb_cents)}: {_diff(exp, tx.signed_amount_cents)}",
                None,
                None,
                tx.segment,
                st,
            )
        )
    return out


def check_file(rf: RemitFile) -> list[Difference]:
    out: list[Difference] = []
    for tx in rf.transactions:
        out.extend(check_transaction(tx))
    return out
