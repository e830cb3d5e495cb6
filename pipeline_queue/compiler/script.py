"""The shell script a step's `commands` become, and how the container hands it to the shell unchanged.

The script travels in DRONE_SCRIPT and reaches the shell as its `-c` argument through Kubernetes' own `$(VAR)`
expansion: no `echo` rewrites it on the way (dash's echo would turn `\\c`, `\\n` and a leading `-n` into
something else) and nothing reads it from standard input, which stays the step's own.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

DEFAULT_SHELL = "/bin/sh"
SCRIPT_VARIABLE = "DRONE_SCRIPT"


def script(commands: Sequence[str]) -> str:
    """`set -e`, then each command traced as `+ command` before it runs (Drone's layout)."""
    # printf prints the trace as given: the command is one single-quoted argument, never expanded or run.
    traced = "".join(f"\nprintf '+ %s\\n' {shlex.quote(command)}\n{command}\n" for command in commands)
    return f"\nset -e\n{traced}"


def script_entrypoint(shell: str = "") -> tuple[list[str], list[str]]:
    """The container command and args: the shell, `-c`, and the script as the kubelet expands `$(DRONE_SCRIPT)`."""
    return [shell or DEFAULT_SHELL, "-c"], [f"$({SCRIPT_VARIABLE})"]
