"""Diagnosis pointers of a service line: "1", "1,2", "1:2:3" (837P SV107), "AB" (CMS-1500 24E).

Numbers 1-12 separated by commas, colons, semicolons or spaces; or letters A-L (A = 1). A run of
digits without separators is one pointer when it is 1-12 ("12"), otherwise one pointer per digit
("123" = 1, 2, 3), the way clerks type them into a single cell.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[\s,;:|/]+")


def parse_pointers(text: str | None) -> tuple[list[int], str | None]:
    """(pointers in order, reason they cannot be read or None)."""
    s = (text or "").strip().upper()
    if not s:
        return [], None
    out: list[int] = []
    for tok in _SPLIT.split(s):
        if not tok:
            continue
        if tok.isdigit():
            n = int(tok)
            if 1 <= n <= 12 and not (len(tok) > 1 and tok[0] == "0" and len(tok) > 2):
                out.append(n)
            elif "0" not in tok:
                out.extend(int(ch) for ch in tok)
            else:
                return out, f"pointer {tok!r} is not 1-12"
        elif tok.isalpha() and all("A" <= ch <= "L" for ch in tok):
            out.extend(ord(ch) - 64 for ch in tok)
        else:
            return out, f"pointer {tok!r} is not a number 1-12 or a letter A-L"
    return out, None
