"""Input and output hygiene (issue 13): data is never markup, errors never quote a data row,
every read of patient data is audited (list commands included), PHI can come from stdin instead
of argv, and dates and digits at the edges are refused."""

from __future__ import annotations

import csv
import datetime as dt
import json

import fault_helpers as fh
import invoice_fixtures as fx
import pytest

from billadmin import dates, money, render
from billadmin import db as dbmod
from billadmin.errors import BadInput

MARKUP = "[/][link=https://evil.example]Click[/link][bold]"


def _audits(db, action: str) -> int:
    return db.execute("SELECT count(*) FROM audit_log WHERE action = ?", (action,)).fetchone()[0]


@pytest.fixture
def practice(db):
    """A practice whose name, a patient's name and a note all hold rich markup."""
    with dbmod.write(db):
        fx.practice(db, name="Smith " + MARKUP)
        p = fx.patient(db, "1001", "Ann" + MARKUP, "Able[/]")
        fx.coverage(db, p, "KEY")
        fx.encounter(db, p, "2026-06-01", [("99213", 14000)], number="E1")
    from billadmin.accounts import notes

    notes.add_note(db, "1001", "Said: " + MARKUP)
    return db


# ---- tables: data is plain text ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["patient", "list"],
        ["patient", "show", "1001"],
        ["note", "list"],
        ["note", "list", "1001"],
        ["practice", "show"],
    ],
)
def test_markup_in_data_prints_literally(practice, cli, args):
    r = cli(*args)
    assert r.exit_code == 0, r.output
    assert "[/]" in r.stdout and "[link=https://evil.example]" in r.stdout
    assert "\x1b]8;" not in r.stdout  # no terminal hyperlink


def test_markup_in_any_cell_or_title_is_plain(capsys):
    """The one table writer every listing uses (reconcile keys, 835 payer names, titles)."""
    render.emit(
        [{"key": "A[/]1", "payer": "ACME [link=x]ins[/link]", "paid_cents": 100}],
        title="Run [/]" + MARKUP,
    )
    out = capsys.readouterr().out
    assert "A[/]1" in out and "ACME [link=x]ins[/link]" in out and "[/][/][link=" in out


# ---- errors never quote a data row ------------------------------------------------------------


def test_csv_without_header_row_never_prints_the_first_row(cli, tmp_path):
    from billadmin import demo

    assert cli("init").exit_code == 0
    f = tmp_path / "patients.csv"
    with open(f, "w", newline="") as fh_:
        w = csv.writer(fh_)
        w.writerow([fh.SENTINEL.get(h, "") for h in demo.HEADERS["patients"]])
        w.writerow([fh.SENTINEL.get(h, "") for h in demo.HEADERS["patients"]])
    r = cli("import", "patients", f)
    assert r.exit_code == 2, r.output
    assert "does not look like a header row" in r.stderr
    fh.assert_no_phi(r.stderr, "stderr of an import without a header row")
    fh.assert_no_phi(r.stdout, "stdout of an import without a header row")


def test_headers_are_still_named_when_they_look_like_headers(cli, tmp_path):
    assert cli("init").exit_code == 0
    f = tmp_path / "patients.csv"
    f.write_text("MRN,Frist Name,Last Name,DOB,Sex\n1,A,B,1950-01-01,F\n")
    r = cli("import", "patients", f)
    assert r.exit_code == 2 and "'Frist Name'" in r.stderr


# ---- every read of patient data is audited ------------------------------------------------------


@pytest.mark.parametrize(
    "args,action",
    [
        (["patient", "list"], "patient list"),
        (["patient", "list", "-f", "csv", "-o", "{tmp}/p.csv"], "patient list"),
        (["note", "list"], "note list"),
        (["payment", "list"], "payment list"),
        (["invoice", "list"], "invoice list"),
    ],
)
def test_list_commands_record_an_audit_row(practice, cli, tmp_path, args, action):
    before = _audits(practice, action)
    r = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert r.exit_code == 0, r.output
    assert _audits(practice, action) == before + 1


def test_list_domain_functions_audit_for_python_callers(practice):
    from billadmin import patients
    from billadmin.accounts import payments
    from billadmin.billing import lifecycle

    for fn, action in [
        (lambda: patients.patient_list(practice, search="able"), "patient list"),
        (lambda: payments.list_payments(practice), "payment list"),
        (lambda: lifecycle.list_invoices(practice), "invoice list"),
    ]:
        before = _audits(practice, action)
        fn()
        assert _audits(practice, action) == before + 1, action
    detail = practice.execute(
        "SELECT detail FROM audit_log WHERE action = 'patient list' ORDER BY id DESC LIMIT 1"
    ).fetchone()[0]
    assert "able" not in detail.lower()  # the search term is never recorded


# ---- PHI from stdin, not argv -----------------------------------------------------------------


@pytest.mark.parametrize("argv_text", [["-"], []])
def test_note_text_from_stdin(practice, cli, argv_text):
    r = cli("note", "add", "1001", *argv_text, "-f", "json", input="Promised 40.00 on the 15th\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["text"] == "Promised 40.00 on the 15th"


def test_note_text_empty_stdin_is_usage(practice, cli):
    r = cli("note", "add", "1001", "-", input="")
    assert r.exit_code == 2 and "standard input" in r.stderr


def test_patient_search_from_stdin(practice, cli):
    r = cli("patient", "list", "--search", "-", "-f", "json", input="able\n")
    assert r.exit_code == 0, r.output
    assert [p["mrn"] for p in json.loads(r.stdout)] == ["1001"]


# ---- dates and digits at the edges ------------------------------------------------------------


@pytest.mark.parametrize("text", ["9999-12-31", "1899-12-31", "２０２６-０１-０１", "٢٠٢٦-٠١-٠١"])
def test_dates_outside_the_range_or_ascii_are_refused(text):
    with pytest.raises(dates.DateError):
        dates.parse_date(text)


def test_option_dates_at_the_edges(practice):
    for text in ("1900-01-01", "1999-12-31", "9999-12-31"):
        with pytest.raises(BadInput) as ei:
            dates.parse_option(text, "--date")
        assert "--date" in ei.value.message and text not in ei.value.message
    assert dates.parse_option("2026-06-30", "--date") == dt.date(2026, 6, 30)


@pytest.mark.parametrize("when", ["1900-01-01", "9999-12-31"])
def test_payment_date_at_the_edges_is_usage(practice, cli, when):
    r = cli("payment", "post", "1001", "10.00", "--method", "cash", "--date", when)
    assert r.exit_code == 2, r.output
    assert "--date" in r.stderr and "internal error" not in r.stderr.lower()


@pytest.mark.parametrize(
    "dob,why",
    [("1980-01-02T10:30:00", "time of day"), ("9999-12-31", "future"), ("1899-05-05", "1900")],
)
def test_birth_dates_at_the_edges_name_row_and_column(cli, tmp_path, dob, why):
    assert cli("init").exit_code == 0
    f = tmp_path / "patients.csv"
    f.write_text(f"MRN,First Name,Last Name,DOB,Sex\n5001,Ann,Able,{dob},F\n")
    r = cli("import", "patients", f)
    assert r.exit_code == 2, r.output
    assert "row 2" in r.stderr and "'DOB'" in r.stderr and why in r.stderr
    assert dob not in r.stderr


@pytest.mark.parametrize("text", ["١٢.٣٤", "１２.３４", "12.3٤", "$１"])
def test_amounts_with_digits_outside_ascii_are_refused(text):
    with pytest.raises(money.MoneyError, match="ASCII"):
        money.parse_cents(text)


def test_payment_amount_outside_ascii_is_usage(practice, cli):
    r = cli("payment", "post", "1001", "١٠.٠٠", "--method", "cash")
    assert r.exit_code == 2, r.output
