"""Attacker pipelines through the real parts (producer, Redis, a worker process, the development cluster): what an
untrusted repository's pipeline tries against other tenants fails with its clear message and leaves nothing
behind; two builds of one pipeline each reach their own service; pull requests get only what they may."""

from __future__ import annotations

import pytest

from pipeline_queue import store
from pipeline_queue.errors import SpecError
from pipeline_queue.store.repositories import add_repository
from pipeline_queue.store.secrets import put_secret
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.repository import seal_secret
from pipeline_queue.vocabulary import Status

TENANT = "tenant/untrusted"
HEAD = "kind: pipeline\ntype: kubernetes\nname: default\n"
STEP = "steps:\n- name: s\n  image: alpine:3.19\n  commands: [id]\n"

ATTACKS = {
    "privileged": (HEAD + "steps:\n- name: s\n  image: alpine:3.19\n  privileged: true\n  commands: [id]\n",
                   'step "s": privileged requires a trusted repository'),
    "host path": (HEAD + STEP.replace("  commands: [id]\n", "  commands: [id]\n  volumes: [{name: root, path: /h}]\n")
                  + "volumes:\n- name: root\n  host: {path: /}\n",
                  'volume "root": a host path requires a trusted repository'),
    "service account": (HEAD + "service_account_name: default\n" + STEP,
                        'pipeline "default": service_account_name requires a trusted repository'),
    "another namespace": (HEAD + "metadata: {namespace: kube-system}\n" + STEP,
                          'namespace "kube-system" (its repository\'s is'),
    "our labels": (HEAD + "metadata:\n  labels: {pipeline-queue.io/stage: '1-deadbeef'}\n" + STEP,
                   "label \"pipeline-queue.io/stage\" is pipeline-queue's own"),
    "another build's secret": (
        HEAD + STEP.replace("  commands: [id]\n", "  commands: [id]\n  volumes: [{name: s, path: /s}]\n")
        + "volumes:\n- name: s\n  secret: {secret_name: pq-1-a1b2c3d4-env}\n",
        'secret "pq-1-a1b2c3d4-env" is not one of the repository\'s secrets'),
}

SERVE = """
import os, socket
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((os.environ["POD_IP"], 6379))
server.listen()
while True:
    connection, _ = server.accept()
    connection.sendall(("build-" + os.environ["DRONE_BUILD_NUMBER"]).encode())
    connection.close()
"""

ASK = """
import os, socket, time
hosts = {}
for line in open(os.environ.get("DEVCLUSTER_HOSTS_FILE", "/etc/hosts")):
    address, *names = line.split("#")[0].split() or [""]
    hosts.update(dict.fromkeys(names, address))
deadline = time.monotonic() + 20
while True:
    try:
        with socket.create_connection((hosts["redis"], 6379), timeout=2) as connection:
            print("reached", connection.recv(64).decode())
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
"""


def service_pipeline(folder) -> str:
    """A service `redis` that answers with its build's number, and a step that asks it by that name."""
    (folder / "serve.py").write_text(SERVE)
    (folder / "ask.py").write_text(ASK)
    return (HEAD + f"services:\n- name: redis\n  image: redis:7\n  commands: [python3 {folder}/serve.py]\n"
            f"steps:\n- name: ask\n  image: alpine:3.19\n  commands: [python3 {folder}/ask.py]\n")


PR_SECRETS = HEAD + """steps:
- name: show
  image: alpine:3.19
  environment:
    OPEN: {from_secret: open}
    CLOSED: {from_secret: closed}
  commands:
  - echo "open=$${#OPEN} closed=$${#CLOSED}"
"""


@pytest.fixture(scope="module")
def tenant(environment) -> str:
    """An untrusted registered repository with two secrets: one pull requests may have, one they may not."""
    ring = load_key_ring(environment.settings.vault, data_dir=environment.settings.paths.data_dir, create=True).ring
    with environment.sessions.begin() as session:
        add_repository(session, TENANT, namespace=environment.namespace)
        put_secret(session, TENANT, "open", ciphertext=seal_secret(ring, TENANT, "open", "open-value-11"),
                   allow_pull_request=True)
        put_secret(session, TENANT, "closed", ciphertext=seal_secret(ring, TENANT, "closed", "closed-value-222"))
    return TENANT


def _builds(environment) -> int:
    with environment.sessions.begin() as session:
        return len(store.list_builds(session, limit=10_000))


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_untrusted_pipeline_is_refused_before_anything_exists(environment, tenant, attack):
    text, message = ATTACKS[attack]
    builds, objects = _builds(environment), environment.kube.list("Pod", environment.namespace)
    with pytest.raises(SpecError) as refused:
        environment.submit(text, repo=tenant, registered=True)
    assert message in str(refused.value) and "cannot run" in str(refused.value)
    assert _builds(environment) == builds
    assert environment.kube.list("Pod", environment.namespace) == objects


def test_the_same_pipeline_from_a_trusted_run_may_do_it(environment):
    text, _ = ATTACKS["service account"]
    detail = environment.finished(environment.submit(text, repo="operator/own").build_id)
    assert detail.build.status is Status.SUCCESS


def test_two_builds_of_one_pipeline_each_reach_their_own_service(environment):
    text = service_pipeline(environment.tmp)
    first = environment.submit(text, repo="acme/services")
    second = environment.submit(text, repo="acme/services")
    answers = []
    for submitted in (first, second):
        detail = environment.finished(submitted.build_id)
        assert detail.build.status is Status.SUCCESS, environment.logs(detail)
        answers.append(environment.logs(detail)["ask"])
    assert f"reached build-{first.number}" in answers[0] and f"reached build-{second.number}" in answers[1]


@pytest.mark.parametrize(("event", "fork", "expected"), [
    ("push", False, "open=13 closed=16"),
    ("pull_request", False, "open=13 closed=0"),
    ("pull_request", True, "open=0 closed=0"),
])
def test_pull_requests_get_only_the_secrets_that_allow_it_and_forks_none(environment, tenant, event, fork, expected):
    detail = environment.finished(environment.submit(PR_SECRETS, repo=tenant, registered=True, event=event,
                                                     fork=fork).build_id)
    assert detail.build.status is Status.SUCCESS
    assert expected in environment.logs(detail)["show"]
