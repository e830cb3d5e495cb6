"""The grammar of drone/envsubst v1.0.3, which Drone's runners use: `${...}` expressions in a string."""

# As envsubst, not bash: `$NAME` without braces is left alone; in plain text `$$` is `$` and `\\`, `\/`
# are `\`, `/`; `${a-b}` and `${a+b}` are errors; an expression's arguments are one text or one
# nested `${...}`, except a default's, which may mix them.

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from pipeline_queue.compiler.envsubst_funcs import DEFAULT_OPERATORS, apply
from pipeline_queue.errors import CompileError

_ESCAPES = ("$$", "\\\\", "\\/")
_MAX_NESTING = 64

Accept = Callable[[str, int], bool]
"""Whether a token takes a character, given the token's length counting that character."""


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """`text` with every `${...}` evaluated; a name without a value is an empty string."""
    return parse(text).render(variables)


def parse(text: str) -> Template:
    """The expressions in `text`; raises CompileError ("bad substitution at character N: ...")."""
    return Template(tuple(_Parser(text).parse()))


@dataclass(frozen=True)
class Call:
    """`${param<operator><args>}`: an argument is text or another call."""

    param: str
    operator: str = ""
    args: tuple[Node, ...] = ()


Node = str | Call


@dataclass(frozen=True)
class Template:
    """A parsed string: text and calls, in order."""

    nodes: tuple[Node, ...]

    def render(self, variables: Mapping[str, str]) -> str:
        return "".join(_render(node, variables) for node in self.nodes)

    @property
    def names_without_default(self) -> frozenset[str]:
        """Variables the text uses with no default to fall back on (`${a}`, `${a#b}`, not `${a:-b}`)."""
        return frozenset(_names_without_default(self.nodes))


def _render(node: Node, variables: Mapping[str, str]) -> str:
    if isinstance(node, str):
        return node
    # envsubst evaluates the arguments first, even a default that is not used
    args = [_render(arg, variables) for arg in node.args]
    return apply(node.operator, variables.get(node.param, ""), args=args)


def _names_without_default(nodes: tuple[Node, ...]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, Call):
            names |= _names_without_default(node.args)
            if node.operator not in DEFAULT_OPERATORS:
                names.add(node.param)
    return names


class _Token(Enum):
    END = "end"
    ILLEGAL = "illegal"
    TEXT = "text"
    OPEN = "${"
    CLOSE = "}"


class _Parser:
    """Recursive descent over one string with envsubst's token rules, which decide its quirks."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0
        self.opened: list[int] = []  # where each `${` being parsed starts

    def parse(self) -> list[Node]:
        nodes: list[Node] = []
        while self.pos < len(self.text):
            kind, text = self._token(lambda char, size: True, opening=True, escapes=True)
            nodes.append(self._call() if kind is _Token.OPEN else text)
        return nodes

    def _token(
        self, accept: Accept, *, ident: bool = True, opening: bool = False, closing: bool = False, escapes: bool = False
    ) -> tuple[_Token, str]:
        text, start = self.text, self.pos
        if start >= len(text):
            return _Token.END, ""
        if opening and text.startswith("${", start):
            self.pos += 2
            return _Token.OPEN, ""
        if closing and text[start] == "}":
            self.pos += 1
            return _Token.CLOSE, ""
        out: list[str] = []
        while ident and self.pos < len(text) and not (opening and out and text.startswith("${", self.pos)):
            if escapes and text[self.pos : self.pos + 2] in _ESCAPES:
                out.append(text[self.pos + 1])  # the escaped character is taken without asking `accept`
                self.pos += 2
            elif accept(text[self.pos], len(out) + 1):
                out.append(text[self.pos])
                self.pos += 1
            else:
                break
        return (_Token.TEXT, "".join(out)) if out else (_Token.ILLEGAL, "")

    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def _error(self, reason: str = "") -> CompileError:
        start = self.opened[-1] if self.opened else self.pos
        return CompileError(f"bad substitution at character {start + 1}" + (f": {reason}" if reason else ""))

    def _expect(self, accept: Accept, reason: str = "") -> str:
        kind, text = self._token(accept)
        if kind is not _Token.TEXT:
            raise self._error(reason)
        return text

    def _close(self, reason: str = "") -> None:
        if self._token(lambda char, size: False, ident=False, closing=True)[0] is not _Token.CLOSE:
            raise self._error(reason)

    def _argument(self, accept: Accept, *, escapes: bool = False) -> Node:
        kind, text = self._token(accept, opening=True, escapes=escapes)
        if kind is _Token.OPEN:
            return self._call()
        if kind is _Token.TEXT:
            return text
        raise self._error("unable to parse substitution within function")

    def _call(self) -> Call:
        """What follows a `${`, up to and with its `}`."""
        if len(self.opened) == _MAX_NESTING:
            raise self._error(f"expressions nested deeper than {_MAX_NESTING}")
        self.opened.append(self.pos - 2)
        if self._peek() == "#":
            self.pos += 1
            call = Call(self._expect(_is_name_char), "#")
            self._close()
        else:
            call = self._operation(self._expect(_is_name_char, "unable to parse variable name"))
        self.opened.pop()
        return call

    def _operation(self, name: str) -> Call:
        """The operator after a variable's name, its arguments and the closing `}`."""
        following = self._peek()
        if following == ":":
            if self._peek(1) in ("=", "-", "?", "+"):
                return self._default(name, self._expect(lambda char, size: char == ":" if size == 1 else size == 2))
            return self._substring(name)
        if following == "=":
            return self._default(name, self._expect(lambda char, size: size == 1 and char == "="))
        if following == "/":
            return self._replace(name)
        if following in (",", "^"):
            call = Call(name, self._expect(lambda char, size: char in ",^" and size < 3))
        elif following in ("#", "%"):
            operator = self._expect(lambda char, size: char == following and size < 3)
            call = Call(name, operator, (self._argument(_not_closing),))
        else:
            call = Call(name)
        self._close("" if call.operator else "missing closing brace")
        return call

    def _default(self, name: str, operator: str) -> Call:
        args = []
        while self._peek() != "}":
            args.append(self._argument(_not_closing))
        self._close()
        return Call(name, operator, tuple(args))

    def _substring(self, name: str) -> Call:
        operator = self._expect(lambda char, size: size == 1 and char == ":")
        offset = self._argument(lambda char, size: char not in ":}")
        kind, _ = self._token(lambda char, size: char == ":", closing=True)
        if kind is _Token.CLOSE:
            return Call(name, operator, (offset,))
        if kind is not _Token.TEXT:
            raise self._error()
        length = self._argument(_not_closing)
        self._close()
        return Call(name, operator, (offset, length))

    def _replace(self, name: str) -> Call:
        operator = self._expect(lambda char, size: char == "/" if size == 1 else size == 2 and char in "/#%")
        pattern = self._argument(lambda char, size: char != "/", escapes=True)
        self._expect(lambda char, size: char == "/")  # a run of slashes is one delimiter
        if self._peek() == "}":
            self._close()
            return Call(name, operator, (pattern,))
        replacement = self._argument(_not_closing, escapes=True)
        self._close()
        return Call(name, operator, (pattern, replacement))


def _is_name_char(char: str, size: int) -> bool:
    return char.isalpha() or char.isdecimal() or char == "_"


def _not_closing(char: str, size: int) -> bool:
    return char != "}"
