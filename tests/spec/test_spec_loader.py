"""Loading pipeline files: documents sorted by kind, models validated, errors placed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline_queue.errors import SpecError
from pipeline_queue.spec import Position, load_file, load_text
from pipeline_queue.spec.yamlsafe import MAX_BYTES

PIPELINE = """\
kind: pipeline
type: kubernetes
name: {name}
steps:
- name: build
  image: golang:1.22
"""


def refused(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_text(textwrap.dedent(text), filename=".drone.yml")
    return caught.value


def test_a_kubernetes_pipeline_becomes_a_model() -> None:
    loaded = load_text(PIPELINE.format(name="ci"), filename=".drone.yml")
    assert loaded.filename == ".drone.yml"
    [entry] = loaded.pipelines
    assert entry.pipeline.name == "ci"
    assert entry.pipeline.steps[0].image == "golang:1.22"
    assert (entry.document.kind, entry.document.type, entry.document.index) == ("pipeline", "kubernetes", 0)
    assert loaded.notices == ()


def test_documents_of_every_kind_in_one_file() -> None:
    loaded = load_text(
        PIPELINE.format(name="a")
        + "---\nkind: pipeline\ntype: docker\nname: d\n"
        + "---\nkind: secret\nname: token\nget: {path: ci/token, name: value}\n"
        + "---\n"  # empty document: skipped
        + "---\nkind: signature\nhmac: abc123\n"
        + "...\n",
    )
    assert [document.kind for document in loaded.documents] == ["pipeline", "pipeline", "secret", "signature"]
    assert [document.index for document in loaded.documents] == [0, 1, 2, 4]
    assert [entry.pipeline.name for entry in loaded.pipelines] == ["a"]
    assert loaded.secrets[0].name == "token" and loaded.secrets[0].get == {"path": "ci/token", "name": "value"}
    assert loaded.signatures[0].hmac == "abc123"


def test_other_pipeline_types_are_skipped_with_a_notice() -> None:
    loaded = load_text("kind: pipeline\ntype: ssh\nname: deploy\n---\nkind: pipeline\nname: plain\n", filename="f.yml")
    assert loaded.pipelines == ()
    assert [str(notice) for notice in loaded.notices] == [
        'f.yml:2:1: notice: pipeline "deploy" has type "ssh"; only kubernetes pipelines run here, skipped',
        'f.yml:5:1: notice: pipeline "plain" has no type, which Drone reads as docker; skipped '
        "(set type: kubernetes to run it)",
    ]
    assert {notice.rule for notice in loaded.notices} == {"skipped-pipeline"}


def test_a_file_of_comments_only_has_no_documents() -> None:
    loaded = load_text("# nothing here yet\n---\n...\n")
    assert (loaded.documents, loaded.pipelines, loaded.notices) == ((), (), ())


def test_unknown_kind_is_placed_at_the_kind() -> None:
    error = refused("""\
        kind: secret
        name: a
        ---
        kind: pipelne
        type: kubernetes
        """)
    assert (error.line, error.col) == (4, 1)
    assert error.reason == 'unknown kind "pipelne"; expected kind: pipeline, secret or signature'


def test_missing_kind_is_placed_at_the_document_start() -> None:
    error = refused("kind: secret\nname: a\n---\n\n  type: kubernetes\n  name: x\n")
    assert (error.line, error.col) == (5, 3)
    assert error.reason == "document 2 has no kind; expected kind: pipeline, secret or signature"


def test_kind_must_be_text() -> None:
    error = refused("kind: [pipeline]\n")
    assert (error.line, error.col, error.reason) == (1, 1, "kind must be text")


@pytest.mark.parametrize(
    "step, line, col, reason",
    [
        ("  privileged: maybe\n", 7, 3, 'steps[0].privileged: expected a boolean, got "maybe"'),
        ("  detach: [yes]\n", 7, 3, "steps[0].detach: expected a boolean, got a list"),
        ("  commands: {a: b}\n", 7, 3, "steps[0].commands: expected a list, got a mapping"),
        ("  commands:\n  - echo a: b\n", 8, 5, "steps[0].commands[0]: expected text, got a mapping"),
        ("  environment:\n    A: [x]\n", 8, 5, "steps[0].environment.A: expected text, got a list"),
        ("  environment:\n    A-B: {from_secret: [x]}\n", 8, 11,
         'steps[0].environment["A-B"].from_secret: expected text, got a list'),
        ("  when: {branch: [main, [x]]}\n", 7, 25, "steps[0].when.branch[1]: expected text, got a list"),
        ("  resources: {limits: {cpu: {}}}\n", 7, 24, "steps[0].resources.limits.cpu: expected text, got a mapping"),
        ("  volumes: {name: x}\n", 7, 3, "steps[0].volumes: expected a list, got a mapping"),
    ],
)
def test_validation_errors_name_the_path_and_place_it(step: str, line: int, col: int, reason: str) -> None:
    error = refused(PIPELINE.format(name="x") + step)
    assert (error.file, error.line, error.col, error.reason) == (".drone.yml", line, col, reason)


def test_validation_error_in_a_volume_and_clone() -> None:
    error = refused(PIPELINE.format(name="x") + "clone:\n  depth: deep\n")
    assert (error.line, error.col, error.reason) == (8, 3, 'clone.depth: expected an integer, got "deep"')
    error = refused(PIPELINE.format(name="x") + "volumes:\n- name: c\n  config_map: {name: m, optional: perhaps}\n")
    assert (error.line, error.col) == (9, 25)
    assert error.reason == 'volumes[0].config_map.optional: expected a boolean, got "perhaps"'


def test_long_values_are_cut_in_messages() -> None:
    error = refused(PIPELINE.format(name="x") + "  privileged: " + "y" * 100 + "\n")
    assert error.reason == 'steps[0].privileged: expected a boolean, got "' + "y" * 40 + '"...'


def test_secret_document_errors_never_show_the_value() -> None:
    error = refused("kind: secret\nname: token\ndata:\n  nested: hunter2\n")
    assert "hunter2" not in str(error)
    assert error.reason == "data: expected text, got a mapping"
    error = refused("kind: signature\nhmac: [s3cr3t]\n")
    assert "s3cr3t" not in str(error)


def test_secret_values_are_not_in_reprs() -> None:
    loaded = load_text("kind: secret\nname: token\ndata: c2VjcmV0LXZhbHVl\n")
    assert "c2VjcmV0LXZhbHVl" not in repr(loaded)
    assert loaded.secrets[0].data == "c2VjcmV0LXZhbHVl"


def test_models_convert_real_booleans_and_integers_from_text() -> None:
    loaded = load_text(
        PIPELINE.format(name="x")
        + "  privileged: yes\n  detach: 'true'\n  environment:\n    ON: on\n"
        + "clone: {depth: 0x10, disable: off}\n"
        + "volumes:\n- name: c\n  secret: {secret_name: s, default_mode: 0644}\n"
    )
    pipeline = loaded.pipelines[0].pipeline
    step = pipeline.steps[0]
    assert (step.privileged, step.detach, step.environment["ON"].value) == (True, True, "on")
    assert (pipeline.clone.depth, pipeline.clone.disable) == (16, False)
    assert pipeline.volumes[0].secret is not None and pipeline.volumes[0].secret.default_mode == 0o644


def test_document_position_falls_back_to_the_nearest_ancestor() -> None:
    document = load_text(PIPELINE.format(name="x")).documents[0]
    assert document.position("steps", 0, "image") == Position(6, 3)
    assert document.position("steps", 0, "pull") == Position(5, 3)  # not written: the step
    assert document.position("services", 3) == Position(1, 1)  # nothing: the document start
    assert document.position() == Position(1, 1)


def test_load_file_reads_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".drone.yml"
    path.write_text(PIPELINE.format(name="from-disk"))
    loaded = load_file(path)
    assert loaded.filename == str(path)
    assert loaded.pipelines[0].pipeline.name == "from-disk"


def test_load_file_errors_carry_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("kind: pipeline\nkind: secret\n")
    with pytest.raises(SpecError) as caught:
        load_file(path)
    assert str(caught.value) == f'{path}:2:1: duplicate key "kind" (first at line 1)'


def test_load_file_refuses_a_large_file_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_bytes(b"#" * (3 * 1024 * 1024))
    with pytest.raises(SpecError, match="at most 1 MiB"):
        load_file(path)


LIMIT = f"pipeline files may be at most 1 MiB ({MAX_BYTES} bytes)"


def test_load_file_checks_the_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "sparse.yml"
    with path.open("wb") as stream:
        stream.truncate(8 * 1024**3)  # 8 GiB that take no disk: only its size is looked at
    with pytest.raises(SpecError) as caught:
        load_file(path)
    assert (caught.value.line, caught.value.col) == (1, 1)
    assert caught.value.reason == f"file is {8 * 1024**3} bytes; {LIMIT}"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_load_file_reads_an_endless_stream_only_to_the_limit() -> None:
    with pytest.raises(SpecError) as caught:
        load_file("/dev/zero")
    assert caught.value.reason == f"file is over {MAX_BYTES} bytes; {LIMIT}"


def test_load_file_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_file(tmp_path / "absent.yml")
    assert caught.value.file == str(tmp_path / "absent.yml")
    assert "cannot read the file" in caught.value.reason


def test_the_spec_package_imports_no_io_library() -> None:
    code = (
        "import sys, pipeline_queue.spec; "
        "print(sorted({name.split('.')[0] for name in sys.modules} & "
        "{'kubernetes', 'redis', 'celery', 'sqlalchemy', 'httpx', 'requests', 'urllib3'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[2])
    assert result.stdout.strip() == "[]"
