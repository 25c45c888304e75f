"""Which services need an authorization, an NDC or a referring provider, for which payer.

Code lists are written "97110,97112", "97110-97546" (a range of same-length codes, compared as
text: 97110 <= code <= 97546) or "J*" (a prefix), comma separated. Built-in rules (always on):

* NDC for physician-administered drugs billed to Medicaid: the Deficit Reduction Act of 2005,
  section 6002 (42 U.S.C. 1396r-8(a)(7)) makes states collect the NDC of every
  physician-administered drug for rebates (42 CFR 447.520); a drug line without one is denied
  (CARC 16 / RARC M119). Drug codes here: J-codes (J0000-J9999) and biosimilars (Q5101-Q5199).
* A referring or ordering provider for clinical laboratory and imaging services billed to
  Medicare: 42 CFR 424.507 (ordering/referring provider edits, CR 6417/6421); CMS-1500 item 17,
  837P 2310A / 2420E. Lab: CPT 80047-89398; imaging: 70010-76999 and nuclear medicine
  78012-79999.
* A CLIA number for laboratory tests billed to any insurance payer: CLIA, 42 CFR 493.1 and
  Medicare Claims Processing Manual (Pub. 100-04) ch. 16 sec. 70.10; 837P 2300/2400 REF*X4.

A payer's own requirements (its contract or provider manual: commercial plans that want NDCs,
HMOs that want referrals for specialist visits, therapy that needs prior authorization) are
rows of payer_requirements, added with `billadmin auth require`.
"""

from __future__ import annotations

import re
from functools import lru_cache

DRUG_CODES = "J*,Q5101-Q5199"
LAB_CODES = "80047-89398"
IMAGING_CODES = "70010-76999,78012-79999"
REQUIREMENTS = ("auth", "ndc", "referring")
BUILT_IN: dict[tuple[str, str], str] = {
    ("medicaid", "ndc"): DRUG_CODES,
    ("medicare", "referring"): f"{LAB_CODES},{IMAGING_CODES}",
}
_ITEM = re.compile(r"^[A-Z0-9]{1,10}(\*|-[A-Z0-9]{1,10})?$")


class CodeListError(ValueError):
    "A code list that cannot be read (the message says which item, never PHI)."


def parse_codes(text: str) -> str:
    """A code list as typed -> its stored form ("97110, 97112-97140" -> "97110,97112-97140");
    raises CodeListError."""
    items = [i.strip().upper().replace(" ", "") for i in (text or "").split(",")]
    items = [i for i in items if i]
    if not items:
        raise CodeListError("no codes: give codes like 97110, ranges like 97110-97546, or J*")
    for i in items:
        if not _ITEM.match(i):
            raise CodeListError(
                f"item {items.index(i) + 1} is not a code, a range (97110-97546) or a prefix (J*)"
            )
        if "-" in i:
            lo, hi = i.split("-")
            if len(lo) != len(hi) or lo > hi:
                raise CodeListError(
                    f"item {items.index(i) + 1}: a range joins two codes of one length, low first"
                )
    return ",".join(items)


@lru_cache(maxsize=4096)
def _items(codes: str) -> tuple[tuple[str, str, str], ...]:
    out = []
    for i in codes.split(","):
        if i.endswith("*"):
            out.append(("prefix", i[:-1], ""))
        elif "-" in i:
            lo, hi = i.split("-")
            out.append(("range", lo, hi))
        else:
            out.append(("code", i, ""))
    return tuple(out)


@lru_cache(maxsize=65536)
def matches(codes: str, code: str) -> bool:
    """Whether a procedure code is in a stored code list."""
    for kind, a, b in _items(codes):
        if kind == "code" and code == a:
            return True
        if kind == "prefix" and code.startswith(a):
            return True
        if kind == "range" and len(code) == len(a) and a <= code <= b:
            return True
    return False


def is_lab(code: str) -> bool:
    return matches(LAB_CODES, code)


class Requirements:
    """The built-in and recorded requirements, read once: needs(payer, requirement, code)."""

    def __init__(self, conn) -> None:
        self.by_payer: dict[tuple[int, str], list[str]] = {}
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'payer_requirements'"
        ).fetchone()
        if exists:
            for payer_id, req, codes in conn.execute(
                "SELECT payer_id, requirement, codes FROM payer_requirements"
            ):
                self.by_payer.setdefault((payer_id, req), []).append(codes)

    def needs(self, payer_id: int | None, payer_kind: str, requirement: str, code: str) -> bool:
        built = BUILT_IN.get((payer_kind, requirement))
        if built and matches(built, code):
            return True
        return any(matches(c, code) for c in self.by_payer.get((payer_id or 0, requirement), ()))
