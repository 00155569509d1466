"""The date-range dialog, the CLI and dates in words agree on where a day starts."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.usefixtures("qapp")


def test_a_picked_range_covers_whole_days_as_words_and_the_cli_do():
    from PySide6.QtCore import QDate

    from core.cli.parser import parse_day
    from core.query.dates import find_date
    from desktop.search.daterange import DateRangeDialog

    dialog = DateRangeDialog()
    dialog.start.setDate(QDate(2021, 7, 16))  # picked in either order
    dialog.end.setDate(QDate(2021, 7, 14))
    after, before, label = dialog.range()
    assert after == parse_day("2021-07-14") == dt.datetime(2021, 7, 14, tzinfo=dt.timezone.utc
                                                           ).timestamp()
    assert before == parse_day("2021-07-17")  # the last day is included whole
    assert find_date("photos from 2021-07-14", dt.date(2024, 1, 1))[1].bounds()[0] == after
    assert "2021-07-14" in label and "2021-07-16" in label
