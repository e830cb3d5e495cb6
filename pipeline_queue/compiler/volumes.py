"""The workspace and the pipeline's volumes as pod volumes and container mounts."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from pipeline_queue.compiler.environ import SecretRefs, Workspace
from pipeline_queue.compiler.naming import slugify
from pipeline_queue.compiler.resources import memory_quantity
from pipeline_queue.errors import CompileError
from pipeline_queue.spec.models import Pipeline, Step, Volume

WORKSPACE_BASE = "/drone/src"
WORKSPACE_VOLUME = "pq-workspace"
_MAX_MODE = 0o777


def workspace_of(pipeline: Pipeline) -> Workspace:
    """Drone's rule: an absolute `workspace.path` is the base; a relative one goes under /drone/src."""
    path = pipeline.workspace.path
    if path.startswith("/"):
        return Workspace(base=posixpath.normpath(path), path="")
    return Workspace(base=WORKSPACE_BASE, path=path.strip("/"))


def pipeline_volumes(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    """Each pipeline volume by its name in the file, as a pod volume."""
    volumes: dict[str, dict[str, Any]] = {}
    for volume in pipeline.volumes:
        where = f"volumes.{volume.name or '?'}"
        if not volume.name:
            raise CompileError("volumes: a volume has no name")
        if volume.name in volumes:
            raise CompileError(f"{where}: the volume name is used twice")
        volumes[volume.name] = {"name": volume_name(volume.name), **_source(volume, where=where)}
    return volumes


def own_secret_volumes(volumes: Mapping[str, dict[str, Any]], refs: SecretRefs) -> dict[str, dict[str, Any]]:
    """For an untrusted repository: each `secret` volume mounts one of the repository's own secrets, as a file
    of the stage's Secret, never a Secret of the namespace by name (the linter refused any other)."""
    rewritten: dict[str, dict[str, Any]] = {}
    for name, volume in volumes.items():
        source = volume.get("secret")
        if source is None:
            rewritten[name] = volume
            continue
        key = refs.value_from(source["secretName"])["secretKeyRef"]["key"]
        own = {"secretName": refs.secret_name, "items": [{"key": key, "path": key}]}
        own.update({field: source[field] for field in ("defaultMode", "optional") if field in source})
        rewritten[name] = {"name": volume["name"], "secret": own}
    return rewritten


def volume_name(name: str) -> str:
    slug = slugify(name)
    if slug == WORKSPACE_VOLUME:
        raise CompileError(f"volumes.{name}: the name {WORKSPACE_VOLUME!r} is reserved for the workspace")
    return slug


def step_volumes(
    step: Step, declared: Mapping[str, dict[str, Any]], *, claim: str, workspace: Workspace, where: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pod volumes and container mounts of one step: the workspace, then what the step asks for."""
    volumes = [{"name": WORKSPACE_VOLUME, "persistentVolumeClaim": {"claimName": claim}}]
    mounts = [{"name": WORKSPACE_VOLUME, "mountPath": workspace.base}]
    for use in step.volumes:
        if use.name not in declared:
            raise CompileError(f"{where}: volume {use.name!r} is not declared in the pipeline's volumes")
        if not use.path.startswith("/"):
            raise CompileError(f"{where}: volume {use.name!r}: path {use.path!r} must be absolute")
        path = posixpath.normpath(use.path)
        if any(mount["mountPath"] == path for mount in mounts):
            raise CompileError(f"{where}: volume {use.name!r}: {path} is already mounted in this step")
        volume = declared[use.name]
        if volume not in volumes:
            volumes.append(volume)
        mounts.append({"name": volume["name"], "mountPath": path})
    return volumes, mounts


def _source(volume: Volume, *, where: str) -> dict[str, Any]:
    kinds = [kind for kind in ("temp", "host", "claim", "config_map", "secret") if getattr(volume, kind) is not None]
    if len(kinds) != 1:
        raise CompileError(f"{where}: give exactly one of temp, host, claim, config_map or secret (found {len(kinds)})")
    if volume.temp is not None:
        return {"emptyDir": _empty_dir(volume.temp.medium, volume.temp.size_limit, where=where)}
    if volume.host is not None:
        return {"hostPath": {"path": _required(volume.host.path, f"{where}.host.path")}}
    if volume.claim is not None:
        claim = {"claimName": _required(volume.claim.name, f"{where}.claim.name")}
        return {"persistentVolumeClaim": {**claim, **({"readOnly": True} if volume.claim.read_only else {})}}
    if volume.config_map is not None:
        config_map = volume.config_map
        name = {"name": _required(config_map.name, f"{where}.config_map.name")}
        return {"configMap": {**name, **_mode_and_optional(config_map.default_mode, config_map.optional, where=where)}}
    assert volume.secret is not None
    secret = volume.secret
    name = {"secretName": _required(secret.secret_name, f"{where}.secret.secret_name")}
    return {"secret": {**name, **_mode_and_optional(secret.default_mode, secret.optional, where=where)}}


def _empty_dir(medium: str, size_limit: str, *, where: str) -> dict[str, Any]:
    empty_dir: dict[str, Any] = {}
    if medium.lower() == "memory":
        empty_dir["medium"] = "Memory"
    elif medium.startswith("HugePages"):
        empty_dir["medium"] = medium
    elif medium:
        raise CompileError(f"{where}.temp.medium: {medium!r} is not a medium (use memory, or leave it out)")
    if size_limit:
        empty_dir["sizeLimit"] = memory_quantity(size_limit, where=f"{where}.temp.size_limit")
    return empty_dir


def _mode_and_optional(mode: int | None, optional: bool, *, where: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if mode is not None:
        if not 0 <= mode <= _MAX_MODE:
            raise CompileError(f"{where}.default_mode: {mode} is not a file mode (0 to 511; YAML 0644 is octal 420)")
        fields["defaultMode"] = mode
    if optional:
        fields["optional"] = True
    return fields


def _required(value: str, where: str) -> str:
    if not value:
        raise CompileError(f"{where} is required")
    return value
