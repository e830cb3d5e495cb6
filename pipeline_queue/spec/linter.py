"""Lints a loaded pipeline file: what Drone would reject (errors) or silently ignore (warnings).

Each problem carries a rule id from `RULES`; the loader's notices are included.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from pipeline_queue.spec.document import LoadedFile, Problem
from pipeline_queue.spec.lint_deps import check_pipeline_dependencies, check_step_dependencies
from pipeline_queue.spec.lint_keys import check_keys
from pipeline_queue.spec.lint_names import check_images, check_pipeline_names, check_step_names
from pipeline_queue.spec.lint_rules import RULES, Rule
from pipeline_queue.spec.lint_secrets import check_secrets
from pipeline_queue.spec.lint_trust import TRUSTED, Trust, check_trust
from pipeline_queue.spec.lint_volumes import check_mounts, check_volumes

__all__ = ["RULES", "TRUSTED", "Problem", "Rule", "Trust", "has_errors", "lint"]


def lint(loaded: LoadedFile, *, secrets: Collection[str] | None = None, trust: Trust = TRUSTED) -> list[Problem]:
    """Every problem in the file, sorted by position.

    `secrets` names the secrets the repository provides; None skips that check.
    Secrets declared by `kind: secret` documents of the file count as provided.
    `trust` says what the repository may do (the operator's own local runs may do everything).
    """
    problems = [*loaded.notices, *_file_problems(loaded)]
    provided = None if secrets is None else {*secrets, *(secret.name for secret in loaded.secrets)}
    for entry in loaded.pipelines:
        problems += check_step_names(loaded.filename, entry)
        problems += check_images(loaded.filename, entry)
        problems += check_step_dependencies(loaded.filename, entry)
        problems += check_volumes(loaded.filename, entry)
        problems += check_mounts(loaded.filename, entry)
        if provided is not None:
            problems += check_secrets(loaded.filename, entry, provided=provided)
        problems += check_trust(loaded.filename, entry, trust=trust)
    return sorted(problems, key=lambda found: (found.line, found.col))


def _file_problems(loaded: LoadedFile) -> Iterator[Problem]:
    yield from check_pipeline_names(loaded)
    yield from check_pipeline_dependencies(loaded)
    yield from check_keys(loaded)


def has_errors(problems: Collection[Problem]) -> bool:
    """True when any problem is an error (the file must not run)."""
    return any(found.severity == "error" for found in problems)
