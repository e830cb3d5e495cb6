"""`build cancel N`: ask the workers to stop build N; its running pods are deleted and it ends `killed`.

The database and broker are found as the other commands find them (`runtime.resolve`): the variables,
else the `up` running in `PQ_DATA_DIR`, else that directory's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from pipeline_queue.errors import StoreError
from pipeline_queue.settings import Settings


@click.command("cancel")
@click.argument("build_id", metavar="N", type=int)
def cancel_command(build_id: int) -> None:
    """Cancel build N: its steps are stopped (logs kept) and it ends `killed`. A finished build is left alone."""
    from sqlalchemy.engine import make_url

    from pipeline_queue import store
    from pipeline_queue.producer.cancel import cancel_build
    from pipeline_queue.runtime import resolve
    from workers.app import make_app
    from workers.enqueue import enqueue_advance

    settings = Settings.from_env()
    runtime = resolve(settings)
    app = make_app(runtime.applied(settings), broker_url=runtime.broker_url())

    def send(stage_ids: Sequence[int]) -> int:
        return enqueue_advance(app, stage_ids)

    database = make_url(runtime.database_url)
    if database.get_backend_name() == "sqlite" and database.database and not Path(database.database).exists():
        raise StoreError(f"no database at {database.database}: run `pipeline-queue up` or set PQ_DATA_DIR")
    engine = store.create_engine(runtime.database_url)
    try:
        build = cancel_build(build_id, sessions=store.session_factory(engine), send=send)
    finally:
        engine.dispose()
    if build.status.terminal:
        click.echo(f"build {build_id} has already finished ({build.status.value}); nothing to cancel")
    else:
        click.echo(f"build {build_id}: cancelling; `pipeline-queue build show {build_id}` shows it end as killed")
