"""The commands script: Drone's layout, traced commands printed literally, and run by a real shell."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipeline_queue.compiler.envsubst import substitute
from pipeline_queue.compiler.script import script, script_entrypoint
from tests.compiler.conftest import compile_text, env_of, kube_expand


def test_script_layout_is_drones_with_a_printf_trace() -> None:
    assert script(["go build", "go test"]) == (
        "\nset -e\n\nprintf '+ %s\\n' 'go build'\ngo build\n\nprintf '+ %s\\n' 'go test'\ngo test\n")


def test_the_script_is_the_shell_s_argument_through_the_kubelet_s_expansion() -> None:
    assert script_entrypoint() == (["/bin/sh", "-c"], ["$(DRONE_SCRIPT)"])
    assert script_entrypoint("/bin/bash") == (["/bin/bash", "-c"], ["$(DRONE_SCRIPT)"])


def run_step(
    commands: list[str], tmp_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Compile one step and run its container command as the kubelet would: env and args expanded."""
    yaml_commands = "\n".join(f"  - {_yaml_quote(command)}" for command in commands)
    plan = compile_text(
        "kind: pipeline\ntype: kubernetes\nname: t\nsteps:\n- name: s\n  image: alpine:3.20\n"
        f"  commands:\n{yaml_commands}\n"
    )
    pod = plan.steps[0].pod
    container = pod["spec"]["containers"][0]
    env = {name: kube_expand(value, {}) for name, value in env_of(pod).items() if isinstance(value, str)}
    argv = [kube_expand(part, env) for part in container["command"] + container["args"]]
    return subprocess.run(
        argv,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env, **(extra_env or {})},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _yaml_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize(
    "command",
    [
        'echo "hello $GREETING"',
        "echo '$HOME stays quoted'",
        "echo `echo backticks` $(echo substitution)",
        'pid=$$$$; test -n "$pid" && echo pid-ok',  # Drone's substitution leaves the shell `$$`
        'echo "it\'s" \'a "mix"\'',
        "echo $(DRONE_BRANCH) 2>/dev/null || echo no-such-command",
    ],
)
def test_each_command_is_traced_literally_then_run(command: str, tmp_path: Path) -> None:
    result = run_step([command], tmp_path, {"GREETING": "world"})
    lines = result.stdout.splitlines()
    command = substitute(command, {})  # what the step runs: the file's text after Drone's substitution
    assert lines[0] == f"+ {command}"
    expected = subprocess.run(
        ["/bin/sh", "-c", command],
        env={"PATH": os.environ.get("PATH", ""), "GREETING": "world", "HOME": "/h"},
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert len(lines) == 1 + len(expected)
    if "pid" not in command:  # a process id differs from run to run
        assert lines[1:] == expected


def test_the_script_stops_at_the_first_failing_command(tmp_path: Path) -> None:
    result = run_step(["echo first", "false", "echo never"], tmp_path)
    assert result.returncode != 0
    assert result.stdout.splitlines() == ["+ echo first", "first", "+ false"]


def test_commands_run_in_order_and_share_the_shell(tmp_path: Path) -> None:
    result = run_step(["X=42", "echo value=$X", "touch made-here"], tmp_path)
    assert result.returncode == 0
    assert "value=42" in result.stdout.splitlines()
    assert (tmp_path / "made-here").exists()


@pytest.mark.parametrize("shell", ["", "/bin/bash", "/usr/bin/dash"])
@pytest.mark.parametrize(
    "command",
    [
        r"printf '%s\n' 'back\slash \c and \n stay'",
        "echo -n no-newline; echo",
        r"X='a\\b'; printf '%s\n' \"$X\"",
        "read line || echo stdin-is-the-step-s-own",
    ],
)
def test_the_script_reaches_every_shell_unchanged(command: str, shell: str, tmp_path: Path) -> None:
    if shell and not Path(shell).exists():
        pytest.fail(f"{shell} is not on this machine")
    text = "kind: pipeline\ntype: kubernetes\nname: t\n" + (f"steps:\n- name: s\n  image: alpine:3.20\n"
                                                           f"  shell: {shell}\n" if shell else
                                                           "steps:\n- name: s\n  image: alpine:3.20\n")
    text += f"  commands:\n  - {_yaml_quote(command)}\n"
    pod = compile_text(text).steps[0].pod
    container = pod["spec"]["containers"][0]
    env = {name: kube_expand(value, {}) for name, value in env_of(pod).items() if isinstance(value, str)}
    argv = [kube_expand(part, env) for part in container["command"] + container["args"]]
    assert argv[-1] == env["DRONE_SCRIPT"]  # the script itself is the argument: nothing rewrote it
    result = subprocess.run(argv, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=tmp_path,
                            input="", capture_output=True, text=True, timeout=30, check=False)
    command = substitute(command, {})  # what the step runs: the file's text after Drone's substitution
    expected = subprocess.run([shell or "/bin/sh", "-c", command], cwd=tmp_path, input="", capture_output=True,
                              text=True, timeout=30, check=False, env={"PATH": os.environ.get("PATH", "")})
    assert result.stdout.splitlines() == [f"+ {command}", *expected.stdout.splitlines()]
