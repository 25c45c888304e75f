"""National Provider Identifier check digit.

Rule (CMS, "Requirements for NPI Check Digit", 2004): the NPI is 10 digits; the last is a Luhn
check digit computed over the first nine prefixed with the card issuer id 80840 (which adds a
constant 24 to the Luhn sum).
"""

from __future__ import annotations


def _luhn_sum(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # rightmost of the payload is doubled (check digit excluded)
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def check_digit(first9: str) -> int:
    if len(first9) != 9 or not first9.isdigit():
        raise ValueError("need the first 9 digits of an NPI")
    return (10 - (_luhn_sum("80840" + first9) % 10)) % 10


def is_valid(npi: str | None) -> bool:
    if not npi or len(npi) != 10 or not npi.isdigit():
        return False
    return check_digit(npi[:9]) == int(npi[9])


def problem(npi: str | None) -> str | None:
    """Why this is not a valid NPI, or None."""
    if not npi:
        return "NPI is empty"
    if len(npi) != 10 or not npi.isdigit():
        return "NPI must be 10 digits"
    if not is_valid(npi):
        return "NPI check digit is wrong"
    return None


def make(first9: str) -> str:
    """A valid NPI from nine digits (used by the demo and tests)."""
    return first9 + str(check_digit(first9))
