"""What keeps an institutional claim from being billed to a payer on a coverage (the INST-*
rules of institutional/generate.py that concern the payer; used for the next-payer 837I too)."""

from __future__ import annotations

from ..scrub import claim as claim_checks


def payer_problems(cov: dict, payer: dict) -> list[tuple[str, str]]:
    """(rule, message) for what keeps the payer from being billed on this coverage:
    INST-PAYER-ID, INST-MEMBER-ID, INST-SUBSCRIBER (institutional/generate.py's docstring)."""
    checks = [
        (
            "INST-PAYER-ID",
            None  # a paper-only payer's claims are printed on the UB-04: no 837I, no payer id
            if payer.get("claim_media") == "paper"
            else claim_checks.payer_id_problem(payer.get("x12_payer_id"), payer["code"]),
        ),
        ("INST-MEMBER-ID", claim_checks.member_id_problem(cov.get("member_id"), payer["code"])),
        (
            "INST-SUBSCRIBER",
            claim_checks.subscriber_problem(
                cov.get("relationship"),
                cov.get("subscriber_last"),
                cov.get("subscriber_first"),
                payer["code"],
            ),
        ),
    ]
    return [(rule, msg) for rule, msg in checks if msg]
