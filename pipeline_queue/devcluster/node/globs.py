"""Go's `path/filepath.Match` for one host label of a registry key, as the kubelet's keyring applies it.

A pattern is compiled once into tokens (literal, `?`, `*`, character class); a malformed one matches nothing,
as the kubelet treats Go's ErrBadPattern as "no match".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SEPARATOR = "/"
"""`*` and `?` never match the path separator (Unix filepath)."""


@dataclass(frozen=True)
class _Class:
    """`[...]`: inclusive code point ranges, maybe negated with `^`; a class may match the separator."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool

    def matches(self, char: str) -> bool:
        inside = any(low <= ord(char) <= high for low, high in self.ranges)
        return inside != self.negated


@dataclass(frozen=True)
class _Literal:
    """One character that must be there as written (after any `\\` escape)."""

    char: str


class _Wild(Enum):
    STAR = "*"
    """Any run of characters but the separator, the empty one included."""
    ANY = "?"
    """Any one character but the separator."""


_Token = _Wild | _Literal | _Class


def glob_match(pattern: str, name: str) -> bool:
    """Whether `name` matches the Go glob `pattern`; False for a malformed pattern."""
    tokens = _compile(pattern)
    return tokens is not None and _run(tokens, name)


def _compile(pattern: str) -> list[_Token] | None:
    """The pattern's tokens, or None when Go would report ErrBadPattern."""
    tokens: list[_Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            tokens.append(_Wild.STAR)
            index += 1
        elif char == "?":
            tokens.append(_Wild.ANY)
            index += 1
        elif char == "[":
            parsed = _compile_class(pattern, index + 1)
            if parsed is None:
                return None
            token, index = parsed
            tokens.append(token)
        elif char == "\\":
            if index + 1 >= len(pattern):
                return None  # a trailing backslash escapes nothing
            tokens.append(_Literal(pattern[index + 1]))
            index += 2
        else:
            tokens.append(_Literal(char))
            index += 1
    return tokens


def _compile_class(pattern: str, index: int) -> tuple[_Class, int] | None:
    """A class starting after its `[`: the class and the index after its `]`, or None if malformed."""
    negated = pattern.startswith("^", index)
    index += negated
    ranges: list[tuple[int, int]] = []
    while not (ranges and pattern.startswith("]", index)):
        low = _class_char(pattern, index)
        if low is None:
            return None
        low_char, index = low
        high_char = low_char
        if pattern.startswith("-", index):
            high = _class_char(pattern, index + 1)
            if high is None:
                return None
            high_char, index = high
        ranges.append((ord(low_char), ord(high_char)))
    return _Class(tuple(ranges), negated), index + 1


def _class_char(pattern: str, index: int) -> tuple[str, int] | None:
    """One (maybe escaped) character of a class and the index after it; a bare `-` or `]` is malformed."""
    if index >= len(pattern) or pattern[index] in "-]":
        return None
    if pattern[index] == "\\":
        index += 1
        if index >= len(pattern):
            return None
    # The class must still be closed after this character.
    if index + 1 >= len(pattern):
        return None
    return pattern[index], index + 1


def _run(tokens: list[_Token], name: str) -> bool:
    """Match by tracking every position of `name` the tokens so far can end at."""
    positions = {0}
    for token in tokens:
        if token is _Wild.STAR:
            positions = _after_star(positions, name)
        else:
            positions = {at + 1 for at in positions if at < len(name) and _accepts(token, name[at])}
        if not positions:
            return False
    return len(name) in positions


def _after_star(positions: set[int], name: str) -> set[int]:
    """A star consumes any run of characters up to (not over) a separator."""
    reached: set[int] = set()
    for start in positions:
        end = start
        reached.add(end)
        while end < len(name) and name[end] != SEPARATOR:
            end += 1
            reached.add(end)
    return reached


def _accepts(token: _Token, char: str) -> bool:
    """Whether a one-character token takes `char`."""
    if isinstance(token, _Class):
        return token.matches(char)
    if isinstance(token, _Literal):
        return token.char == char
    return token is _Wild.ANY and char != SEPARATOR
