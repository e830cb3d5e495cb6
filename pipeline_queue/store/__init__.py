"""The durable store: repositories, their sealed secrets, builds, stages, steps, logs and findings in SQLite or
PostgreSQL.

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
    DEFAULT_CONFIG_PATH,
    ActiveStage,
    BuildDetail,
    BuildRecord,
    FindingAdded,
    FindingRecord,
    LogRecord,
    NewBuild,
    NewStage,
    RepositoryRecord,
    SealedSecret,
    SealedWebhookSecret,
    SecretPut,
    SecretRecord,
    StageRecord,
    StepRecord,
    StepUpdate,
)
from pipeline_queue.store.repositories import (
    RepositoryRemoved,
    add_repository,
    all_sealed_webhook_secrets,
    get_repository,
    list_repositories,
    remove_repository,
    reseal_webhook_secret,
    sealed_webhook_secret,
    update_repository,
    validate_slug,
)
from pipeline_queue.store.secrets import (
    MAX_SECRET_NAME,
    all_sealed_secrets,
    list_secrets,
    put_secret,
    remove_secret,
    reseal_secret,
    sealed_secrets,
    validate_secret_name,
)
from pipeline_queue.store.stages import active_stages, finish_stage, get_stage, set_stage_plan, start_stage
from pipeline_queue.store.steps import LOG_LIMIT, append_log, get_log, set_log, update_step

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "LOG_LIMIT",
    "MAX_SECRET_NAME",
    "ActiveStage",
    "BuildDetail",
    "BuildRecord",
    "FindingAdded",
    "FindingRecord",
    "LogRecord",
    "NewBuild",
    "NewStage",
    "RepositoryRecord",
    "RepositoryRemoved",
    "SealedSecret",
    "SealedWebhookSecret",
    "SecretPut",
    "SecretRecord",
    "StageRecord",
    "StepRecord",
    "StepUpdate",
    "active_stages",
    "add_finding",
    "add_repository",
    "all_sealed_secrets",
    "all_sealed_webhook_secrets",
    "append_log",
    "create_build",
    "create_engine",
    "create_repository_if_missing",
    "database_url",
    "finish_build",
    "finish_stage",
    "get_build",
    "get_log",
    "get_repository",
    "get_stage",
    "list_builds",
    "list_repositories",
    "list_secrets",
    "migrate",
    "put_secret",
    "redacted",
    "remove_repository",
    "remove_secret",
    "request_cancel",
    "reseal_secret",
    "reseal_webhook_secret",
    "sealed_secrets",
    "sealed_webhook_secret",
    "session_factory",
    "set_log",
    "set_stage_plan",
    "start_stage",
    "update_repository",
    "update_step",
    "utcnow",
    "validate_secret_name",
    "validate_slug",
]
