"""What a page shows of a log and what a live page is sent as it grows: no line twice, none lost."""

from __future__ import annotations

from pipeline_queue.server.pages.logs import SHOWN_LINES, LogCursor, StreamState, log_view
from pipeline_queue.store.records import LogRecord


def log(text: str) -> LogRecord:
    return LogRecord(step_id=1, text=text, truncated=False)


def test_a_running_log_holds_back_its_last_line_until_its_newline():
    view = log_view(log("one\ntw"), final=False)
    assert [str(line) for line in view.lines] == ["one"] and view.next == 1
    assert [str(line) for line in log_view(log("one\ntw"), final=True).lines] == ["one", "tw"]


def test_a_long_log_shows_its_last_lines_and_counts_the_rest():
    view = log_view(log("".join(f"{n}\n" for n in range(SHOWN_LINES + 5))), final=True)
    assert view.skipped == 5 and view.next == SHOWN_LINES + 5 and str(view.lines[0]) == "5"


def test_a_cursor_sends_each_line_once_and_the_status_when_it_changes():
    cursor = LogCursor(lines=1)  # the page has line 0
    first = cursor.advance(log("one\ntwo\nthr"), status="running", final=False)
    assert first == {"from": 1, "lines": ["two"], "status": "running", "final": False, "reset": False}
    assert cursor.advance(log("one\ntwo\nthr"), status="running", final=False) is None
    assert cursor.advance(log("one\ntwo\nthree\n"), status="running", final=False)["lines"] == ["three"]
    end = cursor.advance(log("one\ntwo\nthree\n"), status="success", final=True)
    assert end == {"from": 3, "lines": [], "status": "success", "final": True, "reset": False} and cursor.done


def test_a_style_carries_from_one_batch_to_the_next():
    cursor = LogCursor()
    cursor.advance(log("\x1b[31mred\n"), status="running", final=False)
    assert cursor.advance(log("\x1b[31mred\nstill\n"), status="running", final=False)["lines"] == [
        '<span class="f1">still</span>']


def test_a_shorter_log_than_was_sent_starts_the_page_over():
    cursor = LogCursor()
    cursor.advance(log("a\nb\n"), status="running", final=False)
    change = cursor.advance(log("log withheld: x\n"), status="error", final=True)
    assert change["reset"] and change["from"] == 0 and change["lines"] == ["log withheld: x"]


def test_the_state_reads_back_as_written_and_ignores_what_it_cannot_read():
    state = StreamState(summary="abc", cursors={3: LogCursor(lines=7, status="running"), 1: LogCursor(lines=0)})
    assert state.format() == "abc|1:0:,3:7:running"
    again = StreamState.parse(state.format())
    assert again.summary == "abc"
    assert {step: (cursor.lines, cursor.status) for step, cursor in again.cursors.items()} == {
        1: (0, ""), 3: (7, "running")}
    assert StreamState.parse("x|1:a,b:2,,5:5,6:1:x y,7:2:ok").cursors.keys() == {5, 7}
    assert StreamState.parse("").summary == ""
