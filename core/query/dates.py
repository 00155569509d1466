"""Dates in a text query: "beach last summer", "snow in December 2021", "photos from 2019".

A small parser of our own: dateparser and its kin turn one date phrase into one instant, while
a photo search needs ranges ("last summer" is June to August) and must leave the rest of the
words for the model. Seasons follow the northern hemisphere's meteorological seasons.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {name: i for i, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"], 1)
    for name in names.split()}
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_SEASON = "|".join(SEASONS)
_YEAR = r"(?:19|20)\d\d"
_PREP = r"(?:(?:photos?|pictures?|videos?|taken)\s+)?(?:in|from|during|of|on)\s+(?:the\s+)?"


def day_start(day: dt.date) -> float:
    """The start of a day as a Unix time, its wall-clock midnight read as UTC: the catalog
    compares it with each photo's own local time (taken_at + taken_offset; see
    core/media/metadata.py), so a day is that day where the photo was taken."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


@dataclass(frozen=True)
class DateRange:
    """[after, before) as dates; `phrase` is the text it came from, `label` what to show."""

    after: dt.date | None
    before: dt.date | None
    phrase: str
    label: str

    def bounds(self) -> tuple[float | None, float | None]:
        """Unix times for Query.after / Query.before: each day's start (`day_start`)."""
        return tuple(None if d is None else day_start(d) for d in (self.after, self.before))


def _month_start(year: int, month: int) -> dt.date:
    year += (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def _months(year: int, month: int, count: int) -> tuple[dt.date, dt.date]:
    return _month_start(year, month), _month_start(year, month + count)


def _season(name: str, year: int) -> tuple[dt.date, dt.date]:
    """Winter 2021 is December 2021 to February 2022."""
    return _months(year, SEASONS[name], 3)


def _fmt(after: dt.date, before: dt.date) -> str:
    last = before - dt.timedelta(days=1)
    if after.month == 1 and after.day == 1 and before == dt.date(after.year + 1, 1, 1):
        return str(after.year)
    if after.day == 1 and before == _month_start(after.year, after.month + 1):
        return after.strftime("%b %Y")
    if after.day == 1 and before.day == 1:
        return f"{after.strftime('%b %Y')} – {last.strftime('%b %Y')}"
    if after == last:
        return after.isoformat()
    return f"{after.isoformat()} – {last.isoformat()}"


def _rules(today: dt.date):
    """(pattern, function of the match → (after, before)), most specific first."""
    y = today.year

    def last_season(m):
        name = m.group("s").lower()
        start = _season(name, y)
        if m.group("w").lower() == "this":
            # "this winter" in February is the one that started last December
            return start if start[0] <= today else _season(name, y - 1)
        # "last summer": the most recent one that has ended ("last winter" in January is the
        # winter before the one in progress, which began in December)
        year = y
        while _season(name, year)[1] > today:
            year -= 1
        return _season(name, year)

    def season_year(m):
        return _season(m.group("s").lower(), int(m.group("y")))

    def month_year(m):
        return _months(int(m.group("y")), MONTHS[m.group("m").lower()], 1)

    def year_range(m):
        a, b = sorted((int(m.group("a")), int(m.group("b"))))
        return dt.date(a, 1, 1), dt.date(b + 1, 1, 1)

    def iso_day(m):
        d = dt.date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
        return d, d + dt.timedelta(days=1)

    def iso_month(m):
        return _months(int(m.group("y")), int(m.group("mo")), 1)

    def year(m):
        return dt.date(int(m.group("y")), 1, 1), dt.date(int(m.group("y")) + 1, 1, 1)

    def since(m):
        return dt.date(int(m.group("y")), 1, 1), None

    def before(m):
        return None, dt.date(int(m.group("y")), 1, 1)

    def after(m):
        return dt.date(int(m.group("y")) + 1, 1, 1), None

    def ago(m):
        n, unit = int(m.group("n")), m.group("u").lower().rstrip("s")
        if unit == "year":
            return dt.date(y - n, 1, 1), dt.date(y - n + 1, 1, 1)
        return _months(y, today.month - n, 1)

    def relative(m):
        w, unit = m.group("w").lower(), m.group("u").lower()
        back = 1 if w == "last" else 0
        if unit == "year":
            return dt.date(y - back, 1, 1), dt.date(y - back + 1, 1, 1)
        if unit == "month":
            return _months(y, today.month - back, 1)
        start = today - dt.timedelta(days=today.weekday() + 7 * back)  # weeks start on Monday
        return start, start + dt.timedelta(days=7)

    def day(m):
        d = today - dt.timedelta(days=1 if m.group(0).lower() == "yesterday" else 0)
        return d, d + dt.timedelta(days=1)

    return [
        (rf"\b(?P<w>last|this)\s+(?P<s>{_SEASON})\b", last_season),
        (rf"\b(?:(?:in|during)\s+)?(?:the\s+)?(?P<s>{_SEASON})\s+(?:of\s+)?(?P<y>{_YEAR})\b",
         season_year),
        (rf"\b(?:(?:in|from|during)\s+)?(?P<m>{_MONTH})\.?\s+(?:of\s+)?(?P<y>{_YEAR})\b",
         month_year),
        (rf"\b(?:(?:from|between)\s+)?(?P<a>{_YEAR})\s*(?:-|–|to|and|until)\s*(?P<b>{_YEAR})\b",
         year_range),
        (rf"\b(?:on\s+)?(?P<y>{_YEAR})-(?P<mo>\d\d)-(?P<d>\d\d)\b", iso_day),
        (rf"\b(?:in\s+)?(?P<y>{_YEAR})-(?P<mo>\d\d)\b", iso_month),
        (rf"\b{_PREP}(?P<y>{_YEAR})\b", year),
        (rf"\bsince\s+(?P<y>{_YEAR})\b", since),
        (rf"\bbefore\s+(?P<y>{_YEAR})\b", before),
        (rf"\bafter\s+(?P<y>{_YEAR})\b", after),
        (r"\b(?P<n>\d{1,2})\s+(?P<u>years?|months?)\s+ago\b", ago),
        (r"\b(?P<w>last|this)\s+(?P<u>year|month|week)\b", relative),
        (r"\b(?:yesterday|today)\b", day),
    ]


def find_date(text: str, today: dt.date | None = None,
              ignore: frozenset[str] = frozenset()) -> tuple[str, DateRange | None]:
    """(the text without its date phrase, the date range) — or (text, None).

    A bare year ("Lisbon 2019") is left alone: it may be part of a folder's name. A year
    needs a word before it ("in 2019", "photos from 2019") to become a date. Phrases in
    `ignore` (ones the user dismissed) are left in the text.
    """
    today = today or dt.date.today()
    for pattern, to_range in _rules(today):
        for match in re.finditer(pattern, text, re.IGNORECASE):
            phrase = match.group(0).strip()
            if phrase.lower() in ignore:
                continue
            try:
                after, before = to_range(match)
            except ValueError:  # "2021-13-40"
                continue
            rest = " ".join((text[:match.start()] + " " + text[match.end():]).split())
            rest = re.sub(r"^(?:photos?|pictures?|videos?)$", "", rest, flags=re.IGNORECASE)
            if after and before:
                label = _fmt(after, before)
            elif after:
                label = f"since {after.isoformat() if after.month > 1 else after.year}"
            else:
                label = f"before {before.year if before.month == 1 else before.isoformat()}"
            return rest, DateRange(after, before, phrase, label)
    return text, None
