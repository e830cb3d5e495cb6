"""Many builds at once through `pipeline-queue up`: 200 builds submitted together all finish with the right
status, every step ran once, and nothing of theirs is left in the cluster (the workers decide from the pod
watch's shared view, so this is the test of that view under load)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import kubernetes
import pytest

from pipeline_queue import runtime, store
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import Status
from tests.integration.test_webhooks import Service
from tests.polling import wait_for
from workers.app import make_app
from workers.enqueue import enqueue_advance

BUILDS = 200
PASSING = "kind: pipeline\ntype: kubernetes\nname: ci\nsteps:\n- name: check\n  image: alpine:3.19\n" \
          "  commands: [echo passing]\n"
FAILING = PASSING.replace("echo passing", "exit 3")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    started = Service(tmp_path_factory.mktemp("load"))
    try:
        yield started
    finally:
        started.stop()


@pytest.mark.timeout(600)
def test_two_hundred_builds_at_once_all_finish_right_and_leave_nothing(service: Service) -> None:
    settings = Settings.from_env(service.env)
    resolved = runtime.resolve(settings)
    applied = resolved.applied(settings)
    sender = make_app(applied, broker_url=resolved.broker_url())
    engine = store.create_engine(resolved.database_url)
    sessions = store.session_factory(engine)

    def submit(number: int) -> tuple[int, Status]:
        text, expected = (FAILING, Status.FAILURE) if number % 10 == 0 else (PASSING, Status.SUCCESS)
        submitted = submit_text(text, filename=".drone.yml", event=BuildEvent(repo=f"load/app-{number % 4}",
                                branch="main", commit=f"{number:040x}"), settings=applied, sessions=sessions,
                                send=lambda ids: enqueue_advance(sender, ids))
        return submitted.build_id, expected

    try:
        with ThreadPoolExecutor(8) as pool:
            expected = dict(pool.map(submit, range(BUILDS)))

        def finished() -> dict[int, store.BuildDetail] | None:
            with sessions() as session:
                details = {build_id: store.get_build(session, build_id) for build_id in expected}
            done = all(detail is not None and detail.build.status.terminal for detail in details.values())
            return details if done else None  # type: ignore[return-value]

        details = wait_for(finished, what=f"{BUILDS} builds to finish", timeout=420, interval=1.0)
    finally:
        engine.dispose()
    wrong = {build_id: detail.build.status for build_id, detail in details.items()
             if detail.build.status is not expected[build_id]}
    assert wrong == {}
    steps = [step for detail in details.values() for stage in detail.stages for step in stage.steps]
    assert len(steps) == BUILDS and all(step.node and step.exit_code is not None for step in steps)
    kubeconfig = json.loads((service.tmp / "data" / runtime.UP_RECORD).read_text())["kubeconfig"]
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kubeconfig))

    def left() -> dict[str, int]:
        namespace = applied.run.namespace
        return {"pods": len(core.list_namespaced_pod(namespace).items),
                "secrets": len(core.list_namespaced_secret(namespace).items),
                "claims": len(core.list_namespaced_persistent_volume_claim(namespace).items)}

    wait_for(lambda: left() == {"pods": 0, "secrets": 0, "claims": 0}, what="every object of the builds gone",
             timeout=60, explain=lambda: str(left()))
