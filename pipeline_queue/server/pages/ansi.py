"""A step's log as HTML: its ANSI colours become CSS classes, everything else is escaped text.

Pure and safe by construction: the only markup emitted is `<span class="...">` with class names from a fixed set;
every character of the log goes through `html.escape`. A strict Content-Security-Policy forbids inline styles, so
256-colour and 24-bit colours are drawn in the nearest of the 16 terminal colours. Other escape sequences (cursor
moves, erasing, window titles, hyperlinks) are dropped; a carriage return starts its line over, as a terminal does
with progress bars.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import Any

_ESCAPES = re.compile(
    r"\x1b\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"  # CSI: colours (final `m`) and cursor control
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]?"  # any other escape, or a lone ESC
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # other control characters (tab, newline and CR are kept)
)

# xterm's 16 colours, for drawing 256-colour and 24-bit colours in the nearest of them.
_PALETTE = (
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
    (255, 255, 255),
)
_CUBE = (0, 95, 135, 175, 215, 255)


@dataclass(frozen=True)
class Style:
    """The SGR attributes in force; colours are indexes 0-15 into the terminal palette, None for the default."""

    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False
    fg: int | None = None
    bg: int | None = None

    def classes(self) -> str:
        fg, bg = (self.bg, self.fg) if self.inverse else (self.fg, self.bg)
        if self.inverse:  # no colour to swap with: the terminal's own, light on dark
            fg, bg = (0 if fg is None else fg), (7 if bg is None else bg)
        names = [name for name, on in (("ab", self.bold), ("ad", self.dim), ("ai", self.italic),
                                       ("au", self.underline)) if on]
        names += [f"f{fg}"] if fg is not None else []
        names += [f"b{bg}"] if bg is not None else []
        return " ".join(names)


PLAIN = Style()


def render(text: str, style: Style = PLAIN) -> tuple[list[str], Style]:
    """The HTML of each line of `text` (a last line without its newline included) and the style at its end, for
    rendering what follows; each line opens and closes its own spans, so lines can be shown one by one."""
    if not text:
        return [], style
    pieces = text.split("\n")
    if text.endswith("\n"):
        pieces.pop()
    lines = []
    for piece in pieces:
        line, style = _line(piece.removesuffix("\r"), style)
        lines.append(line)
    return lines, style


def plain(text: str) -> str:
    """`text` without any escape sequence: the log as a file shows it."""
    return _ESCAPES.sub("", text)


def _line(text: str, style: Style) -> tuple[str, Style]:
    runs: list[tuple[str, Style]] = []
    position = 0
    for match in _ESCAPES.finditer(text):
        runs.extend(_text_runs(text[position:match.start()], style))
        position = match.end()
        if match.group("final") == "m":
            style = _sgr(match.group("params"), style)
    runs.extend(_text_runs(text[position:], style))
    if any(chunk == "\r" for chunk, _ in runs):
        runs = _after_last_return(runs)
    return "".join(_span(chunk, run_style) for chunk, run_style in runs), style


def _text_runs(text: str, style: Style) -> list[tuple[str, Style]]:
    """`text` as runs, each carriage return a run of its own."""
    return [(chunk, style) for chunk in re.split(r"(\r)", text) if chunk]


def _after_last_return(runs: list[tuple[str, Style]]) -> list[tuple[str, Style]]:
    """What a terminal shows once the line was drawn over: the text after the last carriage return that has any."""
    segments: list[list[tuple[str, Style]]] = [[]]
    for chunk, style in runs:
        if chunk == "\r":
            segments.append([])
        else:
            segments[-1].append((chunk, style))
    return next((segment for segment in reversed(segments) if segment), [])


def _span(chunk: str, style: Style) -> str:
    escaped = html.escape(chunk, quote=False)
    classes = style.classes()
    return f'<span class="{classes}">{escaped}</span>' if classes else escaped


_ATTRIBUTES: dict[int, dict[str, Any]] = {
    1: {"bold": True}, 2: {"dim": True}, 3: {"italic": True}, 4: {"underline": True}, 7: {"inverse": True},
    22: {"bold": False, "dim": False}, 23: {"italic": False}, 24: {"underline": False}, 27: {"inverse": False},
    39: {"fg": None}, 49: {"bg": None},
}
"""SGR codes that set or clear one attribute (colours are ranges: `_sgr`)."""


def _sgr(params: str, style: Style) -> Style:
    """`style` after one SGR sequence (`ESC[...m`); unknown codes change nothing."""
    codes = [int(code) if code.isdigit() else 0 for code in re.split(r"[;:]", params)] if params else [0]
    index = 0
    while index < len(codes):
        code = codes[index]
        index += 1
        if code == 0:
            style = PLAIN
        elif code in _ATTRIBUTES:
            style = replace(style, **_ATTRIBUTES[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            style = replace(style, fg=code - 30 if code < 90 else code - 82)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            style = replace(style, bg=code - 40 if code < 100 else code - 92)
        elif code in (38, 48):
            colour, index = _extended(codes, index)
            style = replace(style, fg=colour) if code == 38 else replace(style, bg=colour)
    return style


def _extended(codes: list[int], index: int) -> tuple[int | None, int]:
    """A `38;5;N` or `38;2;R;G;B` colour (the part after 38 or 48) as a palette index, and where the next code is."""
    kind = codes[index] if index < len(codes) else None
    if kind == 5 and index + 1 < len(codes):
        return _indexed(codes[index + 1]), index + 2
    if kind == 2 and index + 3 < len(codes):
        red, green, blue = codes[index + 1:index + 4]
        return _nearest((red, green, blue)), index + 4
    return None, len(codes)  # malformed: ignore the rest of the sequence


def _indexed(number: int) -> int | None:
    if not 0 <= number <= 255:
        return None
    if number < 16:
        return number
    if number >= 232:
        grey = 8 + (number - 232) * 10
        return _nearest((grey, grey, grey))
    cube = number - 16
    return _nearest((_CUBE[cube // 36], _CUBE[cube // 6 % 6], _CUBE[cube % 6]))


def _nearest(rgb: tuple[int, int, int]) -> int:
    return min(range(16), key=lambda i: sum((a - b) ** 2 for a, b in zip(_PALETTE[i], rgb, strict=True)))
