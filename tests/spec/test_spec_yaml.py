"""How pipeline files are read as YAML: text kept as written, merges, positions, and what is refused."""

from __future__ import annotations

import textwrap
import time

import pytest

from pipeline_queue.errors import SpecError
from pipeline_queue.spec import Position, load_text
from pipeline_queue.spec.yamlbuild import MAX_ALIAS_NODES
from pipeline_queue.spec.yamlsafe import MAX_BYTES, MAX_DEPTH
from tests.spec.readers import yaml_reader  # noqa: F401 - a fixture

HEAD = "kind: pipeline\ntype: kubernetes\nname: default\n"


def load(body: str):
    return load_text(HEAD + textwrap.dedent(body), filename="p.yml")


def refused(text: str | bytes) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_text(text, filename="p.yml")
    return caught.value


def data(body: str) -> dict:
    return dict(load(body).documents[0].data)


# --- scalars stay the text written -------------------------------------------------


@pytest.mark.parametrize(
    "written, kept",
    [
        ("1.10", "1.10"), ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("true", "true"),
        ("False", "False"), ("y", "y"), ("0755", "0755"), ("0x1F", "0x1F"), ("1e3", "1e3"), ("1_000", "1_000"),
        (".inf", ".inf"), (".nan", ".nan"), ("1:20", "1:20"), ("2001-12-14", "2001-12-14"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"), ("'~'", "~"), ('"null"', "null"),
        ("!!int 42", "42"), ("!!bool yes", "yes"), ("!!str 1.0", "1.0"),
    ],
)
def test_scalars_keep_the_text_written(written: str, kept: str) -> None:
    assert data(f"x-value: {written}\n")["x-value"] == kept


@pytest.mark.parametrize("written", ["", "~", "null", "Null", "NULL", "!!null ''"])
def test_null_stays_none(written: str) -> None:
    assert data(f"x-value: {written}\n")["x-value"] is None


def test_boolean_like_keys_stay_text() -> None:
    assert list(data("x-map: {yes: 1, on: 2, 1.10: 3, null-ish: 4}\n")["x-map"]) == ["yes", "on", "1.10", "null-ish"]


def test_block_scalars_keep_their_lines() -> None:
    steps = load("""
        steps:
        - name: script
          image: alpine
          commands:
          - |
            echo one
            echo two
          - >
            folded
            line
        """).pipelines[0].pipeline.steps
    assert steps[0].commands == ("echo one\necho two\n", "folded line\n")


# --- anchors, aliases, merge keys --------------------------------------------------


def test_alias_repeats_the_anchored_value() -> None:
    found = data("x-a: &img golang:1.22\nx-b: *img\nx-list: &l [a, b]\nx-again: *l\n")
    assert (found["x-b"], found["x-again"]) == ("golang:1.22", ["a", "b"])


def test_merge_key_explicit_keys_win_and_earlier_merges_win_over_later() -> None:
    found = data("""
        x-one: &one {image: one, pull: always, user: "1"}
        x-two: &two {image: two, shell: sh, user: "2"}
        x-merged:
          <<: [*one, *two]
          image: mine
        """)
    assert found["x-merged"] == {"image": "mine", "pull": "always", "user": "1", "shell": "sh"}


def test_merge_of_an_inline_mapping_and_nested_merges() -> None:
    found = data("""
        x-base: &base {a: "1"}
        x-mid: &mid
          <<: *base
          b: "2"
        x-top:
          <<: *mid
          <<: {c: "3"}
        """)
    assert found["x-top"] == {"a": "1", "b": "2", "c": "3"}


def test_quoted_double_less_than_is_an_ordinary_key() -> None:
    assert data('x-map: {"<<": plain}\n')["x-map"] == {"<<": "plain"}


def test_merge_of_a_scalar_is_refused() -> None:
    error = refused(HEAD + "x-a: &a text\nx-b:\n  <<: *a\n")
    assert (error.line, error.col) == (6, 7)
    assert "merge key << takes a mapping or a list of mappings" in error.reason


def test_a_later_anchor_of_the_same_name_replaces_the_earlier() -> None:
    found = data("x-a: &v one\nx-b: *v\nx-c: &v two\nx-d: *v\n")
    assert (found["x-b"], found["x-d"]) == ("one", "two")


def test_undefined_alias_is_refused_where_written() -> None:
    error = refused(HEAD + "x-a: *nowhere\n")
    assert (error.line, error.col) == (4, 6)
    assert "nowhere" in error.reason


def test_recursive_alias_is_refused() -> None:
    error = refused(HEAD + "x-a: &a [one, *a]\n")
    assert (error.line, error.col) == (4, 15)
    assert error.reason == "alias *a refers to a node that contains it"


def test_billion_laughs_fails_fast() -> None:
    lines = ['lol0: &l0 "lol"'] + [
        f"lol{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]" for level in range(1, 10)
    ]
    started = time.monotonic()
    error = refused("kind: secret\n" + "\n".join(lines) + "\n")
    assert time.monotonic() - started < 5  # 9**9 nodes would take hours; the bound stops it
    assert f"aliases expand to more than {MAX_ALIAS_NODES} nodes" in error.reason
    # Placed at the alias whose expansion crossed the bound (the count runs over the file).
    assert 3 <= error.line <= 11 and error.col == 12


# One small document whose ten aliases expand to 100 nodes (each *a is the list and its nine items).
SMALL_BOMB = "kind: secret\nname: a\nx: &a [q,q,q,q,q,q,q,q,q]\ny: [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
SMALL_BOMB_NODES = 100
SMALL_BOMB_LINES = 5  # with the `---` that follows it


def small_bombs(count: int) -> str:
    return "---\n".join([SMALL_BOMB] * count)


def test_the_alias_budget_is_the_files_not_each_documents() -> None:
    # 10,000 documents, each well within the budget alone, 10 times over it together.
    text = small_bombs(10_000)
    assert len(text.encode()) <= MAX_BYTES and 10_000 * SMALL_BOMB_NODES == 10 * MAX_ALIAS_NODES
    started = time.monotonic()
    error = refused(text)
    assert time.monotonic() - started < 5
    assert error.reason == (f"aliases expand to more than {MAX_ALIAS_NODES} nodes in this file (an alias bomb?); "
                            "refusing the file")
    # At the first alias of the first document past the budget.
    within = MAX_ALIAS_NODES // SMALL_BOMB_NODES
    assert (error.file, error.line, error.col) == ("p.yml", within * SMALL_BOMB_LINES + 4, 5)


def test_a_file_that_spends_exactly_the_alias_budget_loads() -> None:
    within = MAX_ALIAS_NODES // SMALL_BOMB_NODES
    assert len(load_text(small_bombs(within), filename="p.yml").secrets) == within
    one_node_more = "---\nkind: secret\nx: &b q\ny: *b\n"
    assert "aliases expand to more than" in refused(small_bombs(within) + one_node_more).reason


def test_many_legitimate_aliases_are_fine() -> None:
    steps = "".join(f"- <<: *step\n  name: s{index}\n" for index in range(200))
    loaded = load_text(HEAD + "x-step: &step {image: alpine, commands: [a, b, c]}\nsteps:\n" + steps)
    assert len(loaded.pipelines[0].pipeline.steps) == 200


# --- positions ---------------------------------------------------------------------


def test_positions_of_keys_and_items_are_one_based() -> None:
    document = load("""
        steps:
        - name: build
          image: golang
          depends_on: [a, b]
        """).documents[0]
    assert document.positions[("steps",)] == Position(5, 1)
    assert document.positions[("steps", 0)] == Position(6, 3)
    assert document.positions[("steps", 0, "image")] == Position(7, 3)
    assert document.positions[("steps", 0, "depends_on", 1)] == Position(8, 19)
    assert document.start == Position(1, 1)


def test_merged_keys_are_placed_where_they_were_written() -> None:
    document = load("""
        x-defaults: &defaults
          image: golang
          environment: {A: b}
        steps:
        - <<: *defaults
          name: build
        """).documents[0]
    assert document.positions[("steps", 0, "image")] == Position(6, 3)
    assert document.positions[("steps", 0, "environment", "A")] == Position(7, 17)
    assert document.positions[("steps", 0, "name")] == Position(10, 3)


def test_an_aliased_item_is_placed_at_the_alias() -> None:
    document = load("""
        x-step: &step {name: one, image: alpine}
        steps:
        - *step
        """).documents[0]
    assert document.positions[("steps", 0)] == Position(7, 3)
    assert document.positions[("steps", 0, "image")] == Position(5, 27)


# --- refusals ----------------------------------------------------------------------


def test_duplicate_key_names_the_key_and_the_first_line() -> None:
    error = refused(HEAD + "steps:\n- name: a\n  image: x\n  image: y\n")
    assert (error.file, error.line, error.col) == ("p.yml", 7, 3)
    assert error.reason == 'duplicate key "image" (first at line 6)'
    assert str(error) == 'p.yml:7:3: duplicate key "image" (first at line 6)'


def test_duplicate_key_in_flow_style() -> None:
    error = refused('{"kind": "pipeline", "kind": "secret"}')
    assert (error.line, error.col, error.reason) == (1, 22, 'duplicate key "kind" (first at line 1)')


def test_a_key_written_and_merged_is_not_a_duplicate() -> None:
    assert data("x-a: &a {k: one}\nx-b:\n  <<: *a\n  k: two\n")["x-b"] == {"k": "two"}


@pytest.mark.parametrize(
    "text, line, col, reason",
    [
        ("- kind: pipeline\n", 1, 1, "document 1 is a list; a Drone document is a mapping such as `kind: pipeline`"),
        ("kind: secret\nname: a\n---\njust text\n", 4, 1,
         "document 2 is a single value; a Drone document is a mapping such as `kind: pipeline`"),
    ],
)
def test_a_document_must_be_a_mapping(text: str, line: int, col: int, reason: str) -> None:
    error = refused(text)
    assert (error.line, error.col, error.reason) == (line, col, reason)


def test_syntax_error_reports_the_problem_mark() -> None:
    error = refused(HEAD + "steps: [\n  {name: a\n")
    assert error.file == "p.yml" and error.line >= 5


def test_unclosed_quote_is_placed() -> None:
    error = refused(HEAD + 'name2: "never closed\nsteps: []\n')
    assert error.line == 6  # end of input, where the scanner gave up
    assert "quoted scalar" in error.reason


def test_tab_indentation_is_explained() -> None:
    error = refused("kind: pipeline\nsteps:\n\t- name: a\n")
    assert (error.line, error.col) == (3, 1)
    assert error.reason.endswith("YAML indents with spaces, not tabs")


def test_mapping_values_in_a_plain_scalar_are_refused() -> None:
    error = refused(HEAD + "steps: a: b\n")
    assert (error.line, error.col) == (4, 9)


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!python/name:os.system", "!custom"])
def test_unknown_tags_are_refused(tag: str) -> None:
    error = refused(HEAD + f"x-value: {tag} x\n")
    assert (error.line, error.col) == (4, 10)
    assert error.reason.startswith("unsupported YAML tag")


def test_a_null_key_is_refused() -> None:
    error = refused(HEAD + "~: value\n")
    assert (error.line, error.col, error.reason) == (4, 1, "a mapping key must be text, not null")


def test_a_mapping_as_key_is_refused() -> None:
    error = refused(HEAD + "? {a: b}\n: value\n")
    assert error.reason == "a mapping key must be text, not a list or mapping"


def test_files_over_one_mebibyte_are_refused_before_parsing() -> None:
    # Not even valid YAML: the size is checked first.
    error = refused(b"[" * (MAX_BYTES + 1))
    assert error.reason == f"file is {MAX_BYTES + 1} bytes; pipeline files may be at most {MAX_BYTES} bytes (1 MiB)"
    assert (error.line, error.col) == (1, 1)


def test_size_is_counted_in_utf8_bytes_for_text() -> None:
    text = "kind: secret\nname: a\n# " + "é" * (MAX_BYTES // 2) + "\n"
    assert len(text) < MAX_BYTES < len(text.encode())
    assert "pipeline files may be at most" in refused(text).reason


def test_a_file_of_exactly_the_limit_is_read() -> None:
    body = "kind: secret\nname: a\n"
    text = body + "#" * (MAX_BYTES - len(body) - 1) + "\n"
    assert len(text.encode()) == MAX_BYTES
    assert load_text(text).secrets[0].name == "a"


def test_deep_nesting_is_refused() -> None:
    error = refused(HEAD + "x-deep: " + "[" * 150 + "]" * 150 + "\n")
    assert "nesting" in error.reason


def test_nesting_to_the_limit_loads_and_one_level_more_is_placed_at_the_node() -> None:
    # The value of x-deep sits in the document's mapping: MAX_DEPTH - 1 lists around "q" make MAX_DEPTH.
    nested = "[" * (MAX_DEPTH - 1) + "q" + "]" * (MAX_DEPTH - 1)
    assert load(f"x-deep: {nested}\n").documents[0].data["x-deep"] is not None
    error = refused(HEAD + f"x-deep: [{nested}]\n")
    assert (error.line, error.col) == (4, 9 + MAX_DEPTH)  # at "q", the first node nested too deep
    assert error.reason == f"nesting is deeper than {MAX_DEPTH} levels"


DEEP_INPUTS = {
    "flow lists": "[" * 100_000,
    "flow mappings": "{" * 100_000,
    "flow mappings of keys": "{a: " * 100_000,
    "flow lists, one a line": "x: [\n" + " [\n" * 100_000,
    "block lists": "- " * 100_000 + "x\n",
    "block mappings": "".join(" " * level + "a:\n" for level in range(1_000)),
    "lists of mappings": "- a:\n" + "".join("  " * level + "  - a:\n" for level in range(500)),
}


@pytest.mark.parametrize("text", DEEP_INPUTS.values(), ids=DEEP_INPUTS.keys())
@pytest.mark.usefixtures("yaml_reader")
def test_deep_nesting_is_a_placed_error_never_a_recursion_error(text: str) -> None:
    started = time.monotonic()
    error = refused(text)
    assert time.monotonic() - started < 5
    assert "nesting" in error.reason and error.line >= 1
    # libyaml stops a flow collection 1,000 levels deep itself; every other case stops at our limit.
    assert error.reason in (f"nesting is deeper than {MAX_DEPTH} levels", "exceeded maximum nesting depth "
                            "(while increasing flow level at line 1)")
    assert (error.line, error.col) != (1, 1)


def test_aliases_that_nest_deeper_than_the_limit_are_refused() -> None:
    # Each anchor alone is shallow; the chain builds a value 1,000 levels deep.
    chain = ["x0: &a0 [q]"] + [f"x{level}: &a{level} [*a{level - 1}]" for level in range(1, 1_000)]
    error = refused("kind: secret\n" + "\n".join(chain) + "\n")
    assert error.reason == f"nesting is deeper than {MAX_DEPTH} levels"


def test_a_plugin_setting_nested_to_the_limit_validates() -> None:
    # The models take any value under settings: pydantic sees at most MAX_DEPTH levels.
    depth = MAX_DEPTH - 4  # steps, the step, settings and the setting come first
    loaded = load(f"""
        steps:
        - name: publish
          image: plugins/docker
          settings:
            deep: {"[" * depth}q{"]" * depth}
        """)
    value = loaded.pipelines[0].pipeline.steps[0].settings["deep"].value
    for _ in range(depth):
        value = value[0]
    assert value == "q"


def test_invalid_utf8_is_placed() -> None:
    error = refused(b"kind: secret\nname: caf\xe9\n")
    assert (error.line, error.col) == (2, 10)
    assert error.reason.startswith("file is not valid UTF-8")


def test_control_characters_are_refused_where_they_are() -> None:
    error = refused("kind: secret\nname: a\x07b\n")
    assert (error.line, error.col, error.reason) == (2, 8, "character U+0007 is not allowed in YAML")


def test_bytes_with_utf8_and_utf16_byte_order_marks() -> None:
    text = "kind: secret\nname: émoji\n"
    assert load_text(b"\xef\xbb\xbf" + text.encode()).secrets[0].name == "émoji"
    assert load_text(text.encode("utf-16")).secrets[0].name == "émoji"
    assert load_text("\ufeff" + text).secrets[0].name == "émoji"
