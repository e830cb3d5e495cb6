"""Plugin credentials through `advance_stage` on the development cluster, whose private registries accept only the
plugin-issued passwords: asked once when the stage starts, published in a Secret the workspace claim owns, named
by the step's pod, recorded without their value, judged by the cache guard, gone with the stage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kubernetes
import pytest

from pipeline_queue.cache.service import CacheGuard
from pipeline_queue.compiler.plan import CredentialSource
from pipeline_queue.credentials.exec_provider import ExecProviders
from pipeline_queue.credentials.http_plugin import RegistryExtension
from pipeline_queue.credentials.plugins import CredentialPlugins
from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import Kube, RetryPolicy, make_api_client
from pipeline_queue.reconcile.service import AdvanceResult, advance_stage
from pipeline_queue.registry.providers import parse_provider_config
from pipeline_queue.settings import CacheConfig, PathsConfig, Settings
from pipeline_queue.store import NewBuild, NewStage, create_build, get_log, get_stage, set_stage_plan
from pipeline_queue.store.stage_secrets import sealed_stage_secrets
from pipeline_queue.vocabulary import CacheGuardMode, Status
from tests.credentials.conftest import fake_provider, provider_config
from tests.credentials.plugin_server import PluginServer
from tests.polling import wait_for
from tests.reconcile.builders import compile_text

SECRET = "shared-plugin-secret-2291"
PLUGIN_PASSWORD = "pw-plugin-only-8812"
PROVIDER_PASSWORD = "pw-provider-only-8813"
ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ECR_PASSWORD = "123456789012-auth-token"  # what moto issues for that account
REGISTRIES = f"""
registries:
  plugin.pq.test:
    private: true
    users: {{ci: "{PLUGIN_PASSWORD}"}}
    repositories: {{team/app: {{tags: ["1.0"]}}}}
  provider.pq.test:
    private: true
    users: {{robot: "{PROVIDER_PASSWORD}"}}
    repositories: {{team/app: {{tags: ["1.0"]}}}}
  {ECR_HOST}:
    private: true
    users: {{AWS: "{ECR_PASSWORD}"}}
    repositories: {{app: {{tags: ["1.0"]}}}}
"""
ISSUED = {"address": "plugin.pq.test", "username": "ci", "password": PLUGIN_PASSWORD}
PRIVATE = ("plugin.pq.test", "provider.pq.test", "*.dkr.ecr.*.amazonaws.com")


def pipeline(image: str, command: str = "echo pulled-it") -> str:
    return f"""
kind: pipeline
type: kubernetes
name: default
steps:
- {{name: app, image: "{image}", commands: ["{command}"]}}
"""


@dataclass
class Cluster:
    """The development cluster with the plugins' private registries: the product's client and the official one."""

    kube: Kube
    core: kubernetes.client.CoreV1Api


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("plugin-devcluster")
    (base / "registries.yml").write_text(REGISTRIES)
    with DevCluster(nodes=1, registries=base / "registries.yml", data_dir=base / "data",
                    kubeconfig=base / "kubeconfig") as running, running.api_client() as api:
        yield Cluster(Kube(make_api_client(running.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05)),
                      kubernetes.client.CoreV1Api(api))


@pytest.fixture
def kube(cluster: Cluster) -> Kube:
    return cluster.kube


@pytest.fixture
def namespace(cluster: Cluster) -> str:
    """A namespace of the test's own, so that what a stage leaves behind is the test's to see."""
    name = f"p-{uuid.uuid4().hex[:10]}"
    cluster.core.create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def plugin() -> Iterator[PluginServer]:
    with PluginServer(SECRET, default=[ISSUED]) as server:
        yield server


class StageRun:
    """One stored stage, advanced by this test as a worker would, with `plugins` and the cache guard (enforce, the
    plugins' registries listed as private)."""

    def __init__(self, text: str, *, namespace: str, sessions, kube: Kube, settings: Settings,
                 plugins: CredentialPlugins) -> None:
        self.plan = compile_text(text, namespace=namespace, stage_key=uuid.uuid4().hex[:8]).plan
        self.sessions, self.kube, self.settings, self.plugins = sessions, kube, settings, plugins
        self.guard = CacheGuard(CacheConfig(guard=CacheGuardMode.ENFORCE, private_registries=PRIVATE), redis=None)
        with sessions.begin() as session:
            detail = create_build(session, NewBuild(repo="octo/app", event="push", branch="main"),
                                  stages=[NewStage(name=self.plan.pipeline)])
            self.stage_id = set_stage_plan(session, detail.stages[0].id, self.plan).id

    def advance(self) -> AdvanceResult:
        return advance_stage(self.stage_id, sessions=self.sessions, kube=self.kube, settings=self.settings,
                             cache=self.guard, plugins=self.plugins)

    def until(self, done=lambda result: result.finished, *, timeout: float = 30.0) -> AdvanceResult:
        return wait_for(lambda: (lambda result: result if done(result) else None)(self.advance()),
                        what=f"stage {self.stage_id}", timeout=timeout)

    def step(self):
        with self.sessions.begin() as session:
            (step,) = get_stage(session, self.stage_id).steps
            return step, get_log(session, step.id).text


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(paths=PathsConfig(data_dir=tmp_path / "data"))


def http_plugins(url: str, **options) -> CredentialPlugins:
    return CredentialPlugins(extension=RegistryExtension(url, SECRET, **options))


def test_the_private_image_pulls_with_the_plugins_credential_and_nothing_of_it_stays(
        namespace, sessions, kube, settings, plugin, tmp_path):
    release = tmp_path / "release"
    run = StageRun(pipeline("plugin.pq.test/team/app:1.0", f"until [ -e {release} ]; do sleep 0.05; done"),
                   namespace=namespace, sessions=sessions, kube=kube, settings=settings,
                   plugins=http_plugins(plugin.url))
    run.until(lambda _: run.step()[0].status is Status.RUNNING)
    pod_name = run.plan.step("app").pod_name
    pod = kube.get("Pod", namespace, pod_name)
    (pull_secret,) = [item["name"] for item in pod["spec"]["imagePullSecrets"]]
    secret = kube.get("Secret", namespace, pull_secret)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert [owner["kind"] for owner in secret["metadata"]["ownerReferences"]] == ["PersistentVolumeClaim"]
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # enforce: the registry checks the credential
    release.touch()
    assert run.until().status is Status.SUCCESS
    step, log = run.step()
    assert step.credential_source == CredentialSource(secret="plugin: http", key="plugin.pq.test", username="ci")
    assert step.pull_policy == "Always"
    assert len(plugin.requests) == 1  # asked once, however many passes the stage took
    assert plugin.requests[0]["repo"]["slug"] == "octo/app" and plugin.requests[0]["pipeline"]["name"] == "default"
    with sessions.begin() as session:
        assert sealed_stage_secrets(session, run.stage_id) is None  # the sealed copy went with the stage
    for database in settings.paths.data_dir.parent.rglob("*.db*"):
        assert PLUGIN_PASSWORD.encode() not in database.read_bytes()
    assert PLUGIN_PASSWORD not in log
    assert wait_for(lambda: not kube.list("Secret", namespace), what="the stage's Secrets to go", timeout=10)


def test_without_the_plugins_credential_the_registry_refuses_the_pull(namespace, sessions, kube, settings, plugin):
    plugin.default = [{**ISSUED, "password": "pw-made-up-0000"}]
    run = StageRun(pipeline("plugin.pq.test/team/app:1.0"), namespace=namespace, sessions=sessions, kube=kube,
                   settings=settings, plugins=http_plugins(plugin.url))
    assert run.until().status is Status.ERROR
    step, _ = run.step()
    assert "refused the credentials from plugin: http (registry plugin.pq.test, user ci)" in step.error
    assert "pw-made-up-0000" not in step.error


def test_a_plugin_that_is_down_errors_the_step_naming_it_before_any_pod(namespace, sessions, kube, settings):
    with PluginServer(SECRET) as gone:
        url = gone.url
    run = StageRun(pipeline("plugin.pq.test/team/app:1.0"), namespace=namespace, sessions=sessions, kube=kube,
                   settings=settings, plugins=http_plugins(url, attempts=1))
    result = run.until()
    assert result.status is Status.ERROR and result.created == ()
    step, _ = run.step()
    assert step.error == f"plugin: http ({url}) is unreachable (Connection refused), 1 attempts"


def test_a_kubelet_credential_provider_serves_its_images(namespace, sessions, kube, settings, provider_bin):
    entry = fake_provider(match=["provider.pq.test"], password=PROVIDER_PASSWORD, args=["--user", "robot"])
    specs = parse_provider_config([("config.json", provider_config(entry))])
    plugins = CredentialPlugins(providers=ExecProviders(specs, bin_dir=provider_bin, environ={}))
    run = StageRun(pipeline("provider.pq.test/team/app:1.0"), namespace=namespace, sessions=sessions, kube=kube,
                   settings=settings, plugins=plugins)
    assert run.until().status is Status.SUCCESS
    assert run.step()[0].credential_source == CredentialSource(secret="provider: fake-provider",
                                                               key="provider.pq.test", username="robot")


def test_built_in_ecr_gets_a_token_from_moto(namespace, sessions, kube, settings, aws):
    run = StageRun(pipeline(f"{ECR_HOST}/app:1.0"), namespace=namespace, sessions=sessions, kube=kube,
                   settings=settings, plugins=CredentialPlugins())
    assert run.until().status is Status.SUCCESS
    assert run.step()[0].credential_source == CredentialSource(secret="plugin: ecr", key=ECR_HOST, username="AWS")


def test_a_stage_no_plugin_serves_asks_nothing_and_stores_nothing(namespace, sessions, kube, settings, provider_bin):
    entry = fake_provider(match=["provider.pq.test"], password=PROVIDER_PASSWORD)
    plugins = CredentialPlugins(providers=ExecProviders(parse_provider_config(
        [("c.json", provider_config(entry))]), bin_dir=provider_bin, environ={}))
    run = StageRun(pipeline("alpine:3.19"), namespace=namespace, sessions=sessions, kube=kube, settings=settings,
                   plugins=plugins)
    assert run.until().status is Status.SUCCESS
    with sessions.begin() as session:
        assert get_stage(session, run.stage_id).plan.get("plugins_asked") is False
