"""A deterministic synthetic practice for `billadmin demo` and the benchmarks.

Riverbend Family Medicine: one billing practice, four rendering providers, six payers, 320
patients and about 3,100 encounters over the six months before the as-of date. Every name, id
and number is invented (NPIs carry a valid check digit, nothing else is real). About 3% of
encounters carry a deliberate coding error a scrubber must catch:
  header   - a non-billable category code (E11 instead of E11.9)
  inactive - M54.5, billable until 2021-09-30 and split into M54.50/M54.51/M54.59 since
  pointer  - a service line with no diagnosis pointer
  unbundle - 80048 (basic metabolic panel) billed with 80053 (comprehensive panel), an NCCI pair
The files it writes are in the import formats (see `billadmin import template KIND`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import npi
from .auths import EXTRA_HEADERS as _CLAIM_FIELD_HEADERS
from .auths import claim_field_cells

if TYPE_CHECKING:
    from ..db import Database
    from .clerk import ClerkTally


SEED = 20261126

PRACTICE = {
    "name": "Riverbend Family Medicine",
    "npi": npi.make("174839201"),
    "tax_id": "812345678",
    "taxonomy": "207Q00000X",
    "address1": "1200 River Road",
    "address2": "Suite 300",
    "city": "Columbus",
    "state": "OH",
    "zip": "432151234",
    "phone": "6145550100",
    "contact_name": "Billing Office",
    "submitter_id": "RBFM01",
    "receiver_id": "CLEARHOUSE01",
    "receiver_name": "DEMO CLEARINGHOUSE",
}

PROVIDERS = [
    {
        "NPI": npi.make("162738495"),
        "First Name": "Anita",
        "Last Name": "Okafor",
        "Taxonomy": "207Q00000X",
    },
    {
        "NPI": npi.make("151627384"),
        "First Name": "Marcus",
        "Last Name": "Lindqvist",
        "Taxonomy": "207R00000X",
    },
    {
        "NPI": npi.make("140516273"),
        "First Name": "Priya",
        "Last Name": "Raman",
        "Taxonomy": "363LF0000X",
    },
    {
        "NPI": npi.make("139405162"),
        "First Name": "Daniel",
        "Last Name": "Whitcomb",
        "Taxonomy": "207Q00000X",
    },
]

PAYERS = [
    {
        "Code": "MCR",
        "Name": "Medicare Part B (Demo MAC)",
        "Kind": "medicare",
        "Payer ID": "15202",
        "Timely Filing Days": "",
    },
    {
        "Code": "MCD",
        "Name": "Ohio Medicaid (Demo)",
        "Kind": "medicaid",
        "Payer ID": "OHMCD",
        "Timely Filing Days": "365",
    },
    {
        "Code": "BVHMO",
        "Name": "Blue Valley HMO",
        "Kind": "hmo",
        "Payer ID": "BVH01",
        "Timely Filing Days": "180",
    },
    {
        "Code": "KEY",
        "Name": "Keystone Commercial Insurance",
        "Kind": "commercial",
        "Payer ID": "KEY77",
        "Timely Filing Days": "365",
    },
    {
        "Code": "SUM",
        "Name": "Summit Health Plan",
        "Kind": "commercial",
        "Payer ID": "SUM12",
        "Timely Filing Days": "180",
    },
    {"Code": "SELF", "Name": "Self-pay", "Kind": "self", "Payer ID": "", "Timely Filing Days": ""},
]

# (code, default charge, description used only for realism in the generator)
FEES = {
    "99202": "120.00",
    "99203": "175.00",
    "99204": "260.00",
    "99212": "95.00",
    "99213": "140.00",
    "99214": "205.00",
    "99215": "290.00",
    "99395": "230.00",
    "99396": "250.00",
    "G0439": "210.00",
    "36415": "15.00",
    "80053": "48.00",
    "80048": "38.00",
    "85025": "32.00",
    "80061": "45.00",
    "83036": "40.00",
    "81002": "12.00",
    "87880": "28.00",
    "93000": "65.00",
    "71046": "95.00",
    "90471": "30.00",
    "90686": "42.00",
    "20610": "160.00",
    "J1030": "18.00",
    "96372": "35.00",
    "J3301": "12.00",
    "97110": "60.00",
    "97140": "55.00",
}

# Visit patterns: (weight, diagnoses pool, extra lines [(code, modifiers, units)])
PATTERNS = [
    (30, ["I10", "E78.5", "E11.9", "E66.9"], [("36415", "", 1), ("80053", "", 1)]),
    (18, ["J06.9", "R05.9", "J02.9"], [("87880", "", 1)]),
    (12, ["E11.9", "E55.9", "Z79.4"], [("83036", "", 1), ("36415", "", 1)]),
    (10, ["M17.11", "M25.561"], [("20610", "RT", 1), ("J1030", "", 1)]),
    (8, ["N39.0", "R10.9"], [("81002", "", 1)]),
    (8, ["F41.1", "F32.9", "G43.909"], []),
    (6, ["I50.9", "I10", "N18.30"], [("93000", "", 1), ("71046", "", 1)]),
    (5, ["M54.50"], [("97110", "GP", 2), ("97140", "GP", 1)]),
    (3, ["K21.9", "R10.9"], [("85025", "", 1), ("36415", "", 1)]),
]

# given names by the sex recorded for the patient (the demo's F/M), drawn by one index
FIRST_M = [
    "James",
    "Robert",
    "John",
    "Michael",
    "David",
    "William",
    "Richard",
    "Joseph",
    "Thomas",
    "Carlos",
    "Wei",
    "Jamal",
    "Hiroshi",
    "Mateo",
    "Noah",
    "Liam",
    "Ivan",
    "Daniel",
    "Omar",
]
FIRST_F = [
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Nancy",
    "Aisha",
    "Lisa",
    "Betty",
    "Sandra",
    "Olga",
    "Ashley",
    "Emily",
    "Grace",
]
FIRST = FIRST_M + FIRST_F
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Nguyen",
    "Kowalski",
    "Okonkwo",
    "Patel",
    "Schmidt",
    "Rossi",
    "Haddad",
    "Novak",
    "Fischer",
]
STREETS = [
    "Maple Ave",
    "Oak St",
    "High St",
    "Elm Dr",
    "Cedar Ln",
    "Park Blvd",
    "Lake Rd",
    "Hill St",
]
CITIES = [
    ("Columbus", "OH", "43215"),
    ("Dublin", "OH", "43017"),
    ("Westerville", "OH", "43081"),
    ("Grove City", "OH", "43123"),
    ("Hilliard", "OH", "43026"),
    ("Reynoldsburg", "OH", "43068"),
]

HEADERS = {
    "providers": ["NPI", "First Name", "Last Name", "Taxonomy"],
    "payers": ["Code", "Name", "Kind", "Payer ID", "Timely Filing Days"],
    "patients": [
        "MRN",
        "First Name",
        "Last Name",
        "DOB",
        "Sex",
        "Address",
        "City",
        "State",
        "ZIP",
        "Phone",
    ],
    "coverage": [
        "MRN",
        "Payer Code",
        "Member ID",
        "Group",
        "Relationship",
        "Subscriber First Name",
        "Subscriber Last Name",
        "Subscriber DOB",
        "Priority",
        "Effective From",
        "Effective To",
        "Copay",
    ],
    "charges": [
        "Encounter",
        "MRN",
        "DOS",
        "Rendering NPI",
        "POS",
        "Line",
        "Code",
        "Mod1",
        "Mod2",
        "Mod3",
        "Mod4",
    ]
    + [f"Dx{i}" for i in range(1, 13)]
    + ["Pointers", "Units", "Charge"],
    "fee-schedule": ["Payer", "Code", "Modifier", "Amount", "Effective From", "Effective To"],
}


# columns the demo's files carry beyond the default headers (issue 20: NDC, ordering/referring
# provider, CLIA)
EXTRA_HEADERS = {"charges": _CLAIM_FIELD_HEADERS}


@dataclass
class DemoData:
    as_of: _dt.date
    practice: dict
    tables: dict[str, list[dict]] = field(default_factory=dict)
    planted: dict[str, list[str]] = field(default_factory=dict)  # error kind -> encounter numbers


def _weekday_dates(start: _dt.date, end: _dt.date) -> list[_dt.date]:
    d, out = start, []
    while d <= end:
        if d.weekday() < 5:
            out.append(d)
        d += _dt.timedelta(days=1)
    return out


def _patient_row(rnd: random.Random, i: int, as_of: _dt.date) -> tuple[dict, int, _dt.date]:
    """The i-th patient (MRN, name, birth date, address), with its age and birth date."""
    mrn = f"{100000 + i * 7:07d}"  # leading zero: MRNs are text
    sex = rnd.choice("MF")
    age = rnd.choice(
        [rnd.randint(1, 17), rnd.randint(18, 64), rnd.randint(18, 64), rnd.randint(65, 92)]
    )
    dob = as_of - _dt.timedelta(days=age * 365 + rnd.randint(0, 364))
    city, st, zip5 = rnd.choice(CITIES)
    pat = {
        "MRN": mrn,
        "First Name": (FIRST_M if sex == "M" else FIRST_F)[
            rnd.randrange(len(FIRST)) % len(FIRST_M)
        ],
        "Last Name": rnd.choice(LAST),
        "DOB": dob.isoformat(),
        "Sex": sex,
        "Address": f"{rnd.randint(10, 9999)} {rnd.choice(STREETS)}",
        "City": city,
        "State": st,
        "ZIP": zip5,
        "Phone": f"614555{rnd.randint(0, 9999):04d}",
    }
    return pat, age, dob


def _coverage_rows(
    rnd: random.Random, pat: dict, age: int, dob: _dt.date, as_of: _dt.date, window_start: _dt.date
) -> list[dict]:
    """A patient's coverages: a payer by age and chance (self-pay when none), some lapsed or
    expiring, a Medigap secondary for some Medicare patients."""
    mrn = pat["MRN"]
    covs: list[dict] = []
    roll = rnd.random()
    if age >= 65:
        payer = "MCR"
    elif roll < 0.15:
        payer = "MCD"
    elif roll < 0.37:
        payer = "BVHMO"
    elif roll < 0.62:
        payer = "KEY"
    elif roll < 0.90:
        payer = "SUM"
    else:
        payer = None  # self-pay
    if payer:
        start = window_start - _dt.timedelta(days=rnd.randint(30, 900))
        end = ""
        r2 = rnd.random()
        if r2 < 0.05:
            end = (as_of - _dt.timedelta(days=rnd.randint(20, 90))).isoformat()  # lapsed
        elif r2 < 0.12:
            end = (as_of + _dt.timedelta(days=rnd.randint(3, 29))).isoformat()  # expiring soon
        dependent = age < 18 and payer != "MCD"
        copay = {
            "MCR": "0.00",
            "MCD": "0.00",
            "BVHMO": "20.00",
            "KEY": "30.00",
            "SUM": "25.00",
        }[payer]
        covs.append(
            {
                "MRN": mrn,
                "Payer Code": payer,
                "Member ID": f"{payer[:1]}{rnd.randint(10**8, 10**9 - 1)}",
                "Group": "" if payer in ("MCR", "MCD") else f"G{rnd.randint(1000, 9999)}",
                "Relationship": "child" if dependent else "self",
                "Subscriber First Name": rnd.choice(FIRST) if dependent else "",
                "Subscriber Last Name": pat["Last Name"] if dependent else "",
                "Subscriber DOB": (dob - _dt.timedelta(days=365 * rnd.randint(22, 40))).isoformat()
                if dependent
                else "",
                "Priority": "primary",
                "Effective From": start.isoformat(),
                "Effective To": end,
                "Copay": copay,
            }
        )
        if payer == "MCR":
            covs += _medicare_secondary(rnd, mrn, start)
    return covs


def _medicare_secondary(rnd: random.Random, mrn: str, start: _dt.date) -> list[dict]:
    """A Medicare patient's second coverage, if any: about 30% a Medigap plan (Summit Health
    Plan, group MEDIGAP), and of the others about 30% Ohio Medicaid (dual eligibles). The
    Medigap draws come from the practice's stream as they always did; the Medicaid draws from
    the patient's own stream (dual_eligible), so adding them moved no other number."""
    if rnd.random() < 0.3:
        payer, member = "SUM", f"S{rnd.randint(10**8, 10**9 - 1)}"
    elif dual_eligible(mrn):
        payer, member = "MCD", f"M{random.Random(f'{SEED}-mcd-{mrn}').randint(10**8, 10**9 - 1)}"
    else:
        return []
    return [
        {
            "MRN": mrn,
            "Payer Code": payer,
            "Member ID": member,
            "Group": "MEDIGAP" if payer == "SUM" else "",
            "Relationship": "self",
            "Subscriber First Name": "",
            "Subscriber Last Name": "",
            "Subscriber DOB": "",
            "Priority": "secondary",
            "Effective From": start.isoformat(),
            "Effective To": "",
            "Copay": "0.00",
        }
    ]


def dual_eligible(mrn: str) -> bool:
    """Whether a Medicare patient without Medigap also has Medicaid (about 30%), by the patient's
    own seeded draw."""
    return random.Random(f"{SEED}-dual-{mrn}").random() < 0.3


def _line_rows(
    enc: str, pat: dict, prov: str, dos: str, dx: list[str], svc: list, error: str | None
) -> list[dict]:
    """The charge-file rows of one encounter's services (pointers to its diagnoses)."""
    lines: list[dict] = []
    for ln, (code, mod, units) in enumerate(svc, start=1):
        if code in ("90471", "90686"):
            ptr = str(dx.index("Z23") + 1)
        else:
            ptr = ",".join(str(i + 1) for i in range(min(len(dx), 4)) if dx[i] != "Z23") or "1"
        if error == "pointer" and ln == len(svc):
            ptr = ""
        row = {
            "Encounter": enc,
            "MRN": pat["MRN"],
            "DOS": dos,
            "Rendering NPI": prov,
            "POS": "11",
            "Line": str(ln),
            "Code": code,
            "Mod1": mod,
            "Mod2": "",
            "Mod3": "",
            "Mod4": "",
        }
        for i in range(12):
            row[f"Dx{i + 1}"] = dx[i] if i < len(dx) else ""
        row.update({"Pointers": ptr, "Units": str(units), "Charge": _mul(FEES[code], units)})
        row.update(claim_field_cells(code, next(p for p in PROVIDERS if p["NPI"] == prov)))
        lines.append(row)
    return lines


def _encounter_rows(
    rnd: random.Random,
    n: int,
    as_of: _dt.date,
    pats: list[dict],
    days: list[_dt.date],
    weights: list,
    planted: dict[str, list[str]],
) -> list[dict]:
    """The n-th encounter's charge lines: a visit pattern, its diagnoses and services, and now
    and then a planted coding error (recorded in planted)."""
    enc = f"E{as_of.year % 100:02d}{n + 1:06d}"
    pat = pats[rnd.randrange(len(pats))]
    prov = PROVIDERS[rnd.randrange(len(PROVIDERS))]["NPI"]
    dos = rnd.choice(days).isoformat()
    _, pool, extras = rnd.choices(PATTERNS, weights)[0]
    dx = rnd.sample(pool, k=min(len(pool), rnd.randint(1, 3)))
    age = (as_of - _dt.date.fromisoformat(pat["DOB"])).days // 365
    new = rnd.random() < 0.12
    em = (
        rnd.choice(["99202", "99203", "99204"])
        if new
        else rnd.choices(["99212", "99213", "99214", "99215"], [2, 6, 4, 1])[0]
    )
    svc = [(em, "", 1)] + list(extras)
    if age >= 65 and rnd.random() < 0.05:
        svc = [("G0439", "", 1)]
        dx = ["Z00.00"] + dx[:2]
    if rnd.random() < 0.15 and dos[5:7] in ("10", "11", "12", "01", "02"):
        svc += [("90471", "", 1), ("90686", "", 1)]
        dx.append("Z23")
    error = None
    r = rnd.random()
    if r < 0.03:
        error = ("header", "inactive", "pointer", "unbundle")[n % 4]
        planted[error].append(enc)
    if error == "header":
        dx[0] = dx[0].split(".")[0]
    elif error == "inactive":
        dx[0] = "M54.5"
    elif error == "unbundle":
        svc = [s for s in svc if s[0] != "80053"] + [
            ("36415", "", 1),
            ("80053", "", 1),
            ("80048", "", 1),
        ]
    dx = list(dict.fromkeys(dx))[:12]
    return _line_rows(enc, pat, prov, dos, dx, svc, error)


def generate(
    as_of: _dt.date, *, patients: int = 320, encounters: int = 3100, seed: int = SEED
) -> DemoData:
    rnd = random.Random(seed)
    data = DemoData(as_of, dict(PRACTICE))
    data.tables["providers"] = [dict(p) for p in PROVIDERS]
    data.tables["payers"] = [dict(p) for p in PAYERS]
    data.tables["fee-schedule"] = [
        {
            "Payer": "default",
            "Code": c,
            "Modifier": "",
            "Amount": a,
            "Effective From": f"{as_of.year - 1}-01-01",
            "Effective To": "",
        }
        for c, a in FEES.items()
    ]
    pats: list[dict] = []
    covs: list[dict] = []
    window_start = as_of - _dt.timedelta(days=182)
    for i in range(patients):
        pat, age, dob = _patient_row(rnd, i, as_of)
        pats.append(pat)
        covs.extend(_coverage_rows(rnd, pat, age, dob, as_of, window_start))
    data.tables["patients"] = pats
    data.tables["coverage"] = covs

    days = _weekday_dates(window_start, as_of - _dt.timedelta(days=1))
    weights = [p[0] for p in PATTERNS]
    planted: dict[str, list[str]] = {"header": [], "inactive": [], "pointer": [], "unbundle": []}
    lines: list[dict] = []
    for n in range(encounters):
        lines.extend(_encounter_rows(rnd, n, as_of, pats, days, weights, planted))
    data.tables["charges"] = lines
    data.planted = planted
    return data


def _mul(amount: str, units: int) -> str:
    whole, frac = amount.split(".")
    cents = (int(whole) * 100 + int(frac)) * units
    return f"{cents // 100}.{cents % 100:02d}"


def write_files(data: DemoData, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, rows in data.tables.items():
        p = folder / f"{kind}.csv"
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=HEADERS[kind] + EXTRA_HEADERS.get(kind, []))
            w.writeheader()
            w.writerows(rows)
        paths[kind] = p
    return paths


@dataclass
class DemoSummary:
    db_path: Path
    files_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)


def _load_direct(conn: Database, data: DemoData) -> dict[str, int]:
    """The practice settings: the one direct insert (the `practice` table has no import; the
    clerk sets it once with `billadmin practice`). Everything else is loaded from files."""
    conn.execute(
        "INSERT INTO practice (id, name, npi, tax_id, taxonomy, address1, address2, city, state, zip, phone,"
        " contact_name, submitter_id, receiver_id, receiver_name) VALUES (1, :name, :npi, :tax_id, :taxonomy,"
        " :address1, :address2, :city, :state, :zip, :phone, :contact_name, :submitter_id, "
        ":receiver_id, :receiver_name)",
        data.practice,
    )
    return {"practice": 1}


def run_demo(
    db_path: Path, *, as_of: _dt.date | None = None, out_dir: Path | None = None
) -> DemoSummary:
    """Build the demo database from scratch and run every pipeline step that exists."""
    from .. import db, setup

    as_of = as_of or _dt.date.today()
    db_path = Path(db_path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    # everything the demo writes goes in one folder beside the database: billadmin-demo-files/
    out_dir = out_dir or db_path.parent / f"{db_path.stem}-files"
    files_dir = out_dir / "imports"
    summary = DemoSummary(db_path, files_dir)
    setup.init_database(db_path)
    data = generate(as_of)
    summary.paths.update(write_files(data, files_dir))
    summary.steps.append(
        f"Wrote the practice's export files to {files_dir}/ (providers, payers, patients, coverage, "
        "charges, fee schedule)"
    )
    conn = db.connect(db_path)
    ctx = DemoContext(conn=conn, data=data, summary=summary, as_of=as_of, out_dir=out_dir)
    from ..outfile import collect_phi_notes

    with collect_phi_notes() as written:  # said once below, not once per statement or 999
        for step in demo_steps():
            step(ctx)
    conn.close()
    if written:
        sys.stderr.write(
            f"Note: {len(written)} files the demo wrote under {out_dir}/ may contain PHI (here"
            " synthetic patients): created mode 0600; keep such files inside the practice\n"
        )
    return summary


@dataclass
class DemoContext:
    """What each demo step gets: the open database, the generated data, the summary to extend."""

    conn: Database
    data: DemoData
    summary: DemoSummary
    as_of: _dt.date
    out_dir: Path


def _step_load(ctx: DemoContext) -> None:
    """Load the practice's export files the way a clerk does: `billadmin import KIND FILE` for
    providers, payers, patients, coverage, the fee schedule and charges (the import domain, all
    or nothing, audited, one import batch per file)."""
    from .. import audit, db
    from ..ingest.engine import ImportOptions, run_import

    with db.write(ctx.conn):
        _load_direct(ctx.conn, ctx.data)
        audit.record(ctx.conn, "demo practice", entity="practice", ids=[1], count=1)
    names = {"coverage": "coverages", "fee-schedule": "fees", "charges": "charge_lines"}
    counts: dict[str, int] = {}
    for kind in ("providers", "payers", "patients", "coverage", "fee-schedule", "charges"):
        path = ctx.summary.paths[kind]
        result = run_import(ctx.conn, kind, path, ImportOptions(today=ctx.as_of))
        counts[names.get(kind, kind)] = result.inserted + result.unchanged
        if kind == "charges":
            counts["encounters"] = result.extra.get("encounters_created", 0)
    ctx.summary.counts.update(counts)
    ctx.summary.steps.append(
        f"Imported them as a clerk would (billadmin import providers, payers, patients, coverage, fee-schedule, "
        f"charges): {counts['patients']} patients, {counts['coverages']} coverages, {counts['fees']} fees, "
        f"{counts['encounters']} encounters, {counts['charge_lines']} charge lines"
    )
    planted = sum(len(v) for v in ctx.data.planted.values())
    ctx.summary.steps.append(
        f"Planted {planted} encounters with coding errors "
        f"({', '.join(f'{k} {len(v)}' for k, v in ctx.data.planted.items())})"
    )


def billing_days(as_of: _dt.date) -> list[_dt.date]:
    """The practice bills on the first weekday of each month in the demo's six months, and once
    more on the as-of date (the run the clerk is looking at)."""
    days = []
    d = (as_of - _dt.timedelta(days=182)).replace(day=1)
    while True:
        d = (d.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)  # first of next month
        first = d + _dt.timedelta(days=max(0, 7 - d.weekday()) if d.weekday() >= 5 else 0)
        if first >= as_of:
            break
        days.append(first)
    return days + [as_of]


@dataclass
class _Billing:
    """What six months of billing days added up to, for the demo's summary."""

    claims: int = 0
    patient_invoices: int = 0
    edi: int = 0
    pdfs: int = 0
    held: int = 0
    remit_files: list = field(default_factory=list)
    payments: list = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    posted: int = 0
    paid_by_patients: int = 0
    n_patient_payments: int = 0


def _patients_pay(
    conn: Database, rnd: random.Random, statements: list, day: _dt.date, tally: _Billing
) -> None:
    """Patients pay last month's statements: most in full, some half, the rest not yet."""
    from ..accounts.payments import post_payment

    for number, mrn, total, issued in statements:
        roll = rnd.random()
        amount = total if roll < 0.6 else total // 2 if roll < 0.75 else 0
        if amount <= 0:
            continue
        on = min(issued + _dt.timedelta(days=rnd.randint(5, 25)), day - _dt.timedelta(days=1))
        post_payment(
            conn,
            mrn,
            amount,
            method=rnd.choice(["card", "card", "check", "cash"]),
            on=on,
            invoice_number=number,
            reference=f"DEMO-{number}",
        )
        tally.paid_by_patients += amount
        tally.n_patient_payments += 1


def _post_answers(conn: Database, sim: dict, day: _dt.date, tally: _Billing) -> None:
    """The payers' 835s of one window, imported as the night job does on that day."""
    from ..remit import post

    if not sim["files"]:
        return
    res = post.import_files(conn, sim["files"], today=day)
    tally.remit_files += sim["files"]
    tally.payments += sim["payments"]
    tally.posted += sum(t.posted_cents for t in res.transactions)
    for c in res.claims:
        tally.outcomes[c.outcome] = tally.outcomes.get(c.outcome, 0) + 1


def _bill(conn: Database, day: _dt.date, out: Path, last: bool, tally: _Billing) -> list:
    """`invoice generate` on one billing day; -> the patient statements it issued."""
    from ..billing.generate import generate
    from ..scrub import check

    # statements of past months were mailed: the demo renders PDFs for the last run only (any
    # invoice re-renders with `billadmin invoice export NUMBER --format pdf`), to stay quick
    run = generate(
        conn,
        through=day - _dt.timedelta(days=1),
        today=day,
        out_dir=out / "out" / day.isoformat(),
        scrub=check,
        pdf=last,
    )
    tally.claims += sum(1 for r in run.issued if r["kind"] == "claim")
    tally.patient_invoices += sum(1 for r in run.issued if r["kind"] == "patient")
    tally.edi += sum(1 for f in run.files if f.suffix == ".edi")
    tally.pdfs += sum(1 for f in run.files if f.suffix == ".pdf")
    tally.held = len(run.held)
    return [
        (r["number"], mrn, r["total_cents"], day)
        for r in run.issued
        if r["kind"] == "patient"
        for (mrn,) in conn.execute(
            "SELECT p.mrn FROM invoices i JOIN patients p ON p.id = i.patient_id"
            " WHERE i.number = ?",
            (r["number"],),
        )
    ]


def _step_bill_and_post(ctx: DemoContext) -> None:
    """Six months of the billing office's routine, in order: on each billing day the 835s that
    arrived since the last one are posted, then `invoice generate` bills everything ready
    (claims to payers, and patient invoices for self-pay visits and the patient responsibility
    the 835s moved to patients). Claims sent in the last weeks are not answered yet."""
    from .clerk import ClerkTally, clerk_works
    from .remits import answer_window
    from .statements import month_end

    conn, out = ctx.conn, ctx.out_dir
    practice = dict(
        zip(
            ("name", "npi", "submitter_id"),
            conn.execute("SELECT name, npi, submitter_id FROM practice WHERE id = 1").fetchone(),
            strict=True,
        )
    )
    days = billing_days(ctx.as_of)
    prev = None
    tally = _Billing()
    clerk = ClerkTally()
    last_full = max(
        (i for i in range(1, len(days)) if (days[i] - days[i - 1]).days >= 14), default=None
    )
    rnd = random.Random(SEED + 1)
    statements: list[tuple[str, str, int, _dt.date]] = []  # patient invoices of the last run
    for i, day in enumerate(days):
        _patients_pay(conn, rnd, statements, day, tally)
        if prev is not None:
            sim = answer_window(
                conn, out / "remits" / day.isoformat(), prev, day, practice, extras=(i == last_full)
            )
            _post_answers(conn, sim, day, tally)
            clerk_works(conn, prev, day, clerk)
        statements = _bill(conn, day, out, day == days[-1], tally)
        month_end(ctx, day, day == days[-1])  # statement run, plans, collections (issue 19)
        prev = day
    _summarise_billing(ctx, days, tally, clerk)
    _reconcile_deposits(ctx, tally.payments)


def _summarise_billing(
    ctx: DemoContext, days: list[_dt.date], tally: _Billing, clerk: ClerkTally
) -> None:
    from .. import money
    from .clerk import clerk_lines, cob_lines

    out = ctx.out_dir
    ctx.summary.counts.update(
        {
            "claims": tally.claims,
            "patient_invoices": tally.patient_invoices,
            "held": tally.held,
            "remit_files": len(tally.remit_files),
        }
    )
    ctx.summary.paths["invoices"] = out / "out"
    ctx.summary.paths["remits"] = out / "remits"
    ctx.summary.steps.append(
        f"Billed on {len(days)} days ({days[0]} .. {days[-1]}), as `billadmin invoice generate` "
        f"would each month: {tally.claims} claims in {tally.edi} 837P files (each validated before it was written) "
        f"and {tally.patient_invoices} patient invoices ({tally.pdfs} PDFs from the last run); "
        f"{tally.held} encounters still held by the scrubber"
    )
    ctx.summary.steps.append(
        f"Payers answered with {len(tally.remit_files)} 835 files, posted before each billing "
        f"day: {money.fmt(tally.posted, thousands=True)} paid; "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(tally.outcomes.items()))
    )
    ctx.summary.steps += cob_lines(ctx.conn) + clerk_lines(ctx.conn, clerk)
    ctx.summary.steps.append(
        f"Patients paid {tally.n_patient_payments} statements: "
        f"{money.fmt(tally.paid_by_patients, thousands=True)} (`billadmin payment post`)"
    )
    ctx.summary.steps.append(
        f"Claims, invoices and 835s are in {out / 'out'}/ and {out / 'remits'}/ (by day)"
    )


def _reconcile_deposits(ctx: DemoContext, payments: list) -> None:
    """The bank's deposit file for the 835 payments, and `reconcile remits` against it."""
    from .. import db
    from ..reconcile import output as rec_out
    from ..reconcile import remits as rec
    from ..reconcile.deposits import card_days
    from ..reconcile.reports import Side
    from .remits import write_deposits

    conn, out = ctx.conn, ctx.out_dir
    cards = card_days(conn, ctx.as_of)  # the bank's card batches: no trace (issue 21)
    deposits = write_deposits(out / "remits" / "bank-deposits.csv", payments, cards)
    side = Side(
        "deposits", deposits, ["EFT Trace"], "Credit", date="Date", description="Description"
    )
    r = rec.reconcile_remits(conn, as_of=ctx.as_of, days=30, deposit_side=side)
    summary = r.summary_rows()
    with db.write(conn):
        rec_out.record_run(
            conn,
            kind="remits",
            inputs=[
                {
                    "side": "deposits",
                    "file": side.path.name,
                    "path": str(side.path),
                    "sha256": side.sha256,
                    "rows": side.rows,
                }
            ],
            options={"as_of": ctx.as_of.isoformat(), "days": 30},
            summary=summary,
            differences=r.differences,
            net_difference_cents=r.net_difference_cents,
            exit_code=1 if r.differences else 0,
        )
    counts = {s["category"]: s["count"] for s in summary if not s["payer"]}
    how = [f"{s['count']} {s['payer']}" for s in summary if s["category"] == "deposit_matched"]
    ctx.summary.steps.append(
        f"Reconcile remits as of {ctx.as_of} against the bank's {deposits.name}: "
        + ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in counts.items() if n)
        + (f" (deposits matched {', '.join(how[1:])}; no file refused)" if how[1:] else "")
    )


def demo_steps():
    """The pipeline the demo runs, in order (each a function of DemoContext): load the files,
    load the NCCI excerpt, six months of billing and posting in date order, scrub what is still
    held, month-end reports."""
    # the NCCI excerpt, then scrub what is still unbilled (issue 4); month-end reports and
    # reports.xlsx, kept last (issue 7)
    from .acks import (
        step_acks,  # the clearinghouse's 999s and 277CAs, a rejection worked (issue 16)
    )
    from .auths import step_auths  # payer rules and authorizations (issue 20)
    from .eligibility import step_eligibility  # tomorrow's 270s, the payers' 271s (issue 16)
    from .hospital import step_hospital  # a hospital department's 837I (issue 17)
    from .necessity import step_necessity  # a lab NCD hold and its GA path (issue 18)
    from .paper import step_paper  # a paper-only payer's CMS-1500 and UB-04 (issue 17)
    from .pricing import (  # charge master, contracts, price changes, ICD-9 (issue 18)
        step_legacy_worksheet,
        step_pricing,
    )
    from .reports import step_reports
    from .scrub import step_code_sets, step_scrub

    return [
        _step_load,
        step_auths,
        step_code_sets,
        _step_bill_and_post,
        step_scrub,
        step_acks,
        step_eligibility,
        step_pricing,
        step_legacy_worksheet,
        step_necessity,
        step_hospital,
        step_paper,
        step_reports,
    ]
