"""Names and messages from pipelines print as written in every Rich view: never as markup, links or emoji."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from pipeline_queue import broker, store
from pipeline_queue.broker import redis_client
from pipeline_queue.cache import index
from pipeline_queue.store import NewBuild, NewStage
from pipeline_queue.vocabulary import FindingKind, Status
from tests.conftest import run_cli
from tests.store.builders import planned_build

MARKUP = "[bold red]x[/]"
LINK = "[link=http://evil]click"
EMOJI = ":smile: [/] end\\"  # an emoji code, a closing tag, and a trailing backslash (escape() would double it)

PIPELINE = f"""\
kind: pipeline
type: kubernetes
name: {json.dumps(MARKUP)}
image_pull_secrets: ["[b]cfg"]
steps:
- name: {json.dumps(LINK)}
  image: registry.example.com/team/app:1.0
  commands: ["echo ${{NOT_SET}}"]
- name: {json.dumps(EMOJI)}
  image: alpine:3.19
  commands: [echo hi]
"""
SECRETS = """\
"[b]cfg": '{"auths": {"registry.example.com": {"username": "[bold]ci[/bold]", "password": "pw-not-shown"}}}'
"""


def environment(**variables: str) -> dict[str, str]:
    """Wide enough that no line wraps; no PQ_ setting of the caller's."""
    keep = {key: value for key, value in os.environ.items()
            if not key.startswith("PQ_") and key not in ("DATABASE_URL", "REDIS_URL", "KUBECONFIG")}
    return {**keep, "COLUMNS": "400", **variables}


def table_rows(output: str) -> list[list[str]]:
    """The cells of each row of the tables in `output`, stripped."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines() if line.startswith("│")]


def assert_literal(output: str, *texts: str) -> None:
    for text in texts:
        assert text in output, f"{text!r} not printed as written in:\n{output}"
    assert "😄" not in output and "\x1b]8;" not in output  # no emoji, no terminal hyperlink


def test_explain_prints_pipeline_and_step_names_usernames_and_warnings_as_written(tmp_path: Path) -> None:
    (tmp_path / "p.yml").write_text(PIPELINE)
    (tmp_path / "s.yml").write_text(SECRETS)
    result = run_cli("explain", str(tmp_path / "p.yml"), "--secrets", str(tmp_path / "s.yml"), env=environment())
    assert result.returncode == 0, result.stderr
    assert_literal(
        result.stdout,
        f"pipeline '{MARKUP}' (namespace default)",
        f"  {LINK}\n",
        f"  {EMOJI}\n",
        "credentials  [b]cfg -> registry.example.com (user [bold]ci[/bold])",
    )
    warnings = [line for line in result.stdout.splitlines() if line.startswith("  warning:")]
    assert warnings and all(LINK in line for line in warnings), result.stdout


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store with one build whose repository, branch, stage, steps, error and finding carry markup, and
    an embedded Redis whose index knows a node named with markup."""
    folder = tmp_path_factory.mktemp("escaping")
    url = store.database_url(data_dir=folder)
    store.migrate(url)
    engine = store.create_engine(url)
    with store.session_factory(engine).begin() as session:
        build = planned_build(session, NewBuild(repo=f"acme/{MARKUP}", event="push", branch=LINK),
                              [(NewStage(name=f"stage {MARKUP}"), PIPELINE)])
        step = build.stages[0].steps[0]
        store.update_step(session, step.id, status=Status.RUNNING, node="[b]node-1", pull_policy="IfNotPresent")
        store.update_step(session, step.id, status=Status.FAILURE, exit_code=1, error=f"{MARKUP} failed")
        store.add_finding(session, build_id=build.build.id, step_id=step.id, kind=FindingKind.RISK,
                          image="registry.example.com/team/app:1.0", node="[b]node-1", mode="warn",
                          action="recorded", detail=f"{LINK} detail")
    engine.dispose()
    redis_url = broker.ensure_embedded(folder / "redis")
    client = redis_client(redis_url)
    node = {"metadata": {"name": "[b]node-1"},
            "status": {"images": [{"names": ["registry.example.com/team/app:1.0"], "sizeBytes": 1000}]}}
    index.sweep([node], redis=client)
    client.close()
    try:
        yield folder
    finally:
        broker.stop(data_dir=folder / "redis")


def test_builds_table_prints_repository_and_branch_as_written(data_dir: Path) -> None:
    result = run_cli("builds", env=environment(PQ_DATA_DIR=str(data_dir)))
    assert result.returncode == 0, result.stderr
    assert_literal(result.stdout, f"acme/{MARKUP}", LINK)
    assert table_rows(result.stdout)[0][1:6] == ["#1", "pending", f"acme/{MARKUP}", LINK, "push"]


def test_build_show_prints_stage_step_error_and_finding_as_written(data_dir: Path) -> None:
    result = run_cli("build", "show", "1", env=environment(PQ_DATA_DIR=str(data_dir)))
    assert result.returncode == 0, result.stderr
    assert_literal(result.stdout, f"\nstage {MARKUP} (pending)\n",
                   f"risk stage {MARKUP}/{LINK}: registry.example.com/team/app:1.0 on [b]node-1 (warn, recorded) "
                   f"{LINK} detail\n")
    rows = table_rows(result.stdout)
    assert [row[:3] + row[4:] for row in rows] == [  # row[3]: the duration
        [LINK, "failure", "1", "[b]node-1", "registry.example.com/team/app:1.0", "IfNotPresent", f"{MARKUP} failed"],
        [EMOJI, "pending", "", "", "alpine:3.19", "IfNotPresent", ""],
    ]


def test_cache_report_prints_node_and_step_names_as_written(data_dir: Path) -> None:
    env = environment(PQ_DATA_DIR=str(data_dir), REDIS_URL=broker.ensure_embedded(data_dir / "redis"))
    result = run_cli("cache", "report", env=env)
    assert result.returncode == 0, result.stderr
    assert_literal(result.stdout, "[b]node-1 (1 images)",
                   f"risk build 1 of acme/{MARKUP} stage {MARKUP}/{LINK}: registry.example.com/team/app:1.0 on "
                   "[b]node-1")


def test_run_prints_submitted_stages_and_followed_steps_as_written(sessions) -> None:
    # `run` needs the whole system to submit; what it prints is printed as run_command prints it.
    from pipeline_queue.commands.run import _print_submitted, follow_build
    from pipeline_queue.producer.submit import SubmittedBuild, SubmittedStage

    output = io.StringIO()
    console = Console(file=output, width=400, soft_wrap=True, highlight=False)
    _print_submitted(console, SubmittedBuild(build_id=1, number=1, enqueued=(1,), stages=(
        SubmittedStage(stage_id=1, name=MARKUP), SubmittedStage(stage_id=None, name=EMOJI, skipped_reason=LINK))))
    with sessions.begin() as session:
        build = planned_build(session, NewBuild(repo="acme/web", event="push"), [(NewStage(name=EMOJI), PIPELINE)])
        step = build.stages[0].steps[0]
        store.update_step(session, step.id, status=Status.FAILURE, exit_code=1, error=MARKUP)
        store.set_log(session, step.id, "[bold]log line[/bold] :smile:\n")
        store.finish_stage(session, build.stages[0].id)
        store.finish_build(session, build.build.id)
    assert not follow_build(console, sessions, build.build.id)
    assert_literal(
        output.getvalue(),
        f"  {MARKUP}: stage 1\n",
        f"  {EMOJI}: not run ({LINK})\n",
        f"{EMOJI}/{LINK}: failure (exit code 1; {MARKUP}) in 0s\n",
        f"{EMOJI}/{LINK} │ [bold]log line[/bold] :smile:\n",
        "build #1: failure",
    )
