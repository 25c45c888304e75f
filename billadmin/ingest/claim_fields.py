"""The optional columns of a charge file that carry what real claims need beyond code and charge
(issue 20): the drug given (NDC), the ordering and referring providers, prior authorization and
referral numbers, the CLIA number, and the claim dates payers ask for.

Rules (a cell that breaks one is a Problem naming row and column, never the value):
* NDC: 11 digits in 5-4-2 form (837P 2410 LIN03, qualifier N4, "11-digit format, no hyphens").
  "12345-6789-01" and "12345678901" are stored as 12345678901. A hyphenated 10-digit NDC (as
  printed on a package) is padded to 11 by a leading zero in the segment that is short: 4-4-2
  -> 0xxxx-xxxx-xx, 5-3-2 -> xxxxx-0xxx-xx, 5-4-1 -> xxxxx-xxxx-0x (CMS/FDA NDC crosswalk
  convention). An unhyphenated 10-digit NDC is ambiguous (which segment is short?) and refused,
  as is a number cell (Excel drops the leading zero).
* NDC unit: F2 (international unit), GR (gram), ME (milligram), ML (milliliter), UN (unit): the
  code list of CTP05-1; the quantity (CTP04) a decimal above 0 with at most 3 decimals. A unit
  or quantity without an NDC is refused; an NDC without them is kept (the scrubber reports it).
* Ordering / referring provider: the NPI (check digit) and the last name go together (NM1*DK /
  NM1*DN: NM103 is required); the first name is optional.
* Prior authorization (REF*G1), referral number (REF*9F): identifiers up to 50 characters, sent
  as written (X12 delimiters refused).
* CLIA: 10 characters, two digits, the letter D, seven digits (42 CFR 493; CMS CLIA number).
* Claim dates (onset DTP*431, initial treatment 454, last seen 304, accident 439) are the
  encounter's: lines of one encounter that give them must agree (an empty cell states nothing).
  An accident date needs its cause (CLM11-1: AA auto, EM employment, OA other), and an auto
  accident the state it happened in (CLM11-4).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .columns import CellError, parse_cell

LINE_FIELDS = (
    "ndc",
    "ndc_unit",
    "ndc_quantity",
    "ordering_npi",
    "ordering_last",
    "ordering_first",
    "referring_npi",
    "referring_last",
    "referring_first",
    "prior_auth",
    "referral_number",
    "clia",
)
ENCOUNTER_FIELDS = (
    "onset_date",
    "initial_treatment_date",
    "last_seen_date",
    "accident_date",
    "accident_cause",
    "accident_state",
)
FIELDS = LINE_FIELDS + ENCOUNTER_FIELDS
NDC_UNITS = ("F2", "GR", "ME", "ML", "UN")
_CLIA = re.compile(r"^\d{2}D\d{7}$")
_PADS = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}


def normalise_ndc(value) -> str | None:
    """A cell -> the 11-digit NDC, or None when empty; raises CellError (see the module rules)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise CellError(
            "a number cell: Excel drops an NDC's leading zero; format the column as Text and"
            " write the NDC with its hyphens"
        )
    s = value.strip().upper()
    if s.startswith("N4"):
        s = s[2:]
    parts = s.split("-")
    if not all(p.isdigit() and p.isascii() for p in parts):
        raise CellError("an NDC is 11 digits (5-4-2), hyphens optional")
    if len(parts) == 1:
        if len(s) == 11:
            return s
        if len(s) == 10:
            raise CellError(
                "a 10-digit NDC without hyphens is ambiguous (4-4-2, 5-3-2 or 5-4-1?): write it"
                " with its hyphens as printed on the package, or as 11 digits"
            )
        raise CellError("an NDC is 11 digits (5-4-2)")
    shape = tuple(len(p) for p in parts)
    if shape == (5, 4, 2):
        return "".join(parts)
    short = _PADS.get(shape)  # type: ignore[arg-type]
    if short is None:
        raise CellError("an NDC is 5-4-2 digits (or a 10-digit 4-4-2, 5-3-2 or 5-4-1)")
    parts[short] = "0" + parts[short]
    return "".join(parts)


def parse_quantity(value) -> str | None:
    """NDC quantity (CTP04) -> canonical decimal text ("2", "0.5"); raises CellError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellError("not a quantity")
    try:
        d = Decimal(str(value).strip()) if not isinstance(value, float) else Decimal(repr(value))
    except InvalidOperation:
        raise CellError("not a quantity (a number such as 2 or 0.5)") from None
    if not d.is_finite() or d <= 0:
        raise CellError("a quantity above 0")
    if d >= 10**9:
        raise CellError("too large for a drug quantity")
    if d.as_tuple().exponent < -3 and d != round(d, 3):  # type: ignore[operator]
        raise CellError("at most 3 decimals")
    text = format(d.normalize(), "f")
    return text


def parse_clia(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    s = str(value).strip().upper()
    if not _CLIA.match(s):
        raise CellError("a CLIA number is 10 characters: 2 digits, D, 7 digits (like 05D0123456)")
    return s


class Parser:
    """The claim-field cells of one charge row -> (line values, encounter values), each a tuple
    in LINE_FIELDS / ENCOUNTER_FIELDS order or None when all are empty; problems go to errs as
    (field, reason)."""

    def __init__(self, run) -> None:
        by_field, fmts, today = run.by_field, run.mapping.formats, run.today

        def cell(fld):
            col = by_field[fld]
            return lambda v: parse_cell(v, col, date_format=fmts.get(fld), today=today)

        special = {
            "ndc": normalise_ndc,
            "ndc_quantity": parse_quantity,
            "clia": parse_clia,
        }
        self.parsers = [special.get(f) or cell(f) for f in FIELDS]
        self.n_line = len(LINE_FIELDS)
        self.memo: dict[tuple, tuple] = {}

    def __call__(self, raw: tuple, errs: list) -> tuple[tuple | None, tuple | None]:
        # values repeat from row to row (one NDC per drug, one CLIA, a few NPIs): each distinct
        # set of cells is parsed once (the cache is cleared when it grows past its limit)
        got = self.memo.get(raw)
        if got is None:
            found: list = []
            got = (*self.parse(raw, found), found)
            if len(self.memo) >= 100_000:
                self.memo.clear()
            self.memo[raw] = got
        if got[2]:
            errs.extend(got[2])
        return got[0], got[1]

    def parse(self, raw: tuple, errs: list) -> tuple[tuple | None, tuple | None]:
        vals: list = []
        for fld, fn, v in zip(FIELDS, self.parsers, raw, strict=True):
            if v is None or v == "":
                vals.append(None)
                continue
            try:
                vals.append(fn(v))
            except CellError as e:
                errs.append((fld, str(e)))
                vals.append(None)
        _cross_checks(dict(zip(FIELDS, vals, strict=True)), errs)
        line, enc = tuple(vals[: self.n_line]), tuple(vals[self.n_line :])
        return (
            line if any(v is not None for v in line) else None,
            enc if any(v is not None for v in enc) else None,
        )


def _cross_checks(v: dict, errs: list) -> None:
    if v["ndc"] is None:
        for f in ("ndc_unit", "ndc_quantity"):
            if v[f] is not None:
                errs.append(("ndc", f"required when the line gives an NDC {f[4:]}"))
                break
    for who in ("ordering", "referring"):
        if v[f"{who}_npi"] is not None and v[f"{who}_last"] is None:
            errs.append((f"{who}_last", f"required with the {who} NPI (837P NM103)"))
        elif v[f"{who}_npi"] is None and (v[f"{who}_last"] or v[f"{who}_first"]):
            errs.append((f"{who}_npi", f"required when the {who} provider's name is given"))
    if v["accident_date"] is not None and v["accident_cause"] is None:
        errs.append(("accident_cause", "required with an accident date (837P CLM11)"))
    elif v["accident_cause"] is not None and v["accident_date"] is None:
        errs.append(("accident_date", "required with an accident cause (837P DTP*439)"))
    if v["accident_cause"] == "AA" and v["accident_state"] is None:
        errs.append(("accident_state", "required for an auto accident (837P CLM11-4)"))
