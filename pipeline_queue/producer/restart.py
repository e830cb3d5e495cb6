"""restart_build: run a finished (or running) build again, as a new build with the same event and pipeline file.

The new build's parent is the old one (DRONE_BUILD_PARENT); its pipeline file is the text the old build ran (kept
in the store), so a restart runs what was run even when the branch has moved on. Secrets and trust are the
repository's as they are now; a local build (no registered repository) restarts without the `--secrets` file it
was run with, which was never stored.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.errors import StoreError, UsageError
from pipeline_queue.producer.submit import BuildEvent, Send, SubmittedBuild, submit_text
from pipeline_queue.producer.tenants import Tenant, local, registered
from pipeline_queue.settings import Settings
from pipeline_queue.store import build_config, get_build
from pipeline_queue.store.repositories import get_repository


def restart_build(build_id: int, *, settings: Settings, sessions: sessionmaker[Session], send: Send,
                  trigger: str) -> SubmittedBuild:
    """A new build of build `build_id`'s event and file, started by `trigger` (who asked); StoreError if there is
    no such build, UsageError if it kept no pipeline file (builds made before files were stored)."""
    with sessions.begin() as session:
        detail = get_build(session, build_id)
        config = build_config(session, build_id)
        if detail is None or config is None:
            raise StoreError(f"build {build_id} does not exist")
        path, text = config
        if not text:
            raise UsageError(f"build {build_id} kept no pipeline file (it predates stored files): run it again")
        repository = get_repository(session, detail.build.repo)
        event = dataclasses.replace(BuildEvent.from_record(detail.build), parent=build_id, trigger=trigger)
        tenant: Tenant = local({})
        clone_url = ""
        if repository is not None and repository.registered:
            tenant = registered(session, repository.slug, vault=settings.vault, data_dir=settings.paths.data_dir,
                                event=event.event, fork=event.fork)
            clone_url = repository.clone_url
    return submit_text(text, filename=path or "restart", event=event, settings=settings, sessions=sessions,
                       send=send, tenant=tenant if tenant.registered else None, clone_url=clone_url)
