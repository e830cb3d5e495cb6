"""A stage plan once the registry credential plugins answered: per-step pull Secrets of the matching credentials
only, pods that name them after the pipeline's own, credential sources without a value, errors where a plugin
failed, and the state machine and cache guard treating all of it like `image_pull_secrets`."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from types import MappingProxyType

from pipeline_queue.cache.guard import GuardView, ImageFacts
from pipeline_queue.cache.rules import PrivacyVerdict
from pipeline_queue.compiler import StagePlan
from pipeline_queue.compiler.plugins import with_plugin_credentials
from pipeline_queue.reconcile.state import CreateStep, RecordStep, StageView, decide
from pipeline_queue.registry.dockerconfig import DockerConfig, RegistryAuth
from pipeline_queue.registry.plugins import PluginAnswer
from pipeline_queue.vocabulary import CacheGuardMode, Status
from tests.compiler.conftest import compile_stage
from tests.reconcile.builders import NOW

PIPELINE = """
kind: pipeline
type: kubernetes
name: default
image_pull_secrets: [dockerconfig]
steps:
- {name: private, image: "registry.example.com/team/app:1.0", commands: [run]}
- {name: own, image: "own.example.com/app:1.0", commands: [run]}
- {name: public, image: "alpine:3.19", commands: [run]}
"""
OWN_CONFIG = json.dumps({"auths": {"own.example.com": {"username": "own", "password": "pw-own-fake-11"}}})
HTTP = DockerConfig(source="plugin: http", auths=(
    RegistryAuth(key="registry.example.com", username="ci", password="pw-plugin-fake-12"),
    RegistryAuth(key="own.example.com", username="extra", password="pw-plugin-fake-13"),
    RegistryAuth(key="elsewhere.example.com", username="x", password="pw-plugin-fake-14"),
))


def compiled():
    return compile_stage(PIPELINE, secrets={"dockerconfig": OWN_CONFIG}, stage_key="k1")


def test_each_step_gets_only_the_plugin_credentials_that_match_its_image():
    result = with_plugin_credentials(compiled().plan, PluginAnswer(stage=(HTTP,)))
    plan = result.plan
    private, own, public = plan.step("private"), plan.step("own"), plan.step("public")
    assert [(c.origin, c.key, c.username, c.plugin) for c in private.credentials] == [
        ("plugin: http", "registry.example.com", "ci", True)]
    # The pipeline's own secret stays first, as in the pod's imagePullSecrets.
    assert [c.origin for c in own.credentials] == ["secret 'dockerconfig'", "plugin: http"]
    assert [s["name"] for s in own.pod["spec"]["imagePullSecrets"]] == [own.pull_secret, own.plugin_pull_secret]
    assert public.credentials == () and "imagePullSecrets" not in public.pod["spec"]
    assert plan.plugins_asked and set(plan.secrets) >= {private.plugin_pull_secret, own.plugin_pull_secret}

    by_name = {secret["metadata"]["name"]: secret for secret in result.secrets}
    config = json.loads(base64.b64decode(by_name[private.plugin_pull_secret]["data"][".dockerconfigjson"]))
    assert list(config["auths"]) == ["registry.example.com"]  # nothing of the other registries
    assert config["auths"]["registry.example.com"]["password"] == "pw-plugin-fake-12"
    assert by_name[private.plugin_pull_secret]["metadata"]["labels"]["pipeline-queue.io/stage"] == plan.stage_label


def test_the_plan_as_stored_holds_no_value():
    plan = with_plugin_credentials(compiled().plan, PluginAnswer(stage=(HTTP,))).plan
    stored = json.dumps(plan.to_json())
    assert "pw-" not in stored
    assert StagePlan.from_json(plan.to_json()) == plan


def test_a_plugin_that_failed_makes_the_steps_it_serves_error_before_any_pod():
    plan = compiled().plan
    answer = PluginAnswer(errors=MappingProxyType({"registry.example.com/team/app": "provider: x failed"}))
    updated = with_plugin_credentials(plan, answer).plan
    assert updated.step("private").credentials_error == "provider: x failed"
    assert updated.step("public").credentials_error == ""
    actions = decide(_view(updated, CacheGuardMode.WARN)).actions
    assert RecordStep("private", Status.ERROR, error="provider: x failed") in actions
    assert not any(isinstance(a, CreateStep) and a.step == "private" for a in actions)
    everything = with_plugin_credentials(plan, PluginAnswer(stage_error="plugin: http is unreachable")).plan
    assert {step.credentials_error for step in everything.all_steps} == {"plugin: http is unreachable"}


def test_the_guard_pulls_a_private_image_with_plugin_credentials_with_always_under_enforce():
    plan = with_plugin_credentials(compiled().plan, PluginAnswer(stage=(HTTP,))).plan
    assert plan.step("private").pull.policy == "IfNotPresent"
    (create,) = [a for a in decide(_view(plan, CacheGuardMode.ENFORCE)).actions
                 if isinstance(a, CreateStep) and a.step == "private"]
    assert create.pull_policy == "Always"
    blocked = decide(_view(plan, CacheGuardMode.BLOCK)).actions  # credentials: not refused, pulled with Always
    assert [a.pull_policy for a in blocked if isinstance(a, CreateStep) and a.step == "private"] == ["Always"]


def _view(plan: StagePlan, mode: CacheGuardMode) -> StageView:
    facts = ImageFacts(verdict=PrivacyVerdict(private=True, reason="listed as private"))
    return StageView(plan=plan, status=Status.RUNNING, steps={step.name: Status.PENDING for step in plan.all_steps},
                     pods={}, now=NOW, started=NOW - timedelta(seconds=5),
                     guard=GuardView(mode=mode, images={"registry.example.com/team/app": facts}))
