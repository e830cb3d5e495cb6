"""What only a trusted repository may ask for: the rules that keep one tenant's pipeline out of another's reach.

An untrusted repository (the default for a registered one) may not run privileged steps, mount host paths, act as
a service account, leave its own namespace, write the project's own labels and annotations (they route pod events
and select a stage's objects), or mount a Secret of the namespace other than its own repository secrets.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from pipeline_queue.spec.document import LoadedPipeline, Problem, quote
from pipeline_queue.spec.lint_rules import each_step, pipeline_label, problem, step_label

OWN_PREFIXES = ("pipeline-queue.io/", "app.kubernetes.io/managed-by")
"""Label and annotation keys pipeline-queue writes itself; a pipeline that set them could pass for another stage."""

REQUIRES = "requires a trusted repository"


@dataclass(frozen=True)
class Trust:
    """What the repository a file runs for may do."""

    trusted: bool = True
    """Trusted repositories (and local runs without --repo, the operator's own) may do everything."""
    namespace: str = ""
    """The namespace its builds run in; an untrusted pipeline may name only that one."""
    secrets: frozenset[str] = field(default_factory=frozenset)
    """Its own secrets: the only ones an untrusted pipeline may mount as a `secret` volume."""


TRUSTED = Trust()


def check_trust(filename: str, loaded: LoadedPipeline, *, trust: Trust) -> Iterator[Problem]:
    """Every use of what only a trusted repository may do, at the line that asks for it."""
    if trust.trusted:
        return
    yield from _pipeline_settings(filename, loaded, trust=trust)
    yield from _volumes(filename, loaded, own=trust.secrets)
    for path, step in each_step(loaded.pipeline):
        if step.privileged:
            yield problem(loaded.document, file=filename, path=(*path, "privileged"), rule="untrusted-privileged",
                          message=f"{step_label(step, path)}: privileged {REQUIRES}")


def _pipeline_settings(filename: str, loaded: LoadedPipeline, *, trust: Trust) -> Iterator[Problem]:
    pipeline, document = loaded.pipeline, loaded.document
    label = pipeline_label(pipeline)
    if pipeline.service_account_name:
        yield problem(document, file=filename, path=("service_account_name",), rule="untrusted-service-account",
                      message=f"{label}: service_account_name {REQUIRES}")
    namespace = pipeline.metadata.namespace
    if namespace and namespace != trust.namespace:
        allowed = f"its repository's is {quote(trust.namespace)}" if trust.namespace else "its repository has none"
        yield problem(document, file=filename, path=("metadata", "namespace"), rule="untrusted-namespace",
                      message=f"{label}: namespace {quote(namespace)} ({allowed}) {REQUIRES}")
    for section in ("labels", "annotations"):
        for key in getattr(pipeline.metadata, section):
            if key.startswith(OWN_PREFIXES):
                yield problem(document, file=filename, path=("metadata", section, key),
                              rule="untrusted-metadata",
                              message=f"{label}: {section[:-1]} {quote(key)} is pipeline-queue's own; setting it "
                                      f"{REQUIRES}")


def _volumes(filename: str, loaded: LoadedPipeline, *, own: Collection[str]) -> Iterator[Problem]:
    for index, volume in enumerate(loaded.pipeline.volumes):
        path = ("volumes", index)
        name = quote(volume.name) if volume.name else f"volumes[{index}]"
        if volume.host is not None:
            yield problem(loaded.document, file=filename, path=(*path, "host"), rule="untrusted-host-volume",
                          message=f"volume {name}: a host path {REQUIRES}")
        if volume.secret is not None and volume.secret.secret_name not in own:
            yield problem(loaded.document, file=filename, path=(*path, "secret", "secret_name"),
                          rule="untrusted-secret-volume",
                          message=f"volume {name}: secret {quote(volume.secret.secret_name)} is not one of the "
                                  f"repository's secrets; mounting another {REQUIRES}")
