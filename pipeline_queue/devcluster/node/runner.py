"""Containers as local processes: the command line, environment, working directory and log file of each.

Volumes map to host folders (a claim to `volumes/<ns>/<claim>`, an emptyDir to the pod's folder, a hostPath to
itself); the working directory goes through the mounts, so pods sharing a claim share a workspace.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline_queue.devcluster.errors import ContainerConfigError

IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH images set, so `sh`, `echo` and friends resolve as in a container."""
START_FAILED_EXIT = 128
_REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")

SecretLookup = Callable[[str, str], "Mapping[str, str] | None"]
"""(namespace, name) -> the Secret's decoded data, or None when there is no such Secret."""


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one container's process; the environment may hold secrets."""

    argv: tuple[str, ...]
    cwd: Path
    log_path: Path
    env: Mapping[str, str] = field(repr=False, default_factory=dict)


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` is a literal `$`, others stay as written."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return variables.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


def decode_secret(secret: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's `data` (base64) and `stringData` as text; undecodable entries are left out."""
    found: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            found[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, TypeError):
            continue
    found.update(secret.get("stringData") or {})
    return found


def _no_config_maps(_namespace: str, _name: str) -> Mapping[str, str] | None:
    return None


_SOURCES = {"secretRef": "secret", "configMapRef": "configmap", "secretKeyRef": "secret",
            "configMapKeyRef": "configmap"}
_KINDS = {"secret": "Secret", "configmap": "ConfigMap"}


def container_env(container: Mapping[str, Any], *, pod: Mapping[str, Any], secrets: SecretLookup,
                  config_maps: SecretLookup = _no_config_maps) -> dict[str, str]:
    """The container's variables: envFrom, then env in order with `$(VAR)` expanded against earlier ones."""
    namespace = pod["metadata"]["namespace"]
    lookups = {"secret": secrets, "configmap": config_maps}
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        env.update(_env_from(source, namespace=namespace, lookups=lookups))
    for item in container.get("env") or []:
        if "valueFrom" in item:
            value = _value_from(item["valueFrom"], pod=pod, lookups=lookups)
            if value is not None:
                env[item["name"]] = value
        else:
            env[item["name"]] = expand(item.get("value", ""), env)
    return env


def _env_from(source: Mapping[str, Any], *, namespace: str, lookups: dict[str, SecretLookup]) -> dict[str, str]:
    """An envFrom source: every key of a Secret or ConfigMap, with the prefix; a missing optional one adds none."""
    field = next((key for key in ("secretRef", "configMapRef") if key in source), None)
    if field is None:
        return {}
    reference, kind = source[field], _SOURCES[field]
    data = lookups[kind](namespace, reference.get("name", ""))
    if data is None:
        if reference.get("optional"):
            return {}
        raise ContainerConfigError(f'{kind} "{reference.get("name", "")}" not found')
    prefix = source.get("prefix", "")
    return {prefix + key: value for key, value in data.items()}


def _value_from(source: Mapping[str, Any], *, pod: Mapping[str, Any], lookups: dict[str, SecretLookup]) -> str | None:
    """A valueFrom: a key of a Secret or ConfigMap, or a fieldRef; a missing optional source or key leaves the
    variable unset."""
    if "fieldRef" in source:
        return _field(pod, source["fieldRef"].get("fieldPath", ""))
    field = next((key for key in ("secretKeyRef", "configMapKeyRef") if key in source), None)
    if field is None:
        return None
    ref, kind, namespace = source[field], _SOURCES[field], pod["metadata"]["namespace"]
    data = lookups[kind](namespace, ref.get("name", ""))
    if data is None or ref.get("key") not in data:
        if ref.get("optional"):
            return None
        if data is None:
            raise ContainerConfigError(f'{kind} "{ref.get("name", "")}" not found')
        raise ContainerConfigError(f"couldn't find key {ref.get('key')} in {_KINDS[kind]} {namespace}/{ref['name']}")
    return data[ref["key"]]


def _field(pod: Mapping[str, Any], path: str) -> str:
    """The downward API's fieldRef paths."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    values = {
        "metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"), "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"), "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"), "status.podIP": status.get("podIP"),
    }
    return values.get(path) or ""


def pod_folder(data_dir: Path, uid: str) -> Path:
    """The pod's own folder on the node: its rootfs, emptyDir volumes and hosts file, removed with the pod."""
    return data_dir / "pods" / uid


def volume_dirs(pod: Mapping[str, Any], *, data_dir: Path) -> dict[str, Path]:
    """The host folder of each pod volume; a claim's folder is shared by every pod that mounts the claim."""
    namespace, uid = pod["metadata"]["namespace"], pod["metadata"]["uid"]
    folders: dict[str, Path] = {}
    for volume in pod.get("spec", {}).get("volumes") or []:
        if "persistentVolumeClaim" in volume:
            folder = data_dir / "volumes" / namespace / volume["persistentVolumeClaim"]["claimName"]
        elif "hostPath" in volume:
            folder = Path(volume["hostPath"]["path"])
        else:
            # emptyDir, and every other kind this cluster does not fill, is a fresh folder of the pod.
            folder = pod_folder(data_dir, uid) / "volumes" / volume["name"]
        folders[volume["name"]] = folder
    return folders


def host_path(path: str, *, mounts: Mapping[str, Path], rootfs: Path) -> Path:
    """Where a container path lives on the host: under the deepest mount covering it, else under the rootfs."""
    target = PurePosixPath("/") / path
    best: PurePosixPath | None = None
    for mount in mounts:
        point = PurePosixPath(mount)
        if (target == point or point in target.parents) and (best is None or len(point.parts) > len(best.parts)):
            best = point
    if best is None:
        return rootfs.joinpath(*target.parts[1:])
    return mounts[str(best)].joinpath(*target.relative_to(best).parts)


def container_mounts(container: Mapping[str, Any], volumes: Mapping[str, Path]) -> dict[str, Path]:
    """mountPath -> host folder for the container's volumeMounts (with subPath)."""
    mounts: dict[str, Path] = {}
    for mount in container.get("volumeMounts") or []:
        folder = volumes.get(mount["name"])
        if folder is not None:
            mounts[str(PurePosixPath(mount["mountPath"]))] = folder / mount.get("subPath", "")
    return mounts


def command_line(
    container: Mapping[str, Any], *, image_command: tuple[str, ...], env: Mapping[str, str]
) -> tuple[str, ...]:
    """command + args with `$(VAR)` expanded; without a command, args replace the image's default command."""
    command, args = container.get("command") or [], container.get("args") or []
    argv = [*command, *args] if command else (args or list(image_command))
    return tuple(expand(part, env) for part in argv)


def start_error(launch: Launch, error: OSError) -> str:
    """The message runc gives when a container's process cannot start."""
    executable = launch.argv[0] if launch.argv else ""
    if isinstance(error, FileNotFoundError) and error.filename == executable:
        problem = f'exec: "{executable}": executable file not found in $PATH'
    elif isinstance(error, PermissionError) and error.filename == executable:
        problem = f'exec: "{executable}": permission denied'
    else:
        problem = error.strerror or str(error)
    return ("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
            f"failed: unable to start container process: {problem}: unknown")


class Process:
    """One running container: a process group of its own, its output in the log file."""

    def __init__(self, launch: Launch, *, base_env: Mapping[str, str]) -> None:
        launch.log_path.parent.mkdir(parents=True, exist_ok=True)
        launch.cwd.mkdir(parents=True, exist_ok=True)
        environment = {"PATH": IMAGE_PATH, **base_env, **launch.env}
        with launch.log_path.open("wb") as log:
            # start_new_session: the container's children die with it when the group is signalled.
            self._popen = subprocess.Popen(
                list(launch.argv), cwd=launch.cwd, env=environment, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def wait(self) -> int:
        """Wait for the exit; a process killed by a signal exits 128 + the signal, as in a container."""
        code = self._popen.wait()
        # As when a container's init process exits, whatever it left running in its group goes too.
        self._signal(signal.SIGKILL)
        return 128 - code if code < 0 else code

    def exited(self, timeout: float) -> bool:
        """Whether the process ended within `timeout` seconds."""
        try:
            self._popen.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def terminate(self) -> None:
        """SIGTERM to the whole group: the container's polite stop."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the whole group, once the grace period is over."""
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, number)
