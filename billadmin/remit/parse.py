"""Read X12 835 (005010X221A1) health care claim payment/advice files into plain objects.

Structure (835 TR3, section 2.4): header (BPR financial information, TRN reassociation trace,
DTM*405 production date, N1*PR payer loop 1000A, N1*PE payee loop 1000B), then header number
loops 2000 (LX, TS3, TS2), each with claim payment loops 2100 (CLP, CAS, NM1, MIA, MOA, REF,
DTM, PER, AMT, QTY) and their service payment loops 2110 (SVC, DTM, CAS, REF, AMT, QTY, LQ),
then PLB provider-level adjustments, SE.

Tolerant of what X12 allows: optional segments absent, loops repeated, segments we do not use
ignored, several ST..SE transactions per interchange and several interchanges per file, claims
without service lines, CAS with up to six reason/amount/quantity triplets. Strict on arithmetic:
an amount that is not an X12 decimal (R type) with at most two decimals is an error, never
guessed. Errors and warnings name the segment number and element, never the value (patient
names and member ids travel in NM1 segments: they are not even kept; only the crossover
carrier's name and id, NM1*TT, an organisation, are).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from ..money import MAX_CENTS
from ..x12 import reader

# CLP02 claim status codes (835 TR3, CLP02).
CLAIM_STATUS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded",
    "20": "processed as secondary, forwarded",
    "21": "processed as tertiary, forwarded",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded",
    "25": "predetermination pricing only, no payment",
}
ADJUSTMENT_GROUPS = {
    "CO": "contractual obligation",
    "CR": "correction and reversal",
    "OA": "other adjustment",
    "PI": "payer initiated reduction",
    "PR": "patient responsibility",
}
PAYMENT_METHODS = {
    "ACH": "ACH (EFT)",
    "BOP": "financial institution option",
    "CHK": "check",
    "FWT": "wire transfer",
    "NON": "no payment",
}


@dataclass(slots=True)
class RemitIssue:
    """A problem found while reading: severity 'error' refuses the file, 'warning' is shown."""

    severity: str
    message: str
    segment: int | None = None
    claim: str | None = None  # CLP01 (our claim number: an internal id, not PHI)

    def __str__(self) -> str:
        where = f"segment {self.segment}: " if self.segment else ""
        return f"{where}{self.message}"


class Adjustment(NamedTuple):
    """One CAS reason/amount/quantity triplet (a tuple: an 835 holds hundreds of thousands)."""

    group: str
    reason: str
    amount_cents: int
    quantity: str | None = None


@dataclass(slots=True)
class ServiceLine:
    seq: int
    qualifier: str
    code: str
    modifiers: list[str]
    charge_cents: int
    paid_cents: int
    segment: int
    revenue_code: str | None = None
    units: str | None = None
    original_code: str | None = None
    original_units: str | None = None
    service_from: str | None = None
    service_to: str | None = None
    control_number: str | None = None  # REF*6R: the line item control number we sent
    allowed_cents: int | None = None  # AMT*B6
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # LQ*HE remark codes (RARC)

    @property
    def adjusted_cents(self) -> int:
        return sum(a.amount_cents for a in self.adjustments)


# MIA (loop 2100, inpatient adjudication) and MOA (outpatient adjudication) elements, per the
# 835 TR3 005010X221A1 (and pyx12's map 835.5010.X221.A1.xml): (position, key, kind, label).
# kind "amount" is money (cents), "count" a quantity kept as read (R type), "rate" the MOA01
# percentage kept as read, "remark" a RARC (remarks are also kept in ClaimPayment.remarks).
MIA_ELEMENTS: tuple[tuple[int, str, str, str], ...] = (
    (1, "covered_days", "count", "covered days or visits"),
    (2, "pps_operating_outlier_cents", "amount", "PPS operating outlier"),
    (3, "lifetime_psychiatric_days", "count", "lifetime psychiatric days"),
    (4, "drg_cents", "amount", "DRG amount"),
    (5, "remark", "remark", "remark"),
    (6, "disproportionate_share_cents", "amount", "disproportionate share"),
    (7, "msp_pass_through_cents", "amount", "MSP pass-through"),
    (8, "pps_capital_cents", "amount", "PPS capital"),
    (9, "pps_capital_fsp_drg_cents", "amount", "PPS capital federal-specific DRG"),
    (10, "pps_capital_hsp_drg_cents", "amount", "PPS capital hospital-specific DRG"),
    (11, "pps_capital_dsh_drg_cents", "amount", "PPS capital disproportionate-share DRG"),
    (12, "old_capital_cents", "amount", "old capital"),
    (13, "pps_capital_ime_cents", "amount", "PPS capital indirect medical education"),
    (14, "pps_operating_hsp_drg_cents", "amount", "PPS operating hospital-specific DRG"),
    (15, "cost_report_days", "count", "cost report days"),
    (16, "pps_operating_fsp_drg_cents", "amount", "PPS operating federal-specific DRG"),
    (17, "pps_capital_outlier_cents", "amount", "PPS capital outlier"),
    (18, "indirect_teaching_cents", "amount", "indirect teaching"),
    (19, "nonpayable_professional_cents", "amount", "non-payable professional component"),
    (20, "remark", "remark", "remark"),
    (21, "remark", "remark", "remark"),
    (22, "remark", "remark", "remark"),
    (23, "remark", "remark", "remark"),
    (24, "pps_capital_exception_cents", "amount", "PPS capital exception"),
)
MOA_ELEMENTS: tuple[tuple[int, str, str, str], ...] = (
    (1, "reimbursement_rate", "rate", "reimbursement rate"),
    (2, "hcpcs_payable_cents", "amount", "HCPCS payable amount"),
    (3, "remark", "remark", "remark"),
    (4, "remark", "remark", "remark"),
    (5, "remark", "remark", "remark"),
    (6, "remark", "remark", "remark"),
    (7, "remark", "remark", "remark"),
    (8, "esrd_payment_cents", "amount", "ESRD payment"),
    (9, "nonpayable_professional_cents", "amount", "non-payable professional component"),
)
ADJUDICATION_KINDS = {"MIA": "inpatient", "MOA": "outpatient"}


@dataclass(slots=True)
class Adjudication:
    """One MIA (kind 'inpatient') or MOA (kind 'outpatient') segment of a claim payment: what
    Medicare's adjudication computed (PPS, DRG, outlier, ESRD amounts...), for the clerk to see;
    informational, not posted (CLP, CAS and SVC carry the money that is posted)."""

    kind: str
    segment: int
    amounts: dict[str, int] = field(default_factory=dict)  # *_cents key -> cents, present only
    values: dict[str, str] = field(default_factory=dict)  # counts and the rate, as read
    remarks: list[str] = field(default_factory=list)

    @property
    def elements(self) -> tuple[tuple[int, str, str, str], ...]:
        return MIA_ELEMENTS if self.kind == "inpatient" else MOA_ELEMENTS


@dataclass(slots=True)
class ClaimPayment:
    seq: int
    claim_number: str  # CLP01: our patient control number (= invoices.number)
    status_code: str  # CLP02
    charge_cents: int  # CLP03
    paid_cents: int  # CLP04
    patient_resp_cents: int | None  # CLP05
    filing_indicator: str | None
    payer_claim_number: str | None  # CLP07
    segment: int
    facility_code: str | None = None
    frequency_code: str | None = None
    statement_from: str | None = None
    statement_to: str | None = None
    received_on: str | None = None
    header_number: str | None = None  # LX01
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level CAS
    remarks: list[str] = field(default_factory=list)  # MOA/MIA remark codes
    lines: list[ServiceLine] = field(default_factory=list)
    amounts: dict[str, int] = field(default_factory=dict)  # AMT qualifier -> cents
    corrected_priority_payer: bool = False
    crossover_payer: str | None = None  # NM1*TT NM103: the payer the claim was forwarded to
    crossover_payer_id: str | None = None  # NM1*TT NM109 (NM108 the qualifier, e.g. PI)
    adjudications: list[Adjudication] = field(default_factory=list)  # MIA / MOA, as read

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def status_text(self) -> str:
        return CLAIM_STATUS.get(self.status_code, f"status {self.status_code}")

    def all_adjustments(self) -> Iterator[tuple[ServiceLine | None, Adjustment]]:
        """(line or None, adjustment) for claim-level then line-level CAS."""
        for a in self.adjustments:
            yield None, a
        for ln in self.lines:
            for a in ln.adjustments:
                yield ln, a

    @property
    def adjusted_cents(self) -> int:
        return sum(a.amount_cents for _, a in self.all_adjustments())

    def group_total(self, group: str) -> int:
        return sum(a.amount_cents for _, a in self.all_adjustments() if a.group == group)


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair: positive reduces the payment, negative adds to it."""

    provider_id: str
    fiscal_date: str | None
    reason: str
    reference: str | None
    amount_cents: int
    segment: int


@dataclass(slots=True)
class Transaction:
    control_number: str  # ST02
    segment: int
    handling_code: str = ""  # BPR01
    amount_cents: int = 0  # BPR02 (always >= 0 in the file)
    credit_debit: str = "C"  # BPR03
    method: str | None = None  # BPR04
    payment_date: str | None = None  # BPR16
    trace_number: str | None = None  # TRN02: check or EFT trace number
    trace_company: str | None = None  # TRN03: payer's company id ("1" + EIN)
    production_date: str | None = None  # DTM*405
    payer_name: str | None = None
    payer_id: str | None = None  # N1*PR N104, else REF*2U
    payer_ref: str | None = None  # REF*2U
    payer_address: tuple[
        str | None, ...
    ] = ()  # N3*PR N301, N4 N401-N403 (street, city, state, ZIP)
    payee_name: str | None = None
    payee_id_qualifier: str | None = None
    payee_id: str | None = None  # N1*PE N104 (NPI with XX, TIN with FI)
    claims: list[ClaimPayment] = field(default_factory=list)
    plb: list[ProviderAdjustment] = field(default_factory=list)
    version: str | None = None  # GS08

    @property
    def signed_amount_cents(self) -> int:
        """BPR02 as money to us: a debit (BPR03 = D) is money the provider pays back."""
        return -self.amount_cents if self.credit_debit == "D" else self.amount_cents

    @property
    def claims_paid_cents(self) -> int:
        return sum(c.paid_cents for c in self.claims)

    @property
    def plb_cents(self) -> int:
        return sum(p.amount_cents for p in self.plb)

    @property
    def payer_key(self) -> str:
        """Who paid, for idempotency: TRN03 (the payer's company id, "1" + EIN; required by the
        TR3), else the payer's N1/REF ids, joined with the payer's name as N1*PR spells it (upper
        case, spaces collapsed). Two payers that share a TRN03 (a clearinghouse originating for
        several) therefore keep apart, and a resent file keys the same."""
        ident = (self.trace_company or self.payer_id or self.payer_ref or "").strip().upper()
        name = " ".join((self.payer_name or "").upper().split())
        return f"{ident}|{name}"

    @property
    def reversal_only(self) -> bool:
        return bool(self.claims) and all(c.is_reversal for c in self.claims)


@dataclass(slots=True)
class RemitFile:
    path: str
    name: str
    sha256: str
    size: int
    transactions: list[Transaction] = field(default_factory=list)
    issues: list[RemitIssue] = field(default_factory=list)
    segments: int = 0
    interchange_control: str | None = None

    @property
    def errors(self) -> list[RemitIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[RemitIssue]:
        return [i for i in self.issues if i.severity == "warning"]


class _Amounts:
    """Amount parsing that records an error (segment + element) instead of raising, so a file
    shows every problem at once. Amounts repeat a lot in an 835 ("0", "25", the same fee), so
    good ones are cached by their text."""

    __slots__ = ("issues", "cache")

    def __init__(self, issues: list[RemitIssue]):
        self.issues = issues
        self.cache: dict[str, int] = {}

    def optional(self, text: str, seg_no: int, where: str) -> int | None:
        """An amount the segment may leave empty: None then."""
        if not (text and text.strip()):
            return None
        return self(text, seg_no, where)

    def __call__(self, text: str, seg_no: int, where: str) -> int:
        """A required amount in cents; 0 (with the error recorded) when it is empty or bad."""
        c = self.cache.get(text)
        if c is not None:
            return c
        t = text.strip() if text else ""
        if not t:
            self.issues.append(RemitIssue("error", f"{where} is required but empty", seg_no))
            return 0
        # Fast path for the plain forms ("125", "125.5", "-3.25"); Decimal for the rest.
        neg = t[0] == "-"
        body = t[1:] if neg else t
        whole, dot, frac = body.partition(".")
        if (
            (whole.isdigit() or (whole == "" and frac))
            and (not dot or (frac.isdigit() and len(frac) <= 2))
            and whole.isascii()
            and frac.isascii()
        ):
            c = int(whole or "0") * 100 + (int(frac.ljust(2, "0")) if frac else 0)
            c = -c if neg else c
        else:
            try:
                d = Decimal(t)
            except Exception:
                d = None
            if d is None or not d.is_finite():
                self.issues.append(
                    RemitIssue("error", f"{where} is not an X12 decimal amount", seg_no)
                )
                return 0
            try:
                q = d.quantize(Decimal("0.01"))
            except ArithmeticError:  # more digits than Decimal's 28 (an amount like 1E+30)
                self.issues.append(
                    RemitIssue("error", f"{where} is not an X12 decimal amount", seg_no)
                )
                return 0
            if q != d:
                self.issues.append(
                    RemitIssue("error", f"{where} has more than two decimal places", seg_no)
                )
                return 0
            c = int(q * 100)
        if abs(c) > MAX_CENTS:  # an amount no payer pays; would overflow SQLite's integers
            self.issues.append(RemitIssue("error", f"{where} is too large", seg_no))
            return 0
        if len(self.cache) < 200_000:
            self.cache[text] = c
        return c


class _Dates:
    """CCYYMMDD to ISO, cached; a bad date is a warning (dates carry no money) and is ignored."""

    __slots__ = ("issues", "cache")

    def __init__(self, issues: list[RemitIssue]):
        self.issues = issues
        self.cache: dict[str, str] = {}

    def __call__(self, text: str, seg_no: int, where: str) -> str | None:
        d = self.cache.get(text)
        if d is not None:
            return d
        t = (text or "").strip()
        if not t:
            return None
        if len(t) == 8 and t.isdigit():
            try:
                d = _dt.date(int(t[:4]), int(t[4:6]), int(t[6:])).isoformat()
            except ValueError:
                d = None
            if d:
                self.cache[text] = d
                return d
        self.issues.append(
            RemitIssue("warning", f"{where} is not a CCYYMMDD date; ignored", seg_no)
        )
        return None


def _shown(value: str, pattern: str, instead: str = "(not shown)") -> str:
    """A value from the file, quoted in a message only when it has the shape of the code it
    should be: in a damaged file a shifted delimiter can put a name or member id anywhere."""
    return value if re.fullmatch(pattern, value or "") else instead


def _cas(
    seg: list[str], seg_no: int, amount: _Amounts, issues: list[RemitIssue]
) -> list[Adjustment]:
    """CAS01 group code, then up to six (reason, amount, quantity) triplets in CAS02..CAS19."""
    n = len(seg)
    group = seg[1].strip() if n > 1 else ""
    out: list[Adjustment] = []
    if group not in ADJUSTMENT_GROUPS:
        issues.append(
            RemitIssue(
                "error", f"CAS01 group code is not one of {', '.join(ADJUSTMENT_GROUPS)}", seg_no
            )
        )
        return out
    for i in range(2, min(n, 20), 3):
        reason = seg[i].strip()
        amt = seg[i + 1] if n > i + 1 else ""
        qty = seg[i + 2].strip() or None if n > i + 2 else None
        if not reason:
            if amt.strip():
                issues.append(
                    RemitIssue(
                        "error",
                        f"CAS{i:02d} reason code is empty but CAS{i + 1:02d} has an amount",
                        seg_no,
                    )
                )
            continue
        out.append(
            Adjustment(
                group, reason, amount(amt, seg_no, f"CAS{i + 1:02d} (adjustment amount)"), qty
            )
        )
    if not out:
        issues.append(RemitIssue("error", "CAS segment has no reason code and amount", seg_no))
    return out


def _procedure(value: str, comp: str) -> tuple[str, str, tuple[str, ...]]:
    parts = value.split(comp)
    qual = parts[0].strip() if parts else ""
    code = parts[1].strip() if len(parts) > 1 else ""
    mods = tuple(m.strip() for m in parts[2:6] if m.strip())
    return qual, code, mods


def parse_bytes(data: bytes, *, name: str = "<input>", path: str = "") -> RemitFile:
    """Parse one 835 file's bytes. Never raises for content: problems become RemitIssues.

    The cyclic garbage collector is paused while reading: a large file creates hundreds of
    thousands of small objects that all survive (and hold no cycles), and the collector's
    repeated passes over them cost a third of the time.
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(data, name, path)
    finally:
        if enabled:
            gc.enable()


def _parse(data: bytes, name: str, path: str) -> RemitFile:
    rf = RemitFile(
        path=path or name, name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data)
    )
    try:
        ics = reader.interchanges(data, split=False)
    except reader.X12SyntaxError as e:
        rf.issues.append(RemitIssue("error", str(e), e.segment))
        return rf
    envelopes = _Envelopes(rf)
    seg_no = 0
    for ic in ics:
        seg_no = envelopes.read_interchange(ic)
    rf.segments = seg_no
    if not rf.transactions and not rf.errors:
        rf.issues.append(RemitIssue("error", "no 835 transaction (ST*835) in the file", None))
    return rf


# element position -> (key, kind, label), index 0 unused: the segment's elements read in order
_BY_POSITION: dict[str, list[tuple[str, str, str]]] = {
    sid: [("", "", "")] + [(key, kind, label) for _pos, key, kind, label in elements]
    for sid, elements in (("MIA", MIA_ELEMENTS), ("MOA", MOA_ELEMENTS))
}
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # an X12 R (decimal) value
_new_adjustment = tuple.__new__  # builds an Adjustment without NamedTuple's argument handling


class _Transaction835:
    """The loops of one ST*835..SE transaction, one handler per loop (835 TR3, section 2.4).

    Segments that open a loop or belong to the transaction wherever they stand (BPR, TRN, N1,
    LX, CLP, SVC, PLB) have their own handler; the others (CAS, DTM, AMT, REF, LQ, NM1, MOA,
    MIA) mean what the loop they stand in says: the service line's (2110), else the claim's
    (2100), else the header's (with 1000A/1000B). SE is the caller's (it closes the reader).
    """

    __slots__ = (
        "tx",
        "start",
        "claim",
        "line",
        "header_number",
        "n1",
        "issues",
        "amount",
        "acache",
        "date",
        "dcache",
        "procs",
        "comp",
        "opens",
    )

    def __init__(
        self,
        tx: Transaction,
        start: int,
        amount: _Amounts,
        date: _Dates,
        procs: dict[str, tuple[str, str, tuple[str, ...]]],
        comp: str,
    ):
        self.tx = tx
        self.start = start  # segment number of ST
        self.claim: ClaimPayment | None = None  # loop 2100
        self.line: ServiceLine | None = None  # loop 2110
        self.header_number: str | None = None  # LX01 of the current loop 2000
        self.n1: str | None = None  # 'PR' or 'PE' while inside loop 1000A/1000B
        self.issues = amount.issues
        self.amount = amount
        self.acache = amount.cache
        self.date = date
        self.dcache = date.cache
        self.procs = procs
        self.comp = comp
        self.opens: dict[str, Callable[[list[str], int], None]] = {
            "SVC": self.service_payment,
            "CLP": self.claim_payment,
            "LX": self.header_number_loop,
            "N1": self.party,
            "BPR": self.financial_information,
            "TRN": self.reassociation_trace,
            "PLB": self.provider_adjustment,
        }

    def segment(self, seg: list[str], seg_no: int) -> None:
        """The dispatcher: a loop-opening segment to its handler, any other to its loop's."""
        sid = seg[0]
        opens = self.opens.get(sid)
        if opens is not None:
            opens(seg, seg_no)
        elif self.line is not None:
            self.service_loop(self.line, sid, seg, seg_no)
        elif self.claim is not None:
            self.claim_loop(self.claim, sid, seg, seg_no)
        else:
            self.header_loop(sid, seg, seg_no)

    # -- header: BPR, TRN, DTM*405; loops 1000A (N1*PR, REF*2U) and 1000B (N1*PE) --------------

    def financial_information(self, seg: list[str], seg_no: int) -> None:
        """BPR: the payment (amount, credit or debit, method, date)."""
        tx, el = self.tx, reader.element
        tx.handling_code = el(seg, 1).strip()
        tx.amount_cents = self.amount(el(seg, 2), seg_no, "BPR02 (payment amount)")
        cd = el(seg, 3).strip() or "C"
        if cd not in ("C", "D"):
            self.issues.append(RemitIssue("error", "BPR03 must be C (credit) or D (debit)", seg_no))
        tx.credit_debit = cd
        tx.method = el(seg, 4).strip() or None
        tx.payment_date = self.date(el(seg, 16), seg_no, "BPR16 payment date")
        if tx.amount_cents < 0:
            self.issues.append(
                RemitIssue("error", "BPR02 must not be negative (BPR03 D marks a debit)", seg_no)
            )

    def reassociation_trace(self, seg: list[str], seg_no: int) -> None:
        """TRN: the check or EFT trace number (the first TRN counts)."""
        tx, n = self.tx, len(seg)
        if tx.trace_number is None:
            tx.trace_number = (seg[2].strip() or None) if n > 2 else None
            tx.trace_company = (seg[3].strip() or None) if n > 3 else None

    def party(self, seg: list[str], seg_no: int) -> None:
        """N1 opens loop 1000A (PR, the payer) or 1000B (PE, the payee); in a claim, nothing."""
        n1 = self.n1 = seg[1].strip() if len(seg) > 1 else ""
        if self.claim is None:
            tx, el = self.tx, reader.element
            if n1 == "PR":
                tx.payer_name = el(seg, 2).strip() or None
                tx.payer_id = el(seg, 4).strip() or None
            elif n1 == "PE":
                tx.payee_name = el(seg, 2).strip() or None
                tx.payee_id_qualifier = el(seg, 3).strip() or None
                tx.payee_id = el(seg, 4).strip() or None

    def header_loop(self, sid: str, seg: list[str], seg_no: int) -> None:
        """Outside any claim: DTM*405 (production date), REF*2U in loop 1000A (payer id); a
        CAS here is an error, an AMT is checked and has nowhere to go."""
        n = len(seg)
        if sid == "DTM":
            q = seg[1] if n > 1 else ""
            d = self._date(seg, seg_no, q)
            if q == "405":
                self.tx.production_date = d
        elif sid == "REF":
            q = seg[1].strip() if n > 1 else ""
            if self.n1 == "PR" and q == "2U":
                self.tx.payer_ref = (seg[2].strip() or None) if n > 2 else None
        elif sid in ("N3", "N4") and self.n1 == "PR":
            # the payer's address (loop 1000A): where an appeal letter goes when the payer
            # record has none (a business address, not PHI)
            el, tx = reader.element, self.tx
            street, city, state, zip_code = (tx.payer_address or (None,) * 4)[:4]
            if sid == "N3":
                street = el(seg, 1).strip() or None
            else:
                city, state, zip_code = (el(seg, i).strip() or None for i in (1, 2, 3))
            tx.payer_address = (street, city, state, zip_code)
        elif sid == "CAS":
            _cas(seg, seg_no, self.amount, self.issues)
            self.issues.append(RemitIssue("error", "CAS adjustment outside a claim", seg_no))
        elif sid == "AMT":
            self._amt(seg, seg_no)

    # -- loop 2000: LX (TS3, TS2 carry nothing we post) -------------------------------------------

    def header_number_loop(self, seg: list[str], seg_no: int) -> None:
        """LX opens loop 2000: its claims carry LX01."""
        self.header_number = seg[1].strip() or None if len(seg) > 1 else None
        self.claim = self.line = None
        self.n1 = None

    # -- loop 2100: CLP, then CAS, NM1, MIA, MOA, DTM, AMT ---------------------------------------

    def claim_payment(self, seg: list[str], seg_no: int) -> None:
        """CLP opens loop 2100: one claim's payment."""
        self.line = None
        self.n1 = None
        n = len(seg)
        if n < 5:
            self.issues.append(
                RemitIssue(
                    "error",
                    "CLP needs CLP01..CLP04 (claim number, status, charge, payment)",
                    seg_no,
                )
            )
            self.claim = None
            return
        num = seg[1].strip()
        status = seg[2].strip()
        if not num:
            self.issues.append(
                RemitIssue("error", "CLP01 (patient control number) is empty", seg_no)
            )
        if status not in CLAIM_STATUS:
            shown = _shown(repr(status), r"'[0-9]{0,2}'")
            self.issues.append(
                RemitIssue("warning", f"CLP02 claim status {shown} is not a 5010 code", seg_no, num)
            )
        amount = self.amount
        self.claim = claim = ClaimPayment(
            len(self.tx.claims) + 1,
            num,
            status,
            amount(seg[3], seg_no, "CLP03 (charge)"),
            amount(seg[4], seg_no, "CLP04 (payment)"),
            amount.optional(seg[5] if n > 5 else "", seg_no, "CLP05 (patient responsibility)"),
            seg[6].strip() or None if n > 6 else None,  # claim filing indicator
            seg[7].strip() or None if n > 7 else None,  # payer claim control number
            seg_no,
            seg[8].strip() or None if n > 8 else None,  # facility code
            seg[9].strip() or None if n > 9 else None,  # frequency code
            None,
            None,
            None,
            self.header_number,
        )
        self.tx.claims.append(claim)

    def claim_loop(self, claim: ClaimPayment, sid: str, seg: list[str], seg_no: int) -> None:
        """Inside a claim, before its service lines: claim-level CAS, DTM*232/233 (statement
        period), DTM*050 (received), AMT by qualifier, NM1*PR (corrected priority payer), MIA
        and MOA (Medicare inpatient and outpatient adjudication, their remark codes also kept
        with the claim's)."""
        n = len(seg)
        if sid == "CAS":
            self._cas_into(claim.adjustments, seg, seg_no)
        elif sid == "DTM":
            q = seg[1] if n > 1 else ""
            d = self._date(seg, seg_no, q)
            if q == "232":
                claim.statement_from = d
            elif q == "233":
                claim.statement_to = d
            elif q == "050":
                claim.received_on = d
        elif sid == "AMT":
            claim.amounts[seg[1].strip() if n > 1 else ""] = self._amt(seg, seg_no)
        elif sid == "NM1":
            # Names and member ids are PHI we do not need: only the loop position matters. The
            # crossover carrier (NM1*TT, an organisation) is kept: who got the forwarded claim.
            q = seg[1].strip() if n > 1 else ""
            if q == "PR":
                claim.corrected_priority_payer = True
            elif q == "TT":
                claim.crossover_payer = (seg[3].strip() or None) if n > 3 else None
                claim.crossover_payer_id = (seg[9].strip() or None) if n > 9 else None
        elif sid in ADJUDICATION_KINDS:
            adj = self._adjudication(sid, seg, seg_no)
            claim.adjudications.append(adj)
            claim.remarks += adj.remarks

    # -- loop 2110: SVC, then DTM, CAS, REF, AMT, LQ ----------------------------------------------

    def service_payment(self, seg: list[str], seg_no: int) -> None:
        """SVC opens loop 2110: one service line's payment, within the current claim."""
        claim = self.claim
        if claim is None:
            self.issues.append(RemitIssue("error", "SVC service line outside a CLP claim", seg_no))
            self.line = None
            return
        n = len(seg)
        v = seg[1] if n > 1 else ""
        proc = self.procs.get(v)
        if proc is None:
            proc = self.procs[v] = _procedure(v, self.comp)
        qual, code, mods = proc
        if not code:
            self.issues.append(
                RemitIssue("error", "SVC01 has no procedure code", seg_no, claim.claim_number)
            )
        orig = None
        if n > 6 and seg[6].strip():
            _, ocode, omods = _procedure(seg[6], self.comp)
            orig = ":".join((ocode,) + omods) if ocode else None
        acache, amount = self.acache, self.amount
        a = seg[2] if n > 2 else ""
        charge = acache.get(a)
        if charge is None:
            charge = amount(a, seg_no, "SVC02 (line charge)")
        a = seg[3] if n > 3 else ""
        paid = acache.get(a)
        if paid is None:
            paid = amount(a, seg_no, "SVC03 (line payment)")
        self.line = line = ServiceLine(
            len(claim.lines) + 1,
            qual,
            code,
            list(mods),
            charge,
            paid,
            seg_no,
            seg[4].strip() or None if n > 4 else None,  # revenue code
            seg[5].strip() or None if n > 5 else None,  # units
            orig,
            seg[7].strip() or None if n > 7 else None,  # original units
        )
        claim.lines.append(line)

    def service_loop(self, line: ServiceLine, sid: str, seg: list[str], seg_no: int) -> None:
        """Inside a service line: its CAS, DTM*472 (or 150/151, the period), REF*6R (our line
        control number), AMT*B6 (allowed), LQ*HE (remark codes). NM1, MOA and MIA after a line
        still belong to its claim."""
        n = len(seg)
        if sid == "CAS":
            self._cas_into(line.adjustments, seg, seg_no)
        elif sid == "DTM":
            q = seg[1] if n > 1 else ""
            d = self._date(seg, seg_no, q)
            if q == "472":
                line.service_from = line.service_to = d
            elif q == "150":
                line.service_from = d
            elif q == "151":
                line.service_to = d
        elif sid == "AMT":
            cents = self._amt(seg, seg_no)
            if (seg[1].strip() if n > 1 else "") == "B6":
                line.allowed_cents = cents
        elif sid == "REF":
            if (seg[1].strip() if n > 1 else "") == "6R":
                line.control_number = (seg[2].strip() or None) if n > 2 else None
        elif sid == "LQ":
            if n > 2 and seg[1].strip() == "HE" and seg[2].strip():
                line.remarks.append(seg[2].strip())
        elif sid in ("NM1", "MOA", "MIA") and self.claim is not None:
            self.claim_loop(self.claim, sid, seg, seg_no)

    # -- PLB (after the last claim) --------------------------------------------------------------

    def provider_adjustment(self, seg: list[str], seg_no: int) -> None:
        """PLB: up to six provider-level adjustments (reason:reference, amount) pairs."""
        self.claim = self.line = None
        n = len(seg)
        prov = seg[1].strip() if n > 1 else ""
        fdate = self.date(seg[2] if n > 2 else "", seg_no, "PLB02 fiscal period date")
        found = False
        for i in range(3, min(n, 15), 2):
            ident = seg[i].strip()
            amt = seg[i + 1] if n > i + 1 else ""
            if not ident and not amt.strip():
                continue
            found = True
            parts = ident.split(self.comp)
            reason = parts[0].strip()
            ref = parts[1].strip() if len(parts) > 1 and parts[1].strip() else None
            if not reason:
                self.issues.append(
                    RemitIssue("error", f"PLB{i:02d} adjustment reason is empty", seg_no)
                )
            cents = self.amount(amt, seg_no, f"PLB{i + 1:02d} (provider adjustment amount)")
            self.tx.plb.append(ProviderAdjustment(prov, fdate, reason, ref, cents, seg_no))
        if not found:
            self.issues.append(RemitIssue("error", "PLB segment has no adjustment", seg_no))

    # -- elements every loop reads the same way ---------------------------------------------------

    def _cas_into(self, into: list[Adjustment], seg: list[str], seg_no: int) -> None:
        n = len(seg)
        # the common case: one triplet with a cached amount and a known group
        if 3 < n <= 5 and seg[1] in ADJUSTMENT_GROUPS and seg[2] and (n < 5 or not seg[4]):
            c = self.acache.get(seg[3])
            if c is not None:
                into.append(_new_adjustment(Adjustment, (seg[1], seg[2], c, None)))
                return
        into.extend(_cas(seg, seg_no, self.amount, self.issues))

    def _adjudication(self, sid: str, seg: list[str], seg_no: int) -> Adjudication:
        """MIA or MOA: each element by its position (MIA_ELEMENTS, MOA_ELEMENTS). An amount
        that is not an X12 decimal is an error like any other; a count or rate that is not a
        number is a warning and left out (neither is money)."""
        adj = Adjudication(ADJUDICATION_KINDS[sid], seg_no)
        spec = _BY_POSITION[sid]
        for pos in range(1, min(len(seg), len(spec))):
            text = seg[pos]
            if not text or not (text := text.strip()):
                continue
            key, kind, label = spec[pos]
            if kind == "remark":
                adj.remarks.append(text)
            elif kind == "amount":
                c = self.acache.get(text)
                adj.amounts[key] = (
                    c if c is not None else self.amount(text, seg_no, f"{sid}{pos:02d} ({label})")
                )
            elif _NUMBER.fullmatch(text):
                adj.values[key] = text
            else:
                self.issues.append(
                    RemitIssue(
                        "warning", f"{sid}{pos:02d} ({label}) is not a number; ignored", seg_no
                    )
                )
        return adj

    def _date(self, seg: list[str], seg_no: int, qualifier: str) -> str | None:
        """DTM02, for DTM*<qualifier>."""
        d = self.dcache.get(seg[2]) if len(seg) > 2 else None
        if d is None:
            d = self.date(seg[2] if len(seg) > 2 else "", seg_no, f"DTM*{qualifier} date")
        return d

    def _amt(self, seg: list[str], seg_no: int) -> int:
        """AMT02, in cents."""
        n = len(seg)
        cents = self.acache.get(seg[2]) if n > 2 else None
        if cents is None:
            q = seg[1].strip() if n > 1 else ""
            cents = self.amount(seg[2] if n > 2 else "", seg_no, f"AMT*{q} amount")
        return cents


class _Envelopes:
    """The ISA/GS/ST envelopes around the 835 transactions: control numbers and counts checked,
    transactions that are not an 835 skipped, each ST*835..SE handed to a _Transaction835."""

    __slots__ = (
        "rf",
        "issues",
        "amount",
        "date",
        "procs",
        "isa13",
        "gs_version",
        "gs_count",
        "st_count",
        "skipped",
    )

    def __init__(self, rf: RemitFile):
        self.rf = rf
        self.issues = rf.issues
        self.amount = _Amounts(rf.issues)
        self.date = _Dates(rf.issues)
        self.procs: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        self.isa13 = ""
        self.gs_version: str | None = None
        self.gs_count = 0
        self.st_count = 0
        self.skipped: Transaction | None = None  # a transaction that is not an 835, until its SE

    def read_interchange(self, ic: reader.Interchange) -> int:
        """Read one ISA..IEA; returns the number of its last segment."""
        elem, comp = ic.separators.element, ic.separators.component
        seg_no = ic.first_segment - 1
        self.gs_version = None
        self.gs_count = self.st_count = 0
        self.skipped = None
        isa = ic.segments[0].split(elem)
        if len(isa) < 17:
            self.issues.append(
                RemitIssue("warning", f"ISA has {len(isa) - 1} elements, expected 16", seg_no + 1)
            )
        self.isa13 = isa[13].strip() if len(isa) > 13 else ""
        if self.rf.interchange_control is None:
            self.rf.interchange_control = isa[13].strip() if len(isa) > 13 else None
        open_tx: _Transaction835 | None = None
        first = seg_no + 1
        for seg_no, raw in enumerate(ic.segments, first):
            seg = raw.split(elem)
            if open_tx is None:
                open_tx = self.outside(seg, seg_no, comp)
            elif seg[0] == "SE":
                self.transaction_end(open_tx, seg, seg_no)
                open_tx = None
            else:
                open_tx.segment(seg, seg_no)
        unended = open_tx.tx if open_tx is not None else self.skipped
        if unended is not None:
            ctl = _shown(unended.control_number, r"[0-9]{1,9}", "?")
            self.issues.append(
                RemitIssue(
                    "error", f"transaction ST*{ctl} has no SE segment (file cut short?)", seg_no
                )
            )
            if open_tx is not None:
                _finish_transaction(open_tx.tx, self.issues)
                self.rf.transactions.append(open_tx.tx)
        if self.st_count == 0:
            self.issues.append(
                RemitIssue("warning", "interchange holds no transaction", ic.first_segment)
            )
        return seg_no

    def outside(self, seg: list[str], seg_no: int, comp: str) -> _Transaction835 | None:
        """A segment outside any ST*835..SE; returns the reader of the 835 an ST opens."""
        sid = seg[0].strip()
        n = len(seg)
        if self.skipped is not None:
            if sid == "SE":
                self.skipped = None
            return None
        if sid == "ST":
            return self.transaction_start(seg, seg_no, comp)
        if sid == "GS":
            self.gs_count = 0
            self.gs_version = gs_version = seg[8].strip() or None if n > 8 else None
            if gs_version and not gs_version.startswith("005010X221"):
                shown = _shown(gs_version, r"[0-9]{6}X[0-9]{3}[A-Z0-9]{0,2}")
                self.issues.append(
                    RemitIssue(
                        "warning",
                        f"GS08 version {shown} is not 005010X221A1; read as 835 5010",
                        seg_no,
                    )
                )
        elif sid == "GE":
            ge = seg[1].strip() if n > 1 else ""
            if ge.isdigit() and int(ge) != self.gs_count:
                self.issues.append(
                    RemitIssue(
                        "warning",
                        f"GE01 says {ge} transactions, the group has {self.gs_count}",
                        seg_no,
                    )
                )
        elif sid == "IEA":
            if (seg[2].strip() if n > 2 else "") != self.isa13:
                self.issues.append(
                    RemitIssue("warning", "IEA02 does not match ISA13 control number", seg_no)
                )
        elif sid not in ("ISA", "TA1"):
            shown = _shown(sid, r"[A-Z][A-Z0-9]{1,2}", "a damaged")
            self.issues.append(
                RemitIssue(
                    "warning", f"{shown} segment outside any ST..SE transaction ignored", seg_no
                )
            )
        return None

    def transaction_start(self, seg: list[str], seg_no: int, comp: str) -> _Transaction835 | None:
        """ST: an 835 opens a reader; any other transaction set is skipped up to its SE."""
        n = len(seg)
        self.st_count += 1
        self.gs_count += 1
        ctl = seg[2].strip() if n > 2 else ""
        tx = Transaction(control_number=ctl, segment=seg_no, version=self.gs_version)
        if (seg[1].strip() if n > 1 else "") == "835":
            return _Transaction835(tx, seg_no, self.amount, self.date, self.procs, comp)
        st01 = _shown(repr(seg[1].strip() if n > 1 else ""), r"'[0-9]{0,3}'")
        self.issues.append(
            RemitIssue("warning", f"ST01 is {st01}, not 835: transaction skipped", seg_no)
        )
        self.skipped = tx
        return None

    def transaction_end(self, open_tx: _Transaction835, seg: list[str], seg_no: int) -> None:
        """SE: the segment count and control number checked, the transaction kept."""
        tx, n = open_tx.tx, len(seg)
        count = seg[1].strip() if n > 1 else ""
        have = seg_no - open_tx.start + 1
        if count.isdigit() and int(count) != have:
            self.issues.append(
                RemitIssue(
                    "warning", f"SE01 says {count} segments, the transaction has {have}", seg_no
                )
            )
        if (seg[2].strip() if n > 2 else "") != tx.control_number:
            self.issues.append(
                RemitIssue("warning", "SE02 does not match ST02 control number", seg_no)
            )
        _finish_transaction(tx, self.issues)
        self.rf.transactions.append(tx)


def _finish_transaction(tx: Transaction, issues: list[RemitIssue]) -> None:
    ctl = _shown(tx.control_number, r"[0-9]{1,9}", "?")
    if not tx.handling_code:
        issues.append(RemitIssue("error", f"transaction ST*{ctl} has no BPR segment", tx.segment))
    if not tx.trace_number:
        issues.append(
            RemitIssue("error", f"transaction ST*{ctl} has no TRN trace number", tx.segment)
        )


def parse_file(path: str | Path) -> RemitFile:
    from ..errors import BadInput

    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{p}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{p}: is a directory, not an 835 file") from None
    except OSError as e:
        raise BadInput(f"{p}: cannot read ({e.strerror})") from None
    return parse_bytes(data, name=p.name, path=str(p))
