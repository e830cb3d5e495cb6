"""One pod on a simulated node: pull each image, start each container, report states, honour deadline and deletion.

A thread per pod supervises; a thread per container pulls, runs and restarts it. Status goes through the store's
atomic read-modify-write, so the threads never overwrite each other's fields. The pod's folder
(`data_dir/pods/<uid>`: rootfs, emptyDirs, `etc-hosts`) and its address live as long as the worker; the kubelet
removes the folder once the pod object is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipeline_queue.devcluster.apiserver.conditions import FAILED
from pipeline_queue.devcluster.apiserver.errors import ApiError
from pipeline_queue.devcluster.apiserver.logs import log_path
from pipeline_queue.devcluster.apiserver.metadata import now
from pipeline_queue.devcluster.apiserver.recorder import NORMAL, WARNING, EventRecorder
from pipeline_queue.devcluster.errors import ContainerConfigError
from pipeline_queue.devcluster.node import podstatus as ps
from pipeline_queue.devcluster.node.network import HOSTS_FILE_ENV, POD_IP_ENV, AddressPool, hosts_file, pod_hostname
from pipeline_queue.devcluster.node.pulls import ERR_IMAGE_PULL, PullResult
from pipeline_queue.devcluster.node.runner import (
    START_FAILED_EXIT,
    Launch,
    Process,
    command_line,
    container_env,
    container_mounts,
    host_path,
    pod_folder,
    start_error,
    volume_dirs,
)

log = logging.getLogger(__name__)
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
_WIND_DOWN = 10.0
"""Seconds the end of a worker waits for its container threads (they stop within moments of a kill)."""


@dataclass(frozen=True)
class Timings:
    """Back-off timings of the simulated kubelet; far shorter than the real 10 s doubling to 5 min."""

    backoff_initial: float = 1.0
    """Seconds before the first retry of a failed pull or the second restart of a crashed container."""
    backoff_max: float = 10.0
    """The cap the delay doubles up to."""
    sync_delay: float = 0.3
    """How long ErrImagePull shows before the next sync turns it into ImagePullBackOff."""


class Host(Protocol):
    """What a pod worker needs from its kubelet."""

    store: Any
    recorder: EventRecorder
    node_name: str
    host_ip: str
    data_dir: Path
    timings: Timings
    addresses: AddressPool

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str] | None: ...

    def config_map_data(self, namespace: str, name: str) -> Mapping[str, str] | None: ...

    def pull(self, pod: dict[str, Any], container: dict[str, Any], *, field_path: str) -> PullResult: ...


class _PodGoneError(Exception):
    """The pod this worker serves no longer exists (or the name now belongs to a new pod)."""


class Backoff:
    """Delays that double from `initial` to `maximum`; with `immediate`, the first one is zero."""

    def __init__(self, timings: Timings, *, immediate: bool = False) -> None:
        self._timings, self._next = timings, 0.0 if immediate else timings.backoff_initial

    def next(self) -> float:
        delay = self._next
        self._next = min(max(delay * 2, self._timings.backoff_initial), self._timings.backoff_max)
        return delay


class PodWorker:
    """Runs one pod's containers until they finish, the deadline passes, the pod is deleted or the node stops."""

    def __init__(self, host: Host, pod: dict[str, Any], *, pod_ip: str) -> None:
        self._host = host
        self.pod = pod
        self.uid: str = pod["metadata"]["uid"]
        self._namespace, self._name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self._pod_ip = pod_ip
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._halted = False
        self._terminating = False
        self._deletion_grace: float | None = None
        self._processes: dict[str, Process] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"pod-{self._name}", daemon=True)
        self._containers: threading.Thread | None = None
        self._folder = pod_folder(host.data_dir, self.uid)
        self._rootfs = self._folder / "rootfs"
        self._hosts = self._folder / "etc-hosts"

    def start(self) -> None:
        self._thread.start()

    def request_deletion(self, grace_seconds: float) -> None:
        """The pod got a deletionTimestamp: stop its containers within the grace period, then remove it."""
        with self._lock:
            if self._deletion_grace is None:
                self._deletion_grace = grace_seconds
        self._stop.set()
        self._wake.set()

    def halt(self) -> None:
        """The node stops: kill every process now and write nothing more."""
        self._halted = True
        self._stop.set()
        self._wake.set()
        processes = list(self._processes.values())
        for process in processes:
            process.kill()
        for process in processes:
            process.exited(2)  # reaped, so no zombie outlives the node

    def join(self, timeout: float) -> None:
        """Wait for the supervisor (which waits for the container threads) to end."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    # The supervisor -------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._supervise()
        except _PodGoneError:
            self.halt()
        except Exception:  # a bug here must not take the whole node down with it
            log.exception("pod worker for %s/%s failed", self._namespace, self._name)
            self.halt()
        finally:
            if self._containers is not None:
                self._containers.join(_WIND_DOWN)
            self._host.addresses.release(self._pod_ip)  # its processes are gone: another pod may have it

    def _supervise(self) -> None:
        self._update(self._initial_status)
        deadline = self.pod["spec"].get("activeDeadlineSeconds")
        ends_at = time.monotonic() + deadline if deadline else None
        containers = self._containers = threading.Thread(target=self._run_all, name=f"pod-{self._name}-containers",
                                                         daemon=True)
        containers.start()
        while containers.is_alive() and not self._stop.is_set():
            remaining = None if ends_at is None else ends_at - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            self._wake.wait(remaining)
            self._wake.clear()
        if self._halted:
            return
        if self._deletion_grace is not None:
            self._delete()
        elif containers.is_alive():
            self._exceed_deadline(containers)

    def _run_all(self) -> None:
        """Init containers one after another, then every app container at once."""
        try:
            for container in self.pod["spec"].get("initContainers") or []:
                if self._run_container(container, init=True) != 0:
                    return
            threads = [self._spawn(container) for container in self.pod["spec"]["containers"]]
            for thread in threads:
                thread.join()
        except _PodGoneError:
            self.halt()
        finally:
            self._wake.set()

    def _spawn(self, container: dict[str, Any]) -> threading.Thread:
        name = f"ctr-{self._name}-{container['name']}"
        thread = threading.Thread(target=self._guarded, args=(container,), name=name, daemon=True)
        thread.start()
        return thread

    def _guarded(self, container: dict[str, Any]) -> None:
        try:
            self._run_container(container, init=False)
        except _PodGoneError:
            self.halt()
        except Exception:  # one container's bug must not stop its siblings
            log.exception("container %s of %s/%s failed", container["name"], self._namespace, self._name)

    def _exceed_deadline(self, containers: threading.Thread) -> None:
        self._host.recorder.event(self.pod, NORMAL, "DeadlineExceeded", DEADLINE_MESSAGE)
        self._stop.set()
        self._kill_all(float(self.pod["spec"].get("terminationGracePeriodSeconds", 30)))
        containers.join(10)

        def failed(pod: dict[str, Any]) -> None:
            status = pod["status"]
            status.update(phase=FAILED, reason="DeadlineExceeded", message=DEADLINE_MESSAGE)
            ps.settle_waiting(status)

        self._update(failed, final=True)

    def _delete(self) -> None:
        self._kill_all(self._deletion_grace or 0.0)
        try:
            self._host.store.delete("pods", self._namespace, self._name, grace_period_seconds=0)
        except ApiError as error:
            if error.code != 404:
                raise

    def _kill_all(self, grace_seconds: float) -> None:
        """Killing: SIGTERM every container, SIGKILL whatever still runs when the grace period is over."""
        self._terminating = True
        processes = dict(self._processes)
        for name, process in processes.items():
            self._host.recorder.event(self.pod, NORMAL, "Killing", f"Stopping container {name}",
                                      field_path=self._field_path(name))
            process.terminate()
        ends_at = time.monotonic() + grace_seconds
        for process in processes.values():
            if not process.exited(ends_at - time.monotonic()):
                process.kill()
                process.exited(5)

    # One container ----------------------------------------------------------------------------------------------

    def _run_container(self, container: dict[str, Any], *, init: bool) -> int | None:
        """Pull, configure, run and (per restart policy) restart one container; its last exit code."""
        crashes = Backoff(self._host.timings, immediate=True)
        while not self._stop.is_set():
            launch = self._prepare(container, init=init)
            if launch is None or self._stop.is_set():
                return None
            exit_code = self._execute(container, launch, init=init)
            if self._stop.is_set() or not _restarts(self.pod["spec"], exit_code, init=init):
                return exit_code
            delay = crashes.next()
            if delay:
                message = (f"back-off {delay:g}s restarting failed container={container['name']} "
                           f"pod={self._name}_{self._namespace}({self.uid})")
                self._set_state(container, init, ps.waiting("CrashLoopBackOff", message))
                self._event(container, WARNING, "BackOff", "Back-off restarting failed container "
                            f"{container['name']} in pod {self._name}_{self._namespace}({self.uid})", init=init)
                self._stop.wait(delay)
        return None

    def _prepare(self, container: dict[str, Any], *, init: bool) -> Launch | None:
        """Ensure the image and resolve the configuration, retrying on back-off; None once the pod stops."""
        backoff = Backoff(self._host.timings)
        while not self._stop.is_set():
            result = self._host.pull(self.pod, container, field_path=self._field_path(container["name"], init))
            if result.image is None:
                self._pull_failed(container, init, result)
            else:
                self._set_fields(container, init, imageID=result.image_id)
                try:
                    return self._launch(container, image_command=result.image.command)
                except ContainerConfigError as error:
                    self._set_state(container, init, ps.waiting("CreateContainerConfigError", error.message))
                    self._event(container, WARNING, "Failed", f"Error: {error.message}", init=init)
            self._stop.wait(backoff.next())
        return None

    def _pull_failed(self, container: dict[str, Any], init: bool, result: PullResult) -> None:
        self._set_state(container, init, ps.waiting(result.reason, result.message))
        self._event(container, WARNING, "Failed", f"Error: {result.reason}", init=init)
        if result.reason != ERR_IMAGE_PULL or self._stop.wait(self._host.timings.sync_delay):
            return
        message = f'Back-off pulling image "{container.get("image", "")}"'
        self._set_state(container, init, ps.waiting("ImagePullBackOff", message))
        self._event(container, NORMAL, "BackOff", message, init=init)
        self._event(container, WARNING, "Failed", "Error: ImagePullBackOff", init=init)

    def _launch(self, container: dict[str, Any], *, image_command: tuple[str, ...]) -> Launch:
        env = container_env(container, pod=self.pod, secrets=self._host.secret_data,
                            config_maps=self._host.config_map_data)
        mounts = container_mounts(container, volume_dirs(self.pod, data_dir=self._host.data_dir))
        for folder in mounts.values():
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ContainerConfigError(f"cannot prepare volume folder {folder}: {error.strerror}") from error
        self._write_hosts_file()
        cwd = host_path(container.get("workingDir") or "/", mounts=mounts, rootfs=self._rootfs)
        logs = log_path(self._host.data_dir, self.pod, container["name"])
        argv = command_line(container, image_command=image_command, env=env)
        return Launch(argv=argv, cwd=cwd, log_path=logs, env=env)

    def _write_hosts_file(self) -> None:
        """The pod's hosts file, written once for all its containers as the kubelet's ensureHostsFile does."""
        if self._hosts.exists():
            return
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._hosts.write_text(hosts_file(self.pod, pod_ip=self._pod_ip))
        except OSError as error:
            raise ContainerConfigError(f"cannot write the hosts file {self._hosts}: {error.strerror}") from error

    def _execute(self, container: dict[str, Any], launch: Launch, *, init: bool) -> int:
        name, container_id = container["name"], ps.new_container_id()
        self._event(container, NORMAL, "Created", f"Created container {name}", init=init)
        home = self._rootfs / "root"
        home.mkdir(parents=True, exist_ok=True)
        base = {"HOSTNAME": pod_hostname(self.pod)[0], "HOME": str(home), POD_IP_ENV: self._pod_ip,
                HOSTS_FILE_ENV: str(self._hosts)}
        try:
            process = Process(launch, base_env=base)
        except OSError as error:
            message = start_error(launch, error)
            self._set_state(container, init, ps.terminated(START_FAILED_EXIT, reason="StartError", started_at="",
                                                           container_id=container_id, message=message))
            self._event(container, WARNING, "Failed", f"Error: {message}", init=init)
            return START_FAILED_EXIT
        self._processes[name] = process
        if self._terminating or self._halted:
            process.kill()  # the pod began stopping while this container started
        started_at = now()
        self._set_state(container, init, ps.running(started_at), containerID=container_id, started=True,
                        ready=not init)
        self._event(container, NORMAL, "Started", f"Started container {name}", init=init)
        exit_code = process.wait()
        if not self._halted:
            self._set_state(container, init, ps.terminated(exit_code, reason=ps.exit_reason(exit_code),
                                                           started_at=started_at, container_id=container_id),
                            ready=False, started=False)
        return exit_code

    # Status and events ------------------------------------------------------------------------------------------

    def _initial_status(self, pod: dict[str, Any]) -> None:
        ps.start(pod, host_ip=self._host.host_ip, pod_ip=self._pod_ip)

    def _set_state(self, container: dict[str, Any], init: bool, state: dict[str, Any], **fields: Any) -> None:
        """A new state for one container; the state it leaves becomes lastState if it had terminated."""

        def change(pod: dict[str, Any]) -> None:
            item = ps.find_container(pod["status"], container["name"], init=init)
            if item is None:
                return
            if "terminated" in item["state"] and "terminated" not in state:
                item["lastState"] = item["state"]
                item["restartCount"] = item.get("restartCount", 0) + 1
            item["state"] = state
            item.update(fields)

        self._update(change)

    def _set_fields(self, container: dict[str, Any], init: bool, **fields: Any) -> None:
        def change(pod: dict[str, Any]) -> None:
            item = ps.find_container(pod["status"], container["name"], init=init)
            if item is not None:
                item.update(fields)

        self._update(change)

    def _update(self, change: Callable[[dict[str, Any]], None], *, final: bool = False) -> None:
        """Apply `change` to the pod's status atomically, then recompute phase and conditions."""
        if self._halted or (self._terminating and not final and self._deletion_grace is not None):
            return

        def apply(pod: dict[str, Any]) -> None:
            if pod["metadata"].get("uid") != self.uid:
                raise _PodGoneError
            change(pod)
            if not self._terminating or final:
                ps.refresh(pod)

        try:
            self.pod = self._host.store.mutate("pods", self._namespace, self._name, apply, subresource="status")
        except ApiError as error:
            if error.code == 404:
                raise _PodGoneError from error
            raise

    def _event(self, container: dict[str, Any], kind: str, reason: str, message: str, *, init: bool = False) -> None:
        self._host.recorder.event(self.pod, kind, reason, message, field_path=self._field_path(container["name"], init))

    def _field_path(self, name: str, init: bool = False) -> str:
        return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"


def _restarts(spec: dict[str, Any], exit_code: int, *, init: bool) -> bool:
    policy = spec.get("restartPolicy", "Always")
    if init:
        return policy != "Never" and exit_code != 0
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)
