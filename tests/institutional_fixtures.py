"""Test-only builders for institutional claims: a hospital facility beside the test practice
(invoice_fixtures), and claims written through billadmin.institutional.store.insert_claim.

Each builder runs inside the caller's `with db.write(conn):` and returns internal ids.
"""

from __future__ import annotations

import invoice_fixtures as fx

from billadmin import npi

FACILITY = {
    "name": "Riverside General Hospital",
    "npi": npi.make("187654321"),
    "tax_id": "311234567",
    "taxonomy": "282N00000X",
    "facility_type": "1",
    "address1": "100 River Rd",
    "city": "Columbus",
    "state": "OH",
    "zip": "432151000",
    "phone": "6145550199",
}
ATTENDING_NPI = npi.make("162738495")  # provider 1 of invoice_fixtures (Ann Okafor)


def facility(conn, code: str = "RGH", **over) -> int:
    f = {**FACILITY, **over}
    cols = list(f)
    return conn.execute(
        f"INSERT INTO facilities (code, {', '.join(cols)}) VALUES (?, {', '.join('?' * len(cols))})",
        [code, *f.values()],
    ).lastrowid


def outpatient(conn, patient_id: int, key: str, facility_id: int, **over) -> int:
    """A hospital outpatient endoscopy (TOB 131): colonoscopy with biopsy, pathology, recovery."""
    from billadmin.institutional.store import insert_claim

    c = {
        "key": key,
        "patient_id": patient_id,
        "provider_id": 1,
        "facility_id": facility_id,
        "type_of_bill": "131",
        "statement_from": "2026-06-10",
        "statement_through": "2026-06-10",
        "admission_type": "3",
        "admission_source": "1",
        "patient_status": "01",
        "providers": [("attending", ATTENDING_NPI, "Okafor", "Ann")],
        "diagnoses": [("ABK", "K635", ""), ("APR", "R195", ""), ("ABF", "Z1211", "")],
        "conditions": [],
        "occurrences": [],
        "spans": [],
        "values": [],
        "lines": [
            {
                "revenue_code": "0750",
                "hcpcs": "45380",
                "units": 1,
                "charge_cents": 185000,
                "line_date": "2026-06-10",
            },
            {
                "revenue_code": "0310",
                "hcpcs": "88305",
                "units": 2,
                "charge_cents": 42000,
                "line_date": "2026-06-10",
            },
            {
                "revenue_code": "0710",
                "hcpcs": None,
                "units": 1,
                "charge_cents": 30000,
                "line_date": "2026-06-10",
            },
        ],
    }
    c.update(over)
    return insert_claim(conn, c)


def inpatient(conn, patient_id: int, key: str, facility_id: int, **over) -> int:
    """A three-night stay (TOB 111) with an ICD-10-PCS procedure, POA indicators, codes."""
    from billadmin.institutional.store import insert_claim

    c = {
        "key": key,
        "patient_id": patient_id,
        "provider_id": 1,
        "facility_id": facility_id,
        "type_of_bill": "111",
        "statement_from": "2026-06-01",
        "statement_through": "2026-06-04",
        "admission_date": "2026-06-01",
        "admission_hour": "14",
        "admission_type": "1",
        "admission_source": "7",
        "discharge_hour": "11",
        "patient_status": "01",
        "providers": [
            ("attending", ATTENDING_NPI, "Okafor", "Ann"),
            ("operating", npi.make("151627384"), "Lind", "Ben"),
        ],
        "diagnoses": [
            ("ABK", "K922", "Y"),
            ("ABJ", "K922", ""),
            ("ABF", "D62", "Y"),
            ("ABF", "E119", "Y"),
        ],
        "procedures": [("BBR", "0DB68ZX", "2026-06-02")],
        "conditions": ["39"],
        "occurrences": [("11", "2026-05-31")],
        "spans": [("74", "2026-06-03", "2026-06-03")],
        "values": [("80", 300), ("A1", 167600)],
        "lines": [
            {"revenue_code": "0120", "units": 3, "unit_type": "DA", "charge_cents": 540000},
            {"revenue_code": "0250", "units": 12, "charge_cents": 36000},
            {"revenue_code": "0360", "hcpcs": None, "units": 1, "charge_cents": 420000},
        ],
    }
    c.update(over)
    return insert_claim(conn, c)


def hospital(conn) -> dict:
    """The test practice, the hospital, and two Medicare patients: ids by name."""
    fx.practice(conn)
    fid = facility(conn)
    a = fx.patient(conn, "H1001", "Ann", "Able")
    fx.coverage(conn, a, "MCR", member="1EG4TE5MK73")
    b = fx.patient(conn, "H1002", "Bob", "Baker", dob="1940-02-02", sex="M")
    fx.coverage(conn, b, "MCR", member="2FH5UF6NL84")
    return {"facility": fid, "a": a, "b": b}
