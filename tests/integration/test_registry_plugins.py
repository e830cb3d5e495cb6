"""Registry credentials from a Drone registry extension, end to end: a real Celery worker configured with the
extension (`PQ_REGISTRY_PLUGIN_ENDPOINT`, `PQ_REGISTRY_PLUGIN_SECRET`) and the cache guard on enforce, the pod
watcher, and a development cluster whose private registry accepts one password only: the one the plugin issues.

The private image runs only with the plugin's credential, also once it is cached on a node, and the password
appears in no log, no output and nowhere in the store.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from pipeline_queue.commands.run import follow_build
from pipeline_queue.compiler.plan import CredentialSource
from pipeline_queue.vocabulary import Status
from tests.credentials.plugin_server import PluginServer
from tests.integration.conftest import step_states

SECRET = "e2e-plugin-shared-secret-3381"
PASSWORD = "pw-e2e-plugin-issued-5512"
REGISTRY = "plugin.pq.test"
PIPELINE = f"""
kind: pipeline
type: kubernetes
name: default
steps:
- name: app
  image: {REGISTRY}/team/app:1.0
  commands: [echo ran-the-private-image]
"""


@pytest.fixture(scope="module")
def plugin() -> Iterator[PluginServer]:
    issued = {"address": REGISTRY, "username": "ci", "password": PASSWORD}
    answers = {"octo/entitled": [issued], "octo/guessing": [{**issued, "password": "pw-e2e-guessed-0000"}]}
    with PluginServer(SECRET, registries=answers) as server:
        yield server


@pytest.fixture(scope="module")
def worker_variables(plugin: PluginServer) -> dict[str, str]:
    return {"PQ_REGISTRY_PLUGIN_ENDPOINT": plugin.url, "PQ_REGISTRY_PLUGIN_SECRET": SECRET,
            "PQ_CACHE_GUARD": "enforce", "PQ_PRIVATE_REGISTRIES": REGISTRY}


@pytest.fixture(scope="module")
def more_registries() -> str:
    return f"""
  {REGISTRY}:
    private: true
    users: {{ci: "{PASSWORD}"}}
    repositories:
      team/app: {{tags: ["1.0"]}}
"""


def test_the_private_image_runs_only_with_the_plugins_credential(environment, plugin):
    entitled = environment.finished(environment.submit(PIPELINE, repo="octo/entitled").build_id)
    assert step_states(entitled) == {"app": (Status.SUCCESS, 0)}
    (step,) = entitled.stages[0].steps
    assert step.credential_source == CredentialSource(secret="plugin: http", key=REGISTRY, username="ci")
    assert step.pull_policy == "Always"
    assert "ran-the-private-image" in environment.logs(entitled)["app"]

    # The image is on a node now; a guessed password, or none, still does not run it.
    submitted = [environment.submit(PIPELINE, repo=repo) for repo in ("octo/guessing", "octo/anonymous")]
    guessing, anonymous = (environment.finished(build.build_id) for build in submitted)
    assert step_states(guessing) == step_states(anonymous) == {"app": (Status.ERROR, None)}
    assert "refused the credentials from plugin: http" in guessing.stages[0].steps[0].error
    assert "no credentials for plugin.pq.test" in anonymous.stages[0].steps[0].error

    slugs = [request["repo"]["slug"] for request in plugin.requests]
    assert sorted(slugs) == ["octo/anonymous", "octo/entitled", "octo/guessing"]  # once per stage, by the worker
    assert plugin.refused == 0

    shown = io.StringIO()
    follow_build(Console(file=shown, width=200), environment.sessions, entitled.build.id)
    seen = [shown.getvalue(), environment.worker_log(), repr(entitled), repr(guessing),
            *environment.logs(entitled).values(), *environment.logs(guessing).values()]
    assert not [text for text in seen if PASSWORD in text or "pw-e2e-guessed-0000" in text]
    for database in (environment.tmp / "data").rglob("*.db*"):
        assert PASSWORD.encode() not in database.read_bytes()
