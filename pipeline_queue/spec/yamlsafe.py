"""Safe, size-bounded YAML reading: text to one node tree per document, never to Python objects.

Only `null` and the merge key `<<` are resolved implicitly; every other plain
scalar keeps the text written (YAML 1.1 would turn `yes` into True and `1.10`
into 1.1). Aliases stay visible as `AliasNode` so the builder can place them
and bound how much they expand. Nesting is bounded here, while composing, so
that no input reaches Python's recursion limit.
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

MAX_DEPTH = 100
"""Deepest nesting accepted (collections around a node); Drone files are rarely deeper than eight.

The composer recurses twice per level, so 100 levels stay far below Python's recursion limit of 1000.
"""

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


class _NestingError(Exception):
    """Raised by the composer at the first node nested deeper than MAX_DEPTH; `compose_documents` places it."""

    def __init__(self, mark: Mark) -> None:
        super().__init__(f"nesting is deeper than {MAX_DEPTH} levels")
        self.mark = mark


class _AliasComposer(Composer, _TextResolver):
    """PyYAML's composer with our resolver, keeping aliases as `AliasNode` and refusing deep nesting."""

    _open_collections = 0

    if TYPE_CHECKING:  # supplied by the parser each reader mixes in: PyYAML's Parser or libyaml's CParser

        def check_event(self, *choices: type[Event]) -> bool: ...
        def peek_event(self) -> Any: ...
        def get_event(self) -> Any: ...

    # The ignore: PyYAML's stubs say a composer returns a Node, and ours also returns AliasNode, on
    # purpose no Node subclass, so that yamlbuild's AnyNode makes each reader of the tree handle aliases.
    def compose_node(self, parent: Node | None, index: object) -> ComposedNode | AliasNode:  # type: ignore[override]
        if self._open_collections > MAX_DEPTH:
            raise _NestingError(self.peek_event().start_mark)
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
        else:
            self._open_collections += 1
            if self.check_event(SequenceStartEvent):
                node = self.compose_sequence_node(anchor)
            else:
                assert self.check_event(MappingStartEvent)
                node = self.compose_mapping_node(anchor)
            self._open_collections -= 1
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


def compose_documents(text: str, *, filename: str, reveal: bool = True) -> Iterator[ComposedNode | None]:
    """Yield each document's root node in order (None for an empty document).

    `reveal=False` (a file of secrets) keeps every piece of the input out of error messages.
    """
    _check_printable(text, filename=filename, reveal=reveal)
    reader = _NodeReader(text)
    try:
        while reader.check_node():
            root = reader.get_node()
            yield None if root.tag == NULL_TAG else root
    except _NestingError as error:
        raise SpecError(str(error), file=filename, line=error.mark.line + 1, col=error.mark.column + 1) from None
    except MarkedYAMLError as error:
        raise _syntax_error(error, text, filename=filename, reveal=reveal) from None
    except RecursionError:  # not expected below MAX_DEPTH; kept so that no input can end in a traceback
        raise SpecError("YAML nesting is too deep", file=filename, line=1, col=1) from None
    except YAMLError as error:
        message = f"invalid YAML: {error}" if reveal else "not valid YAML"
        raise SpecError(message, file=filename, line=1, col=1) from None
    finally:
        reader.dispose()


def _check_printable(text: str, *, filename: str, reveal: bool) -> None:
    """YAML's character set, checked here so both parsers report it the same way."""
    found = Reader.NON_PRINTABLE.search(text)
    if found is None:
        return
    before = text[: found.start()]
    line, col = before.count("\n") + 1, found.start() - (before.rfind("\n") + 1) + 1
    character = f"character U+{ord(found.group()):04X}" if reveal else "a non-printable character"
    raise SpecError(f"{character} is not allowed in YAML", file=filename, line=line, col=col)


def _syntax_error(error: MarkedYAMLError, text: str, *, filename: str, reveal: bool) -> SpecError:
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    if not reveal:
        # PyYAML quotes (%r) every piece of the input it puts in a message; libyaml's messages quote none.
        message = "not valid YAML" if "'" in message or '"' in message else f"not valid YAML ({message})"
    if mark is None:
        return SpecError(message, file=filename, line=1, col=1)
    if _character_at(text, mark.line, mark.column) == "\t":
        message += "; YAML indents with spaces, not tabs"
    return SpecError(message, file=filename, line=mark.line + 1, col=mark.column + 1)


def _character_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line + 1)
    return lines[line][column : column + 1] if line < len(lines) else ""
