"""ingest.readers: the streaming CSV/XLSX reader and its clear messages for hostile files."""

from __future__ import annotations

import zipfile

import pytest

from billadmin.errors import BadInput
from billadmin.ingest import readers
from billadmin.ingest.readers import normalise_header, open_table


def _csv(tmp_path, data: bytes, name="f.csv"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_header_matching_is_case_space_and_punctuation_insensitive():
    assert (
        normalise_header(" Date of Service ")
        == normalise_header("date_of_service")
        == normalise_header("DATE-OF-SERVICE")
    )
    assert normalise_header("\ufeffMRN") == "mrn"
    assert normalise_header("Mod 1") == normalise_header("mod1")
    assert normalise_header("First Name") != normalise_header("Last Name")


def test_csv_bom_crlf_multiline_and_blank_rows_keep_spreadsheet_row_numbers(tmp_path):
    p = _csv(tmp_path, b'\xef\xbb\xbfMRN,Note\r\n001,a\r\n\r\n002,"two\r\nlines"\r\n003,c\r\n')
    with open_table(p) as t:
        assert t.headers == ["MRN", "Note"]
        assert t.file == "f.csv"
        rows = list(t)
    assert rows == [(2, ["001", "a"]), (4, ["002", "two\r\nlines"]), (5, ["003", "c"])]


def test_cp1252_only_when_asked_and_never_guessed(tmp_path):
    p = _csv(tmp_path, "MRN,City\n001,Sa\xf1o\n".encode("cp1252"))
    with pytest.raises(BadInput) as e:
        list(open_table(p))
    assert (
        "row 2" in e.value.message and "cp1252" in e.value.message and "Sa" not in e.value.message
    )
    assert list(open_table(p, encoding="cp1252")) == [(2, ["001", "Sa\u00f1o"])]
    with pytest.raises(BadInput, match="unknown encoding"):
        open_table(p, encoding="klingon")


def test_undecodable_byte_names_its_row_even_late_in_the_file(tmp_path):
    p = _csv(tmp_path, b"A,B\n" + b"1,x\n" * 50 + b"2,\xff\n")
    t = open_table(p)
    with pytest.raises(BadInput, match="row 52"):
        list(t)


def test_ragged_rows_and_nul_bytes_are_row_problems(tmp_path):
    p = _csv(tmp_path, b"A,B\n1,2\n3\n4,5,6\n7,8,\n9,a\x00b\n10,11\n")
    t = open_table(p)
    rows = list(t)
    assert rows == [(2, ["1", "2"]), (5, ["7", "8"]), (7, ["10", "11"])]
    msgs = [str(x) for x in t.problems]
    assert "f.csv, row 3: ragged row: 1 cells, the header has 2" in msgs
    assert any("row 4" in m and "ragged" in m and "unquoted comma" in m for m in msgs)
    assert "f.csv, row 6: contains a NUL byte" in msgs


def test_on_bad_row_hook_gets_the_cells(tmp_path):
    p = _csv(tmp_path, b"A,B\n1\n2,3\n")
    seen = []
    t = open_table(p, on_bad_row=lambda row, cells, prob: seen.append((row, cells, prob.reason)))
    assert list(t) == [(3, ["2", "3"])]
    assert seen[0][:2] == (2, ["1"]) and t.problems == []


def test_unterminated_quote_oversized_field_empty_and_header_only(tmp_path):
    with pytest.raises(BadInput, match="row 3: a quoted field is never closed"):
        list(open_table(_csv(tmp_path, b'A,B\n1,2\n3,"open\n4,5\n')))
    big = b"A,B\n1," + b"x" * (130 * 1024) + b"\n"
    with pytest.raises(BadInput, match="row 2: a field is over 128 KB"):
        list(open_table(_csv(tmp_path, big, "big.csv")))
    with pytest.raises(BadInput, match="the file is empty"):
        open_table(_csv(tmp_path, b"", "empty.csv"))
    with pytest.raises(BadInput, match="only a header row"):
        open_table(_csv(tmp_path, b"A,B\n\n", "head.csv"))
    assert list(open_table(_csv(tmp_path, b"A,B\n", "head2.csv"), allow_empty=True)) == []


def test_stray_quote_and_utf16_are_clear_errors(tmp_path):
    with pytest.raises(BadInput, match="row 2: malformed CSV"):
        list(open_table(_csv(tmp_path, b'A,B\n1,"x"y\n')))
    with pytest.raises(BadInput, match="UTF-16"):
        open_table(_csv(tmp_path, "A,B\n1,2\n".encode("utf-16"), "u16.csv"))


def test_missing_file_and_unsupported_formats(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        open_table(tmp_path / "nope.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(BadInput, match="save it as .xlsx or .csv"):
        open_table(tmp_path / "old.xls")
    with pytest.raises(BadInput, match="--sheet applies to .xlsx"):
        open_table(_csv(tmp_path, b"A\n1\n"), sheet="x")


def test_tsv_is_tab_separated(tmp_path):
    assert list(open_table(_csv(tmp_path, b"A\tB\n1,5\t2\n", "f.tsv"))) == [(2, ["1,5", "2"])]


def test_progress_reports_bytes(tmp_path):
    p = _csv(tmp_path, b"A\n" + b"1\n" * 100)
    t = open_table(p)
    list(t)
    done, total = t.progress()
    assert total == p.stat().st_size and done == total


# --- XLSX -----------------------------------------------------------------------------------


def _book(path, build):
    from openpyxl import Workbook

    wb = Workbook()
    build(wb)
    wb.save(path)
    return path


def test_xlsx_first_visible_sheet_values_and_real_row_numbers(tmp_path):
    import datetime as dt

    def build(wb):
        hidden = wb.active
        hidden.title = "Old"
        hidden.sheet_state = "hidden"
        hidden.append(["X"])
        hidden.append(["ignored"])
        ws = wb.create_sheet("Patients")
        ws.append(["MRN", "DOB", "Visits"])
        ws.append(["0012", dt.datetime(1980, 5, 1), 3])
        ws.append([])
        ws.append(["0013", None, None])

    p = _book(tmp_path / "p.xlsx", build)
    with open_table(p) as t:
        assert t.file == "p.xlsx[Patients]" and t.headers == ["MRN", "DOB", "Visits"]
        rows = list(t)
    assert rows == [(2, ["0012", dt.datetime(1980, 5, 1), 3]), (4, ["0013", "", ""])]
    with open_table(p, sheet="Old") as t:
        assert list(t) == [(2, ["ignored"])]
    with pytest.raises(BadInput, match="no sheet named 'Nope'.*'Old', 'Patients'"):
        open_table(p, sheet="Nope")


def test_xlsx_formula_without_cached_value_and_error_values(tmp_path):
    def build(wb):
        ws = wb.active
        ws.append(["MRN", "Charge"])
        ws.append(["1", "=2*3"])  # openpyxl writes formulas without a cached value
        ws.append(["2", "7"])

    p = _book(tmp_path / "f.xlsx", build)
    t = open_table(p)
    assert list(t) == [(3, ["2", "7"])]
    assert [str(x) for x in t.problems] == [
        "f.xlsx[Sheet], row 2, column 'Charge': formula without a saved value: open the file in Excel and save it "
        "again, or paste values"
    ]


def test_xlsx_formula_with_cached_value_is_read_as_its_value(tmp_path):
    # Excel saves <f> and <v>; craft that in the sheet XML
    p = _book(
        tmp_path / "c.xlsx",
        lambda wb: (wb.active.append(["A", "B"]), wb.active.append(["1", "=1+1"])),
    )
    src = zipfile.ZipFile(p)
    out = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = (
                    data.replace(b"<f>1+1</f><v></v>", b"<f>1+1</f><v>2</v>").replace(
                        b"<f>1+1</f>", b"<f>1+1</f><v>2</v>"
                    )
                    if b"<v>2</v>" not in data
                    else data
                )
            z.writestr(info, data)
    t = open_table(out)
    assert list(t) == [(2, ["1", 2])] and t.problems == []


def test_xlsx_merged_cells_in_the_data_range_are_refused(tmp_path):
    def build(wb):
        ws = wb.active
        ws.append(["MRN", "Name"])
        ws.append(["1", "a"])
        ws.append(["2", "b"])
        ws.merge_cells("A2:A3")

    with pytest.raises(BadInput, match=r"merged cells A2:A3 inside the data range"):
        open_table(_book(tmp_path / "m.xlsx", build))


def test_xlsx_zip_bomb_refused_before_openpyxl(tmp_path, monkeypatch):
    p = _book(tmp_path / "ok.xlsx", lambda wb: (wb.active.append(["A"]), wb.active.append(["1"])))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zipfile.ZipFile(p).infolist():
            z.writestr(info.filename, zipfile.ZipFile(p).read(info.filename))
        z.writestr("xl/media/zeros.bin", b"\0" * 3_000_000)
    monkeypatch.setattr(readers, "RATIO_FLOOR", 1_000_000)
    with pytest.raises(BadInput, match="zip bomb"):
        open_table(bomb)
    monkeypatch.setattr(readers, "RATIO_FLOOR", 10**12)
    monkeypatch.setattr(readers, "MAX_XLSX_UNCOMPRESSED", 2_000_000)
    with pytest.raises(BadInput, match="declares .* bytes uncompressed"):
        open_table(bomb)
    not_zip = tmp_path / "fake.xlsx"
    not_zip.write_text("MRN\n1\n")
    with pytest.raises(BadInput, match="not an .xlsx file"):
        open_table(not_zip)
