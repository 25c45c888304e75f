"""The X12 tokenizer: delimiters from the ISA, terminators followed by newlines, several
interchanges, unpadded ISA fields, and refusal of what is not X12."""

from __future__ import annotations

import pytest

from billadmin.x12 import reader

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260314*1200*^*00501*000000001*0*P*:~"


def test_separators_from_isa():
    seps, end = reader.separators(ISA + "GS*HP~")
    assert seps == reader.Separators("*", ":", "^", "~")
    assert (ISA + "GS*HP~")[end:] == "GS*HP~"


def test_other_delimiters_and_401_repetition():
    isa = ISA.replace("*", "|").replace("^", "U").replace(":", ">").replace("~", "\n")
    text = isa + "ST|835|1\nSE|2|1\nIEA|1|000000001\n"
    ic = reader.interchanges(text)[0]
    assert ic.separators == reader.Separators("|", ">", None, "\n")
    assert [s[0] for s in ic.segments] == ["ISA", "ST", "SE", "IEA"]
    assert ic.segments[1] == ["ST", "835", "1"]


def test_terminator_followed_by_crlf_and_spaces():
    text = (
        "\ufeff\r\n  "
        + ISA
        + "\r\nGS*HP*A~\r\n\r\n  ST*835*0001~\nSE*2*0001~\r\nGE*1*1~\r\nIEA*1*000000001~\r\n"
    )
    segs = reader.segments(text.encode("utf-8"))
    assert [s[0] for s in segs] == ["ISA", "GS", "ST", "SE", "GE", "IEA"]


def test_components_and_repeats():
    ic = reader.interchanges(ISA + "SVC*HC:99213:25:59*100~IEA*1*000000001~")[0]
    svc = ic.segments[1]
    assert ic.components(svc[1]) == ["HC", "99213", "25", "59"]
    assert ic.repeats("A^B") == ["A", "B"]
    assert reader.element(svc, 2) == "100"
    assert reader.element(svc, 9, "x") == "x"


def test_unpadded_isa_fields():
    isa = "ISA*00**00**ZZ*S*ZZ*R*260314*1200*^*00501*1*0*P*:~"
    ic = reader.interchanges(isa + "ST*835*1~IEA*1*1~")[0]
    assert ic.separators.segment == "~" and ic.separators.component == ":"
    assert ic.segments[1] == ["ST", "835", "1"]


def test_two_interchanges_with_different_delimiters():
    second = ISA.replace("*", "|").replace("~", "!").replace(":", ">")
    text = ISA + "ST*835*1~IEA*1*000000001~\n" + second + "ST|835|2!IEA|1|000000001!"
    ics = reader.interchanges(text)
    assert len(ics) == 2
    assert ics[1].separators.element == "|"
    assert ics[1].segments[1] == ["ST", "835", "2"]
    assert ics[1].first_segment == 4


def test_iea_after_newlines_still_closes_the_interchange():
    text = ISA + "ST*835*1~\n\nIEA*1*000000001~\n" + ISA + "ST*835*2~IEA*1*000000001~"
    ics = reader.interchanges(text)
    assert [len(ic.segments) for ic in ics] == [3, 3]


def test_latin1_bytes_are_read():
    segs = reader.segments((ISA + "N1*PR*CAF\xc9~IEA*1*1~").encode("latin-1"))
    assert segs[1] == ["N1", "PR", "CAF\xc9"]


@pytest.mark.parametrize(
    "text, msg",
    [
        ("", "empty"),
        ("hello world", "does not start with an ISA"),
        ("ISA*00*x", "incomplete"),
        ("ISAA00", "no usable element separator"),
    ],
)
def test_not_x12_is_refused(text, msg):
    with pytest.raises(reader.X12SyntaxError, match=msg):
        reader.interchanges(text)


def test_garbage_after_the_envelope_is_refused():
    with pytest.raises(reader.X12SyntaxError, match="outside any ISA"):
        reader.interchanges(ISA + "IEA*1*000000001~junk here")


def test_newline_as_terminator_with_two_interchanges():
    isa = ISA.replace("~", "\n")
    text = isa + "ST*835*1\r\nIEA*1*000000001\r\n" + isa + "ST*835*2\nIEA*1*000000001\n"
    ics = reader.interchanges(text)
    assert [[s[0] for s in ic.segments] for ic in ics] == [["ISA", "ST", "IEA"]] * 2
    assert ics[0].segments[1] == ["ST", "835", "1"]
