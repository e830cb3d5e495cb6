"""Turns a composed YAML node tree into plain data (dicts, lists, strings, None) and its positions.

It rejects duplicate keys, unknown tags and recursive aliases, applies merge
keys, and counts the nodes reached through aliases, over the whole file, so
that an alias bomb (billion laughs), or thousands of small ones in as many
documents, fails after a bounded amount of work.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeAlias

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from pipeline_queue.errors import SpecError
from pipeline_queue.spec.document import Path, Position, quote
from pipeline_queue.spec.yamlsafe import MAX_DEPTH, MERGE_TAG, NULL_TAG, AliasNode, ComposedNode

MAX_ALIAS_NODES = 100_000
"""Most nodes that aliases may expand to in one file, all its documents together.

Real files stay far below (200 steps merging a ten-key template expand to about 2,000). A 1 MiB
file composes at most about 500,000 nodes of its own; this bound keeps what aliases add to a
fraction of that, however the file splits it among documents (anchors do not cross documents,
but the budget does).
"""

_YAML = "tag:yaml.org,2002:"
_TEXT_TAGS = frozenset(_YAML + name for name in ("str", "int", "float", "bool", "timestamp", "binary"))
_MAPPING_TAGS = frozenset({_YAML + "map"})
_SEQUENCE_TAGS = frozenset({_YAML + "seq"})

AnyNode: TypeAlias = ComposedNode | AliasNode


def mark_position(node: AnyNode) -> Position:
    """The 1-based position where a node (or an alias) was written."""
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class Builder:
    """Builds the documents of one file in turn; the alias budget is the file's, spent across them."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.positions: dict[Path, Position] = {}
        self._expanded = 0
        self._active: set[int] = set()
        self._alias_start: AliasNode | None = None
        self._marks: dict[int, Position] = {}  # aliases revisit nodes: place each once

    def document(self, root: AnyNode) -> tuple[Any, dict[Path, Position]]:
        """One document's data and where each of its paths was written."""
        # Fresh per document: a document's nodes are freed after it, and their ids reused.
        self.positions, self._marks = {}, {}
        return self.build(root), self.positions

    def _where(self, node: AnyNode) -> Position:
        found = self._marks.get(id(node))
        if found is None:
            found = self._marks[id(node)] = mark_position(node)
        return found

    def build(self, node: AnyNode, path: Path = ()) -> Any:
        if isinstance(node, AliasNode):
            return self._alias(node, path)
        if self._alias_start is not None:
            self._count()
        if len(path) > MAX_DEPTH:  # the composer bounds nesting as written; aliases can nest deeper
            self._fail(f"nesting is deeper than {MAX_DEPTH} levels", node)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _alias(self, alias: AliasNode, path: Path) -> Any:
        if id(alias.target) in self._active:
            self._fail(f"alias *{alias.anchor} refers to a node that contains it", alias)
        outermost = self._alias_start is None
        if outermost:
            self._alias_start = alias
        try:
            return self.build(alias.target, path)
        finally:
            if outermost:
                self._alias_start = None

    def _count(self) -> None:
        self._expanded += 1
        if self._expanded > MAX_ALIAS_NODES and self._alias_start is not None:
            self._fail(
                f"aliases expand to more than {MAX_ALIAS_NODES} nodes in this file (an alias bomb?); "
                "refusing the file",
                self._alias_start,
            )

    def _scalar(self, node: ScalarNode) -> str | None:
        if node.tag == NULL_TAG:
            return None
        if node.tag in _TEXT_TAGS:
            return str(node.value)
        self._fail(f"unsupported YAML tag {node.tag}", node)

    def _sequence(self, node: SequenceNode, path: Path) -> list[Any]:
        if node.tag not in _SEQUENCE_TAGS:
            self._fail(f"unsupported YAML tag {node.tag}", node)
        items = []
        for index, item in enumerate(node.value):
            self.positions[(*path, index)] = self._where(item)
            items.append(self.build(item, (*path, index)))
        return items

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        if node.tag not in _MAPPING_TAGS:
            self._fail(f"unsupported YAML tag {node.tag}", node)
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[AnyNode] = []
        for key_node, value_node in node.value:
            if alias_target(key_node).tag == MERGE_TAG:
                merges.append(value_node)
                continue
            key = self._key(key_node)
            where = self._where(key_node)
            if key in result:
                self._fail(f"duplicate key {quote(key)} (first at line {first_line[key]})", key_node)
            first_line[key] = where.line
            self.positions[(*path, key)] = where
            result[key] = self.build(value_node, (*path, key))
        for merge in merges:
            self._merge(result, merge, path)
        return result

    def _key(self, node: AnyNode) -> str:
        target = alias_target(node)
        if not isinstance(target, ScalarNode):
            self._fail("a mapping key must be text, not a list or mapping", node)
        key = self._scalar(target)
        if key is None:
            self._fail("a mapping key must be text, not null", node)
        return key

    def _merge(self, result: dict[str, Any], merge: AnyNode, path: Path) -> None:
        """`<<: *a` or `<<: [*a, *b]`: keys written here win, then earlier sources over later ones."""
        target = alias_target(merge)
        sources = target.value if isinstance(target, SequenceNode) else [merge]
        for source in sources:
            if not isinstance(alias_target(source), MappingNode):
                self._fail("a merge key << takes a mapping or a list of mappings", source)
            outer, self.positions = self.positions, {}
            try:
                merged = self.build(source, path)
            finally:
                merged_positions, self.positions = self.positions, outer
            added = {key for key in merged if key not in result}
            result.update((key, merged[key]) for key in merged if key in added)
            depth = len(path)
            self.positions.update(
                (where, position) for where, position in merged_positions.items()
                if len(where) > depth and where[depth] in added
            )

    def _fail(self, message: str, node: AnyNode) -> NoReturn:
        where = mark_position(node)
        raise SpecError(message, file=self.filename, line=where.line, col=where.col)


def alias_target(node: AnyNode) -> ComposedNode:
    """The node an alias refers to, or the node itself."""
    return node.target if isinstance(node, AliasNode) else node
