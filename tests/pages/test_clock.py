"""Times and durations in the words both the pages and the command line use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline_queue.server.pages.clock import ago, duration, local_time, span, when

NOW = datetime(2024, 5, 1, 14, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "just now"), (9, "just now"), (42, "42 s ago"), (60, "1 min ago"), (3599, "59 min ago"), (3600, "1 h ago"),
    (86399, "23 h ago"), (86400, "yesterday"), (4 * 86400, "4 days ago"), (-30, "just now"),
])
def test_ago(seconds, words):
    assert ago(NOW - timedelta(seconds=seconds), now=NOW) == words


def test_long_ago_and_the_future_are_dates():
    assert ago(NOW - timedelta(days=30), now=NOW) == (NOW - timedelta(days=30)).astimezone().strftime("%Y-%m-%d")
    assert ago(NOW + timedelta(hours=2), now=NOW) == (NOW + timedelta(hours=2)).astimezone().strftime("%Y-%m-%d")
    assert ago(None, now=NOW) == "" and when(None, now=NOW) == ""


def test_local_time_is_the_clock_today_and_the_date_before():
    recent = NOW - timedelta(minutes=5)
    assert local_time(recent, now=NOW) == recent.astimezone().strftime("%H:%M")
    earlier = NOW - timedelta(days=3)
    assert local_time(earlier, now=NOW) == earlier.astimezone().strftime("%Y-%m-%d %H:%M")
    assert when(NOW - timedelta(minutes=5), now=NOW).startswith("5 min ago (")


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "0s"), (4, "4s"), (65, "1m05s"), (3600, "1h00m"), (2 * 3600 + 3 * 60 + 9, "2h03m"),
    (3 * 86400 + 4 * 3600, "3d04h"), (-5, "0s"),
])
def test_span(seconds, words):
    assert span(timedelta(seconds=seconds)) == words


def test_duration_runs_up_to_now_until_it_finishes():
    started = NOW - timedelta(seconds=75)
    assert duration(started, None, now=NOW) == "1m15s"
    assert duration(started, started + timedelta(seconds=3), now=NOW) == "3s"
    assert duration(None, None, now=NOW) == ""
