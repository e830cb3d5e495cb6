"""`pipeline-queue run` as a user calls it: a file that cannot run is refused before anything is touched; `--json`
and `-q` for scripts; `--follow` printing each step's lines as they arrive."""

from __future__ import annotations

import io
import json
import os
import re
import threading

from rich.console import Console

BAD = """kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine
  commands: [echo one]
- name: build
  image: alpine
  commands: [echo two]
"""


def _env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "KUBECONFIG")}
    return {**env, "PQ_DATA_DIR": str(tmp_path / "data")}


def test_a_file_with_lint_errors_is_refused_with_every_problem_and_nothing_is_created(cli, tmp_path):
    (tmp_path / ".drone.yml").write_text(BAD)
    result = cli("run", str(tmp_path / ".drone.yml"), "--follow", env=_env(tmp_path))
    assert result.returncode == 1
    assert "cannot run" in result.stderr and '.drone.yml:8:3: duplicate step name "build"' in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("run", str(tmp_path / "missing.yml"), env=_env(tmp_path))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_run_is_listed_among_the_commands(cli, tmp_path):
    result = cli("--help", env=_env(tmp_path))
    assert result.returncode == 0 and "run " in result.stdout


SIMPLE = """kind: pipeline
type: kubernetes
name: default
steps:
- {name: a, image: "alpine:3.19", commands: [one]}
- {name: b, image: "alpine:3.19", commands: [two]}
"""


def test_run_json_and_quiet_print_the_build_for_scripts_and_warn_without_up(tmp_path):
    from click.testing import CliRunner

    from pipeline_queue import broker
    from pipeline_queue.cli import cli

    (tmp_path / ".drone.yml").write_text(SIMPLE)
    env = {"PQ_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": None, "REDIS_URL": None, "KUBECONFIG": None}
    try:
        documented = CliRunner().invoke(cli, ["run", str(tmp_path / ".drone.yml"), "--json"], env=env)
        quiet = CliRunner().invoke(cli, ["run", str(tmp_path / ".drone.yml"), "-q"], env=env)
    finally:
        broker.stop(data_dir=tmp_path / "data")
    assert documented.exit_code == 0, documented.output
    assert json.loads(documented.stdout) == {"id": 1, "number": 1, "stages": [
        {"name": "default", "stage": 1, "state": "sent", "reason": None}]}
    assert "start it with: pipeline-queue up" in documented.stderr
    assert quiet.stdout == "2\n"


def test_follow_prints_each_step_s_lines_as_they_arrive_and_the_build_s_end(sessions):
    from pipeline_queue import store
    from pipeline_queue.commands.run import follow_build
    from pipeline_queue.store import NewBuild, NewStage
    from pipeline_queue.vocabulary import Status
    from tests.polling import wait_for
    from tests.store.builders import planned_build

    with sessions.begin() as session:
        detail = planned_build(session, NewBuild(repo="octo/app", event="push"), [(NewStage(name="default"), SIMPLE)])
    stage, (a, b) = detail.stages[0], detail.stages[0].steps
    output = io.StringIO()

    def worker() -> None:  # what the workers write, step by step, once the follower has shown the step before
        with sessions.begin() as session:
            store.start_stage(session, stage.id)
            store.update_step(session, a.id, status=Status.RUNNING, node="node-1")
            store.set_log(session, a.id, "one\ntw")
        wait_for(lambda: "default/a │ one\n" in output.getvalue(), what="the first line", timeout=10)
        assert "tw" not in output.getvalue()  # a line still being written waits for its newline
        with sessions.begin() as session:
            store.append_log(session, a.id, "o\n")
            store.update_step(session, a.id, status=Status.SUCCESS, exit_code=0)
            store.update_step(session, b.id, status=Status.RUNNING)
            store.set_log(session, b.id, "\x1b[31mthree\x1b[0m")
            store.update_step(session, b.id, status=Status.FAILURE, exit_code=1)
            store.finish_stage(session, stage.id)
            store.finish_build(session, detail.build.id)

    thread = threading.Thread(target=worker)
    thread.start()
    passed = follow_build(Console(file=output, width=200, soft_wrap=True), sessions, detail.build.id)
    thread.join()
    lines = output.getvalue().splitlines()
    assert not passed
    assert lines[:3] == ["default/a: running", "default/a │ one", "default/a │ two"]
    assert re.fullmatch(r"default/a: success \(exit code 0\) in \d+s", lines[3])
    assert lines[4:6] == ["default/b │ three", "default/b: failure (exit code 1) in 0s"]  # the colour dropped: a pipe
    assert re.fullmatch(r"finished in \d+s", lines[-2]) and lines[-1] == "build #1: failure"
    terminal = io.StringIO()  # on a terminal the live table comes and goes; the lines stay
    assert not follow_build(Console(file=terminal, force_terminal=True, width=100), sessions, detail.build.id)
    assert "default/b │ " in terminal.getvalue() and "build #1: failure" in terminal.getvalue()
