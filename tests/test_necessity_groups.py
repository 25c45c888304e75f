"""MCD article group paragraphs (article_x_icd10_covered_group.csv): stored with the snapshot,
plain text; a line supported only by diagnoses of a group its article covers in combination
with another group carries a warning quoting the paragraph (and `codes necessity` shows it).
The article is hand-made in the MCD download's layout."""

from __future__ import annotations

import json

from codes_fixtures import add_encounter
from test_necessity import OCT, _found, _medicare, mdb, ncd_file, write_csv  # noqa: F401


def _article(folder):
    folder.mkdir()
    write_csv(
        folder / "article.csv",
        ["article_id", "article_version", "title", "article_eff_date", "article_end_date"],
        [["99003", "1", "Billing and Coding: Vitamin D (groups)", "2026-01-01", ""]],
    )
    write_csv(
        folder / "article_x_hcpc_code.csv",
        ["article_id", "article_version", "hcpc_code_id", "hcpc_code_group", "long_description"],
        [["99003", "1", "82306", "1", ""]],
    )
    write_csv(
        folder / "article_x_icd10_covered.csv",
        ["article_id", "article_version", "icd10_code_id", "icd10_covered_group", "description"],
        [
            ["99003", "1", "E55.9", "1", ""],
            ["99003", "1", "Z79.899", "2", ""],
            ["99003", "1", "N18.30", "3", ""],
        ],
    )
    write_csv(
        folder / "article_x_icd10_covered_group.csv",
        ["article_id", "article_version", "icd10_covered_group", "paragraph"],
        [
            ["99003", "1", "1", "<p>Stand-alone diagnosis codes.</p>"],
            [
                "99003",
                "1",
                "2",
                "<p><strong>Group 2:</strong> covered only when billed in combination with a"
                " code from Group 3 (CKD &amp; long-term drug therapy).</p>",
            ],
            ["99003", "1", "3", "<p>Chronic kidney disease codes.</p>"],
        ],
    )
    return folder


def test_group_paragraphs_are_stored_and_quoted_in_the_finding(mdb, cli, tmp_path):
    folder = _article(tmp_path / "mcd")
    r = cli("codes", "load", "mcd-articles", folder, "--effective", "2026-10-01")
    assert r.exit_code == 0, r.output
    assert "3 group paragraph(s)" in r.stderr
    assert mdb.execute(
        "SELECT grp, paragraph FROM necessity_groups WHERE policy = 'A99003' ORDER BY grp"
    ).fetchall() == [
        (1, "Stand-alone diagnosis codes."),
        (
            2,
            "Group 2: covered only when billed in combination with a code from Group 3"
            " (CKD & long-term drug therapy).",
        ),
        (3, "Chronic kidney disease codes."),
    ]
    pid = _medicare(mdb)
    lab = (("82306", (), "1", 1, 4000),)
    only = add_encounter(mdb, pid, dx=("Z79.899",), lines=lab, dos=OCT)
    ((rule, sev, line, msg),) = _found(mdb, only)
    assert (rule, sev, line) == ("LCD-NECESSITY", "warning", 1)
    assert "82306 under article A99003" in msg and "covered only in combination" in msg
    assert "in combination with a code from Group 3 (CKD & long-term drug therapy)." in msg
    # pointing at both diagnoses (group 3 is no combination group): nothing to check; pointing
    # at the group 2 code only is the warning again
    both = add_encounter(
        mdb, pid, dx=("Z79.899", "N18.30"), lines=(("82306", (), "1,2", 1, 4000),), dos=OCT
    )
    assert _found(mdb, both) == []
    one = add_encounter(mdb, pid, dx=("Z79.899", "N18.30"), lines=lab, dos=OCT)
    assert [f[1] for f in _found(mdb, one)] == ["warning"]
    alone = add_encounter(mdb, pid, dx=("E55.9",), lines=lab, dos=OCT)
    assert _found(mdb, alone) == []  # a stand-alone group
    r = cli("codes", "necessity", "82306", "--dx", "Z79.899", "--date", OCT, "-f", "json")
    assert r.exit_code == 0, r.output
    (row,) = [x for x in json.loads(r.stdout) if x["policy"] == "article A99003"]
    assert row["supported"] is True and "Group 3 (CKD" in row["combination"]
