"""Text in X12 elements: how names and addresses are written, and which identifiers can be.

The character set (ASC X12 005010, TR3 005010X222A1 appendix B.1.1.2.3; pyx12's validation.py
uses the same sets):
- basic: A-Z 0-9 space and ! " & ' ( ) * + , - . / : ; ? =
- extended (5010): adds a-z % @ [ ] _ { } \\ | < > ~ ^ ` # $, i.e. all of printable ASCII.
Whatever set is in use, a character equal to one of the interchange's delimiters must never
appear in data: ours are "*" (element, ISA's 4th character), ":" (component, ISA16),
"^" (repetition, ISA11) and "~" (segment terminator). The apostrophe is in the basic set, so
O'BRIEN keeps it.

Names and addresses (``clean``) are transliterated, never silently shortened:
1. letters that Unicode does not decompose are spelled in ASCII by the table ``FOLD`` below
   (ß -> SS, Ł -> L, Ø -> O, Æ -> AE, Đ/Ð -> D, Œ -> OE, Þ -> TH, ı -> I, ...), typographic
   quotes become ' and ", dashes and the minus sign become -, every Unicode space a space;
2. the rest is decomposed (NFKD) and the combining marks dropped: É -> E, Ñ -> N, ﬁ -> FI;
3. what is still not printable ASCII (letters of scripts with no Latin spelling, emoji,
   control characters) and the four delimiters become spaces; runs of spaces collapse to one,
   the ends are trimmed, and the result is upper case.
So Łukasiewicz -> LUKASIEWICZ, Strauß -> STRAUSS, O’Brien -> O'BRIEN, Muñoz–Pérez -> MUNOZ-PEREZ.
A name written only in a script without a Latin form (王芳) is empty afterwards: ``lost`` tells
so, and the billing run holds that encounter (scrub rule X12-TEXT-EMPTY) instead of sending
an empty required element that fails the whole file.

Identifiers (member id, group number, payer id, payer claim number) are never transliterated:
``identifier_problem`` refuses one that holds a delimiter, a control character or anything
outside printable ASCII, where it enters (import, 835 posting, --payer-claim-number).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
TERMINATOR = "~"
DELIMITERS = ELEMENT + COMPONENT + REPETITION + TERMINATOR

# Letters NFKD leaves alone (no decomposition), and punctuation with an ASCII equivalent.
FOLD = {
    "ß": "SS",
    "ẞ": "SS",
    "Ł": "L",
    "ł": "L",
    "Ø": "O",
    "ø": "O",
    "Æ": "AE",
    "æ": "AE",
    "Œ": "OE",
    "œ": "OE",
    "Đ": "D",
    "đ": "D",
    "Ð": "D",
    "ð": "D",
    "Þ": "TH",
    "þ": "TH",
    "Ħ": "H",
    "ħ": "H",
    "ı": "I",
    "Ŧ": "T",
    "ŧ": "T",
    "Ŋ": "NG",
    "ŋ": "NG",
    "ĸ": "K",
    "Ə": "E",
    "ə": "E",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "ʼ": "'",
    "ʻ": "'",
    "´": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "«": '"',
    "»": '"',
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "·": " ",
}
_FOLD_TABLE = str.maketrans(FOLD)
_BAD = re.compile(r"[^ -~]|[" + re.escape(DELIMITERS) + "]")
_SPACES = re.compile(r"\s+")


def transliterate(s: str) -> str:
    """Steps 1-2 of the module docstring: the value in ASCII as far as it has a Latin form
    (characters without one are left for ``clean`` to drop)."""
    if s.isascii():
        return s
    s = s.translate(_FOLD_TABLE)
    s = unicodedata.normalize("NFKD", s)
    return "".join(
        " " if unicodedata.category(ch) == "Zs" else ch for ch in s if not unicodedata.combining(ch)
    )


@lru_cache(maxsize=65536)
def _clean(s: str, maxlen: int | None) -> str:
    s = _SPACES.sub(" ", _BAD.sub(" ", transliterate(s))).strip().upper()
    if maxlen is not None:
        s = s[:maxlen].rstrip()
    return s


def clean(value, maxlen: int | None = None) -> str:
    """A name or address as written in an element (the module docstring's three steps)."""
    if value is None:
        return ""
    return _clean(str(value), maxlen)


def lost(value) -> bool:
    """True when the value has text but nothing of it can be written in X12 (``clean`` is
    empty): a required name or address element would be empty."""
    return value is not None and str(value).strip() != "" and clean(value) == ""


EMPTY_MESSAGE = (
    "no letters or digits that can be written in an X12 837 (only characters without a Latin"
    " form): record the Latin spelling too"
)

_ID_OK = re.compile(r"[!-~]+(?: [!-~]+)*")


def identifier_problem(value, *, spaces: bool = False) -> str | None:
    """Why an identifier cannot be sent as it is, or None. Refused: the X12 delimiters
    (* : ^ ~), control and other non-printable characters, anything outside ASCII, and spaces
    unless ``spaces`` (a group number may hold single inner spaces). The message names the
    character class, never the value."""
    if value is None:
        return None
    s = str(value)
    if not s:
        return None
    found = sorted({ch for ch in s if ch in DELIMITERS})
    if found:
        return (
            f"contains {' '.join(found)}: X12 delimiters (* : ^ ~) cannot be sent in an"
            " identifier; correct it at its source"
        )
    if not s.isascii() or any(not ch.isprintable() for ch in s):
        return (
            "contains characters outside printable ASCII (control, accented or other"
            " characters): an identifier is sent exactly as written"
        )
    if not spaces and " " in s:
        return "contains spaces: an identifier is sent exactly as written"
    if spaces and not _ID_OK.fullmatch(s):
        return "has leading, trailing or repeated spaces: an identifier is sent as written"
    return None


# The required name and address elements of a claim's parties, by database column:
# NM103/NM104 (2010BA or 2010CA), N301 and N401 (the patient's address goes in 2010BA when the
# patient is the subscriber, else in 2010CA), the subscriber's NM103/NM104 (2010BA) for a
# dependent, the payer's NM103 (2010BB), the rendering provider's NM103/NM104 (2310B).
# A first name is situational ("when the person has one"): one that was given and is lost is
# reported too.
PATIENT_TEXT = (
    ("last_name", "last name"),
    ("first_name", "first name"),
    ("address1", "street"),
    ("city", "city"),
)
SUBSCRIBER_TEXT = (("subscriber_last", "last name"), ("subscriber_first", "first name"))
PROVIDER_TEXT = (("last_name", "last name"), ("first_name", "first name"))


def _lost_labels(row: Mapping, fields) -> list[str]:
    return [label for col, label in fields if lost(row.get(col))]


def _say(who: str, labels: list[str]) -> str:
    return f"{who}: {' and '.join(labels)} {'has' if len(labels) == 1 else 'have'} {EMPTY_MESSAGE}"


def claim_text_problems(
    patient: Mapping | None, coverage: Mapping | None, payer: Mapping | None
) -> list[str]:
    """Rule X12-TEXT-EMPTY for one claim: each party whose required name or address would be
    empty in the 837P. Rows use the database's column names (patients, coverages, payers);
    messages name the patient's internal id, coverage id and payer code (never the MRN, a
    name or a value)."""
    out = []
    labels = _lost_labels(patient, PATIENT_TEXT) if patient else []
    if patient and labels:
        out.append(_say(f"patient {patient.get('id')}", labels))
    if coverage and (coverage.get("relationship") or "self") != "self":
        labels = _lost_labels(coverage, SUBSCRIBER_TEXT)
        if labels:
            out.append(_say(f"coverage {coverage.get('id')} subscriber", labels))
    if payer and lost(payer.get("name")):
        out.append(_say(f"payer {payer.get('code')}", ["name"]))
    return out


def provider_text_problems(provider: Mapping) -> list[str]:
    """Rule X12-TEXT-EMPTY for the rendering provider (loop 2310B)."""
    labels = _lost_labels(provider, PROVIDER_TEXT)
    return [_say(f"rendering provider {provider.get('npi')}", labels)] if labels else []


def claim_identifier_problems(coverage: Mapping | None, payer: Mapping | None) -> list[str]:
    """Rule X12-ID-CHARS for one claim: stored identifiers that cannot be sent as written
    (recorded before they were checked where they enter)."""
    out = []
    if coverage:
        for col, label, spaces in (
            ("member_id", "member id", False),
            ("group_number", "group number", True),
        ):
            why = identifier_problem(coverage.get(col), spaces=spaces)
            if why:
                out.append(f"coverage {coverage.get('id')}: {label} {why}")
    if payer:
        why = identifier_problem(payer.get("x12_payer_id"))
        if why:
            out.append(f"payer {payer.get('code')}: X12 payer id {why}")
    return out
