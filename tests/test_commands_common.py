"""`--secrets FILE` (`load_secrets_file`): values as written, and every bad file a clear error that shows no value."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline_queue.commands.common import MAX_SECRETS_FILE, load_secrets_file
from pipeline_queue.errors import SecretsFileError
from pipeline_queue.spec.yamlsafe import MAX_DEPTH
from tests.conftest import ROOT, run_cli
from tests.spec.readers import yaml_reader  # noqa: F401 - a fixture

SECRET = "hunter2-not-real-7731"


def secrets_in(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "secrets.yml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


def refused(tmp_path: Path, content: str | bytes) -> str:
    path = secrets_in(tmp_path, content)
    with pytest.raises(SecretsFileError) as caught:
        load_secrets_file(path)
    message = str(caught.value)
    assert message.startswith(path)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    return message.removeprefix(path)


def test_values_are_the_text_written(tmp_path: Path) -> None:
    text = "pin: 0123\nflag: yes\nempty:\nnull_word: null\ntilde: ~\nquoted: '1.10'\nblock: |\n  line\n"
    assert load_secrets_file(secrets_in(tmp_path, text)) == {
        "pin": "0123", "flag": "yes", "empty": "", "null_word": "null", "tilde": "~", "quoted": "1.10",
        "block": "line\n",
    }


def test_an_alias_repeats_a_value_and_an_empty_file_has_no_secrets(tmp_path: Path) -> None:
    assert load_secrets_file(secrets_in(tmp_path, "a: &v one\nb: *v\n")) == {"a": "one", "b": "one"}
    assert load_secrets_file(secrets_in(tmp_path, "# nothing yet\n")) == {}
    assert load_secrets_file(None) == {}


def test_the_demo_secrets_file_loads() -> None:
    secrets = load_secrets_file(str(ROOT / "pipeline_queue" / "examples" / "demo-secrets.yml"))
    assert set(secrets) == {"codecov_token", "dockerconfig"}
    assert secrets["dockerconfig"].startswith('{"auths"')


@pytest.mark.parametrize(
    "text, message",
    [
        (f"token: {SECRET}\nother: x\ntoken: {SECRET}-2\n", ":3:1: secret 'token' is written twice (lines 1 and 3)"),
        (f"token: {SECRET}\n'token': {SECRET}\n", ":2:1: secret 'token' is written twice (lines 1 and 2)"),
        (f'{{token: a, "token": {SECRET}}}\n', ":1:12: secret 'token' is written twice (lines 1 and 1)"),
    ],
)
def test_a_name_written_twice_names_it_and_both_lines(tmp_path: Path, text: str, message: str) -> None:
    assert refused(tmp_path, text) == message


@pytest.mark.parametrize(
    "text, message",
    [
        ("- just\n- a list\n", ":1:1: secrets file must be a mapping of secret name to value"),
        (f"token: [{SECRET}]\n", ":1:8: secret 'token' must be a string value"),
        (f"? [{SECRET}]\n: value\n", ":1:3: a secret name must be text, not a list or mapping"),
        (f"a: {SECRET}\n---\nb: {SECRET}\n", ":3:1: secrets file must be one YAML document, found a second"),
        (f"a: [{SECRET}\n", ":2:1: secrets file: not valid YAML"),
        (f"a: *{SECRET}\n", ":1:4: secrets file: not valid YAML"),  # PyYAML would name the undefined alias
        (f"a: {SECRET}\x07\n", ":1:25: secrets file: a non-printable character is not allowed in YAML"),
        (f"a: {SECRET}\n".encode() + b"\xff\n", ":2:1: secrets file: file is not valid UTF-8 (byte offset 25)"),
    ],
)
def test_bad_files_are_placed_and_show_no_value(tmp_path: Path, text: str | bytes, message: str) -> None:
    shown = refused(tmp_path, text)
    assert shown.startswith(message)
    assert SECRET[:8] not in shown


@pytest.mark.usefixtures("yaml_reader")
def test_neither_yaml_reader_shows_a_value(tmp_path: Path) -> None:
    texts = (f'a: "{SECRET}\\q"\n', f"a: {SECRET}\n\tb: c\n", f"a: @{SECRET}\n", f"a: !<{SECRET}\n",
             f"a: &{SECRET} x\nb: *{SECRET}-x\n")
    for text in texts:
        shown = refused(tmp_path, text)
        assert "not valid YAML" in shown and SECRET[:8] not in shown


DEEP = {
    "flow lists": "token: " + "[" * 100_000,
    "flow mappings": "token: " + "{" * 100_000,
    "flow lists, one a line": "token: [\n" + " [\n" * 100_000,
    "block lists": "token:\n" + "- " * 100_000 + "x\n",
    "block mappings": "".join(" " * level + "a:\n" for level in range(1_000)),
}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_is_a_placed_error(tmp_path: Path, text: str) -> None:
    started = time.monotonic()
    shown = refused(tmp_path, text)
    assert time.monotonic() - started < 5
    assert "nesting" in shown and not shown.startswith(":1:1:")


def test_nesting_is_placed_at_the_first_node_too_deep(tmp_path: Path) -> None:
    shown = refused(tmp_path, "token:\n" + "- " * MAX_DEPTH + "x\n")
    assert shown == f":2:{2 * MAX_DEPTH + 1}: secrets file: nesting is deeper than {MAX_DEPTH} levels"


def test_a_large_file_is_refused_on_its_size_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    with path.open("wb") as stream:
        stream.truncate(8 * 1024**3)  # 8 GiB that take no disk: only its size is looked at
    with pytest.raises(SecretsFileError) as caught:
        load_secrets_file(str(path))
    assert str(caught.value) == f"{path}: secrets file is {8 * 1024**3} bytes; it may be at most 1 MiB"


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    body = f"token: {SECRET}\n"
    path = secrets_in(tmp_path, body + "#" * (MAX_SECRETS_FILE - len(body) - 1) + "\n")
    assert load_secrets_file(path) == {"token": SECRET}
    with Path(path).open("a") as stream:
        stream.write("#")
    with pytest.raises(SecretsFileError, match=f"secrets file is {MAX_SECRETS_FILE + 1} bytes"):
        load_secrets_file(path)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_stream_is_read_only_to_the_limit() -> None:
    with pytest.raises(SecretsFileError) as caught:
        load_secrets_file("/dev/zero")
    assert str(caught.value) == f"/dev/zero: secrets file is over {MAX_SECRETS_FILE} bytes; it may be at most 1 MiB"


def test_the_cli_shows_a_deep_or_duplicated_secrets_file_as_an_error_not_a_traceback(tmp_path: Path) -> None:
    pipeline = ROOT / "pipeline_queue" / "examples" / "demo.yml"
    for content, expected in (("token: " + "[" * 100_000, "nesting"), ("a: x\na: y\n", "written twice")):
        path = secrets_in(tmp_path, content)
        result = run_cli("explain", str(pipeline), "--secrets", path)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and path in result.stderr
        assert "Traceback" not in result.stderr
