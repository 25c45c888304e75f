"""Diagnosis pointers of a service line: which of the encounter's diagnoses the line treats.

One grammar for every reader (the charge import, the scrubber, claims and patient invoices):

Accepted (case and surrounding spaces ignored; stored by the import as "1,2"):
  "1", "1,2", "1, 2", "1:2:3", "1;2", "1 2"  numbers 1-12, separated by commas, colons,
                                             semicolons or spaces (837P SV107 writes "1:2")
  "12", "123"      single digits run together, one pointer each ("12" = 1 and 2, never twelve);
                   only when the whole text is one run of digits
  "A", "AB", "A,B" letters A-L, A = 1 ... L = 12 (CMS-1500 item 24E), each letter one pointer
  ""               no pointer (readable; `faults` reports it, the import leaves it to the scrubber)
Refused:
  "13", "0", "1,0"  a number outside 1-12        "10" (run together: 0 is not a pointer)
  "M", "1,X", "1/2" anything but digits, letters A-L and those separators
  "1,B"             numbers and letters mixed

A line then carries (`faults`): at least one pointer, at most 4 (837P SV107 has four pointer
components; CMS-1500 24E four positions), none repeated, each pointing at a diagnosis the
encounter has (HI, loop 2300, at most 12). Source: X12 837P 005010X222A1 TR3, SV107; NUCC
CMS-1500 instructions, item 24E.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

MAX_PER_LINE = 4
MAX_DIAGNOSES = 12

# kinds of Fault
NONE = "none"
TOO_MANY = "too-many"
REPEATED = "repeated"
NO_DIAGNOSIS = "no-diagnosis"

_SEPARATORS = re.compile(r"[\s,;:]+")
_LETTERS = "ABCDEFGHIJKL"


class PointerError(ValueError):
    "The text is not a list of diagnosis pointers (the message says which part and why)."


@dataclass(frozen=True)
class Fault:
    """A rule a readable pointer list breaks; `pointers` are the ones at fault (NO_DIAGNOSIS)."""

    kind: str
    message: str
    pointers: tuple[int, ...] = ()


def parse(text: str | None) -> tuple[int, ...]:
    """The pointers in the order written; raises PointerError for a refused form."""
    got = _parse(text or "")
    if isinstance(got, str):
        raise PointerError(got)
    return got


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple[int, ...] | str:
    """parse's answer, or the reason it cannot read the text (cached: pointer texts repeat)."""
    s = text.strip().upper()
    if not s:
        return ()
    if not s.isascii():  # str.isdigit() is true for "²" and "١", which int() then refuses or reads
        return "pointers: characters outside ASCII (write 1-12 or A-L)"
    toks = [t for t in _SEPARATORS.split(s) if t]
    if len(toks) == 1 and len(s) > 1 and s.isdigit():
        if "0" in s:
            return f"pointer {s!r}: digits run together must each be 1-9"
        return tuple(int(ch) for ch in s)
    out: list[int] = []
    kinds = set()
    for tok in toks:
        if tok.isdigit():
            n = int(tok)
            if not 1 <= n <= MAX_DIAGNOSES:
                return f"pointer {tok!r} is not 1-12"
            out.append(n)
            kinds.add("number")
        elif all(ch in _LETTERS for ch in tok):
            out.extend(_LETTERS.index(ch) + 1 for ch in tok)
            kinds.add("letter")
        else:
            return f"pointer {tok!r} is not a number 1-12 or a letter A-L"
    if len(kinds) > 1:
        return "pointers are numbers (1,2) or letters (AB), not both"
    return tuple(out)


def faults(pointers: Sequence[int], diagnoses: Collection[int]) -> list[Fault]:
    """What is wrong with a line's (readable) pointers; `diagnoses` are the positions the
    encounter has (1..n). Empty list: the line may be billed."""
    if not pointers:
        return [
            Fault(
                NONE,
                "no diagnosis pointer: point the line to 1-4 of the encounter's diagnoses (e.g. 1)",
            )
        ]
    out = []
    if len(pointers) > MAX_PER_LINE:
        out.append(Fault(TOO_MANY, f"{len(pointers)} diagnosis pointers; a line takes at most 4"))
    if len(set(pointers)) < len(pointers):
        out.append(Fault(REPEATED, "a diagnosis pointer is repeated"))
    bad = tuple(p for p in pointers if p not in diagnoses)
    if bad:
        have = f"1-{len(diagnoses)}" if diagnoses else "none"
        out.append(
            Fault(
                NO_DIAGNOSIS,
                f"diagnosis pointer {', '.join(map(str, bad))} has no diagnosis"
                f" (the encounter has {have})",
                bad,
            )
        )
    return out


def positions(n_diagnoses: int) -> range:
    """The positions an encounter with n diagnoses has, for `faults`."""
    return range(1, n_diagnoses + 1)
