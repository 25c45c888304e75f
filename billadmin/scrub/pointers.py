"""Diagnosis pointers of a service line: "1", "1,2", "1:2:3" (837P SV107), "AB" (CMS-1500 24E).

Numbers 1-12 separated by commas, colons, semicolons or spaces; letters A-L (A = 1); or digits
run together, one pointer each ("12" = 1 and 2), as the charge import reads them
(billadmin/ingest/charges.py), which stores them as "1,2".
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[\s,;:|/]+")


def parse_pointers(text: str | None) -> tuple[list[int], str | None]:
    """(pointers in order, reason they cannot be read or None)."""
    s = (text or "").strip().upper()
    if not s:
        return [], None
    toks = [t for t in _SPLIT.split(s) if t]
    single = len(toks) == 1
    out: list[int] = []
    for tok in toks:
        if tok.isdigit():
            if single and len(tok) > 1:
                if "0" in tok:
                    return out, f"pointer {tok!r}: digits run together must each be 1-9"
                out.extend(int(ch) for ch in tok)
                continue
            n = int(tok)
            if not 1 <= n <= 12:
                return out, f"pointer {tok!r} is not 1-12"
            out.append(n)
        elif tok.isalpha() and all("A" <= ch <= "L" for ch in tok):
            out.extend(ord(ch) - 64 for ch in tok)
        else:
            return out, f"pointer {tok!r} is not a number 1-12 or a letter A-L"
    return out, None
