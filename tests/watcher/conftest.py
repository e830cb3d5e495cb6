"""The development cluster fixtures of tests/devcluster, shared with the watcher's tests."""

from tests.devcluster.conftest import api, core, devcluster, namespace, parked_pod, wait_for

__all__ = ["api", "core", "devcluster", "namespace", "parked_pod", "wait_for"]
