"""`import institutional --help` points the clerk at the template that has every column."""

from __future__ import annotations


def test_import_institutional_help_names_the_template(cli, tmp_path):
    r = cli("import", "institutional", "--help", db=False)
    assert r.exit_code == 0, r.output
    assert "billadmin import template institutional -o ub04.xlsx" in r.output
    # the example it shows works: the template is written where it says
    out = tmp_path / "ub04.xlsx"
    r = cli("import", "template", "institutional", "-o", out, db=False)
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"PK")  # an xlsx (zip) file
