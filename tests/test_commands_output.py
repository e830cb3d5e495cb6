"""How the commands print, for people and for scripts: whole lines into pipes, tables that fit a terminal or one
record per line, NO_COLOR, times as people read them, `--json` and `-q`, lint findings on standard output.

Run in-process through click's runner (a pipe, as far as the commands can tell; FORCE_COLOR and COLUMNS make rich
take it for a terminal of that width)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline_queue import store
from pipeline_queue.cli import cli
from pipeline_queue.store import NewBuild, NewStage
from pipeline_queue.vocabulary import Status
from tests.store.builders import pipeline_text, planned_build

LONG_IMAGE = "registry.example.com/platform/tools/a/very/long/path/to/the/builder-image:2024.05.01-alpine3.19"
CLEAN = "kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n- {name: a, image: 'alpine:3.19', commands: [x]}\n"


@pytest.fixture
def data_dir(tmp_path: Path, sessions) -> Path:
    """Build 1 of acme/web (its `build` step failed after 65 s, with a long image), build 2 of acme/api, pending."""
    with sessions.begin() as session:
        first = planned_build(session, NewBuild(repo="acme/web", event="push", branch="main"), [
            (NewStage(name="backend"), pipeline_text("backend", f"build={LONG_IMAGE}"))])
        step, started = first.stages[0].steps[0], store.utcnow()
        store.update_step(session, step.id, status=Status.RUNNING, node="node-1", at=started)
        store.update_step(session, step.id, status=Status.FAILURE, exit_code=2, at=started + timedelta(seconds=65))
        store.create_build(session, NewBuild(repo="acme/api", event="pull_request", branch="feature"), stages=[])
    return tmp_path / "data"  # where the `sessions` fixture keeps its database


def pq(data_dir: Path, *args: str, stdin: str | None = None, **variables: str) -> Result:
    env = {"PQ_DATA_DIR": str(data_dir), "DATABASE_URL": None, "REDIS_URL": None, "KUBECONFIG": None,
           "PQ_SECRET_KEY": None, "NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": None, **variables}
    return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)


def test_a_pipe_gets_whole_lines_and_no_escape_code(data_dir):
    shown = pq(data_dir, "build", "show", "1")
    assert shown.exit_code == 0, shown.output
    assert any(LONG_IMAGE in line for line in shown.stdout.splitlines())  # never wrapped at 80 columns
    assert "\x1b[" not in shown.stdout
    assert "build 1 (#1 of acme/web): pending" in shown.stdout and "1m05s" in shown.stdout


def test_builds_show_number_status_repository_branch_event_time_and_duration(data_dir):
    result = pq(data_dir, "builds")
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert [row[:6] for row in rows] == [["2", "#1", "pending", "acme/api", "feature", "pull_request"],
                                         ["1", "#1", "pending", "acme/web", "main", "push"]]
    assert re.fullmatch(r"just now \(\d\d:\d\d\)", rows[0][6])
    assert rows[1][7] == "" and rows[0][7] == ""  # neither build has started


def test_builds_filter_by_repository_and_status_and_print_only_ids_for_scripts(data_dir):
    assert pq(data_dir, "builds", "-q").stdout == "2\n1\n"
    assert pq(data_dir, "builds", "-q", "--repo", "acme/web").stdout == "1\n"
    assert pq(data_dir, "builds", "--json", "--status", "success").stdout == "[]\n"
    refused = pq(data_dir, "builds", "--status", "done")
    assert refused.exit_code == 2 and "'done' is not one of" in refused.stderr


def test_a_table_too_wide_for_the_terminal_becomes_one_record_per_line(data_dir):
    result = pq(data_dir, "build", "show", "1", FORCE_COLOR="1", COLUMNS="60", NO_COLOR="1")
    lines = result.stdout.splitlines()
    assert "step  status  exit  duration  node  image  pull policy  error" in lines
    assert f"build  failure  2  1m05s  node-1  {LONG_IMAGE}  IfNotPresent  -" in lines
    assert "┃" not in result.stdout
    narrow_enough = pq(data_dir, "builds", FORCE_COLOR="1", COLUMNS="200", NO_COLOR="1")
    assert "┃" in narrow_enough.stdout  # it fits: a table


def test_colour_on_a_terminal_unless_no_color_says_otherwise(data_dir):
    assert "\x1b[" in pq(data_dir, "build", "show", "1", FORCE_COLOR="1", COLUMNS="200").stdout
    for args in (("build", "show", "1"), ("builds",), ("cache", "report")):
        assert "\x1b[" not in pq(data_dir, *args, FORCE_COLOR="1", COLUMNS="200", NO_COLOR="1").stdout


def test_lint_prints_findings_on_standard_output_in_text_or_json(tmp_path):
    bad = tmp_path / ".drone.yml"
    bad.write_text("kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n"
                   "- name: build\n  image: golang\n  pull: sometimes\n"
                   "- name: test\n  image: golang\n  commands: [go test]\n  depends_on: [biuld]\n")
    text = pq(tmp_path, "lint", str(bad))
    assert text.exit_code == 1 and text.stderr == ""
    assert all(line.startswith(f"{bad}:") for line in text.stdout.splitlines()) and f"{bad}:7:" in text.stdout
    records = json.loads(pq(tmp_path, "lint", str(bad), "--json").stdout)
    assert {"file", "line", "col", "severity", "rule", "message"} == set(records[0])
    assert {record["severity"] for record in records} >= {"error"}
    quiet = pq(tmp_path, "lint", str(bad), "-q").stdout.splitlines()
    assert quiet and len(quiet) == len([record for record in records if record["severity"] == "error"])
    clean = tmp_path / "clean.yml"
    clean.write_text(CLEAN)
    assert (pq(tmp_path, "lint", str(clean)).exit_code, pq(tmp_path, "lint", str(clean), "--json").stdout) == (
        0, "[]\n")


def test_explain_tells_its_findings_on_standard_error_keeping_its_document_clean(tmp_path):
    warned = tmp_path / ".drone.yml"
    warned.write_text(CLEAN + "- {name: b, image: alpine, commands: [y], colour: blue}\n")
    result = pq(tmp_path, "explain", str(warned), "--json")
    assert json.loads(result.stdout)["pipelines"][0]["name"] == "default"
    assert "warning:" in result.stderr and "colour" in result.stderr


def test_quiet_prints_only_what_a_script_needs(tmp_path):
    token = pq(tmp_path, "token", "create", "ci", "-q").stdout
    assert re.fullmatch(r"pq_[A-Za-z0-9_-]{43}\n", token)
    assert pq(tmp_path, "token", "list", "-q").stdout == "ci\n"
    secret = pq(tmp_path, "repo", "add", "octo/app", "-q").stdout
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", secret)
    assert pq(tmp_path, "repo", "list", "-q").stdout == "octo/app\n"
    assert pq(tmp_path, "secret", "add", "octo/app", "npm", "-q", stdin="value-1234\n").stdout == ""
    assert pq(tmp_path, "secret", "list", "octo/app", "-q").stdout == "npm\n"
    assert pq(tmp_path, "secret", "remove", "octo/app", "npm", "-q").stdout == ""
    assert pq(tmp_path, "token", "revoke", "ci", "-q").stdout == ""
