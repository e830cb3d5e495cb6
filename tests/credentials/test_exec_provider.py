"""Kubelet credential providers run for real: a fake provider script in a bin directory, a config file in the
kubelet's format, the request on stdin, the response on stdout, and answers cached as cacheKeyType says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_queue.credentials.exec_provider import ExecProviders, read_provider_config
from pipeline_queue.errors import CredentialPluginError, ProviderConfigError
from pipeline_queue.registry.providers import parse_provider_config
from tests.credentials.conftest import fake_provider, provider_config

PASSWORD = "pw-provider-issued-7781"
IMAGE = "registry.example.com/team/app"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def providers(provider_bin: Path, tmp_path: Path, *, args: list[str], default_cache: str = "0s",
              clock: Clock | None = None, **options) -> tuple[ExecProviders, Path]:
    calls = tmp_path / "calls.jsonl"
    entry = fake_provider(match=["*.example.com"], password=PASSWORD, default_cache=default_cache,
                          args=[*args, "--calls", str(calls)])
    specs = parse_provider_config([("config.json", provider_config(entry))])
    return ExecProviders(specs, bin_dir=provider_bin, environ={"PATH": "/usr/bin:/bin"}, clock=clock or Clock(),
                         **options), calls


def asked(calls: Path) -> list[dict]:
    return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


def test_the_provider_is_run_with_the_request_and_its_answer_read(provider_bin, tmp_path):
    runner, calls = providers(provider_bin, tmp_path, args=["--user", "robot"])
    (config,) = runner.configs_for(IMAGE)
    assert config.source == "provider: fake-provider"
    assert [(a.key, a.username, a.password) for a in config.auths] == [("registry.example.com", "robot", PASSWORD)]
    assert asked(calls) == [{"kind": "CredentialProviderRequest",
                             "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "image": IMAGE}]


def test_an_image_no_matchimages_glob_covers_runs_no_provider(provider_bin, tmp_path):
    runner, calls = providers(provider_bin, tmp_path, args=[])
    assert runner.configs_for("docker.io/library/alpine") == [] and asked(calls) == []
    assert runner.configs_for("a.b.example.com/app") == []  # `*` is one host label, as in the kubelet


@pytest.mark.parametrize(("key_type", "other", "cached"), [
    ("Image", "registry.example.com/team/other", False),
    ("Registry", "registry.example.com/team/other", True),
    ("Registry", "other.example.com/team/app", False),
    ("Global", "other.example.com/team/app", True),
])
def test_answers_are_kept_per_cache_key_type(provider_bin, tmp_path, key_type, other, cached):
    runner, calls = providers(provider_bin, tmp_path, args=["--cache-key-type", key_type, "--duration", "1h"])
    runner.configs_for(IMAGE)
    runner.configs_for(IMAGE)
    runner.configs_for(other)
    assert len(asked(calls)) == (1 if cached else 2)


def test_a_kept_answer_expires_after_its_cache_duration(provider_bin, tmp_path):
    clock = Clock()
    runner, calls = providers(provider_bin, tmp_path, args=["--duration", "10m"], clock=clock)
    runner.configs_for(IMAGE)
    clock.now += 600
    runner.configs_for(IMAGE)
    assert len(asked(calls)) == 1
    clock.now += 1
    runner.configs_for(IMAGE)
    assert len(asked(calls)) == 2


def test_without_a_cache_duration_the_default_applies_and_zero_keeps_nothing(provider_bin, tmp_path):
    (tmp_path / "a").mkdir()
    kept, kept_calls = providers(provider_bin, tmp_path / "a", args=[], default_cache="1h")
    kept.configs_for(IMAGE)
    kept.configs_for(IMAGE)
    assert len(asked(kept_calls)) == 1
    never, never_calls = providers(provider_bin, tmp_path, args=["--duration", "0s"], default_cache="1h")
    never.configs_for(IMAGE)
    never.configs_for(IMAGE)
    assert len(asked(never_calls)) == 2


def test_a_failing_provider_is_an_error_naming_it_and_saying_why(provider_bin, tmp_path):
    runner, _ = providers(provider_bin, tmp_path, args=["--fail"])
    with pytest.raises(CredentialPluginError) as raised:
        runner.configs_for(IMAGE)
    assert str(raised.value) == (f"provider: fake-provider failed for image {IMAGE} (exit status 3): "
                                 "cannot reach the cloud's token service")


def test_an_answer_in_another_api_version_is_refused(provider_bin, tmp_path):
    runner, _ = providers(provider_bin, tmp_path, args=["--api-version", "credentialprovider.kubelet.k8s.io/v1beta1"])
    with pytest.raises(CredentialPluginError, match="apiVersion") as raised:
        runner.configs_for(IMAGE)
    assert PASSWORD not in str(raised.value)


def test_a_provider_that_hangs_is_stopped(provider_bin, tmp_path):
    runner, _ = providers(provider_bin, tmp_path, args=["--hang"], timeout=0.5)
    with pytest.raises(CredentialPluginError, match=r"did not answer for image .* within 0.5s"):
        runner.configs_for(IMAGE)


def test_a_missing_executable_is_an_error_naming_the_bin_directory(tmp_path):
    specs = parse_provider_config([("c.json", provider_config(fake_provider(match=["*.example.com"],
                                                                            password=PASSWORD)))])
    runner = ExecProviders(specs, bin_dir=tmp_path / "nowhere", environ={})
    with pytest.raises(CredentialPluginError, match=r"cannot run .*nowhere/fake-provider"):
        runner.configs_for(IMAGE)


def test_the_config_file_or_directory_is_read_as_the_kubelet_reads_it(tmp_path):
    folder = tmp_path / "conf.d"
    folder.mkdir()
    entry = fake_provider(match=["*.example.com"], password=PASSWORD)
    (folder / "b.json").write_text(provider_config({**entry, "name": "second"}))
    (folder / "a.yaml").write_text(provider_config(entry))
    (folder / "notes.txt").write_text("not a config")
    assert [spec.name for spec in read_provider_config(folder)] == ["fake-provider", "second"]
    assert [spec.name for spec in read_provider_config(folder / "a.yaml")] == ["fake-provider"]
    with pytest.raises(ProviderConfigError, match="cannot read"):
        read_provider_config(tmp_path / "absent.yaml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProviderConfigError, match="no configuration files"):
        read_provider_config(empty)
