"""The institutional model: what insert_claim stores, load_claim and list_claims read back."""

from __future__ import annotations

import institutional_fixtures as ifx
import pytest

from billadmin import db as dbmod
from billadmin.errors import NotFound
from billadmin.institutional import billtypes, model


@pytest.fixture
def hosp(db):
    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
        ifx.inpatient(db, ids["b"], "HI1", ids["facility"])
    return db


def test_outpatient_claim_reads_back(hosp):
    c = model.load_claim(hosp, "HO1")
    assert c.type_of_bill == "131" and c.facility_code == "13" and c.frequency == "1"
    assert not c.inpatient
    assert c.facility.npi == ifx.FACILITY["npi"] and c.facility.facility_type == "1"
    assert [ln.revenue_code for ln in c.lines] == ["0750", "0310", "0710"]
    assert c.lines[1].units == 2 and c.lines[1].hcpcs == "88305" and c.lines[2].hcpcs is None
    # 1,850.00 + 420.00 + 300.00
    assert c.total_cents == 257000
    assert c.principal is not None and c.principal.code == "K635"
    assert [d.qualifier for d in c.diagnoses] == ["ABK", "APR", "ABF"]
    assert c.attending is not None and c.attending.last_name == "Okafor"
    # the claim is an encounter the rest of billadmin sees (place of service 22, outpatient)
    enc = hosp.execute(
        "SELECT number, date_of_service, place_of_service FROM encounters WHERE id = ?",
        (c.encounter_id,),
    ).fetchone()
    assert enc == ("HO1", "2026-06-10", "22")
    assert hosp.execute("SELECT COUNT(*) FROM charge_lines").fetchone()[0] == 0


def test_inpatient_claim_reads_back(hosp):
    c = model.load_claim(hosp, "HI1")
    assert c.inpatient and c.admission_date == "2026-06-01" and c.patient_status == "01"
    assert [d.poa for d in c.diagnoses] == ["Y", "", "Y", "Y"]
    assert c.procedures == (model.Procedure(1, "BBR", "0DB68ZX", "2026-06-02"),)
    assert c.condition_codes == ("39",)
    assert c.occurrence_codes == (model.Occurrence("11", "2026-05-31"),)
    assert c.occurrence_spans == (model.OccurrenceSpan("74", "2026-06-03", "2026-06-03"),)
    assert c.value_codes == (model.ValueCode("80", 300), model.ValueCode("A1", 167600))
    assert [p.role for p in c.providers] == ["attending", "operating"]
    assert c.lines[0].unit_type == "DA" and c.lines[0].units == 3


def test_list_claims_filters(hosp):
    assert [c.key for c in model.list_claims(hosp)] == ["HI1", "HO1"]
    assert [c.key for c in model.list_claims(hosp, through="2026-06-05")] == ["HI1"]
    assert [c.key for c in model.list_claims(hosp, status="billed")] == []
    assert [c.key for c in model.list_claims(hosp, keys=["HO1"])] == ["HO1"]
    with pytest.raises(NotFound):
        model.load_claim(hosp, "NOPE")


@pytest.mark.parametrize(
    "tob, ok",
    [
        ("131", True),
        ("0111", True),
        ("141", True),
        ("851", True),
        ("191", False),
        ("511", False),
        ("13", False),
        ("13X", False),
        ("961", False),
    ],
)
def test_type_of_bill_table(tob, ok):
    if ok:
        assert billtypes.check_type_of_bill(tob) == tob.lstrip("0")[-3:]
    else:
        with pytest.raises(ValueError):
            billtypes.check_type_of_bill(tob)
