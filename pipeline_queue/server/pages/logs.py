"""A step's log on a page: what the page shows at first, and what a live page is sent as the log grows.

Lines are counted from the log's first line; a page says how many it has (`next`), and the stream sends the lines
after those. A running step's last line is held back until its newline comes (it may still grow); a finished step's
log is final and shown whole. Rendering carries the ANSI style from one batch of lines to the next.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from markupsafe import Markup

from pipeline_queue.server.pages import ansi
from pipeline_queue.server.pages.render import safe_lines
from pipeline_queue.store.records import LogRecord

SHOWN_LINES = 2000
"""Lines a page shows of a log at first (the last ones); the whole log is a link away."""


TAIL = 64
"""Characters of the log a stream remembers to tell a grown log from a replaced one."""


@dataclass(frozen=True)
class LogView:
    """What the page shows of one step's log when it is loaded."""

    lines: list[Markup]
    next: int
    """How many lines of the log this page accounts for (shown or skipped); the stream goes on from there."""
    skipped: int = 0
    truncated: bool = False


def shown_text(record: LogRecord | None, *, final: bool) -> str:
    """The part of the log a page may show now: all of it once final, else up to its last newline."""
    text = record.text if record else ""
    return text if final else text[: text.rfind("\n") + 1]


def log_view(record: LogRecord | None, *, final: bool) -> LogView:
    lines, _ = ansi.render(shown_text(record, final=final))
    skipped = max(0, len(lines) - SHOWN_LINES)
    return LogView(lines=safe_lines(lines[skipped:]), next=len(lines), skipped=skipped,
                   truncated=bool(record and record.truncated))


@dataclass
class LogCursor:
    """How far a live page has a step's log: `lines` it has, and (once read here) the characters they came from."""

    lines: int = 0
    chars: int = -1
    """-1 until this stream has read the log once (a page only says how many lines it has)."""
    style: ansi.Style = field(default=ansi.PLAIN)
    tail: str = ""
    """The last characters sent, to notice a log that was replaced rather than grown."""
    status: str = ""
    done: bool = False
    """Final and all sent: nothing more will come."""

    def advance(self, record: LogRecord | None, *, status: str, final: bool) -> dict[str, object] | None:
        """The `log` event that brings the page up to date (new lines, a new status), or None when it is."""
        shown = shown_text(record, final=final)
        reset = self.chars >= 0 and shown[max(0, self.chars - len(self.tail)):self.chars] != self.tail
        if self.chars < 0 or reset:  # not read here yet, or replaced (`log withheld: ...`): from the start
            every, self.style = ansi.render(shown)
            start = 0 if reset else min(self.lines, len(every))
            new = every[start:]
        else:
            start = self.lines
            new, self.style = ansi.render(shown[self.chars:], self.style)
        changed = bool(new) or reset or status != self.status
        self.chars, self.lines, self.status, self.done = len(shown), start + len(new), status, final
        self.tail = shown[-TAIL:]
        if not changed:
            return None
        return {"from": start, "lines": new, "status": status, "final": final, "reset": reset}


@dataclass
class StreamState:
    """What a live build page has: the digest of its summary, and how many lines of each log with the status its log
    panel shows. Written as `DIGEST|STEP:LINES:STATUS,...`, it is the page's first `since` and every event's id, which
    the browser sends back (`Last-Event-ID`) when it reconnects."""

    summary: str = ""
    cursors: dict[int, LogCursor] = field(default_factory=dict)

    def format(self) -> str:
        lines = ",".join(f"{step}:{cursor.lines}:{cursor.status}" for step, cursor in sorted(self.cursors.items()))
        return f"{self.summary}|{lines}"

    @classmethod
    def parse(cls, text: str) -> StreamState:
        """The state a page or an event id says; malformed parts are ignored (those logs are sent from the start)."""
        summary, _, lines = text.partition("|")
        cursors = {}
        for part in lines.split(","):
            step, _, rest = part.partition(":")
            count, _, status = rest.partition(":")
            if step.isdigit() and count.isdigit() and (status.isalpha() or not status):
                cursors[int(step)] = LogCursor(lines=int(count), status=status)
        return cls(summary=summary, cursors=cursors)


def digest(text: str) -> str:
    """A short digest of rendered HTML, to tell whether a page already shows it."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]
