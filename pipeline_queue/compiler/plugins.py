"""A stage plan once the registry credential plugins answered: each step gets the plugin credentials that match its
image, in a dockerconfigjson Secret of its own that its pod names, and its credential sources say where they came
from (never a value). Pure; the worker asks the plugins when the stage starts and stores what this returns.

Steps keep the credentials their `image_pull_secrets` gave at compile time: those come first in the pod's
`imagePullSecrets`, the plugins' after them, and the kubelet tries them in that order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline_queue.compiler import naming
from pipeline_queue.compiler.credentials import sources
from pipeline_queue.compiler.objects import docker_config_secret
from pipeline_queue.compiler.plan import StagePlan, StepPlan
from pipeline_queue.registry import docker_config_json
from pipeline_queue.registry.plugins import PluginAnswer


@dataclass(frozen=True)
class PluginCredentials:
    """The plan as it is stored from now on, and the pull Secrets (with their values) it names."""

    plan: StagePlan
    secrets: tuple[dict[str, Any], ...] = field(default=(), repr=False)


def with_plugin_credentials(plan: StagePlan, answer: PluginAnswer) -> PluginCredentials:
    """The plan with every step's plugin credentials (or, where a plugin failed, the step's error)."""
    secrets: list[dict[str, Any]] = []
    services = tuple(_step(plan, step, answer, secrets) for step in plan.services)
    steps = tuple(_step(plan, step, answer, secrets) for step in plan.steps)
    names = tuple(str(secret["metadata"]["name"]) for secret in secrets)
    updated = replace(plan, services=services, steps=steps, secrets=(*plan.secrets, *names), plugins_asked=True)
    return PluginCredentials(plan=updated, secrets=tuple(secrets))


def _step(plan: StagePlan, step: StepPlan, answer: PluginAnswer, secrets: list[dict[str, Any]]) -> StepPlan:
    error = answer.error(step.image)
    if error:
        return replace(step, credentials_error=error)
    matches = answer.matches(step.image)
    if not matches:
        return step
    stage = plan.stage_label
    secret = docker_config_secret(naming.plugin_secret_name(stage, step.slug), namespace=plan.namespace,
                                  labels={**plan.claim["metadata"]["labels"], naming.LABEL_STEP: step.slug},
                                  config_json=docker_config_json(matches))
    secrets.append(secret)
    name = str(secret["metadata"]["name"])
    pod = copy.deepcopy(step.pod)
    pod["spec"]["imagePullSecrets"] = [*pod["spec"].get("imagePullSecrets", []), {"name": name}]
    return replace(step, pod=pod, plugin_pull_secret=name,
                   credentials=(*step.credentials, *sources(matches, plugin=True)))
