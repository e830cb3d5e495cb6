"""Safe, size-bounded YAML reading: text to one node tree per document, never to Python objects.

Only `null` and the merge key `<<` are resolved implicitly; every other plain
scalar keeps the text written (YAML 1.1 would turn `yes` into True and `1.10`
into 1.1). Aliases stay visible as `AliasNode` so the builder can place them
and bound how much they expand.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML without libyaml
    _WITH_LIBYAML = False
else:
    _WITH_LIBYAML = True

from yaml.composer import Composer, ComposerError
from yaml.error import Mark, MarkedYAMLError, YAMLError
from yaml.events import AliasEvent, Event, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from pipeline_queue.errors import SpecError

MAX_BYTES = 1024 * 1024
"""Largest pipeline file accepted, in bytes (Drone's own limit is of the same order)."""

NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"

ComposedNode: TypeAlias = ScalarNode | SequenceNode | MappingNode
"""The nodes PyYAML's composer makes."""


@dataclass(frozen=True)
class AliasNode:
    """Where `*name` was written, and the node it refers to."""

    anchor: str
    target: ComposedNode
    start_mark: Mark


class _TextResolver(BaseResolver):
    """Resolves null and `<<` only: everything else is a string."""


_TextResolver.yaml_implicit_resolvers = {}
_TextResolver.add_implicit_resolver(
    NULL_TAG, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_TextResolver.add_implicit_resolver(MERGE_TAG, re.compile(r"^<<$"), ["<"])


class _AliasComposer(Composer, _TextResolver):
    """PyYAML's composer with our resolver, keeping aliases as `AliasNode`."""

    if TYPE_CHECKING:  # supplied by the parser each reader mixes in: PyYAML's Parser or libyaml's CParser

        def check_event(self, *choices: type[Event]) -> bool: ...
        def peek_event(self) -> Any: ...
        def get_event(self) -> Any: ...

    # The ignore: PyYAML's stubs say a composer returns a Node, and ours also returns AliasNode, on
    # purpose no Node subclass, so that yamlbuild's AnyNode makes each reader of the tree handle aliases.
    def compose_node(self, parent: Node | None, index: object) -> ComposedNode | AliasNode:  # type: ignore[override]
        # Unlike PyYAML, keep the alias (for its position) and let a later anchor
        # of the same name replace an earlier one, as YAML allows.
        if self.check_event(AliasEvent):
            event = self.get_event()
            if event.anchor not in self.anchors:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
            # the composer stores only the nodes it made under an anchor; the stubs say Node
            return AliasNode(event.anchor, cast(ComposedNode, self.anchors[event.anchor]), event.start_mark)
        anchor = self.peek_event().anchor
        self.descend_resolver(parent, index)
        node: ComposedNode
        if self.check_event(ScalarEvent):
            node = self.compose_scalar_node(anchor)
        elif self.check_event(SequenceStartEvent):
            node = self.compose_sequence_node(anchor)
        else:
            assert self.check_event(MappingStartEvent)
            node = self.compose_mapping_node(anchor)
        self.ascend_resolver()
        return node


class _PureNodeReader(Reader, Scanner, Parser, _AliasComposer):
    """Everything in Python: used when PyYAML was built without libyaml."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _TextResolver.__init__(self)


if _WITH_LIBYAML:

    class _FastNodeReader(_AliasComposer, CParser):
        """libyaml scans and parses (twenty times faster on a 1 MiB file); Python composes."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            _TextResolver.__init__(self)

    _NodeReader: type = _FastNodeReader
else:
    _NodeReader = _PureNodeReader


def decode(source: str | bytes, *, filename: str) -> str:
    """Check the size limit on the bytes, then decode UTF-8 (or UTF-16 with a byte-order mark)."""
    size = len(source) if isinstance(source, bytes) else _encoded_size(source)
    if size > MAX_BYTES:
        raise SpecError(
            f"file is {size} bytes; pipeline files may be at most {MAX_BYTES} bytes (1 MiB)",
            file=filename, line=1, col=1,
        )
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    encoding = "utf-16" if source.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return source.decode(encoding)
    except UnicodeDecodeError as error:
        before = source[: error.start]
        line = before.count(b"\n") + 1
        col = error.start - (before.rfind(b"\n") + 1) + 1
        label = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise SpecError(f"file is not valid {label} (byte offset {error.start})",
                        file=filename, line=line, col=col) from None


def _encoded_size(text: str) -> int:
    if len(text) * 4 <= MAX_BYTES:  # cannot be over the limit: skip encoding
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def compose_documents(text: str, *, filename: str) -> Iterator[ComposedNode | None]:
    """Yield each document's root node in order (None for an empty document)."""
    _check_printable(text, filename=filename)
    reader = _NodeReader(text)
    try:
        while reader.check_node():
            root = reader.get_node()
            yield None if root.tag == NULL_TAG else root
    except MarkedYAMLError as error:
        raise _syntax_error(error, text, filename=filename) from None
    except RecursionError:
        raise SpecError("YAML nesting is too deep", file=filename, line=1, col=1) from None
    except YAMLError as error:
        raise SpecError(f"invalid YAML: {error}", file=filename, line=1, col=1) from None
    finally:
        reader.dispose()


def _check_printable(text: str, *, filename: str) -> None:
    """YAML's character set, checked here so both parsers report it the same way."""
    found = Reader.NON_PRINTABLE.search(text)
    if found is None:
        return
    before = text[: found.start()]
    line, col = before.count("\n") + 1, found.start() - (before.rfind("\n") + 1) + 1
    raise SpecError(f"character U+{ord(found.group()):04X} is not allowed in YAML",
                    file=filename, line=line, col=col)


def _syntax_error(error: MarkedYAMLError, text: str, *, filename: str) -> SpecError:
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    if mark is None:
        return SpecError(message, file=filename, line=1, col=1)
    if _character_at(text, mark.line, mark.column) == "\t":
        message += "; YAML indents with spaces, not tabs"
    return SpecError(message, file=filename, line=mark.line + 1, col=mark.column + 1)


def _character_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line + 1)
    return lines[line][column : column + 1] if line < len(lines) else ""
