"""Tables a clerk can read at 80 and 120 columns (issue 14): money, ids and dates never wrap;
prose folds; when even the one-word columns cannot fit, rows become vertical blocks."""

from __future__ import annotations

import pytest

from billadmin import render

ROWS = [
    {
        "claim": "C000123",
        "mrn": "0100007",
        "payer": "KEY",
        "date_of_service": "2026-06-11",
        "0_30_cents": 1498900,
        "31_60_cents": 0,
        "total_cents": 1498900,
        "what_to_do": "information missing or invalid on the claim: correct and resubmit",
    },
    {
        "claim": "C000124",
        "mrn": "0100008",
        "payer": "MCR",
        "date_of_service": "2026-06-12",
        "0_30_cents": 2000,
        "31_60_cents": 123456789,
        "total_cents": 123458789,
        "what_to_do": "paid as part of another service: appeal only with documentation",
    },
]
ONE_WORD = ["C000123", "C000124", "0100007", "2026-06-11", "14,989.00", "1,234,567.89"]


@pytest.mark.parametrize("width", [80, 120])
def test_one_word_values_never_wrap(width, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(width))
    render.emit(ROWS, title="Aging")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    for value in ONE_WORD:
        assert any(value in line for line in lines), (value, out)


def test_narrow_terminal_gets_vertical_blocks(monkeypatch, capsys):
    many = [{f"col{i}": f"VALUE-{i:02d}-XYZ" for i in range(12)} for _ in range(2)]
    monkeypatch.setenv("COLUMNS", "80")
    render.emit(many, title="Wide")
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    # one field per line: each value is whole, next to its field name
    for i in range(12):
        assert any(f"col{i}" in line and f"VALUE-{i:02d}-XYZ" in line for line in out.splitlines())
    monkeypatch.setenv("COLUMNS", "250")
    render.emit(many, title="Wide")
    wide = capsys.readouterr().out
    assert any("col0" in line and "col11" in line for line in wide.splitlines())  # a header row


def test_markup_in_data_prints_as_written(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "120")
    render.emit([{"name": "[/] [link=http://x]click[/link]", "n": "1"}], title="[bold]t[/]")
    out = capsys.readouterr().out
    assert "[/] [link=http://x]click[/link]" in out and "[bold]t[/]" in out
