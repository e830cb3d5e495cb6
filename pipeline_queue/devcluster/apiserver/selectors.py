"""Label and field selectors with the grammar and matching rules of apimachinery's `labels` and `fields`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import bad_request
from .metadata import label_key_problem, label_value_problem
from .resources import Resource

_SPECIAL = "=!(),<>"
_OPERATORS = ("!=", "==", "=", "(", ")", ",", "!", ">", "<")
_MATCHERS: dict[str, Callable[[str | None, frozenset[str]], bool]] = {
    "exists": lambda value, _: value is not None,
    "!": lambda value, _: value is None,
    "=": lambda value, values: value is not None and value in values,
    "==": lambda value, values: value is not None and value in values,
    "in": lambda value, values: value is not None and value in values,
    "!=": lambda value, values: value is None or value not in values,
    "notin": lambda value, values: value is None or value not in values,
    ">": lambda value, values: _compare_int(value, values, greater=True),
    "<": lambda value, values: _compare_int(value, values, greater=False),
}


def _compare_int(value: str | None, values: frozenset[str], *, greater: bool) -> bool:
    if value is None:
        return False
    try:
        have, want = int(value), int(next(iter(values)))
    except ValueError:
        return False
    return have > want if greater else have < want


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return _MATCHERS[self.operator](labels.get(self.key), self.values)


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return all(r.matches(labels or {}) for r in self.requirements)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator:
            tokens.append(operator)
            i += len(operator)
            continue
        start = i
        while i < len(text) and not text[i].isspace() and text[i] not in _SPECIAL:
            i += 1
        tokens.append(text[start:i])
    return tokens


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def parse(self) -> LabelSelector:
        requirements: list[Requirement] = []
        while self.peek() is not None:
            try:
                requirements.append(self.requirement())
            except ValueError as error:
                raise ValueError(f"unable to parse requirement: {error}") from None
            separator = self.take()
            if separator is None:
                break
            if separator != ",":
                raise ValueError(f"found '{separator}', expected: ',' or 'end of string'")
            if self.peek() is None:
                raise ValueError("found '', expected: identifier after ','")
        return LabelSelector(tuple(requirements))

    def requirement(self) -> Requirement:
        negated = self.peek() == "!"
        if negated:
            self.take()
        key = self.take()
        if key is None or key in _OPERATORS:
            raise ValueError(f"found '{key or ''}', expected: identifier")
        if problem := label_key_problem(key):
            raise ValueError(f"key: Invalid value: {_quote(key)}: {problem}")
        if negated:
            return Requirement(key, "!", frozenset())
        if self.peek() in (None, ","):
            return Requirement(key, "exists", frozenset())
        operator = self.take() or ""
        if operator in ("in", "notin"):
            values = self.value_list()
        elif operator in ("=", "==", "!=", ">", "<"):
            values = self.exact_value()
        else:
            raise ValueError(f"found '{operator}', expected: '=', '!=', '==', 'in', notin'")
        return _requirement(key, operator, values=values)

    def exact_value(self) -> frozenset[str]:
        if self.peek() in (None, ","):
            return frozenset({""})
        value = self.take() or ""
        if value in _OPERATORS:
            raise ValueError(f"found '{value}', expected: identifier")
        return frozenset({value})

    def value_list(self) -> frozenset[str]:
        if self.take() != "(":
            raise ValueError("found '', expected: '('")
        values: set[str] = set()
        expect_value = True
        while True:
            item = self.take()
            if item is None:
                raise ValueError("found '', expected: ')'")
            if item == ")":
                if expect_value:
                    values.add("")
                return frozenset(values)
            if item == ",":
                if expect_value:
                    values.add("")
                expect_value = True
            elif item in _OPERATORS or not expect_value:
                raise ValueError(f"found '{item}', expected: ',', ')' or identifier")
            else:
                values.add(item)
                expect_value = False


def _requirement(key: str, operator: str, *, values: frozenset[str]) -> Requirement:
    if operator in (">", "<"):
        try:
            int(next(iter(values)))
        except ValueError:
            raise ValueError("for 'Gt', 'Lt' operators, the value must be an integer") from None
        return Requirement(key, operator, values)
    for index, value in enumerate(sorted(values)):
        if problem := label_value_problem(value):
            raise ValueError(f"values[{index}][{key}]: Invalid value: {_quote(value)}: {problem}")
    return Requirement(key, operator, values)


def parse_labels(text: str) -> LabelSelector:
    """Parse a label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`); ApiError 400 when malformed."""
    try:
        return _LabelParser(text or "").parse()
    except ValueError as error:
        raise bad_request(str(error)) from error


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: `(field, operator, value)` terms that must all hold."""

    terms: tuple[tuple[str, str, str], ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for field, operator, value in self.terms:
            equal = field_value(obj, field) == value
            if equal != (operator != "!="):
                return False
        return True


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            current, escaped = current + char, True
        elif char == separator:
            parts, current = [*parts, current], ""
        else:
            current += char
    return [*parts, current]


def _unescape(value: str) -> str:
    out, escaped = "", False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise ValueError(f"invalid field selector value: {value!r}: invalid escape sequence")
            out, escaped = out + char, False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise ValueError(f"invalid field selector value: {value!r}: unescaped {char} in value")
        else:
            out += char
    return out


def _term(selector: str, part: str) -> tuple[str, str, str]:
    for i in range(len(part)):
        for operator in ("!=", "==", "="):
            if part.startswith(operator, i):
                return part[:i].strip(), operator, _unescape(part[i + len(operator):])
    raise ValueError(f"invalid selector: '{selector}'; can't understand '{part}'")


def parse_fields(text: str, resource: Resource) -> FieldSelector:
    """Parse a field selector against the fields `resource` supports; ApiError 400 otherwise."""
    try:
        terms = tuple(_term(text, part) for part in _split_unescaped(text or "", ",") if part)
    except ValueError as error:
        raise bad_request(str(error)) from error
    for field, _, _ in terms:
        if field not in resource.field_labels():
            raise bad_request(f'field label not supported: {field}')
    return FieldSelector(terms)


def field_value(obj: Mapping[str, Any], field: str) -> str:
    """The string a field selector compares, as the real server's selectable-fields functions render it."""
    path = "source.component" if field == "source" else field
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None and field in ("spec.hostNetwork", "spec.unschedulable"):
        value = False
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Filter:
    """Which objects a list or watch sees: a namespace (or all) plus both selectors."""

    namespace: str | None = None
    labels: LabelSelector = LabelSelector()
    fields: FieldSelector = FieldSelector()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(obj)


def make_filter(resource: Resource, namespace: str | None, *, labels: str = "", fields: str = "") -> Filter:
    """Parse both selectors for `resource`; ApiError 400 for either one malformed."""
    return Filter(namespace or None, parse_labels(labels), parse_fields(fields, resource))


def _quote(text: str) -> str:
    return json.dumps(text)
