"""The operators of drone/envsubst v1.0.3 (`${a:-b}`, `${a#b}`, `${a/b/c}`, ...)."""

# As envsubst, not bash: `${a:+b}` and `${a:?b}` act as `${a:-b}`; lengths and offsets count UTF-8
# bytes; `#`/`%` patterns are globs whose `*` and `?` also match `/`; `/` patterns are literal text.

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline_queue.errors import CompileError
from pipeline_queue.registry.gostd import BadPatternError, path_match

Operator = Callable[[str, list[str]], str]
"""An operator applied to a variable's value and its evaluated arguments."""

DEFAULT_OPERATORS = frozenset({"=", ":=", ":-", ":?", ":+"})
_GO_INT = re.compile(r"[+-]?[0-9]+")


def apply(operator: str, value: str, *, args: list[str]) -> str:
    """`${name<operator><args>}` for a variable whose value is `value`; unknown operators keep the value."""
    return _OPERATORS.get(operator, _default)(value, args)


def _default(value: str, args: list[str]) -> str:
    return value or "".join(args)


def _length_or_trim(value: str, args: list[str]) -> str:
    return _trim_start(value, args[0], longest=False) if args else str(len(_utf8(value)))


def _substring(value: str, args: list[str]) -> str:
    data = _utf8(value)
    offset = _go_int(args[0])
    if offset is None:
        return value  # as bash, a position that is not a number leaves the value whole
    if offset < 0:
        offset = max(len(data) + offset, 0)
    length = _go_int(args[1]) if len(args) > 1 else len(data)
    if length is None:
        return value
    if offset + length >= len(data):
        return data[offset:].decode("utf-8", "replace")
    if length < 0:  # envsubst slices backwards here, and Go panics
        raise CompileError(f"bad substitution: the substring length {length} is negative")
    return data[offset : offset + length].decode("utf-8", "replace")


def _utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _go_int(text: str) -> int | None:
    """strconv.Atoi: optional sign, ASCII digits, 64 bits."""
    number = int(text) if _GO_INT.fullmatch(text) else None
    return number if number is not None and -(2**63) <= number < 2**63 else None


def _case(convert: Callable[[str], str], *, first: bool) -> Operator:
    def change_case(value: str, args: list[str]) -> str:
        head, tail = (value[:1], value[1:]) if first else (value, "")
        return "".join(convert(char) for char in head) + tail

    return change_case


def _upper(char: str) -> str:
    upper = char.upper()  # Go maps one character to one: `ß` stays `ß`
    return upper if len(upper) == 1 else char


def _lower(char: str) -> str:
    return char.lower()[:1]  # only `İ` lowers to two characters; Go gives its first, `i`


def _replace(count: int) -> Operator:
    def replace(value: str, args: list[str]) -> str:
        return value.replace(args[0], args[1] if len(args) > 1 else "", count)

    return replace


def _replace_prefix(value: str, args: list[str]) -> str:
    if len(args) != 2 or not value.startswith(args[0]):
        return value
    return args[1] + value[len(args[0]) :]


def _replace_suffix(value: str, args: list[str]) -> str:
    if len(args) != 2 or not value.endswith(args[0]):
        return value
    return value[: len(value) - len(args[0])] + args[1]


def _trim(*, longest: bool, end: bool) -> Operator:
    def trim(value: str, args: list[str]) -> str:
        if not end:
            return _trim_start(value, args[0], longest=longest)
        # envsubst trims a suffix by reversing the value and the pattern (so `[a-z]` reads `]z-a[`)
        return _trim_start(value[::-1], args[0][::-1], longest=longest)[::-1]

    return trim


def _trim_start(value: str, pattern: str, *, longest: bool) -> str:
    """Drop the shortest or longest non-empty prefix that matches; a malformed pattern drops nothing."""
    cut = 0
    try:
        for end in range(len(value), 0, -1):
            if _glob(pattern, value[:end]):
                cut = end
                if longest:
                    break
    except BadPatternError:
        return value
    return value[cut:]


def _glob(pattern: str, name: str) -> bool:
    """envsubst's copy of Go's `path.Match`, edited so that `*` and `?` match `/` too; per code point,
    as `_trim_start` cuts its prefixes per character.

    The copy predates Go 1.16, so after a mismatch it ignores a malformed rest that gostd rejects. No
    trim can tell: a malformed pattern matches nothing in either, and the value stays whole.
    """
    return path_match(pattern, name, stop_at_slash=False, code_points=True)


_OPERATORS: dict[str, Operator] = {
    "#": _length_or_trim,
    "##": _trim(longest=True, end=False),
    "%": _trim(longest=False, end=True),
    "%%": _trim(longest=True, end=True),
    ",": _case(_lower, first=True),
    ",,": _case(_lower, first=False),
    "^": _case(_upper, first=True),
    "^^": _case(_upper, first=False),
    ":": _substring,
    "/": _replace(1),
    "//": _replace(-1),
    "/#": _replace_prefix,
    "/%": _replace_suffix,
}
