"""Times and durations as a person reads them (`5 min ago`, `1m05s`): one wording for the pages and the CLI.

Pure functions of the times they are given and of `now`, so both places (and their tests) agree on every word.
The store's times are aware UTC datetimes; local time is the machine's (the CLI) or, on pages, the browser's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

MINUTE, HOUR, DAY = 60, 3600, 86400
_AGO = ((MINUTE, 1, "s"), (HOUR, MINUTE, "min"), (DAY, HOUR, "h"))
"""Below each limit, a time ago is counted in that unit."""
_SPANS = ((MINUTE, 1, "ms"), (HOUR, MINUTE, "hm"), (DAY, HOUR, "dh"))
"""A length of time in two units, the larger first: `1m05s`, `2h03m`, `3d04h`."""


def ago(when: datetime | None, *, now: datetime) -> str:
    """How long ago `when` was, coarsely: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `yesterday`, `4 days ago`;
    beyond a week (or in the future by more than a minute, a clock skew), the local date."""
    if when is None:
        return ""
    seconds = (now - when).total_seconds()
    if seconds < -MINUTE or seconds >= 7 * DAY:
        return when.astimezone().strftime("%Y-%m-%d")
    if seconds < 10:
        return "just now"
    for limit, unit, word in _AGO:
        if seconds < limit:
            return f"{int(seconds // unit)} {word} ago"
    days = int(seconds // DAY)
    return "yesterday" if days == 1 else f"{days} days ago"


def local_time(when: datetime | None, *, now: datetime) -> str:
    """`when` on the local clock: `14:02` today, `2024-05-01 14:02` on another day."""
    if when is None:
        return ""
    local, today = when.astimezone(), now.astimezone()
    return local.strftime("%H:%M" if local.date() == today.date() else "%Y-%m-%d %H:%M")


def when(moment: datetime | None, *, now: datetime) -> str:
    """Both readings at once, for a table cell: `5 min ago (14:02)`."""
    if moment is None:
        return ""
    return f"{ago(moment, now=now)} ({local_time(moment, now=now)})"


def duration(started: datetime | None, finished: datetime | None, *, now: datetime) -> str:
    """How long something ran (`4s`, `1m05s`, `2h03m`), up to `now` while it still runs; "" before it started."""
    if started is None:
        return ""
    return span((finished or now) - started)


def span(length: timedelta) -> str:
    """A length of time in the units that matter: `4s`, `1m05s`, `2h03m`, `3d04h`."""
    seconds = max(0, int(length.total_seconds()))
    if seconds < MINUTE:
        return f"{seconds}s"
    big, small, names = _SPANS[0] if seconds < HOUR else _SPANS[1] if seconds < DAY else _SPANS[2]
    return f"{seconds // big}{names[0]}{seconds % big // small:02d}{names[1]}"
