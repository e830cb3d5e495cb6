"""cancel_build: mark a build for cancellation and send `advance` for its unfinished stages, which then stop it.

The workers do the stopping (the reconcile sees the mark, keeps the logs, deletes the pods and Secrets and
ends the stage `killed`); sending `advance` only makes them look now rather than at the next resync.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.producer.submit import Send
from pipeline_queue.store import BuildRecord, get_build, request_cancel


def cancel_build(build_id: int, *, sessions: sessionmaker[Session], send: Send) -> BuildRecord:
    """Cancel build `build_id`; a finished build is returned unchanged. StoreError when there is no such build."""
    with sessions.begin() as session:
        build = request_cancel(session, build_id)
        detail = get_build(session, build_id)
    assert detail is not None  # request_cancel raised for an unknown build
    unfinished = [stage.id for stage in detail.stages if not stage.status.terminal]
    if build.cancel_requested and unfinished:
        send(unfinished)
    return build
