"""Drone's `${...}` substitution: envsubst's own test vectors, its quirks, and what it does to a pipeline."""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_queue.compiler.envsubst import Call, parse, substitute
from pipeline_queue.compiler.envsubst_funcs import apply
from pipeline_queue.compiler.substitution import STEP_ONLY_VARIABLES, drone_parameters, go_quote
from pipeline_queue.errors import CompileError
from pipeline_queue.spec.loader import load_text
from tests.compiler.conftest import compile_stage, compile_text, env_of, kube_expand

VAR01 = {"var01": "abcdEFGH28ij"}
PATH_NAME = {"path_name": "/home/bozo/ideas/thoughts.for.today"}
STRING_Z = {"stringZ": "abcABC123ABCabc"}


# drone/envsubst eval_test.go (v1.0.3), cases from tldp.org's parameter substitution page.
@pytest.mark.parametrize(
    ("params", "text", "expected"),
    [
        ({}, "abcdEFGH28ij", "abcdEFGH28ij"),
        (VAR01, "${#var01}", "12"),
        (VAR01, "${var01^}", "AbcdEFGH28ij"),
        (VAR01, "${var01^^}", "ABCDEFGH28IJ"),
        ({"var01": "ABCDEFGH28IJ"}, "${var01,}", "aBCDEFGH28IJ"),
        ({"var01": "ABCDEFGH28IJ"}, "${var01,,}", "abcdefgh28ij"),
        (PATH_NAME, "${path_name:11}", "ideas/thoughts.for.today"),
        (PATH_NAME, "${path_name:11:5}", "ideas"),
        ({"var": "abc"}, "${var=abc}", "abc"),
        ({}, "${var=xyz}", "xyz"),
        ({"default_var": "foo"}, "something ${var=${default_var}}", "something foo"),
        ({"default_var": "foo1"}, "foo: ${var=${default_var}-suffix}", "foo: foo1-suffix"),
        ({"default_var": "foo1"}, "foo: ${var=prefix${default_var}-suffix}", "foo: prefixfoo1-suffix"),
        ({}, "${var:=xyz}", "xyz"),
        (STRING_Z, "${stringZ/%abc/XYZ}", "abcABC123ABCXYZ"),
        (STRING_Z, "${stringZ/#abc/XYZ}", "XYZABC123ABCabc"),
        (STRING_Z, "${stringZ//abc/xyz}", "xyzABC123ABCxyz"),
        (STRING_Z, "${stringZ/abc/xyz}", "xyzABC123ABCabc"),
        ({"filename": "bash.string.txt"}, "${filename#*.}", "string.txt"),
        ({"filename": "path/to/file"}, "${filename#*/}", "to/file"),
        ({"filename": "/path/to/file"}, "${filename#*/}", "path/to/file"),
        ({"filename": "bash.string.txt"}, "${filename##*.}", "txt"),
        ({"filename": "path/to/file"}, "${filename##*/}", "file"),
        ({"filename": "/path/to/file"}, "${filename##*/}", "file"),
        ({"filename": "bash.string.txt"}, "${filename%.*}", "bash.string"),
        ({"filename": "bash.string.txt"}, "${filename%%.*}", "bash"),
        (VAR01, "${var=${var01^^}}", "ABCDEFGH28IJ"),
        (VAR01, "$${var01}", "${var01}"),
        (
            VAR01,
            "some text ${var01}$${var$${var01}$var01${var01}",
            "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij",
        ),
        ({"default_var": "foo"}, "something $${var=${default_var}}", "something ${var=foo}"),
        ({"stringZ": "foo/bar"}, r"${stringZ/\//-}", "foo-bar"),
        ({"stringZ": "foo/bar/baz"}, r"${stringZ//\//-}", "foo-bar-baz"),
        ({"stringZ": "foo.bar"}, "${stringZ/./}", "foobar"),
    ],
)
def test_envsubst_eval_vectors(params: dict[str, str], text: str, expected: str) -> None:
    assert substitute(text, params) == expected


# drone/envsubst parse/parse_test.go: the tree each text parses to.
@pytest.mark.parametrize(
    ("text", "nodes"),
    [
        ("text", ("text",)),
        ("}text", ("}text",)),
        ("http://github.com", ("http://github.com",)),
        ("$${string}", ("${string}",)),
        ("$$string", ("$string",)),
        ("${string}", (Call("string"),)),
        ("${string_A}", (Call("string_A"),)),
        ("${string,}", (Call("string", ","),)),
        ("${string,,}", (Call("string", ",,"),)),
        ("${string^}", (Call("string", "^"),)),
        ("${string^^}", (Call("string", "^^"),)),
        ("${string:position}", (Call("string", ":", ("position",)),)),
        ("${string:position:length}", (Call("string", ":", ("position", "length")),)),
        ("${string#substring}", (Call("string", "#", ("substring",)),)),
        ("${string##substring}", (Call("string", "##", ("substring",)),)),
        ("${string%substring}", (Call("string", "%", ("substring",)),)),
        ("${string%%substring}", (Call("string", "%%", ("substring",)),)),
        ("${string/substring/replacement}", (Call("string", "/", ("substring", "replacement")),)),
        ("${string//substring/replacement}", (Call("string", "//", ("substring", "replacement")),)),
        ("${string/#substring/replacement}", (Call("string", "/#", ("substring", "replacement")),)),
        ("${string/%substring/replacement}", (Call("string", "/%", ("substring", "replacement")),)),
        ("${string=default}", (Call("string", "=", ("default",)),)),
        ("${string:=default}", (Call("string", ":=", ("default",)),)),
        ("${string:-default}", (Call("string", ":-", ("default",)),)),
        ("${string:?default}", (Call("string", ":?", ("default",)),)),
        ("${string:+default}", (Call("string", ":+", ("default",)),)),
        ("${#string}", (Call("string", "#"),)),
        ("${string#$%:*{}", (Call("string", "#", ("$%:*{",)),)),
        ("hello ${#string} world", ("hello ", Call("string", "#"), " world")),
        (r"${string/\/position/length}", (Call("string", "/", ("/position", "length")),)),
        (r"${string/\/position\\/length}", (Call("string", "/", ("/position\\", "length")),)),
        (r"${string/position/\/length}", (Call("string", "/", ("position", "/length")),)),
        (r"${string/position/\/length\\}", (Call("string", "/", ("position", "/length\\")),)),
        ("${string:${position}}", (Call("string", ":", (Call("position"),)),)),
        (
            "${string:${stringy:position:length}:${stringz,,}}",
            (Call("string", ":", (Call("stringy", ":", ("position", "length")), Call("stringz", ",,"))),),
        ),
        ("${string#${stringz}}", (Call("string", "#", (Call("stringz"),)),)),
        ("${string=${stringz}}", (Call("string", "=", (Call("stringz"),)),)),
        ("${string//${stringy}/${stringz}}", (Call("string", "//", (Call("stringy"), Call("stringz"))),)),
    ],
)
def test_envsubst_parse_vectors(text: str, nodes: tuple[object, ...]) -> None:
    assert parse(text).nodes == nodes


# drone/envsubst funcs_test.go
@pytest.mark.parametrize(
    ("operator", "value", "args", "expected"),
    [
        ("#", "Hello World", [], "11"),
        (",,", "Hello World", [], "hello world"),
        (",", "HELLO WORLD", [], "hELLO WORLD"),
        (",", "", [], ""),
        ("^^", "Hello World", [], "HELLO WORLD"),
        ("^", "hello world", [], "Hello world"),
        ("^", "", [], ""),
        (":-", "Hello World", ["Hola Mundo"], "Hello World"),
        (":-", "", ["Hola Mundo"], "Hola Mundo"),
    ],
)
def test_envsubst_function_vectors(operator: str, value: str, args: list[str], expected: str) -> None:
    assert apply(operator, value, args=args) == expected


# What envsubst v1.0.3 does where bash would differ: Drone users live with these, so we do too.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$DRONE_BRANCH and ${DRONE_BRANCH}", "$DRONE_BRANCH and main"),  # no bare $NAME substitution
        ("${UNKNOWN}|${UNKNOWN^^}|${#UNKNOWN}", "||0"),  # an unknown name is an empty string
        (r"C:\\dir a\/b \n \$", r"C:\dir a/b \n \$"),  # in plain text `\\` and `\/` are escapes
        ("$$$$ $$$ $$", "$$ $$ $"),
        ("$${DRONE_BRANCH} $$${DRONE_BRANCH}", "${DRONE_BRANCH} $main"),
        ("${DRONE_BRANCH:+set}", "main"),  # `:+` and `:?` act as `:-`
        ("${NONE:?unset}", "unset"),
        ("${NONE:-$$x}", "$$x"),  # no `$$` escape inside a default
        ("${DRONE_BRANCH: -2}", "main"),  # ` -2` is not a number: the value is kept
        ("${DRONE_BRANCH:1:100}", "ain"),
        ("${DRONE_BRANCH:9}", ""),
        ("${SHA:${MINUS_THREE}}", "def"),
        ("${DRONE_BRANCH/a//b}", "mbin"),  # a run of slashes is one delimiter
        ("${DRONE_BRANCH/#x/y}", "main"),
        ("${DRONE_BRANCH/#m/}", "main"),  # `/#` and `/%` need a replacement
        ("${DRONE_BRANCH/i/}", "man"),
        ("${DRONE_BRANCH#*}", "ain"),  # the shortest match is never empty
        ("${DRONE_BRANCH##*}", ""),
        ("${DRONE_BRANCH#[l-n]}", "ain"),
        ("${DRONE_BRANCH#[^l-n]}", "main"),
        ("${DRONE_BRANCH%[l-n]}", "main"),  # `%` reverses the pattern: the class reads `]n-l[`
        ("${DRONE_BRANCH#m[}", "main"),  # a malformed pattern trims nothing
        ("${DRONE_BRANCH#?}", "ain"),
        ("${PATH_ISH#*/}", "b/c"),
        ("${PATH_ISH%/*}", "a/b"),
        ("${PATH_ISH%%/*}", "a"),
        ("${UNICODE^^} ${#UNICODE} ${UNICODE:0:2}", "ÉSSß 6 é"),  # bytes, and one-to-one case mapping
        ("${DRONE_BRANCH,^}", "main"),  # an unknown casing operator keeps the value
    ],
)
def test_envsubst_quirks(text: str, expected: str) -> None:
    variables = {"DRONE_BRANCH": "main", "SHA": "abcdef", "MINUS_THREE": "-3", "PATH_ISH": "a/b/c", "UNICODE": "éssß"}
    assert substitute(text, variables) == expected


# Trim globs are registry/gostd.path_match with envsubst's edit (`*` and `?` match `/`), per character.
@pytest.mark.parametrize(
    ("operator", "value", "pattern", "expected"),
    [
        ("#", "a/b/c", "??", "b/c"),  # `?` matches `/`, where filepath.Match's does not
        ("##", "a/b/c", "a*", ""),  # so does a trailing `*`
        ("##", "€", "*??", "€"),  # per character: on envsubst's bytes `??` would match inside the `€`
        ("#", "\ud800x", "?", "x"),  # any string, a lone surrogate too
        ("#", "main", "x[", "main"),  # a malformed rest after a mismatch: nothing trimmed, as for `m[`
    ],
)
def test_trim_globs_cross_slashes_and_match_whole_characters(
    operator: str, value: str, pattern: str, expected: str
) -> None:
    assert apply(operator, value, args=[pattern]) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("${DRONE_BRANCH", "missing closing brace"),
        ("${}", "unable to parse variable name"),
        ("${ DRONE_BRANCH}", "unable to parse variable name"),
        ("${DRONE_BRANCH-default}", "missing closing brace"),  # unsupported, as envsubst's readme says
        ("${DRONE_BRANCH+x}", "missing closing brace"),
        ("${DRONE_BRANCH:-x", "unable to parse substitution within function"),
        ("${DRONE_BRANCH:1:}", "unable to parse substitution within function"),
        ("${DRONE_BRANCH#}", "unable to parse substitution within function"),
        ("${DRONE_BRANCH/a}", "bad substitution at character 1"),  # a pattern runs up to a `/`
        ("x ${DRONE_BRANCH/x${A}/y}", "bad substitution at character 3"),
        ("${DRONE_BRANCH^^^}", "bad substitution at character 1"),
        ("${A:-${#}}", "bad substitution at character 6"),
        ("${DRONE_BRANCH:0:-2}", "length -2 is negative"),
        ("${A:-" * 70 + "}" * 70, "nested deeper than 64"),
    ],
)
def test_malformed_expressions_are_errors(text: str, reason: str) -> None:
    with pytest.raises(CompileError, match=r"bad substitution") as error:
        substitute(text, {"DRONE_BRANCH": "main"})
    assert reason in str(error.value)


@given(st.text())
def test_doubling_dollars_and_backslashes_writes_any_text_literally(text: str) -> None:
    assert substitute(text.replace("\\", "\\\\").replace("$", "$$"), {"A": "x"}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="$\\")))
def test_text_without_dollars_or_backslashes_is_unchanged(text: str) -> None:
    assert substitute(text, {"A": "x"}) == text


@given(st.text(alphabet="ab/*?", max_size=6), st.text(alphabet="ab/", max_size=8))
def test_a_glob_of_stars_and_question_marks_is_a_regular_expression(pattern: str, value: str) -> None:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    longest = next((end for end in range(len(value), 0, -1) if re.fullmatch(regex, value[:end])), 0)
    assert apply("##", value, args=[pattern]) == value[longest:]


def test_go_quote_writes_what_go_percent_q_writes() -> None:
    assert go_quote("fix: a\n\nbody") == '"fix: a\\n\\nbody"'
    assert go_quote('say "hi"\\\t\x01\x7f\u00a0☺\U0001f600\u200b') == (
        '"say \\"hi\\"\\\\\\t\\x01\\x7f\\u00a0☺\U0001f600\\u200b"'
    )


def test_drone_substitutes_build_variables_only_and_quotes_multi_line_values() -> None:
    parameters = drone_parameters({"DRONE_BRANCH": "main", "DRONE_WORKSPACE": "/drone/src", "M": "a\nb"})
    assert parameters == {"DRONE_BRANCH": "main", "M": '"a\\nb"'}
    assert "DRONE_STEP_NAME" in STEP_ONLY_VARIABLES


HEAD = "kind: pipeline\ntype: kubernetes\nname: p\n"


def test_every_string_drone_reaches_is_substituted() -> None:
    plan = compile_text(
        "kind: pipeline\ntype: kubernetes\nname: ${DRONE_BRANCH}-stage\nenvironment:\n  WHERE: ${DRONE_REPO}\n"
        "services:\n- name: db-${DRONE_BUILD_NUMBER}\n  image: postgres:15${PG}\n"
        "steps:\n"
        "- name: build-${DRONE_BRANCH}\n  image: golang:${DRONE_TAG##v}\n"
        "  commands: ['echo ${DRONE_COMMIT_SHA:0:8}']\n"
        "  working_dir: /src/${DRONE_REPO_NAME}\n"
        "  environment:\n    TAG: v${DRONE_TAG##v}\n"
        "- name: publish\n  image: plugins/docker:${DRONE_TAG%%.*}\n"
        "  depends_on: ['build-${DRONE_BRANCH}']\n"
        "  entrypoint: ['/bin/${DRONE_STAGE_NAME}']\n  command: [--tag, '${DRONE_TAG}']\n"
        "  settings:\n    tags: ['${DRONE_TAG}', latest]\n    build_args: {SHA: '${DRONE_COMMIT}'}\n",
        repo="octocat/hello",
        branch="main",
        ref="refs/tags/v1.2.3",
        event="tag",
        commit="7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
        build_number=7,
    )
    (db,) = plan.services
    build, publish = plan.steps
    assert (db.name, db.image.reference) == ("db-7", "docker.io/library/postgres:15")
    assert (build.name, build.image.reference) == ("build-main", "docker.io/library/golang:1.2.3")
    assert publish.depends_on == ("build-main",)
    build_container = build.pod["spec"]["containers"][0]
    assert build_container["workingDir"] == "/src/hello"
    assert "echo 7fd1a60b" in env_of(build.pod)["DRONE_SCRIPT"]
    assert env_of(build.pod)["TAG"] == "v1.2.3"
    assert env_of(build.pod)["WHERE"] == "octocat/hello"
    container = publish.pod["spec"]["containers"][0]
    assert (container["image"], container["command"], container["args"]) == (
        "docker.io/plugins/docker:v1",
        ["/bin/$${DRONE_BRANCH}-stage"],  # the stage's name as written (Drone's server names stages so)
        ["--tag", "v1.2.3"],
    )
    assert env_of(publish.pod)["PLUGIN_TAGS"] == "v1.2.3,latest"
    assert env_of(publish.pod)["PLUGIN_BUILD_ARGS"] == '{"SHA":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"}'
    assert plan.pipeline == "${DRONE_BRANCH}-stage"
    assert plan.warnings == (
        "service 'db-${DRONE_BUILD_NUMBER}': image: ${PG} is replaced by an empty string: Drone substitutes only "
        "the build's own variables into the file, before any step runs; write $${PG} to leave it to the step's shell",
    )


def test_conditions_are_left_as_written() -> None:
    plan = compile_text(
        HEAD + "trigger:\n  branch: ['${DRONE_BRANCH}']\nsteps:\n- name: s\n  image: alpine:3\n"
        "  when:\n    branch: ['${DRONE_BRANCH}']\n"
    )
    assert plan.steps[0].when.branch.include == ("${DRONE_BRANCH}",)


def run_script(pod: dict, tmp_path: Path, home: str) -> list[str]:
    """Run a step's container command as the kubelet would (env and args expanded) with a real /bin/sh."""
    container = pod["spec"]["containers"][0]
    env = {name: kube_expand(value, {}) for name, value in env_of(pod).items() if isinstance(value, str)}
    argv = [kube_expand(part, env) for part in container["command"] + container["args"]]
    result = subprocess.run(
        argv,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.splitlines()


def test_double_dollar_leaves_the_expression_to_the_shell(tmp_path: Path) -> None:
    plan = compile_text(HEAD + "steps:\n- name: s\n  image: alpine:3\n  commands:\n  - echo $${HOME} ${DRONE_BRANCH}\n")
    assert "echo $${HOME} main" in env_of(plan.steps[0].pod)["DRONE_SCRIPT"]  # `$` escaped for Kubernetes
    assert run_script(plan.steps[0].pod, tmp_path, home="/home/ci") == ["+ echo ${HOME} main", "/home/ci main"]


def test_a_multi_line_value_is_go_quoted_as_drone_does() -> None:
    plan = compile_text(
        HEAD + "steps:\n- name: s\n  image: alpine:3\n  commands:\n  - printf '%s|' ${DRONE_COMMIT_MESSAGE}\n",
        message='fix: "it"\n\nbody',
    )
    script = kube_expand(env_of(plan.steps[0].pod)["DRONE_SCRIPT"], {})
    assert '\nprintf \'%s|\' "fix: \\"it\\"\\n\\nbody"\n' in script


def test_a_secret_value_is_never_substituted() -> None:
    compiled = compile_stage(
        HEAD + "steps:\n- name: s\n  image: alpine:3\n  environment:\n    TOKEN: {from_secret: token}\n"
        "  commands:\n  - echo ${TOKEN} ${token} $${TOKEN}\n",
        secrets={"token": "s3cr3t-${DRONE_BRANCH}", "TOKEN": "an0ther-s3cr3t"},
    )
    plan = compiled.plan
    script = env_of(plan.steps[0].pod)["DRONE_SCRIPT"]
    assert "echo   $${TOKEN}" in script
    assert "s3cr3t" not in str(plan.steps[0].pod)
    assert compiled.env_secret is not None
    assert base64.b64decode(compiled.env_secret["data"]["token"]).decode() == "s3cr3t-${DRONE_BRANCH}"
    assert [warning.split(" is replaced")[0] for warning in plan.warnings] == [
        "step 's': commands[0]: ${TOKEN}",
        "step 's': commands[0]: ${token}",
    ]
    assert all("s3cr3t" not in warning for warning in plan.warnings)


def test_what_only_a_running_step_has_is_empty_and_said_so() -> None:
    plan = compile_text(HEAD + "steps:\n- name: s\n  image: alpine:3\n  commands:\n  - cd ${DRONE_WORKSPACE}/sub\n")
    assert "cd /sub" in env_of(plan.steps[0].pod)["DRONE_SCRIPT"]
    assert plan.warnings[0].startswith("step 's': commands[0]: ${DRONE_WORKSPACE} is replaced by an empty string")


def test_drone_variables_a_build_lacks_are_empty_without_a_warning() -> None:
    plan = compile_text(HEAD + "steps:\n- name: s\n  image: alpine:3\n  commands: ['echo [${DRONE_TAG}]']\n")
    assert "echo []" in env_of(plan.steps[0].pod)["DRONE_SCRIPT"]
    assert plan.warnings == ()


def test_a_malformed_expression_names_its_step_and_field() -> None:
    expected = r"^step 'b': settings\.tags\[1\]: bad substitution at character 1: missing closing brace$"
    with pytest.raises(CompileError, match=expected):
        compile_text(HEAD + "steps:\n- name: b\n  image: plugins/docker\n  settings:\n    tags: [x, '${oops']\n")


def test_substituted_names_that_collide_are_an_error() -> None:
    with pytest.raises(CompileError, match="already used"):
        compile_text(HEAD + "steps:\n- name: a-${DRONE_BRANCH}\n  image: alpine\n- name: a-main\n  image: alpine\n")


def test_loading_keeps_the_text_as_written() -> None:
    loaded = load_text(HEAD + "steps:\n- name: s\n  image: alpine:${oops\n", filename="x.yml")
    assert loaded.pipelines[0].pipeline.steps[0].image == "alpine:${oops"
