"""The shell script a step's `commands` become, run the way Drone's Kubernetes runner runs it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

DEFAULT_SHELL = "/bin/sh"
SCRIPT_VARIABLE = "DRONE_SCRIPT"


def script(commands: Sequence[str]) -> str:
    """`set -e`, then each command traced as `+ command` before it runs."""
    # The trace is single-quoted, so `$`, backticks and quotes in it are printed, never run.
    traced = "".join(f"\necho + {shlex.quote(command)}\n{command}\n" for command in commands)
    return f"\nset -e\n{traced}"


def script_entrypoint(shell: str = "") -> tuple[list[str], list[str]]:
    """The container command and args that feed DRONE_SCRIPT to the shell."""
    interpreter = shlex.quote(shell) if shell else DEFAULT_SHELL
    return [DEFAULT_SHELL, "-c"], [f'echo "${SCRIPT_VARIABLE}" | {interpreter}']
