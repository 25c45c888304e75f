"""The demo's scrub step: the errors the demo plants show up as findings."""

from __future__ import annotations

import datetime as dt

from codes_fixtures import cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin import demo
from billadmin.codesets import store
from billadmin.demo.scrub import PTP_LABEL, step_scrub, write_ptp_excerpt


def test_ptp_excerpt_is_in_cms_layout(tmp_path):
    from billadmin.codesets import ncci

    p = write_ptp_excerpt(tmp_path / "ncci-ptp-demo-excerpt.txt")
    assert p.read_bytes().startswith(
        b"Demo excerpt written by billadmin demo: NOT the CMS NCCI file"
    )
    (edit,) = ncci.parse_ptp([p])
    assert (edit.column1, edit.column2, edit.modifier_indicator, edit.deleted_on) == (
        "80053",
        "80048",
        0,
        None,
    )


def test_demo_step_finds_every_planted_error(cdb, tmp_path):
    as_of = dt.date(2026, 7, 15)
    data = demo.generate(as_of, patients=80, encounters=700)
    summary = demo.DemoSummary(tmp_path / "demo.db", tmp_path / "demo-files")
    summary.paths.update(demo.write_files(data, summary.files_dir))
    ctx = demo.DemoContext(conn=cdb, data=data, summary=summary, as_of=as_of, out_dir=tmp_path)
    demo.demo_steps()[0](ctx)  # the load step, as `billadmin demo` runs it
    step_scrub(ctx)
    assert store.versions(cdb, "ncci-ptp")[0]["label"] == PTP_LABEL
    text = "\n".join(summary.steps)
    assert "HCPCS Level II and CPT are checked by format only" in text
    from billadmin.scrub import check

    found = {(f.encounter, f.rule) for f in check(cdb, as_of=as_of)}
    planted = data.planted
    assert sum(len(v) for v in planted.values()) > 5
    for number in planted["inactive"]:
        assert (number, "ICD-BILLABLE") in found  # M54.5 is a header since FY2022
    for number in planted["pointer"]:
        assert (number, "CLM-POINTER") in found
    for number in planted["unbundle"]:
        assert (number, "NCCI-PTP") in found  # 80048 with 80053
    for number in planted["header"]:
        dx1 = cdb.execute(
            "SELECT d.code FROM encounter_diagnoses d JOIN encounters e ON e.id = d.encounter_id"
            " WHERE e.number = ? AND d.seq = 1",
            (number,),
        ).fetchone()[0]
        billable = cdb.execute(
            "SELECT billable FROM codes WHERE code_system = 'icd10cm' AND code = ?", (dx1,)
        ).fetchone()[0]
        assert ((number, "ICD-BILLABLE") in found) == (not billable)
    caught = next(s for s in summary.steps if s.startswith("Planted errors caught"))
    n = len(planted["unbundle"])
    assert f"unbundle {n}/{n} (NCCI-PTP)" in caught
    assert (
        (summary.files_dir / "scrub-findings.csv")
        .read_text()
        .startswith("encounter,line,rule,severity,message,source")
    )
