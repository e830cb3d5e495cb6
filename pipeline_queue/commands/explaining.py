"""The report `explain` prints: per step, image, pull policy and why, credentials, cache risk; never a secret.

Registry credential plugins are not contacted: `explain` names the ones a worker will ask for each image when its
stage starts (`plugin: http`, `provider: NAME`, `plugin: ecr`), from the worker's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text

from pipeline_queue.cache.guard import credentialed_in, privacy_rules, static_risk
from pipeline_queue.cache.rules import PrivacyRules
from pipeline_queue.commands.common import console as output_console
from pipeline_queue.compiler import StagePlan, StepPlan
from pipeline_queue.credentials.plugins import CredentialPlugins, ExpectedCredential
from pipeline_queue.settings import CacheConfig
from pipeline_queue.spec.linter import Problem
from pipeline_queue.vocabulary import CacheGuardMode


@dataclass(frozen=True)
class CacheRisk:
    """What `explain` knows of privacy before a run: the operator's patterns and the file's own credentials."""

    rules: PrivacyRules
    mode: CacheGuardMode
    credentialed_repos: frozenset[str]

    @classmethod
    def of(cls, plans: Sequence[StagePlan], config: CacheConfig) -> CacheRisk:
        steps = [step for plan in plans for step in plan.all_steps]
        return cls(rules=privacy_rules(config), mode=config.guard, credentialed_repos=credentialed_in(steps))

    def of_step(self, step: StepPlan) -> str | None:
        return static_risk(step, rules=self.rules, credentialed_repos=self.credentialed_repos, mode=self.mode)


def step_record(step: StepPlan, risk: CacheRisk | None = None,
                plugins: CredentialPlugins | None = None) -> dict[str, Any]:
    expected = plugins.expected(step) if plugins is not None else ()
    return {
        "name": step.name,
        "kind": step.kind,
        "image": step.image.reference,
        "pull_policy": step.pull.policy,
        "pull_reason": step.pull.reason,
        "credentials": [
            {"secret": source.secret, "registry": source.key, "username": source.username}
            for source in step.credentials
        ] + [_expected_record(item) for item in expected],
        "cache_risk": risk.of_step(_with_expected(step, expected)) if risk is not None else None,
    }


def _expected_record(item: ExpectedCredential) -> dict[str, Any]:
    source = item.source
    return {"secret": source.secret, "registry": source.key, "username": source.username, "plugin": True,
            "note": item.note}


def _with_expected(step: StepPlan, expected: Sequence[ExpectedCredential]) -> StepPlan:
    """The step as the guard will judge it: with the plugin credentials known to serve its image (a provider's
    matchImages, an ECR host), not the HTTP extension's, whose answer is not known before it is asked."""
    known = tuple(item.source for item in expected if item.serves)
    return replace(step, credentials=(*step.credentials, *known)) if known else step


def explain_plans(
    file: str, plans: Sequence[StagePlan], problems: Sequence[Problem], *, cache: CacheConfig | None = None,
    plugins: CredentialPlugins | None = None,
) -> dict[str, Any]:
    """The JSON document of `explain --json`; `cache_risk` per step says why its image could come from a
    node's cache without credentials (None when it cannot); `plugins` add the plugins a worker will ask."""
    risk = CacheRisk.of(plans, cache or CacheConfig())
    return {
        "file": file,
        "pipelines": [
            {
                "name": plan.pipeline,
                "namespace": plan.namespace,
                "steps": [step_record(step, risk, plugins) for step in plan.all_steps],
                "warnings": list(plan.warnings),
            }
            for plan in plans
        ],
        "problems": [str(problem) for problem in problems],
    }


def credentials_text(step: dict[str, Any]) -> str:
    if not step["credentials"]:
        return "none (anonymous pull)"
    return "; ".join(_credential_text(c) for c in step["credentials"])


def _credential_text(credential: dict[str, Any]) -> str:
    if not credential.get("plugin"):
        return f"{credential['secret']} -> {credential['registry']} (user {credential['username']})"
    registry = f" -> {credential['registry']}" if credential["registry"] else ""
    return f"{credential['secret']}{registry} ({credential['note']})"


def print_explanation(report: dict[str, Any]) -> None:
    """A block per step, readable at any terminal width."""
    # Text, never markup: names, images and messages come from the file and print as written.
    console = output_console()
    for pipeline in report["pipelines"]:
        console.print(Text.assemble((f"pipeline {pipeline['name']!r}", "bold"),
                                    f" (namespace {pipeline['namespace']})"))
        for step in pipeline["steps"]:
            kind = " (service)" if step["kind"] == "service" else ""
            console.print(Text.assemble("  ", (step["name"], "bold"), kind))
            console.print(Text(f"    image        {step['image']}"))
            console.print(Text.assemble("    pull policy  ", (step["pull_policy"], "cyan"), f": {step['pull_reason']}"))
            console.print(Text(f"    credentials  {credentials_text(step)}"))
            if step["cache_risk"]:
                console.print(Text.assemble("    ", ("cache risk", "yellow"), f"   {step['cache_risk']}"))
        for warning in pipeline["warnings"]:
            console.print(Text.assemble("  ", ("warning:", "yellow"), f" {warning}"))
    if not report["pipelines"]:
        console.print("no kubernetes pipelines in this file")
