import pytest

from billadmin import npi


def test_cms_example():
    # CMS's worked example: 123456789 -> check digit 3
    assert npi.check_digit("123456789") == 3
    assert npi.is_valid("1234567893")
    assert not npi.is_valid("1234567890")


@pytest.mark.parametrize(
    "bad,reason",
    [
        ("", "empty"),
        ("123456789", "10 digits"),
        ("12345678A3", "10 digits"),
        ("1234567894", "check digit"),
    ],
)
def test_problems(bad, reason):
    assert reason in npi.problem(bad)


def test_make_is_valid():
    for first9 in ("100000000", "999999999", "174839201"):
        assert npi.is_valid(npi.make(first9))
        assert npi.problem(npi.make(first9)) is None
