"""`denial list --help` tells the clerk how Medicare corrections go (issue 12): a reopening, not
a corrected claim; MA130 resubmitted as a new claim, never appealed."""

from __future__ import annotations


def test_denial_list_help_mentions_reopening_and_ma130(cli):
    r = cli("denial", "list", "--help")
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())
    assert "request a reopening" in text and "Medicare" in text
    assert "405.980(b)(1)" in text  # the one-year clerical-error reopening rule
    assert "MA130" in text and "billadmin invoice resubmit" in text
