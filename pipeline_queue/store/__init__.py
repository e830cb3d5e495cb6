"""The durable store: builds, stages, steps, logs and findings in SQLite or PostgreSQL.

Functions take an open `Session` (from `session_factory`) and never commit: the caller owns the
transaction (`with factory.begin() as session: ...`). They return frozen records, never ORM rows.
"""

from pipeline_queue.store.builds import (
    create_build,
    create_repository_if_missing,
    finish_build,
    get_build,
    list_builds,
    request_cancel,
)
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.engine import create_engine, database_url, redacted, session_factory
from pipeline_queue.store.findings import add_finding
from pipeline_queue.store.migrate import migrate
from pipeline_queue.store.records import (
    ActiveStage,
    BuildDetail,
    BuildRecord,
    FindingAdded,
    FindingRecord,
    LogRecord,
    NewBuild,
    NewStage,
    RepositoryRecord,
    StageRecord,
    StepRecord,
    StepUpdate,
)
from pipeline_queue.store.stages import active_stages, finish_stage, get_stage, set_stage_plan, start_stage
from pipeline_queue.store.steps import LOG_LIMIT, append_log, get_log, set_log, update_step

__all__ = [
    "LOG_LIMIT",
    "ActiveStage",
    "BuildDetail",
    "BuildRecord",
    "FindingAdded",
    "FindingRecord",
    "LogRecord",
    "NewBuild",
    "NewStage",
    "RepositoryRecord",
    "StageRecord",
    "StepRecord",
    "StepUpdate",
    "active_stages",
    "add_finding",
    "append_log",
    "create_build",
    "create_engine",
    "create_repository_if_missing",
    "database_url",
    "finish_build",
    "finish_stage",
    "get_build",
    "get_log",
    "get_stage",
    "list_builds",
    "migrate",
    "redacted",
    "request_cancel",
    "session_factory",
    "set_log",
    "set_stage_plan",
    "start_stage",
    "update_step",
    "utcnow",
]
