"""Asking the registry credential plugins for a stage, once, before its first pods: their answer (fetched outside
any transaction) becomes the stage's stored plan and joins its sealed Secrets, which the applier publishes with
the rest (owned by the workspace claim) and masks logs with, and which go when the stage ends.

Nothing of it is asked at enqueue, and nothing outlives the stage: no value is in the plan, and the sealed copy
is dropped with the stage's objects.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.compiler.plan import StagePlan
from pipeline_queue.compiler.plugins import with_plugin_credentials
from pipeline_queue.credentials.plugins import CredentialPlugins
from pipeline_queue.errors import VaultError
from pipeline_queue.registry.extension import ExtensionRequest
from pipeline_queue.registry.plugins import PluginAnswer
from pipeline_queue.settings import Settings
from pipeline_queue.store import BuildRecord
from pipeline_queue.store.stage_secrets import reseal_stage_secrets, sealed_stage_secrets
from pipeline_queue.store.stages import record_plugin_plan
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.stages import open_stage, seal_stage

log = logging.getLogger(__name__)


def ask_plugins(stage_id: int, plan: StagePlan, build: BuildRecord, *, sessions: sessionmaker[Session],
                plugins: CredentialPlugins, settings: Settings) -> None:
    """Ask `plugins` for the stage's images and record what they said; a worker that lost the race to another
    records nothing (the other's answer stands)."""
    updated = with_plugin_credentials(plan, plugins.ask(plan, extension_request(plan, build)))
    with sessions.begin() as session:
        ciphertext = b""
        if updated.secrets:
            try:
                ciphertext = _sealed_with(session, stage_id, plan, updated.secrets, settings=settings)
            except VaultError as error:
                log.warning("stage %s: the plugins' credentials cannot be sealed: %s", stage_id, error)
                answer = PluginAnswer(stage_error=f"registry credentials: they cannot be sealed: {error}")
                updated = with_plugin_credentials(plan, answer)
        if record_plugin_plan(session, stage_id, updated.plan) and ciphertext:
            reseal_stage_secrets(session, stage_id, ciphertext)


def _sealed_with(session: Session, stage_id: int, plan: StagePlan, secrets: tuple[dict[str, Any], ...], *,
                 settings: Settings) -> bytes:
    """The stage's sealed Secrets with `secrets` added (a key is made, as for the first secret ever, if none is)."""
    ring = load_key_ring(settings.vault, data_dir=settings.paths.data_dir, create=True).ring
    sealed = sealed_stage_secrets(session, stage_id)
    objects = open_stage(ring, plan.stage_key, sealed.ciphertext) if sealed is not None else ()
    return seal_stage(ring, plan.stage_key, (*objects, *secrets))


def extension_request(plan: StagePlan, build: BuildRecord) -> ExtensionRequest:
    """What Drone's registry extension is told of the stage, in Drone's field names: repository, build, pipeline."""
    namespace, _, name = build.repo.partition("/")
    return ExtensionRequest(
        repo={"id": build.repo_id, "namespace": namespace, "name": name, "slug": build.repo,
              "config_path": build.config_path},
        build={"id": build.id, "repo_id": build.repo_id, "number": build.number, "event": build.event,
               "action": str(build.facts.get("action") or ""), "ref": build.ref, "target": build.branch,
               "source": build.branch, "after": build.commit, "message": build.message, "author_login": build.author,
               "trigger": build.trigger, "status": "running", "created": int(build.created.timestamp())},
        pipeline=plan.pipeline,
    )
