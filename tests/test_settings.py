"""Settings come from the environment once, with a working default for every field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_queue.errors import UsageError
from pipeline_queue.settings import CredentialsConfig, Settings


def test_defaults_work_on_one_machine():
    settings = Settings.from_env({})
    assert settings.pull.allowed == ("Always", "IfNotPresent", "Never")
    assert settings.paths.data_dir == Path(".pipeline-queue")
    assert settings.paths.kubeconfig is None
    assert settings.queue.redis_url == "" and settings.store.database_url == ""
    assert settings.run.stage_timeout == 3600


def test_values_are_read_from_the_environment():
    settings = Settings.from_env({
        "PQ_PULL_ALLOWED": "Always, IfNotPresent",
        "PQ_PULL_ALWAYS_REGISTRIES": "registry.example.com *.corp.example.com",
        "PQ_DATA_DIR": "/var/lib/pq", "KUBECONFIG": "/etc/kube/config",
        "REDIS_URL": "redis://127.0.0.1:6379/3", "PQ_STAGE_TIMEOUT": "60",
    })
    assert settings.pull.allowed == ("Always", "IfNotPresent")
    assert settings.pull.always_registries == ("registry.example.com", "*.corp.example.com")
    assert settings.paths.data_dir == Path("/var/lib/pq")
    assert settings.paths.kubeconfig == Path("/etc/kube/config")
    assert settings.queue.redis_url.endswith("/3")
    assert settings.run.stage_timeout == 60


@pytest.mark.parametrize(
    "env, where",
    [({"PQ_PULL_ALLOWED": "Sometimes"}, "PQ_PULL_ALLOWED"), ({"PQ_STAGE_TIMEOUT": "soon"}, "PQ_STAGE_TIMEOUT"),
     ({"PQ_CACHE_GUARD": "panic"}, "PQ_CACHE_GUARD"),
     ({"PQ_REGISTRY_PLUGIN_ENDPOINT": "plugin.example.com"}, "PQ_REGISTRY_PLUGIN_ENDPOINT"),
     ({"PQ_REGISTRY_PLUGIN_ENDPOINT": "http://plugin.example.com"}, "PQ_REGISTRY_PLUGIN_SECRET: required"),
     ({"PQ_CREDENTIAL_PROVIDER_CONFIG": "/etc/pq/providers.yaml"}, "PQ_CREDENTIAL_PROVIDER_BIN_DIR: required")],
)
def test_bad_values_name_the_variable(env, where):
    with pytest.raises(UsageError, match=where):
        Settings.from_env(env)


def test_cache_guard_settings():
    assert Settings.from_env({}).cache.guard == "warn"
    cache = Settings.from_env({
        "PQ_CACHE_GUARD": "Enforce", "PQ_PRIVATE_REGISTRIES": "registry.example.com, *.corp.example.com",
        "PQ_PUBLIC_REGISTRIES": "docker.io", "PQ_CACHE_PROBE_ANONYMOUS": "true",
    }).cache
    assert cache.guard == "enforce" and cache.probe_anonymous is True
    assert cache.private_registries == ("registry.example.com", "*.corp.example.com")
    assert cache.public_registries == ("docker.io",)


def test_registry_credential_plugin_settings():
    endpoint, config, bin_dir = "https://plugin.example.com/registry", "/etc/pq/providers.yaml", "/opt/providers"
    credentials = Settings.from_env({"PQ_REGISTRY_PLUGIN_ENDPOINT": endpoint, "PQ_REGISTRY_PLUGIN_SECRET": "s3cret-9",
                                     "PQ_CREDENTIAL_PROVIDER_CONFIG": config,
                                     "PQ_CREDENTIAL_PROVIDER_BIN_DIR": bin_dir}).credentials
    assert credentials == CredentialsConfig(plugin_endpoint=endpoint, plugin_secret="s3cret-9",
                                            provider_config=Path(config), provider_bin_dir=Path(bin_dir))
    assert "s3cret-9" not in repr(credentials) and Settings.from_env({}).credentials == CredentialsConfig()
