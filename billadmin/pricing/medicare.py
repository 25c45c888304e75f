"""Medicare's expected amount per claim line: the Physician Fee Schedule (MPFS) as CMS computes it.

Rules, each from a public CMS source:
- Fee schedule amount of a service in a locality (42 CFR 414.20 and 414.26; the formula of the
  "PFS Relative Value Files" documentation, RVUPUF):
  [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x conversion factor,
  computed exactly and rounded half-up to the cent. The RVUs and the conversion factor come
  from the PPRRVU release in force on the date of service, the GPCIs from the GPCI release in
  force then, for the practice's Medicare locality (setting ``medicare.locality``: MAC number
  and locality number, e.g. 15202-00).
- Facility or non-facility rate (Pub. 100-04, ch. 12, section 20.4.2, site of service payment
  differential; the facility settings of CMS's place of service code set): the facility PE
  RVU when the place of service is one of 19, 21, 22, 23, 24, 26, 31, 34, 41, 42, 51, 52, 53,
  56, 61; the non-facility PE RVU otherwise.
- Modifier 26 or TC (and 53) price from the code's row with that modifier (the PC/TC split).
- Paid under the MPFS: status codes A, R and T (RVUPUF, "Status Code"). Other statuses (bundled,
  carrier-priced, not covered, excluded) have no MPFS amount here.
- Multiple procedure reduction (RVUPUF, "Multiple Procedure" indicator 2; Pub. 100-04, ch. 12,
  section 40.6.2): the procedures with indicator 2 on one claim and date of service (one
  patient, one rendering provider) are ranked by fee schedule amount; the highest is paid at
  100%, the others at 50% (each further unit of a code is another procedure). CMS prices the
  sixth and later "by report"; 50% is assumed for them and the basis says so. The other
  indicators (endoscopy, imaging, therapy, cardiology, ophthalmology) are not modelled.
- Medicare allows the lower of the actual charge and the fee schedule amount (Social Security
  Act section 1848(a)(1)); the expected allowed is that.
- Payment: 80% of the allowed (20% coinsurance; the annual deductible is not known per line and
  is left aside), then the 2% sequestration reduction applied to the payment, never the allowed
  (Budget Control Act of 2011; CMS MLN "Mandatory Payment Reductions", on the 835 as CO-253).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput

if TYPE_CHECKING:
    from ..db import Database

LOCALITY_KEY = "medicare.locality"
FACILITY_POS = frozenset(
    ("19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61")
)
PAID_STATUSES = frozenset("ART")
PRICING_MODIFIERS = ("26", "TC", "53")
COINSURANCE_PERCENT = 20
SEQUESTRATION_PERCENT = 2
KINDS = ("rvu", "gpci")

RELEASE_COLUMNS = [
    "kind",
    "version",
    "effective_from",
    "effective_to",
    "rows",
    "source",
    "loaded_at",
]


# ------------------------------------------------------------------------- loading releases


@dataclass
class LoadResult:
    kind: str
    file: str
    version: str
    effective_from: str
    rows: int = 0
    unchanged: bool = False
    ends: str | None = None  # the version the new release ends (the day before it starts)

    def summary(self) -> str:
        what = "relative value (PPRRVU)" if self.kind == "rvu" else "GPCI"
        if self.unchanged:
            return f"{self.file}: this {what} release is loaded already; nothing changed"
        out = (
            f"{self.file}: {what} release {self.version} loaded from {self.effective_from},"
            f" {self.rows:,} row(s)"
        )
        if self.ends:
            out += f"; release {self.ends} ends the day before"
        return out


def _iso(value: str, option: str) -> str:
    try:
        return _dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise BadInput(f"{option}: a date YYYY-MM-DD") from None


def load(
    conn: Database,
    kind: str,
    path: Path,
    *,
    effective_from: str,
    effective_to: str | None = None,
    version: str | None = None,
) -> LoadResult:
    """Load one CMS release (kind 'rvu': a PPRRVU file; 'gpci': a GPCI file), in force from
    effective_from. A release starting the day another one of its kind starts is refused unless
    it is the same file (then nothing changes); an explicit end that reaches a later release is
    refused; an open release is ended by the next one (the day before it starts)."""
    from . import mpfs_files
    from .windows import overlaps

    if kind not in KINDS:
        raise BadInput(f"unknown fee schedule file kind {kind!r}: rvu or gpci")
    start = _iso(effective_from, "--from")
    end = _iso(effective_to, "--to") if effective_to else None
    if end and end < start:
        raise BadInput("--to: before --from")
    version = (version or Path(path).stem).strip()
    if not version or len(version) > 40:
        raise BadInput("--version: 1 to 40 characters (e.g. RVU26A)")
    parsed = mpfs_files.parse_rvu(path) if kind == "rvu" else mpfs_files.parse_gpci(path)
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    res = LoadResult(kind, Path(path).name, version, start)
    loaded = conn.execute(
        "SELECT effective_from, effective_to, version, sha256 FROM mpfs_releases WHERE kind = ?",
        (kind,),
    ).fetchall()
    for s_from, s_to, s_version, s_sha in loaded:
        if s_from == start and s_sha == sha and s_to == end:
            res.unchanged = True
            return res
        if overlaps(start, end, s_from, s_to):
            raise BadInput(
                f"{res.file}: --from {start} overlaps release {s_version} (from {s_from} to"
                f" {s_to or 'open'}): a correction is loaded from a later date"
            )
    earlier = [r for r in loaded if r[0] < start and r[1] is None]
    if earlier:
        res.ends = max(earlier)[2]
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    with db.write(conn):
        rid = conn.execute(
            "INSERT INTO mpfs_releases (kind, version, effective_from, effective_to, source,"
            " sha256, rows, loaded_at) VALUES (?,?,?,?,?,?,?,?)",
            (kind, version, start, end, res.file, sha, len(parsed.rows), now),
        ).lastrowid
        if kind == "rvu":
            conn.conn.executemany(
                "INSERT INTO mpfs_rvu (release_id, code, modifier, status, work_rvu,"
                " pe_nonfac_rvu, pe_fac_rvu, mp_rvu, mult_proc, conv_factor)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(rid, *r) for r in parsed.rows],
            )
        else:
            conn.conn.executemany(
                "INSERT INTO mpfs_gpci (release_id, carrier, locality, name, work_gpci, pe_gpci,"
                " mp_gpci) VALUES (?,?,?,?,?,?,?)",
                [(rid, *r) for r in parsed.rows],
            )
        res.rows = len(parsed.rows)
        audit.record(
            conn,
            f"pricing load mpfs {kind}",
            entity="mpfs_releases",
            ids=[rid],
            count=res.rows,
            detail={"file": res.file, "version": version, "from": start, "to": end},
        )
    return res


def releases(conn: Database) -> list[dict]:
    """The loaded MPFS releases, newest first per kind, with their windows and row counts."""
    return [
        dict(zip(RELEASE_COLUMNS, r, strict=True))
        for r in conn.execute(
            "SELECT kind, version, effective_from, effective_to, rows, source, loaded_at"
            " FROM mpfs_releases ORDER BY kind DESC, effective_from DESC"
        )
    ]


# ------------------------------------------------------------------------------- locality


def get_locality(conn: Database) -> tuple[str, str] | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (LOCALITY_KEY,)).fetchone()
    if not row or "-" not in row[0]:
        return None
    carrier, locality = row[0].split("-", 1)
    return carrier, locality


def set_locality(conn: Database, carrier: str, locality: str) -> str:
    """Set the practice's Medicare MAC number and locality (checked against the newest GPCI
    release when one is loaded); audited. Returns a note for the clerk."""
    c, loc = carrier.strip(), locality.strip()
    if not re.fullmatch(r"\d{5}", c):
        raise BadInput("MAC: 5 digits, as in the GPCI file (e.g. 15202)")
    if not re.fullmatch(r"\d{1,2}", loc):
        raise BadInput("LOCALITY: 2 digits, as in the GPCI file (e.g. 00 or 01)")
    loc = loc.zfill(2)
    newest = conn.execute(
        "SELECT id, version FROM mpfs_releases WHERE kind = 'gpci'"
        " ORDER BY effective_from DESC LIMIT 1"
    ).fetchone()
    name = None
    if newest:
        hit = conn.execute(
            "SELECT name FROM mpfs_gpci WHERE release_id = ? AND carrier = ? AND locality = ?",
            (newest[0], c, loc),
        ).fetchone()
        if hit is None:
            raise BadInput(
                f"MAC {c} locality {loc} is not in the GPCI release {newest[1]}: see its"
                " Medicare Administrative Contractor and Locality Number columns"
            )
        name = hit[0]
    with db.write(conn):
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
            " SET value = excluded.value",
            (LOCALITY_KEY, f"{c}-{loc}"),
        )
        audit.record(
            conn, "medicare locality", entity="settings", detail={"locality": f"{c}-{loc}"}
        )
    where = (
        f" ({name})"
        if name
        else " (no GPCI release loaded yet: load one with codes mpfs-load gpci)"
    )
    return f"Medicare locality set to MAC {c}, locality {loc}{where}"


# -------------------------------------------------------------------------------- pricing


@dataclass
class Fee:
    cents: int  # the fee schedule amount of one unit, before any reduction
    mult_proc: str
    basis: str


@dataclass
class Expected:
    """One claim line's expectation: the allowed amount, how it was found and, for Medicare,
    the payment (deductible aside) and its sequestration."""

    allowed_cents: int
    basis: str
    paid_cents: int | None = None
    sequestration_cents: int | None = None
    source: str = "contract"  # or "mpfs": Medicare's fee schedule


def payment(allowed_cents: int) -> tuple[int, int]:
    """(paid, sequestration) of a Medicare allowed amount: 80% of it (half-up to the cent), less
    2% of that payment (half-up): CMS applies sequestration to the payment, not the allowed."""
    before = money.percent_of(allowed_cents, 100 - COINSURANCE_PERCENT)
    seq = money.percent_of(before, SEQUESTRATION_PERCENT)
    return before - seq, seq


def _mods(modifiers: str | None) -> list[str]:
    return [m.strip().upper() for m in re.split(r"[,: ]+", modifiers or "") if m.strip()]


class Pricer:
    """Fee schedule amounts for one report or run (releases and rows looked up once)."""

    def __init__(self, conn: Database):
        self.conn = conn
        self.locality = get_locality(conn)
        self._release: dict[tuple[str, str], tuple[int, str] | None] = {}
        self._gpci: dict[int, tuple[Decimal, Decimal, Decimal] | None] = {}
        self._fee: dict[tuple, tuple[Fee | None, str]] = {}

    def _release_on(self, kind: str, dos: str) -> tuple[int, str] | None:
        key = (kind, dos)
        if key not in self._release:
            row = self.conn.execute(
                "SELECT id, version, effective_to FROM mpfs_releases WHERE kind = ?"
                " AND effective_from <= ? ORDER BY effective_from DESC LIMIT 1",
                (kind, dos),
            ).fetchone()
            ok = row is not None and (row[2] is None or row[2] >= dos)
            self._release[key] = (row[0], row[1]) if ok and row else None
        return self._release[key]

    def fee(self, code: str, modifiers: str | None, dos: str, pos: str) -> tuple[Fee | None, str]:
        """The fee schedule amount of one unit of a code on a date at a place of service, or
        None and why not."""
        mods = _mods(modifiers)
        pmod = next((m for m in mods if m in PRICING_MODIFIERS), "")
        facility = (pos or "").strip().zfill(2) in FACILITY_POS
        key = (code, pmod, dos, facility)
        if key not in self._fee:
            self._fee[key] = self._compute(code, pmod, dos, facility)
        return self._fee[key]

    def _compute(self, code: str, pmod: str, dos: str, facility: bool) -> tuple[Fee | None, str]:
        if self.locality is None:
            return None, "Medicare locality not set (codes medicare-locality)"
        rvu_rel = self._release_on("rvu", dos)
        gpci_rel = self._release_on("gpci", dos)
        if rvu_rel is None or gpci_rel is None:
            return None, f"no MPFS {'RVU' if rvu_rel is None else 'GPCI'} release on {dos}"
        if gpci_rel[0] not in self._gpci:
            row = self.conn.execute(
                "SELECT work_gpci, pe_gpci, mp_gpci FROM mpfs_gpci WHERE release_id = ?"
                " AND carrier = ? AND locality = ?",
                (gpci_rel[0], *self.locality),
            ).fetchone()
            self._gpci[gpci_rel[0]] = tuple(Decimal(v) for v in row) if row else None  # type: ignore[assignment]
        g = self._gpci[gpci_rel[0]]
        where = f"{self.locality[0]}-{self.locality[1]}"
        if g is None:
            return None, f"locality {where} not in GPCI release {gpci_rel[1]}"
        row = self.conn.execute(
            "SELECT status, work_rvu, pe_nonfac_rvu, pe_fac_rvu, mp_rvu, mult_proc, conv_factor"
            " FROM mpfs_rvu WHERE release_id = ? AND code = ? AND modifier = ?",
            (rvu_rel[0], code, pmod),
        ).fetchone()
        if row is None:
            return None, f"{code}{'-' + pmod if pmod else ''} not in MPFS {rvu_rel[1]}"
        status, work, pe_n, pe_f, mp, mult, cf = row
        if status not in PAID_STATUSES:
            return None, f"MPFS status {status}: not paid from RVUs"
        pe = Decimal(pe_f if facility else pe_n)
        total = (Decimal(work) * g[0] + pe * g[1] + Decimal(mp) * g[2]) * Decimal(cf)
        cents = int((total * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        basis = (
            f"MPFS {rvu_rel[1]}, GPCI {gpci_rel[1]} locality {where},"
            f" {'facility' if facility else 'non-facility'}"
        )
        return Fee(cents, mult or "", basis), ""

    def claim(self, lines: list[dict]) -> dict[int, Expected | None]:
        """The expected amounts of one claim's lines (dicts with id, code, modifiers, units,
        charge_cents, dos, pos), with the multiple procedure reduction across them; None for a
        line without an MPFS amount (its reason in line['why'])."""
        fees: dict[int, Fee] = {}
        for ln in lines:
            fee, why = self.fee(ln["code"] or "", ln["modifiers"], ln["dos"], ln["pos"])
            if fee is None:
                ln["why"] = why
            else:
                fees[ln["id"]] = fee
        # indicator 2: every unit of every such procedure on one day, ranked by its amount
        pct: dict[int, list[int]] = {lid: [] for lid in fees}
        by_day: dict[str, list[tuple[int, int, int]]] = {}
        for order, ln in enumerate(lines):
            f = fees.get(ln["id"])
            if f is not None and f.mult_proc == "2":
                for _ in range(max(ln["units"] or 1, 1)):
                    by_day.setdefault(ln["dos"], []).append((-f.cents, order, ln["id"]))
        by_report: set[int] = set()
        for ranked in by_day.values():
            ranked.sort()
            for rank, (_c, _o, lid) in enumerate(ranked):
                pct[lid].append(100 if rank == 0 else 50)
                if rank >= 5:
                    by_report.add(lid)
        out: dict[int, Expected | None] = {}
        for ln in lines:
            f = fees.get(ln["id"])
            if f is None:
                out[ln["id"]] = None
                continue
            units = max(ln["units"] or 1, 1)
            basis = f.basis
            if pct[ln["id"]]:
                amount = sum(money.percent_of(f.cents, p) for p in pct[ln["id"]])
                shares = "+".join(f"{p}%" for p in pct[ln["id"]])
                if shares != "100%":
                    basis += f", multiple procedure {shares} of {money.fmt(f.cents)}"
                if ln["id"] in by_report:
                    basis += " (6th+ procedure: by report, 50% assumed)"
            else:
                amount = f.cents * units
            if ln["charge_cents"] is not None and ln["charge_cents"] < amount:
                amount = ln["charge_cents"]
                basis += ", the charge (lower than the fee schedule)"
            paid, seq = payment(amount)
            out[ln["id"]] = Expected(amount, basis, paid, seq, source="mpfs")
        return out
