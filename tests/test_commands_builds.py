"""`builds`, `build show` and `logs` over a real SQLite store, run as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline_queue import store
from pipeline_queue.store import NewBuild, NewStage
from pipeline_queue.vocabulary import FindingKind, Status
from tests.conftest import run_cli
from tests.store.builders import pipeline_text, planned_build


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two builds: #1 of acme/web (two pipelines sharing a step name), #2 of acme/api."""
    folder = tmp_path_factory.mktemp("store")
    url = store.database_url(data_dir=folder)
    store.migrate(url)
    engine = store.create_engine(url)
    with store.session_factory(engine).begin() as session:
        first = planned_build(session, NewBuild(repo="acme/web", event="push", branch="main"), [
            (NewStage(name="backend"), pipeline_text("backend", "test=golang:1.22", "build=golang:1.22")),
            (NewStage(name="frontend"), pipeline_text("frontend", "test=node:20")),
        ])
        build_step = first.stages[0].steps[1]
        store.update_step(session, build_step.id, status=Status.RUNNING, node="node-1", pull_policy="IfNotPresent")
        store.update_step(session, build_step.id, status=Status.FAILURE, exit_code=2, error="")
        store.set_log(session, build_step.id, "go build ./...\nundefined: main\n")
        store.set_log(session, first.stages[1].steps[0].id, "npm test\nok\n")
        store.add_finding(session, build_id=first.build.id, step_id=build_step.id, kind=FindingKind.RISK,
                          image="registry.example.com/private:1", node="node-1", mode="warn", action="recorded")
        store.create_build(session, NewBuild(repo="acme/api", event="pull_request", branch="feature"), stages=[])
    engine.dispose()
    return folder


def cli_in(folder: Path, *args: str):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return run_cli(*args, env={**env, "PQ_DATA_DIR": str(folder)})


def test_builds_json_lists_newest_first_with_the_documented_keys(data_dir: Path) -> None:
    result = cli_in(data_dir, "builds", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == [2, 1]
    assert all(list(row) == ["id", "status", "repo", "branch", "event", "created"] for row in rows)
    assert rows[0] | {"created": None} == {"id": 2, "status": "pending", "repo": "acme/api", "branch": "feature",
                                           "event": "pull_request", "created": None}
    assert rows[1]["created"].startswith("20")


def test_builds_table_names_every_build(data_dir: Path) -> None:
    result = cli_in(data_dir, "builds")
    assert result.returncode == 0, result.stderr
    assert "acme/web" in result.stdout and "acme/api" in result.stdout


def test_build_show_json_has_stages_steps_and_findings(data_dir: Path) -> None:
    result = cli_in(data_dir, "build", "show", "1", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["id", "status", "stages", "findings"]
    assert document["id"] == 1 and document["status"] == "pending"
    assert [stage["name"] for stage in document["stages"]] == ["backend", "frontend"]
    assert document["stages"][0]["steps"][1] == {
        "name": "build", "status": "failure", "exit_code": 2, "node": "node-1",
        "image": "docker.io/library/golang:1.22", "pull_policy": "IfNotPresent", "error": "",
    }
    assert document["stages"][1]["steps"][0]["exit_code"] is None
    [finding] = document["findings"]
    assert finding["kind"] == "risk" and finding["step"] == "backend/build"
    assert finding["image"] == "registry.example.com/private:1" and finding["node"] == "node-1"


def test_build_show_table(data_dir: Path) -> None:
    result = cli_in(data_dir, "build", "show", "1")
    assert result.returncode == 0, result.stderr
    assert "backend" in result.stdout and "golang:1.22" in result.stdout and "risk" in result.stdout


@pytest.mark.parametrize("args", [("build", "show", "99"), ("build", "show", "99", "--json"), ("logs", "99", "x")])
def test_unknown_build_exits_1_and_says_so(data_dir: Path, args: tuple[str, ...]) -> None:
    result = cli_in(data_dir, *args)
    assert result.returncode == 1
    assert "build 99 does not exist" in result.stderr
    assert result.stdout == ""


def test_logs_prints_a_steps_output(data_dir: Path) -> None:
    result = cli_in(data_dir, "logs", "1", "build")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "go build ./...\nundefined: main\n"


def test_a_step_name_two_pipelines_share_needs_its_stage(data_dir: Path) -> None:
    ambiguous = cli_in(data_dir, "logs", "1", "test")
    assert ambiguous.returncode == 1
    assert "several steps named 'test'" in ambiguous.stderr and "frontend/test" in ambiguous.stderr
    chosen = cli_in(data_dir, "logs", "1", "frontend/test")
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout == "npm test\nok\n"


def test_unknown_step_lists_the_steps(data_dir: Path) -> None:
    result = cli_in(data_dir, "logs", "1", "deploy")
    assert result.returncode == 1
    assert "no step 'deploy'" in result.stderr and "backend/build" in result.stderr


def test_without_a_database_the_commands_say_where_they_looked(tmp_path: Path) -> None:
    result = cli_in(tmp_path / "empty", "builds", "--json")
    assert result.returncode == 1
    assert "no database at" in result.stderr and "PQ_DATA_DIR" in result.stderr
