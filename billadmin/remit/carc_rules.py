"""What each 835 adjustment (CAS group code + CARC) does to a claim's balance: its posting class.

Classes:
- ``contractual``: an expected reduction the provider agreed to (fee schedule, capitation,
  negotiated discount, multiple-procedure reduction) or a payment reduction (CO-253
  sequestration cuts the payment by 2%, not the allowed amount). Posted as an adjustment
  (source 'remit'): it reduces the claim's balance.
- ``prior_payer``: OA-23 (and CO-23) on a secondary or tertiary payer's 835, the impact of the
  prior payers. The next payer's claim already carries that reduction (billing.cob's 'cob'
  adjustment made at issue), so it explains the 835 and is not posted a second time.
- ``duplicate``: OA-18 (and OA/CO-B13): the payer already processed this claim; matched to the
  original posting, neither posted nor appealed.
- ``patient``: group PR (deductible 1, coinsurance 2, co-pay 3, share of cost 142/178,
  non-covered with an ABN 50/96/204): moved to the next responsible party (source 'transfer').
- ``denial``: anything the clerk can work (CO-16, CO-50, CO-97, CO-197, CO-29, CO-22/CO-109,
  CO-B7, ...). NOT posted: the amount stays open on the claim, in A/R, aging and the denial
  worklist, until the clerk appeals, corrects, writes it off or moves it to the patient.

Sources: the X12 Claim Adjustment Reason Code list (x12.org/codes, "claim-adjustment-reason-
codes"; group codes CO, CR, OA, PI, PR per the 835 TR3 005010X221A1 section 1.10.2.4), and
for Medicare's use of them CMS Medicare Claims Processing Manual (Pub. 100-04) chapter 22
(Remittance Advice), section 60 (group and reason codes on the 835), MLN Matters MM7416
(CO-253 sequestration, 2% payment reduction from April 2013) and chapter 30 section 40 (ABN:
modifier GA with PR-50 makes the beneficiary liable; GZ with CO-50 leaves the provider liable).

A payer may classify a code differently (a contract that treats CO-97 as agreed bundling):
``payer_carc_rules`` holds such overrides, set with ``billadmin payer carc-rule``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import codes

if TYPE_CHECKING:
    from ..db import Database

CLASSES = ("contractual", "prior_payer", "duplicate", "patient", "denial")
GROUPS = ("CO", "CR", "OA", "PI", "PR")

# Explicit (group, CARC) -> class, where the CARC's work category alone does not say it.
# Group "*" means any group other than PR. Each entry cites the reason.
EXPLICIT: dict[tuple[str, str], tuple[str, str]] = {
    ("*", "45"): ("contractual", "CARC 45: charge exceeds fee schedule/maximum allowable"),
    ("*", "59"): ("contractual", "CARC 59: multiple/concurrent procedure reduction (MPPR)"),
    ("*", "253"): ("contractual", "CARC 253: sequestration, 2% payment reduction (MM7416)"),
    ("*", "24"): ("contractual", "CARC 24: covered by capitation / managed care agreement"),
    ("*", "94"): ("contractual", "CARC 94: processed in excess of charges"),
    ("*", "131"): ("contractual", "CARC 131: claim-specific negotiated discount"),
    ("*", "23"): ("prior_payer", "CARC 23: impact of prior payer(s) adjudication"),
    ("OA", "18"): ("duplicate", "OA-18: exact duplicate claim/service (Pub. 100-04 ch. 22)"),
    ("OA", "B13"): ("duplicate", "OA-B13: previously paid in an earlier remittance"),
    ("CO", "18"): ("denial", "CO-18 duplicate denial: verify against the original, then work"),
    ("*", "147"): ("denial", "CARC 147: contracted rate not on file: a denial to work"),
}


def default_class(group: str, reason: str) -> tuple[str, str]:
    """(class, why) from the built-in table: PR is the patient's; explicit entries; then the
    CARC's category: contractual and payment adjustments reduce, everything else is a denial."""
    group, reason = group.upper(), reason.upper()
    if group == "PR":
        return "patient", "group PR: patient responsibility (835 TR3 1.10.2.4)"
    hit = EXPLICIT.get((group, reason)) or EXPLICIT.get(("*", reason))
    if hit:
        return hit
    category, _ = codes.describe("CARC", reason)
    if category in ("contractual", "payment_adjustment"):
        return "contractual", f"CARC {reason}: {category.replace('_', ' ')}"
    if group == "CR":
        return "contractual", "group CR: correction or reversal of a prior adjustment"
    return "denial", f"{group}-{reason}: {category.replace('_', ' ')}, the clerk works it"


def parse_code(text: str) -> tuple[str, str]:
    """'CO-97' -> ('CO', '97'); refuses anything else (ValueError naming the input's shape)."""
    parts = text.strip().upper().split("-", 1)
    if len(parts) != 2 or parts[0] not in GROUPS or not parts[1].isalnum() or len(parts[1]) > 5:
        raise ValueError("expected GROUP-CARC such as CO-97 (group CO, CR, OA, PI or PR)")
    return parts[0], parts[1]


class Classifier:
    """Classifies CAS adjustments for one database: the payer's overrides, then the defaults."""

    def __init__(self, conn: Database | None = None):
        self.overrides: dict[tuple[int, str, str], str] = {}
        if (
            conn is not None
            and conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payer_carc_rules'"
            ).fetchone()
        ):
            for pid, g, r, c in conn.execute(
                "SELECT payer_id, group_code, reason_code, class FROM payer_carc_rules"
            ):
                self.overrides[(pid, g, r)] = c

    def classify(self, payer_id: int | None, group: str, reason: str) -> str:
        if payer_id is not None:
            hit = self.overrides.get((payer_id, group.upper(), reason.upper()))
            if hit:
                return hit
        return default_class(group, reason)[0]
