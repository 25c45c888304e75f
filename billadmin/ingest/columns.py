"""Declared columns: what each import kind reads, and how each cell becomes a stored value.

A :class:`Column` names the field, its documented header (the one ``import template`` writes),
accepted aliases, a type and whether it is required. Headers match case- and space-insensitively
(:func:`readers.normalise_header`); ``--map FILE.toml`` can point a field at any source header and
give it a date format.

Types and their rules (a cell that breaks one is a Problem naming row and column, never the value):

  text   stripped; empty is empty; at most 200 characters; values starting with = + - @ are
         stored as the text they are (nothing is ever evaluated); a leading apostrophe before
         one of those (the spreadsheet escape, also what rejects files write) is removed.
  id     text kept as written, so leading zeros survive ("0012345"); no spaces; a value Excel
         turned into scientific notation ("1.23457E+15") is refused; an XLSX cell holding a
         number is accepted only as a whole number under 12 digits (Excel's General format
         shows 12+ digits in scientific notation, and digits beyond 15 are lost).
  npi    10 digits with a valid check digit (CMS NPI check digit rule, Luhn over 80840+9 digits).
  code   upper-cased, no spaces (CPT/HCPCS, modifiers, taxonomy): normalised, not judged here.
  payer  a payer code: upper-cased, then 1-15 of A-Z 0-9 _ - (it names the payer's 837P file,
         so a code can never be a path: "../x" is refused).
  dx     ICD-10-CM: upper-cased, the dot optional on input and stored in canonical form with
         the dot after the third character ("e119" -> "E11.9", "E11" stays "E11"). Not judged:
         `billadmin codes` decides whether it is billable.
  money  dollars and cents by money.parse_cents ("1,234.50", "$12", "(3.00)"); never float.
  date   ISO YYYY-MM-DD (an ISO date-time keeps its date, except a birth date), or the column's
         declared format; 1900-01-01 to 2199-12-31 only, ASCII digits only (dates.py: edges)
         (--date-format or the map file): two-digit years and ambiguous forms are refused.
         Birth dates and dates of service may not be in the future.
  int    a whole number.
  enum   one of the listed values (case-insensitive; synonyms listed in the help).
  phone  US phone: 10 digits after removing punctuation and a leading 1.
  zip    5 or 9 digits ("43215", "43215-1234"); 4 or 8 digits is refused (a ZIP that lost its
         leading zero in Excel).
  state  two-letter USPS code, or the full state name.
Identifiers sent in the 837P (member id, group number, payer id: ``x12=True``) are refused when
they hold an X12 delimiter (* : ^ ~) or a character outside printable ASCII
(billadmin.x12.text.identifier_problem): they are never altered to fit.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .. import dates, money
from .. import npi as npimod
from .fields import MAX_TEXT, Column, describe, enum_choices, normalise_header  # noqa: F401  (re-exported)

FORMULA_PREFIXES = ("=", "+", "-", "@")
_SCI = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_WS = re.compile(r"\s")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ICD = re.compile(r"^[A-Z][0-9][0-9A-Z](?:[0-9A-Z]{1,4})?$")


class CellError(ValueError):
    "A cell that does not satisfy its column's rule; the message never includes the value."


# --- cell parsers: (value, column, date_format, today) -> stored value or None --------------


def _as_text(v) -> str:
    if isinstance(v, str):
        return v.strip()
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    return str(v).strip()


def _unescape(s: str) -> str:
    if len(s) > 1 and s[0] == "'" and s[1] in FORMULA_PREFIXES:
        return s[1:]
    return s


def parse_text(v, col: Column) -> str | None:
    s = _unescape(_as_text(v))
    if not s:
        return None
    if len(s) > col.max_len:
        raise CellError(f"longer than {col.max_len} characters")
    if _CTRL.search(s):
        raise CellError("contains control characters")
    return s


def parse_id(v, col: Column) -> str | None:
    if isinstance(v, bool):
        raise CellError("a TRUE/FALSE value, not an identifier")
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not v.is_integer():
            raise CellError("a decimal number, not an identifier (format the column as Text)")
        n = int(v)
        if abs(n) >= 10**11:
            raise CellError(
                "stored as a number in Excel: long numbers lose digits and show as 1.2E+15; "
                "format the column as Text and re-enter it"
            )
        return str(n)
    if isinstance(v, (_dt.date, _dt.datetime)):
        raise CellError("a date, not an identifier (Excel converted it? format the column as Text)")
    s = _unescape(_as_text(v))
    if not s:
        return None
    if _SCI.match(s):
        raise CellError(
            "in scientific notation (Excel turned a long number into 1.2E+15 and lost digits); "
            "format the column as Text and re-enter it"
        )
    if _WS.search(s):
        raise CellError("contains spaces")
    if len(s) > 50:
        raise CellError("longer than 50 characters")
    if _CTRL.search(s):
        raise CellError("contains control characters")
    return s


def parse_npi(v, col: Column) -> str | None:
    s = parse_id(v, col)
    if s is None:
        return None
    why = npimod.problem(s)
    if why:
        raise CellError(why)
    return s


def parse_code(v, col: Column) -> str | None:
    s = parse_id(v, col)
    return s.upper() if s else None


PAYER_CODE = re.compile(r"^[A-Z0-9_-]{1,15}$")


def parse_payer_code(v, col: Column) -> str | None:
    s = parse_code(v, col)
    if s is not None and not PAYER_CODE.match(s):
        raise CellError("a payer code is 1-15 letters, digits, _ or - (it names the 837P file)")
    return s


def normalise_dx(s: str) -> str:
    """ICD-10-CM canonical form: upper case, dot after the third character when longer."""
    s = s.strip().upper().replace(".", "")
    if not _ICD.match(s):
        raise CellError("not shaped like an ICD-10-CM code (letter, digit, then 1-5 characters)")
    return s if len(s) <= 3 else s[:3] + "." + s[3:]


def parse_dx(v, col: Column) -> str | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        raise CellError("a number, not an ICD-10-CM code")
    s = _as_text(v)
    if not s:
        return None
    return normalise_dx(s)


def parse_money(v, col: Column) -> int | None:
    if isinstance(v, bool):
        raise CellError("a TRUE/FALSE value, not an amount")
    if isinstance(v, float):
        try:
            v = Decimal(repr(v))
        except InvalidOperation:
            raise CellError("not an amount") from None
    if isinstance(v, str):
        v = v.strip()
        if not v:
            return None
    elif v is None:
        return None
    try:
        return money.parse_cents(v)
    except money.MoneyError as e:
        raise CellError(str(e)) from None


def parse_int(v, col: Column) -> int | None:
    if isinstance(v, bool):
        raise CellError("a TRUE/FALSE value, not a number")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise CellError("not a whole number")
    s = _as_text(v)
    if not s:
        return None
    if not re.fullmatch(r"[+-]?\d{1,9}", s):
        raise CellError("not a whole number")
    return int(s)


def parse_date(v, col: Column, fmt: str | None = None, today: _dt.date | None = None) -> str | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        raise CellError("a number, not a date (format the column as a date, or write YYYY-MM-DD)")
    if isinstance(v, str):
        v = v.strip()
        if not v:
            return None
    elif v is None:
        return None
    try:
        d = dates.parse_date(v, fmt, allow_time=not col.field.endswith("dob"), check_range=False)
        if col.past_only and today is not None and d > today:
            raise CellError("in the future")
        dates.in_range(d)
    except dates.DateError as e:
        raise CellError(str(e)) from None
    return d.isoformat()


def parse_enum(v, col: Column) -> str | int | None:
    s = _as_text(v)
    if not s:
        return None
    key = normalise_header(s)
    out = (col.choices or {}).get(key)
    if out is None:
        allowed = sorted({x for x in (col.choices or {}).values()})
        raise CellError("must be one of " + ", ".join(str(a) for a in allowed))
    return out


def parse_phone(v, col: Column) -> str | None:
    s = _as_text(v)
    if not s:
        return None
    digits = re.sub(r"[\s().\-+/]", "", s)
    if not digits.isdigit():
        raise CellError("not a phone number (10 digits)")
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        raise CellError("a US phone number has 10 digits")
    return digits


def parse_zip(v, col: Column) -> str | None:
    s = _as_text(v)
    if not s:
        return None
    digits = s.replace("-", "").replace(" ", "")
    if not digits.isdigit():
        raise CellError("a ZIP code is 5 or 9 digits")
    if len(digits) in (4, 8):
        raise CellError(
            "4 or 8 digits: a ZIP code that lost its leading zero in Excel? format the column as Text"
        )
    if len(digits) not in (5, 9):
        raise CellError("a ZIP code is 5 or 9 digits")
    return digits


US_STATES = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "districtofcolumbia": "DC",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "newhampshire": "NH",
    "newjersey": "NJ",
    "newmexico": "NM",
    "newyork": "NY",
    "northcarolina": "NC",
    "northdakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhodeisland": "RI",
    "southcarolina": "SC",
    "southdakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "westvirginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "puertorico": "PR",
    "guam": "GU",
    "virginislands": "VI",
    "usvirginislands": "VI",
    "americansamoa": "AS",
    "northernmarianaislands": "MP",
}
_STATE_CODES = set(US_STATES.values()) | {"AA", "AE", "AP"}


def parse_state(v, col: Column) -> str | None:
    s = _as_text(v)
    if not s:
        return None
    if s.upper() in _STATE_CODES:
        return s.upper()
    code = US_STATES.get(normalise_header(s))
    if code is None:
        raise CellError("not a US state (two-letter code or full name)")
    return code


PARSERS = {
    "text": parse_text,
    "id": parse_id,
    "npi": parse_npi,
    "code": parse_code,
    "payer": parse_payer_code,
    "dx": parse_dx,
    "money": parse_money,
    "int": parse_int,
    "enum": parse_enum,
    "phone": parse_phone,
    "zip": parse_zip,
    "state": parse_state,
}


def parse_cell(v, col: Column, *, date_format: str | None = None, today: _dt.date | None = None):
    """The stored value of one cell, its column's default when empty; raises CellError."""
    out: int | str | None
    if col.type == "date":
        out = parse_date(v, col, date_format, today)
    else:
        out = PARSERS[col.type](v, col)
    if col.x12 and isinstance(out, str):
        from ..x12.text import identifier_problem

        why = identifier_problem(out, spaces=col.type == "text")
        if why:
            raise CellError(why)
    if out is None:
        if col.required:
            raise CellError("is required")
        return col.default
    return out


# --- headers that look like a key field ---------------------------------------------------

_MRN_WORDS = ("mrn", "chart", "medical record", "account")
_CODE_WORDS = ("cpt", "hcpcs", "procedure")
# Words that mark a header as one of a kind's key fields. A column whose header holds one (as a
# whole word, a plural, or the end of a run-together header: "Dx Pointer", "DxPointers",
# "dx_ptr") but matches none of the kind's names stops the import when that field is read from
# no other column: importing on would drop the field silently (a "Dx Pointer" column once left
# 18 of 19 charge lines without pointers, each then failing the scrubber). Rename the column to
# one of the field's names, or map it with --map.
KEY_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "patients": {"mrn": _MRN_WORDS},
    "providers": {"npi": ("npi",)},
    "coverage": {
        "mrn": _MRN_WORDS,
        "member_id": ("member", "member id", "subscriber id", "policy", "insurance id"),
    },
    "charges": {
        "encounter": ("encounter", "visit"),
        "mrn": _MRN_WORDS,
        "dos": ("dos", "date of service", "service date"),
        "npi": ("npi",),
        "code": _CODE_WORDS,
        "pointers": ("pointer", "ptr"),
    },
    "fee-schedule": {"code": _CODE_WORDS},
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(header: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _CAMEL.sub(" ", str(header)).casefold())


def _has_phrase(header: str, phrase: str) -> bool:
    words, want = _words(header), phrase.split()
    n = len(want)
    for i in range(len(words) - n + 1):
        got = words[i : i + n]
        if got[:-1] == want[:-1] and got[-1] in (want[-1], want[-1] + "s"):
            return True
    squashed, key = normalise_header(header), "".join(want)
    return len(key) >= 4 and (squashed.endswith(key) or squashed.endswith(key + "s"))


def looks_like(kind: str, header: str) -> str | None:
    """The key field of ``kind`` this header looks like (by KEY_WORDS), or None."""
    for fld, phrases in KEY_WORDS.get(kind, {}).items():
        if any(_has_phrase(header, p) for p in phrases):
            return fld
    return None


def unread_key_columns(kind: str, headers: list, unused: list[int], read: set[str]) -> list:
    """(column index, field) for each unused column that looks like a key field no column
    feeds (``read``: the fields the mapping reads or a profile sets)."""
    out = []
    for i in unused:
        fld = looks_like(kind, headers[i]) if headers[i] else None
        if fld is not None and fld not in read:
            out.append((i, fld))
    return out


@dataclass
class Mapping:
    """Which file column feeds which field, and each date field's format."""

    index: dict[str, int] = field(default_factory=dict)  # field -> column index in the file
    formats: dict[str, str] = field(default_factory=dict)  # field -> date format
    ignored: list[str] = field(default_factory=list)  # headers nothing reads
