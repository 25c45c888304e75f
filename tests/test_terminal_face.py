"""The terminal face (issue 14): what a clerk reads when an option, a column or a payer is not
what the command expected. Date options never suggest an option the command lacks; `remit list`
names payers one way; "adjusted" is one amount everywhere; key-like import columns that match
nothing stop the import; charge lines that carry only their own diagnoses (--line-diagnoses)."""

from __future__ import annotations

import pytest

from billadmin import dates
from billadmin.errors import BadInput

# --- date options never suggest --date-format -----------------------------------------------


def test_parse_option_never_suggests_date_format():
    with pytest.raises(BadInput) as e:
        dates.parse_option("03/01/2026", "--since")
    assert str(e.value).startswith("--since: not a date in YYYY-MM-DD form")
    assert "--date-format" not in str(e.value)


def test_file_dates_still_name_the_format_option():
    with pytest.raises(dates.DateError, match=r"use --date-format for others"):
        dates.parse_date("03/01/2026")
    with pytest.raises(dates.DateError) as e:
        dates.parse_date("03/01/2026", format_option=None)
    assert "--date-format" not in str(e.value)


@pytest.mark.parametrize(
    "args",
    [
        ("remit", "list", "--since", "03/01/2026"),
        ("report", "aging", "--as-of", "03/01/2026"),
        ("denial", "list", "--as-of", "03/01/2026"),
        ("payment", "list", "--from", "03/01/2026"),
        ("invoice", "list", "--since", "03/01/2026"),
        ("appeal", "list", "--as-of", "03/01/2026"),
    ],
)
def test_date_options_on_commands_without_date_format(db, cli, args):
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert f"{args[2]}: not a date in YYYY-MM-DD form" in r.stderr
    assert "--date-format" not in r.stderr


def test_import_date_cell_suggests_date_format(db, cli, tmp_path):
    f = tmp_path / "patients.csv"
    f.write_text("MRN,First Name,Last Name,DOB,Sex\n0001,Ann,Lee,02/03/1980,F\n", encoding="utf-8")
    r = cli("import", "patients", f)
    assert r.exit_code == 2, r.output
    assert "use --date-format for others" in r.stderr
