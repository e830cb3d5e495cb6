"""Step environments: the DRONE_* variables, `environment`, and `settings` as PLUGIN_* variables.

Plain values are written inline; every `from_secret` becomes a reference into the
stage Secret, so no secret value is ever part of a pod.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_queue.compiler.context import BuildContext
from pipeline_queue.compiler.naming import secret_key
from pipeline_queue.errors import CompileError
from pipeline_queue.spec.models import Parameter, Pipeline, Variable

_NOT_ENV_CHAR = re.compile(r"[^A-Z0-9_]")


@dataclass(frozen=True)
class Workspace:
    """Where the workspace is mounted (`base`) and where steps start (`full`), as Drone computes them."""

    base: str
    path: str

    @property
    def full(self) -> str:
        return f"{self.base.rstrip('/')}/{self.path}" if self.path else self.base


class SecretRefs:
    """The `from_secret` names a stage uses, each with its key in the stage Secret."""

    def __init__(self, secret_name: str) -> None:
        self.secret_name = secret_name
        self.keys: dict[str, str] = {}

    def value_from(self, name: str) -> dict[str, Any]:
        key = self.keys.setdefault(name, secret_key(name))
        return {"secretKeyRef": {"name": self.secret_name, "key": key, "optional": True}}


def stage_variables(
    pipeline: Pipeline, context: BuildContext, *, workspace: Workspace, runner_name: str
) -> dict[str, str]:
    """The variables Drone sets in every step of a stage (DRONE_*, and CI_* kept for Drone 0.8)."""
    return {
        **_system_variables(context, runner_name=runner_name, pipeline=pipeline),
        **_repo_variables(context),
        **_build_variables(context),
        **_stage_variables(pipeline, context),
        "DRONE_WORKSPACE": workspace.full,
        "DRONE_WORKSPACE_BASE": workspace.base,
        "DRONE_WORKSPACE_PATH": workspace.path,
        **_event_variables(context),
        **_legacy_variables(context),
    }


def _system_variables(context: BuildContext, *, runner_name: str, pipeline: Pipeline) -> dict[str, str]:
    return {
        "CI": "true",
        "DRONE": "true",
        "DRONE_SYSTEM_PROTO": context.system_proto,
        "DRONE_SYSTEM_HOST": context.system_host,
        "DRONE_SYSTEM_HOSTNAME": context.system_host,
        "DRONE_RUNNER_NAME": runner_name,
        "DRONE_RUNNER_PLATFORM": f"{pipeline.platform.os or 'linux'}/{pipeline.platform.arch or 'amd64'}",
    }


def _repo_variables(context: BuildContext) -> dict[str, str]:
    owner, _, name = context.repo.rpartition("/")
    return {
        "DRONE_REPO": context.repo,
        "DRONE_REPO_OWNER": owner,
        "DRONE_REPO_NAMESPACE": owner,
        "DRONE_REPO_NAME": name,
        "DRONE_REPO_BRANCH": context.repo_branch or context.branch,
        **_remote_variables(context.clone_url),
    }


def _remote_variables(clone_url: str) -> dict[str, str]:
    """Where the repository is cloned from, when it is: DRONE_REMOTE_URL, and the kind of URL it is."""
    if not clone_url:
        return {}
    variables = {"DRONE_REMOTE_URL": clone_url}
    if clone_url.lower().startswith(("https://", "http://")):
        variables["DRONE_GIT_HTTP_URL"] = clone_url
    elif _is_ssh_url(clone_url):
        variables["DRONE_GIT_SSH_URL"] = clone_url
    return variables


def _is_ssh_url(url: str) -> bool:
    """`ssh://...`, or scp-like `user@host:path` (no scheme before the colon)."""
    head = url.split(":", 1)[0]
    return url.lower().startswith("ssh://") or ("@" in head and "/" not in head and ":" in url)


def _build_variables(context: BuildContext) -> dict[str, str]:
    """As Drone: DRONE_BRANCH is the target branch (for a pull request, the branch it merges into)."""
    target = _target(context)
    return {
        "DRONE_BRANCH": target,
        "DRONE_SOURCE_BRANCH": context.source_branch or context.branch,
        "DRONE_TARGET_BRANCH": target,
        "DRONE_COMMIT": context.commit,
        "DRONE_COMMIT_SHA": context.commit,
        "DRONE_COMMIT_BEFORE": context.before,
        "DRONE_COMMIT_AFTER": context.commit,
        "DRONE_COMMIT_REF": context.effective_ref,
        "DRONE_COMMIT_BRANCH": target,
        "DRONE_COMMIT_LINK": context.link,
        "DRONE_COMMIT_MESSAGE": context.message,
        "DRONE_COMMIT_AUTHOR": context.author,
        "DRONE_COMMIT_AUTHOR_NAME": context.author_name,
        "DRONE_COMMIT_AUTHOR_EMAIL": context.author_email,
        "DRONE_COMMIT_AUTHOR_AVATAR": context.author_avatar,
        "DRONE_BUILD_NUMBER": str(context.build_number),
        "DRONE_BUILD_PARENT": str(context.parent),
        "DRONE_BUILD_EVENT": context.event,
        "DRONE_BUILD_ACTION": context.action,
        "DRONE_BUILD_TRIGGER": context.trigger,
        "DRONE_BUILD_LINK": f"{context.system_proto}://{context.system_host}/{context.repo}/{context.build_number}",
        "DRONE_BUILD_CREATED": str(context.created),
        "DRONE_BUILD_STARTED": str(context.created),
        "DRONE_BUILD_FINISHED": str(context.created),
        "DRONE_BUILD_STATUS": "success",
    }


def _stage_variables(pipeline: Pipeline, context: BuildContext) -> dict[str, str]:
    return {
        "DRONE_STAGE_KIND": "pipeline",
        "DRONE_STAGE_TYPE": "kubernetes",
        "DRONE_STAGE_NAME": pipeline.name,
        "DRONE_STAGE_NUMBER": str(context.stage_number),
        "DRONE_STAGE_OS": pipeline.platform.os or "linux",
        "DRONE_STAGE_ARCH": pipeline.platform.arch or "amd64",
        "DRONE_STAGE_DEPENDS_ON": ",".join(pipeline.depends_on),
    }


def _target(context: BuildContext) -> str:
    return context.target_branch or context.branch


def _event_variables(context: BuildContext) -> dict[str, str]:
    """DRONE_TAG and DRONE_PULL_REQUEST, set (as Drone does) only for the events they describe."""
    variables = {}
    if context.effective_tag:
        variables["DRONE_TAG"] = context.effective_tag
        variables.update(semver_variables(context.effective_tag))
    if context.effective_pull_request:
        variables["DRONE_PULL_REQUEST"] = context.effective_pull_request
        variables["DRONE_PULL_REQUEST_TITLE"] = context.title
    return variables


_SEMVER = re.compile(
    r"v?(?P<major>0|[1-9][0-9]*)(?:\.(?P<minor>0|[1-9][0-9]*))?(?:\.(?P<patch>0|[1-9][0-9]*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)


def semver_variables(tag: str) -> dict[str, str]:
    """DRONE_SEMVER* for a tag that is a semantic version (a leading `v` and a missing minor or patch allowed,
    as Drone's parser allows them); DRONE_SEMVER_ERROR for one that is not."""
    match = _SEMVER.fullmatch(tag)
    if match is None:
        return {"DRONE_SEMVER_ERROR": f"{tag!r} is not a semantic version"}
    short = f"{match['major']}.{match['minor'] or 0}.{match['patch'] or 0}"
    version = short + (f"-{match['pre']}" if match["pre"] else "") + (f"+{match['build']}" if match["build"] else "")
    variables = {
        "DRONE_SEMVER": version,
        "DRONE_SEMVER_SHORT": short,
        "DRONE_SEMVER_MAJOR": match["major"],
        "DRONE_SEMVER_MINOR": match["minor"] or "0",
        "DRONE_SEMVER_PATCH": match["patch"] or "0",
    }
    if match["pre"]:
        variables["DRONE_SEMVER_PRERELEASE"] = match["pre"]
    if match["build"]:
        variables["DRONE_SEMVER_BUILD"] = match["build"]
    return variables


def _legacy_variables(context: BuildContext) -> dict[str, str]:
    target = _target(context)
    return {
        "CI_REPO": context.repo,
        "CI_REPO_NAME": context.repo,
        "CI_BUILD_NUMBER": str(context.build_number),
        "CI_BUILD_CREATED": str(context.created),
        "CI_BUILD_EVENT": context.event,
        "CI_BUILD_LINK": context.link,
        "CI_BUILD_STATUS": "success",
        "CI_COMMIT_SHA": context.commit,
        "CI_COMMIT_REF": context.effective_ref,
        "CI_COMMIT_BRANCH": target,
        "CI_COMMIT_MESSAGE": context.message,
        "CI_COMMIT_AUTHOR": context.author,
    }


def step_env(
    system: Mapping[str, str],
    layers: tuple[Mapping[str, Variable], ...],
    settings: Mapping[str, Parameter],
    *,
    refs: SecretRefs,
    where: str,
) -> list[dict[str, Any]]:
    """The container `env`: system variables, then each environment layer, then settings; later wins."""
    entries: dict[str, dict[str, Any]] = {name: _plain(name, value) for name, value in system.items()}
    for layer in layers:
        for name, variable in layer.items():
            _check_name(name, where=where)
            entries[name] = _entry(name, variable.value, variable.from_secret, refs=refs)
    for key, parameter in settings.items():
        if parameter.value is None and not parameter.from_secret:
            continue  # Drone skips a setting written with no value
        name = plugin_variable(key)
        value = "" if parameter.from_secret else encode_setting(parameter.value)
        entries[name] = _entry(name, value, parameter.from_secret, refs=refs)
    return list(entries.values())


def plugin_variable(key: str) -> str:
    """`settings.auto_tag` -> PLUGIN_AUTO_TAG (characters a shell cannot name become `_`)."""
    return "PLUGIN_" + _NOT_ENV_CHAR.sub("_", key.upper())


def encode_setting(value: Any) -> str:
    """A setting as its plugin reads it: strings as is, lists of scalars comma-joined, the rest JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple) and all(_is_scalar(item) for item in value):
        return ",".join(encode_setting(item) for item in value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def literal(value: str) -> str:
    """Escape `$` so Kubernetes' `$(VAR)` expansion leaves the value exactly as written."""
    return value.replace("$", "$$")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _entry(name: str, value: str, from_secret: str, *, refs: SecretRefs) -> dict[str, Any]:
    if from_secret:
        return {"name": name, "valueFrom": refs.value_from(from_secret)}
    return _plain(name, value)


def _plain(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": literal(value)}


def _check_name(name: str, *, where: str) -> None:
    # Kubernetes accepts any printable ASCII but `=` in a variable name.
    if not name or "=" in name or not all(" " <= char <= "~" for char in name):
        raise CompileError(f"{where}: {name!r} is not a valid environment variable name")
