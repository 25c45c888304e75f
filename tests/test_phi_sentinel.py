"""The PHI sentinel: a patient with a distinctive name, date of birth, member id, address and
phone is loaded through the import files (fault_helpers.SENTINEL, part of every fault test's
database), then every common failing path is run as a real process: bad import rows (CSV and
XLSX), conflicts, rejects files, scrub findings, held encounters, a bad 835 carrying the name
and member id, payment refusals, a wrong key, a failed `billadmin check`, 837/835 validation.

None of the sentinel's values may appear in a failing command's stdout or stderr, in the reason
column of a rejects file, in a diagnostic file the tool writes (held.csv), or in the audit log.
The fault tests (kill, concurrency, disk) assert the same of their own stderr.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import fault_helpers as fh
import pytest

from billadmin import demo

pytestmark = pytest.mark.slow


@pytest.fixture
def billed(tmp_path_factory, tmp_path):
    unbilled = fh.template(tmp_path_factory, "unbilled", fh.build_unbilled)
    return fh.copy_practice(
        fh.template(tmp_path_factory, "billed", fh.build_billed(unbilled)), tmp_path / "billed"
    )


def fails(db, *args, codes=(1, 2), cwd=None, env=None, stdout_is_data=False):
    """Run a command that must fail cleanly: one of codes, no traceback, no PHI (stdout too,
    unless stdout_is_data: then only stderr is a message)."""
    r = fh.ba(db, *args, cwd=cwd, env=env)
    what = " ".join(str(a) for a in args)[:120]
    assert r.returncode in codes, (
        f"{what}: exit {r.returncode}\n{r.stdout[-1500:]}\n{r.stderr[-2500:]}"
    )
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (
        f"{what}: {r.stderr[-3000:]}"
    )
    assert r.stderr.strip(), f"{what}: failed without a message"
    fh.assert_no_phi(r.stderr, f"stderr of `{what}`")
    if not stdout_is_data:
        fh.assert_no_phi(r.stdout, f"stdout of `{what}`")
    return r


def _patients_csv(path: Path, rows: list[dict]) -> Path:
    return fh.write_csv(path, demo.HEADERS["patients"], rows)


def _bad_patient_rows() -> list[dict]:
    s = fh.SENTINEL
    return [
        dict(s, MRN="7700992", ZIP="4321", Sex="Q"),  # bad ZIP and sex
        dict(
            s, MRN="7700993", DOB="08/14/1937", Phone="937555014"
        ),  # wrong date format, 9-digit phone
        dict(s, MRN="7700994", State="Xylophonia", DOB="2099-08-14"),  # no such state, future birth
        dict(s, MRN="", **{"Last Name": ""}),  # required fields missing
    ]


def test_bad_import_rows_conflicts_and_rejects(billed, tmp_path):
    db = billed.db
    before = fh.fingerprint(db)
    bad = _patients_csv(
        tmp_path / "bad-patients.csv", _bad_patient_rows() + [dict(fh.SENTINEL, MRN="7700995")]
    )
    fails(db, "import", "patients", bad, codes=(2,))
    fails(db, "import", "patients", bad, "--dry-run", codes=(1, 2))
    fails(db, "import", "patients", bad, "--date-format", "MM/DD/YYYY", codes=(2,))

    # the same rows in a workbook
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(demo.HEADERS["patients"])
    for r in _bad_patient_rows():
        ws.append([r[h] for h in demo.HEADERS["patients"]])
    ws.append(
        [
            "7700996",
            "Zebulon",
            "Quixotefrost",
            19370814,
            "M",
            "8817 Xylophone Crescent",
            "Columbus",
            "OH",
            43215,
            9375550142,
        ]
    )  # numbers where text belongs
    wb.save(tmp_path / "bad-patients.xlsx")
    fails(db, "import", "patients", tmp_path / "bad-patients.xlsx", codes=(2,))

    # a conflict: the sentinel's address and phone changed in the file; neither value is shown
    changed = dict(
        fh.SENTINEL,
        Address=fh.SENTINEL_NEW["Address"],
        Phone=fh.SENTINEL_NEW["Phone"],
        **{"Last Name": fh.SENTINEL_NEW["Last Name"]},
    )
    conflict = _patients_csv(tmp_path / "conflict.csv", [changed])
    assert fh.fingerprint(db) == before, "a refused import wrote something"
    fails(db, "import", "patients", conflict, "--dry-run", codes=(1,))
    fails(db, "import", "patients", conflict, codes=(1,))
    after = fh.fingerprint(db)
    assert (
        after["patients"] == before["patients"]
    )  # a conflict is reported, not applied (the batch is recorded)
    before = after

    # coverage and charges: the sentinel's member id and MRN in bad rows
    cov = dict(billed.data.tables["coverage"][-1])
    assert cov["Member ID"] == fh.SENTINEL_MEMBER_ID
    bad_cov = fh.write_csv(
        tmp_path / "bad-coverage.csv",
        demo.HEADERS["coverage"],
        [
            dict(cov, **{"Payer Code": "NOPE"}),
            dict(cov, Relationship="cousin", **{"Subscriber First Name": "Philomena"}),
            dict(cov, **{"Effective From": "1937-08-14", "Effective To": "1937-08-13"}),
            dict(cov, MRN="9999999"),
            dict(cov, **{"Member ID": fh.SENTINEL_MEMBER_ID + "Zebulon" * 40}),
        ],
    )
    fails(db, "import", "coverage", bad_cov, codes=(2,))
    row = {h: "" for h in demo.HEADERS["charges"]}
    row.update(
        {
            "Encounter": "ZQ000009",
            "MRN": fh.SENTINEL["MRN"],
            "DOS": "1937-08-14",
            "Rendering NPI": "1234567890",
            "Line": "1",
            "Code": "Zebulon",
            "Dx1": "Quixotefrost",
            "Pointers": "9",
            "Units": "x",
            "Charge": "1E+30",
        }
    )
    huge = dict(
        row,
        Encounter=fh.SENTINEL_ENCOUNTER,
        Line="7",
        Code="99213",
        Dx1="I10",
        Pointers="1",
        Units="1",
        DOS=billed.as_of.isoformat(),
        **{"Rendering NPI": demo.PROVIDERS[0]["NPI"], "Charge": "99999999999999999999.00"},
    )
    bad_charges = fh.write_csv(tmp_path / "bad-charges.csv", demo.HEADERS["charges"], [row])
    fails(
        db,
        "import",
        "charges",
        fh.write_csv(tmp_path / "huge.csv", demo.HEADERS["charges"], [huge]),
        codes=(2,),
    )
    fails(db, "import", "charges", bad_charges, codes=(2,))
    assert fh.fingerprint(db) == before

    # --skip-invalid: the rejects file holds the rows (by design) but its reason column no PHI
    rejects = tmp_path / "rejects.csv"
    r = fh.ba(db, "import", "patients", bad, "--skip-invalid", "--rejects", rejects)
    assert r.returncode in (0, 1), r.stderr
    fh.assert_no_phi(r.stderr, "stderr of import --skip-invalid")
    reasons = [row["reason"] for row in csv.DictReader(io.StringIO(rejects.read_text()))]
    assert len(reasons) == 4 and all(reasons)
    fh.assert_no_phi("\n".join(reasons), "the reason column of rejects.csv")
    assert "Zebulon" in rejects.read_text()  # the rows themselves are there, for fixing
    _audit_clean(db)


def _audit_clean(db) -> None:
    """The audit log carries ids, counts and file names, never the sentinel's values. (An
    `import --update` row records the changed values by design: see test_update_audit.)"""
    rows = fh.query(
        db,
        "SELECT command, action, entity, entity_ids, detail FROM audit_log WHERE action != 'import update'",
    )
    fh.assert_no_phi("\n".join(repr(r) for r in rows), "the audit log")


def _sentinel_charges(path: Path, billed) -> Path:
    """A second encounter of the sentinel with errors the scrubber holds (an inactive code, a
    line pointing at no diagnosis)."""
    dos = billed.as_of.isoformat()
    rows = []
    for ln, (code, ptr) in enumerate([("99213", "1"), ("36415", "")], start=1):
        row = {h: "" for h in demo.HEADERS["charges"]}
        row.update(
            {
                "Encounter": "ZQ000002",
                "MRN": fh.SENTINEL["MRN"],
                "DOS": dos,
                "Rendering NPI": demo.PROVIDERS[1]["NPI"],
                "POS": "11",
                "Line": str(ln),
                "Code": code,
                "Dx1": "M54.5",
                "Pointers": ptr,
                "Units": "1",
                "Charge": "140.00",
            }
        )
        rows.append(row)
    return fh.write_csv(path, demo.HEADERS["charges"], rows)


# Files that hold PHI by design (claims, patient invoices, listings, the database, the rows a
# clerk must fix); every other file a command writes is a diagnostic and must hold none.
DATA_FILES = (
    "*.edi",
    "*.pdf",
    "invoices.csv",
    "invoices.xlsx",
    "*.db",
    "*.db-wal",
    "*.db-shm",
    "*.lock",
)


def _diagnostic_files_clean(roots, since: float, inputs=()) -> list[Path]:
    import fnmatch

    seen = []
    for root in roots:
        for f in Path(root).rglob("*"):
            if not f.is_file() or f.stat().st_mtime < since or f in inputs:
                continue
            if any(fnmatch.fnmatch(f.name, pat) for pat in DATA_FILES):
                continue
            seen.append(f)
            fh.assert_no_phi(f.read_bytes(), f"diagnostic file {f.name}")
    return seen


def test_scrub_findings_and_held_encounters(billed, tmp_path):
    import time

    db = billed.db
    since = time.time() - 1
    fh.ok(fh.ba(db, "import", "charges", _sentinel_charges(tmp_path / "zq.csv", billed)))
    fails(db, "codes", "check", "--encounter", "ZQ000002", codes=(1,))
    fails(db, "codes", "check", codes=(1,))
    fails(
        db, "codes", "check", "--file", _sentinel_charges(tmp_path / "zq2.csv", billed), codes=(1,)
    )
    out = tmp_path / "out"
    r = fails(db, *fh.generate_args(out), codes=(1,), stdout_is_data=True)
    assert "ZQ000002" in r.stderr  # held, by encounter number
    held = out / "held.csv"
    assert held.exists() and "ZQ000002" in held.read_text()
    fh.assert_no_phi(held.read_text(), "held.csv")
    written = _diagnostic_files_clean(
        [tmp_path], since, inputs={tmp_path / "zq.csv", tmp_path / "zq2.csv"}
    )
    assert held in written
    _audit_clean(db)


BAD_835 = (
    "ISA*00*          *00*          *ZZ*KEY77          *ZZ*RBFM01         *261101*0800*^*00501*000000091*0*P*:~"
    "GS*HP*KEY77*RBFM01*20261101*0800*91*X*005010X221A1~ST*835*0001~"
    "BPR*I*500*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20261101~"
    "TRN*1*ZQTRACE1*1512345678~DTM*405*20261101~N1*PR*KEYSTONE COMMERCIAL INSURANCE~REF*2U*KEY77~"
    "N1*PE*RIVERBEND FAMILY MEDICINE*XX*1748392010~LX*1~"
    "CLP*{claim}*1*155*105*30*CI*ZQ00000001~NM1*QC*1*QUIXOTEFROST*ZEBULON****MI*QX7734219056~"
    "NM1*IL*1*QUIXOTEFROST*PHILOMENA****MI*QX7734219056~DTM*050*19370814~"
    "SVC*HC:99213*140*90**1~DTM*472*19370814~CAS*CO*45*20~CAS*PR*2*30~"
    "SVC*HC:36415*15*15**1~DTM*472*ZEBULON~{extra}"
    "SE*19*0001~GE*1*91~IEA*1*000000091~"
)


def _sentinel_claim(db) -> str:
    rows = fh.query(
        db,
        "SELECT i.number FROM invoices i JOIN patients p ON p.id = i.patient_id"
        " WHERE p.mrn = ? AND i.kind = 'claim'",
        (fh.SENTINEL["MRN"],),
    )
    assert rows, "the sentinel's encounter was not billed in the template"
    return rows[0][0]


def test_bad_835_and_validation(billed, tmp_path):
    db = billed.db
    claim = _sentinel_claim(db)
    before = fh.fingerprint(db)
    unbalanced = tmp_path / "unbalanced.835"
    unbalanced.write_text(BAD_835.format(claim=claim, extra=""))  # BPR 500 != 105 paid
    fails(db, "remit", "import", unbalanced, codes=(2,))
    fails(db, "remit", "import", "--dry-run", unbalanced, codes=(2,))
    broken = tmp_path / "broken.835"
    broken.write_text(
        BAD_835.format(claim=claim, extra="CAS*ZZ*Zebulon*QX7734219056~AMT*B6*Quixotefrost~")
    )
    fails(db, "remit", "import", broken, codes=(2,))
    cut = tmp_path / "cut.835"
    cut.write_text(BAD_835.format(claim=claim, extra="")[:-60])
    fails(db, "remit", "import", cut, codes=(2,))
    fails(db, "remit", "show", broken, codes=(1, 2), stdout_is_data=True)
    assert fh.fingerprint(db) == before
    _audit_clean(db)


def test_x12_validation_messages_quote_no_values(billed, tmp_path):
    """pyx12's own texts quote element values (len("NAME"), invalid date (VALUE)); `invoice
    validate` names segment, element and rule instead."""
    db = billed.db
    claim = _sentinel_claim(db)
    broken = tmp_path / "broken.835"
    broken.write_text(
        BAD_835.format(claim=claim, extra="CAS*ZZ*Zebulon*QX7734219056~AMT*B6*Quixotefrost~")
    )
    fails(db, "invoice", "validate", broken, codes=(1, 2))

    # an 837 the tool wrote, damaged by hand: pyx12's findings must not quote the segment
    edi = sorted(billed.files["out"].glob("837P-KEY-*.edi"))[0]
    text = edi.read_text()
    assert "QUIXOTEFROST" in text.upper()
    damaged = tmp_path / "damaged.edi"
    damaged.write_text(
        text.replace("*QUIXOTEFROST*", "*" + "QUIXOTEFROST" * 6 + "*").replace(
            "DMG*D8*19370814", "DMG*D8*1937-08-14"
        )
    )
    fails(db, "invoice", "validate", damaged, codes=(1, 2))


def test_payment_refusals(billed, tmp_path):
    db = billed.db
    mrn = fh.SENTINEL["MRN"]
    claim = _sentinel_claim(db)
    before = fh.fingerprint(db)
    fails(db, "payment", "post", mrn, "0", "--method", "cash", codes=(2,))
    fails(db, "payment", "post", mrn, "-5.00", "--method", "cash", codes=(2,))
    fails(db, "payment", "post", mrn, "abc", "--method", "cash", codes=(2,))
    fails(db, "payment", "post", mrn, "1E+30", "--method", "cash", codes=(2,))
    fails(
        db,
        "payment",
        "post",
        mrn,
        "99999999999999999999.00",
        "--method",
        "cash",
        "--credit",
        codes=(2,),
    )
    fails(db, "payment", "post", mrn, "99999.00", "--method", "card", codes=(2,))
    fails(db, "payment", "post", mrn, "10.00", codes=(2,))  # no --method
    fails(db, "payment", "post", mrn, "10.00", "--method", "card", "--invoice", claim, codes=(2,))
    fails(
        db, "payment", "post", mrn, "10.00", "--method", "card", "--invoice", "P999999", codes=(2,)
    )
    fails(
        db, "payment", "post", mrn, "10.00", "--method", "card", "--date", "1937-08-14x", codes=(2,)
    )
    fails(db, "payment", "refund", mrn, "10.00", "--method", "check", codes=(2,))
    fails(db, "payment", "post", "9999999", "10.00", "--method", "cash", codes=(2,))
    assert fh.fingerprint(db) == before
    _audit_clean(db)


def test_wrong_key(billed, tmp_path):
    from billadmin import db as dbmod

    db = billed.db
    env = fh.base_env(
        {"BILLADMIN_KEY": fh.base_env().get("BILLADMIN_KEY") or "the right key, 31 chars long!"}
    )
    if not dbmod.is_encrypted_file(db):
        fh.ok(fh.ba(db, "db", "encrypt", env=env))
    assert dbmod.is_encrypted_file(db)
    assert b"Quixotefrost" not in db.read_bytes()
    fails(
        db,
        "patient",
        "list",
        env=fh.base_env({"BILLADMIN_KEY": "Zebulon Quixotefrost 1937-08-14"}),
        codes=(3,),
    )
    fails(db, "check", env=fh.base_env({"BILLADMIN_KEY": "wrong"}), codes=(3,))
    nokey = {k: v for k, v in fh.base_env().items() if not k.startswith("BILLADMIN_KEY")}
    fails(db, "patient", "show", fh.SENTINEL["MRN"], env=nokey, codes=(3,))


def test_failed_check_names_invoices_not_patients(billed):
    db = billed.db
    claim = _sentinel_claim(db)
    conn = fh.raw_connect(db)
    try:
        conn.execute("DROP TRIGGER invoice_lines_immutable_update")
        conn.execute(
            "UPDATE invoice_lines SET amount_cents = amount_cents + 1 WHERE invoice_id ="
            " (SELECT id FROM invoices WHERE number = ?)",
            (claim,),
        )
    finally:
        conn.close()
    r = fails(db, "check", codes=(1,))
    assert claim in r.stdout
    r = fails(db, "check", "-f", "json", codes=(1,))
    assert any(claim in f["message"] for f in json.loads(r.stdout))


def test_update_audit(billed, tmp_path):
    """`import --update` records what changed; the values it records are PHI. The house rule
    (audit.record: never PHI in detail) and the import's documented "old and new values go to
    the audit log" disagree: this pins the current behaviour for the lead to decide."""
    db = billed.db
    changed = dict(fh.SENTINEL, Address=fh.SENTINEL_NEW["Address"])
    r = fh.ok(
        fh.ba(db, "import", "patients", _patients_csv(tmp_path / "upd.csv", [changed]), "--update")
    )
    fh.assert_no_phi(r.stderr, "stderr of import --update")
    detail = fh.query(db, "SELECT detail FROM audit_log WHERE action = 'import update'")
    assert detail and "Quasarwynd" in detail[-1][0]
    _audit_clean(db)


def test_deidentified_export_has_no_sentinel(billed, tmp_path):
    out = tmp_path / "deid.csv"
    r = fh.ok(fh.ba(billed.db, "export", "deidentified", "-o", out))
    fh.assert_no_phi(r.stderr, "stderr of export deidentified")
    text = out.read_text()
    assert text.count("\n") > 100
    fh.assert_no_phi(text, "the de-identified export")
