"""Fixtures and builders for the code-set and scrubber tests.

One database with the bundled ICD-10-CM release is initialised per test session (the load
takes a few seconds) and copied for each test that needs it. Builders write the official file
layouts (CDC order/codes files, CMS HCPCS fixed width, NCCI PTP, MUE) and claims straight into
the core tables, so these tests do not depend on the import commands.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from billadmin import npi

AS_OF = dt.date(2026, 6, 30)  # inside the bundled April 2026 release's window
DOS = "2026-06-15"


_TEMPLATE: list[Path] = []


@pytest.fixture(scope="session")
def icd_template(tmp_path_factory) -> Path:
    """An initialised database (all migrations, bundled ICD-10-CM loaded), built once per session
    (each test module imports this fixture: the path is kept here so they share one build)."""
    import os

    from billadmin import setup

    if _TEMPLATE:
        return _TEMPLATE[0]
    saved = {k: os.environ.pop(k, None) for k in ("BILLADMIN_KEY", "BILLADMIN_KEY_FILE")}
    try:
        p = tmp_path_factory.mktemp("codes-template") / "template.db"
        setup.init_database(p)
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v
    _TEMPLATE.append(p)
    return p


@pytest.fixture
def codes_db_path(icd_template, db_path) -> Path:
    """The session template copied to this test's database path (what the `cli` fixture uses)."""
    shutil.copy2(icd_template, db_path)
    return db_path


@pytest.fixture
def cdb(codes_db_path):
    """An open copy of the template (sqlite_utils.Database)."""
    from billadmin import db as dbmod

    conn = dbmod.connect(codes_db_path)
    yield conn
    conn.close()


# ------------------------------------------------------------------ claims

PRACTICE_NPI = npi.make("174839201")
PROVIDER_NPI = npi.make("162738495")


def setup_parties(
    conn, *, practice_npi: str | None = PRACTICE_NPI, provider_npi: str = PROVIDER_NPI
) -> None:
    from billadmin import db as dbmod

    with dbmod.write(conn):
        if practice_npi is not None:
            conn.execute(
                "INSERT INTO practice (id, name, npi, tax_id, address1, city, state, zip) VALUES"
                " (1, 'Test Practice', ?, '812345678', '1 Main St', 'Columbus', 'OH', '43215')",
                (practice_npi,),
            )
        conn.execute("INSERT INTO providers (npi, last_name) VALUES (?, 'Doc')", (provider_npi,))
        conn.execute(
            "INSERT INTO payers (code, name, kind, timely_filing_days, timely_filing_months,"
            " x12_payer_id) VALUES ('KEY', 'Keystone', 'commercial', 180, NULL, 'KEY01'),"
            " ('MCR', 'Medicare', 'medicare', NULL, 12, '15202'),"
            " ('SELF', 'Self-pay', 'self', NULL, NULL, NULL)"
        )


_counter = {"n": 0}


def add_patient(conn, *, sex="F", dob="1980-05-01", coverage: dict | None | str = "default") -> int:
    from billadmin import db as dbmod

    _counter["n"] += 1
    with dbmod.write(conn):
        cur = conn.execute(
            "INSERT INTO patients (mrn, first_name, last_name, dob, sex, address1, city, state, zip,"
            " created_at, updated_at) VALUES (?, 'Pat', 'Test', ?, ?, '1 Elm St', 'Columbus', 'OH',"
            " '43215', '2026-01-01', '2026-01-01')",
            (f"T{_counter['n']:06d}", dob, sex),
        )
        pid = cur.lastrowid
        if coverage == "default":
            coverage = {"payer": "KEY", "member_id": "K123456789", "from": "2025-01-01", "to": None}
        if coverage:
            payer = conn.execute(
                "SELECT id FROM payers WHERE code = ?", (coverage["payer"],)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO coverages (patient_id, payer_id, member_id, effective_from, effective_to)"
                " VALUES (?,?,?,?,?)",
                (pid, payer, coverage.get("member_id", "M1"), coverage["from"], coverage.get("to")),
            )
    return pid


def add_encounter(
    conn,
    patient_id: int,
    *,
    dx=("E11.9",),
    lines=(("99213", (), "1", 1, 14000),),
    dos: str = DOS,
    number: str | None = None,
    provider_npi: str = PROVIDER_NPI,
    status: str = "unbilled",
) -> int:
    """lines: (code, modifiers, pointers, units, charge_cents)."""
    from billadmin import db as dbmod

    _counter["n"] += 1
    number = number or f"ENC{_counter['n']:06d}"
    with dbmod.write(conn):
        prov = conn.execute("SELECT id FROM providers WHERE npi = ?", (provider_npi,)).fetchone()
        if prov is None:
            prov_id = conn.execute(
                "INSERT INTO providers (npi, last_name) VALUES (?, 'Other')", (provider_npi,)
            ).lastrowid
        else:
            prov_id = prov[0]
        eid = conn.execute(
            "INSERT INTO encounters (number, patient_id, provider_id, date_of_service) VALUES (?,?,?,?)",
            (number, patient_id, prov_id, dos),
        ).lastrowid
        for i, code in enumerate(dx, start=1):
            conn.execute(
                "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?,?,?)",
                (eid, i, code),
            )
        for n, (code, mods, ptr, units, cents) in enumerate(lines, start=1):
            mods = list(mods) + [None] * (4 - len(mods))
            conn.execute(
                "INSERT INTO charge_lines (encounter_id, line_no, code, modifier1, modifier2, modifier3, modifier4,"
                " dx_pointers, units, charge_cents, status) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (eid, n, code, *mods, ptr, units, cents, status),
            )
    return eid


def rules_of(findings, encounter_id=None) -> list[str]:
    return sorted(
        {f.rule for f in findings if encounter_id is None or f.encounter_id == encounter_id}
    )


# ------------------------------------------------------------------ official file layouts


def cdc_order_file(path: Path, rows) -> Path:
    """CDC icd10cm-order file: order number (5), code without dot (7), header flag, short (60), long."""
    out = []
    for n, (code, billable, desc) in enumerate(rows, start=1):
        nd = code.replace(".", "")
        out.append(f"{n:05d} {nd:<7} {1 if billable else 0} {desc[:60]:<60} {desc}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def cdc_codes_file(path: Path, rows) -> Path:
    """CDC icd10cm-codes file: code without dot padded to 7, a space, the long description."""
    path.write_text(
        "\n".join(f"{c.replace('.', ''):<7} {d}" for c, d in rows) + "\n", encoding="utf-8"
    )
    return path


def hcpcs_record(
    code: str,
    long: str,
    short: str,
    *,
    modifier=False,
    added="20200101",
    action_eff="20200101",
    term="",
    action="N",
    coverage="C",
) -> list[str]:
    """One code as CMS's fixed-width HCPCS records: a 320-character first record (id 3 or 7) and
    continuation records (id 4 or 8) for a long description over 80 characters."""
    field = code.rjust(5) if modifier else code.ljust(5)
    first, cont = ("7", "8") if modifier else ("3", "4")
    chunks, cur = [], ""
    for word in long.split(" "):
        if len(cur) + len(word) + (1 if cur else 0) > 80:
            chunks.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    chunks.append(cur)
    rec = [" "] * 320

    def put(pos, text):  # 1-based start
        for i, ch in enumerate(text):
            rec[pos - 1 + i] = ch

    put(1, field)
    put(6, "00100")
    put(11, first)
    put(12, chunks[0].ljust(80))
    put(92, short[:28].ljust(28))
    put(120, "00")
    put(230, coverage)
    put(269, added)
    put(277, action_eff)
    put(285, term.ljust(8))
    put(293, action)
    out = ["".join(rec)]
    for i, ch in enumerate(chunks[1:], start=2):
        out.append(f"{field}{i:03d}00{cont}{ch}".rstrip())
    return out


def hcpcs_file(path: Path, records: list[list[str]]) -> Path:
    pre = [
        "Note regarding coverage and payment indicators for codes in CMS\u2019 HCPCS Update",
        "",
        "If specific Medicare coverage or payment indicators have not been established ...",
        "",
    ]
    lines = pre + [ln for r in records for ln in r]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def ptp_file(path: Path, edits) -> Path:
    """NCCI practitioner PTP text file: preamble, header, legend rows, tab-delimited edits.
    edits: (column1, column2, effective YYYYMMDD, deletion YYYYMMDD or '*', modifier 0/1/9)."""
    lines = [
        "CPT codes, descriptions and other data only are copyright 2025 American Medical"
        " Association. All rights reserved.",
        "\t".join(
            [
                "Column 1",
                "Column 2",
                "*=in existence prior to 1996",
                "Effective Date",
                "Deletion Date",
                "Modifier",
                "PTP Edit Rationale",
            ]
        ),
        "\t".join(["", "", "", "", "*=no data", "0=not allowed", ""]),
        "\t".join(["", "", "", "", "", "1=allowed", ""]),
        "\t".join(["", "", "", "", "", "9=not applicable", ""]),
    ]
    for c1, c2, eff, dele, mod in edits:
        lines.append(
            "\t".join(
                [
                    c1,
                    c2,
                    "*" if eff < "19960101" else "",
                    eff,
                    dele,
                    str(mod),
                    "Misuse of column two code with column one code",
                ]
            )
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def mue_file(path: Path, rows) -> Path:
    """CMS practitioner MUE CSV: a quoted copyright preamble, the header, one row per code.
    rows: (code, value, mai 1/2/3)."""
    mai_text = {
        1: "1 Line Edit",
        2: "2 Date of Service Edit: Policy",
        3: "3 Date of Service Edit: Clinical",
    }
    lines = [
        '"CPT codes, descriptions and other data only are copyright 2025 American Medical'
        ' Association.  All Rights Reserved."',
        '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"',
    ]
    for code, value, mai in rows:
        lines.append(f'"{code}","{value}","{mai_text[mai]}","Clinical: Data"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
