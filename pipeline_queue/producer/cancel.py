"""cancel_build and approve_build: the two things anyone may do to a build that has not finished.

Cancelling marks the build and sends `advance` for its unfinished stages; the workers do the stopping (the
reconcile sees the mark, keeps the logs, deletes the pods and Secrets and ends the stage `killed`). A blocked
build has nothing in Kubernetes yet, so its stages end `killed` here at once. Approving a blocked build makes it
pending and sends `advance` for the stages that wait on no other pipeline, as submitting does.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.errors import StoreError
from pipeline_queue.producer.submit import Send
from pipeline_queue.store import BuildRecord, finish_build, finish_stage, get_build, request_cancel
from pipeline_queue.store import approve_build as approve_stored
from pipeline_queue.vocabulary import Status


def cancel_build(build_id: int, *, sessions: sessionmaker[Session], send: Send) -> BuildRecord:
    """Cancel build `build_id`; a finished build is returned unchanged. StoreError when there is no such build."""
    with sessions.begin() as session:
        build = request_cancel(session, build_id)
        detail = get_build(session, build_id)
        assert detail is not None  # request_cancel raised for an unknown build
        unfinished = [stage.id for stage in detail.stages if not stage.status.terminal]
        if build.status is Status.BLOCKED:
            for stage_id in unfinished:
                finish_stage(session, stage_id, status=Status.KILLED)
            return finish_build(session, build_id)
    if build.cancel_requested and unfinished:
        send(unfinished)
    return build


def approve_build(build_id: int, *, sessions: sessionmaker[Session], send: Send) -> BuildRecord:
    """Let blocked build `build_id` run; any other build is returned unchanged (approving twice is harmless).
    StoreError when there is no such build."""
    with sessions.begin() as session:
        before = get_build(session, build_id)
        if before is None:
            raise StoreError(f"build {build_id} does not exist (see `pipeline-queue builds`)")
        build = approve_stored(session, build_id)
    if before.build.status is Status.BLOCKED:
        send([stage.id for stage in before.stages if not stage.depends_on and stage.status is Status.PENDING])
    return build
