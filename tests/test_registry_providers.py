"""The kubelet credential provider rules: its config file, its matchImages globs, its messages and its cache."""

from __future__ import annotations

import json

import pytest

from pipeline_queue.errors import CredentialPluginError, ProviderConfigError
from pipeline_queue.registry.providers import (
    ProviderCache,
    cache_keys,
    parse_go_duration,
    parse_provider_config,
    parse_provider_response,
    provider_request,
)

ECR_GLOBS = ["*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com.cn"]


def config(*providers: dict, api_version: str = "kubelet.config.k8s.io/v1") -> str:
    return json.dumps({"apiVersion": api_version, "kind": "CredentialProviderConfig", "providers": list(providers)})


def provider(**fields) -> dict:
    return {"name": "ecr-credential-provider", "matchImages": ECR_GLOBS, "defaultCacheDuration": "12h",
            "apiVersion": "credentialprovider.kubelet.k8s.io/v1", **fields}


def spec(**fields):
    return parse_provider_config([("config.json", config(provider(**fields)))])[0]


@pytest.mark.parametrize(("text", "seconds"), [
    ("12h", 43200), ("1h30m", 5400), ("1.5h", 5400), ("300ms", 0.3), ("0", 0), ("-5m", -300), ("+2s", 2),
    ("1h1m1s", 3661), ("10us", 1e-5), ("10\u00b5s", 1e-5), ("1.s", 1), (".5m", 30),
])
def test_durations_read_as_go_reads_them(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "12", "h", "1d", "1h-5m", "-", " 1h", "1 h", ".s"])
def test_what_go_refuses_as_a_duration_is_refused(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_a_kubelet_config_in_yaml_or_json_gives_its_providers_with_their_exec_settings():
    yaml_text = """
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ecr-credential-provider
    matchImages: ["*.dkr.ecr.*.amazonaws.com"]
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args: [get-credentials]
    env:
      - name: AWS_PROFILE
        value: ci
"""
    (found,) = parse_provider_config([("a.yaml", yaml_text)])
    assert (found.name, found.match_images, found.default_cache_duration) == (
        "ecr-credential-provider", ("*.dkr.ecr.*.amazonaws.com",), 43200)
    assert (found.args, found.env, found.source) == (("get-credentials",), (("AWS_PROFILE", "ci"),),
                                                      "provider: ecr-credential-provider")
    assert "AWS_PROFILE" not in repr(found)


def test_files_of_a_directory_merge_and_a_name_used_twice_is_refused():
    one = config(provider(name="one"))
    two = config(provider(name="two"))
    assert [s.name for s in parse_provider_config([("1.json", one), ("2.json", two)])] == ["one", "two"]
    with pytest.raises(ProviderConfigError, match="duplicate provider name 'one'"):
        parse_provider_config([("1.json", one), ("2.json", one)])


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "bin/x"}, "must be a file name"),
    ({"name": ".."}, "must be a file name"),
    ({"name": "has space"}, "must be a file name"),
    ({"apiVersion": "credentialprovider.kubelet.k8s.io/v2"}, "apiVersion"),
    ({"matchImages": []}, "at least 1 item in matchImages"),
    ({"matchImages": ["%zz"]}, "match image '%zz' is invalid"),
    ({"defaultCacheDuration": None}, "defaultCacheDuration: required"),
    ({"defaultCacheDuration": "-1h"}, "greater than or equal to 0"),
    ({"defaultCacheDuration": "soon"}, "is not a duration"),
    ({"tokenAttributes": {"serviceAccountTokenAudience": "x"}}, "service account tokens are not supported"),
    ({"surprise": 1}, "unknown field"),
    ({"env": [{"value": "x"}]}, r"env\[0\]"),
])
def test_a_config_the_kubelet_would_refuse_is_refused_naming_the_field(fields, message):
    with pytest.raises(ProviderConfigError, match=message) as raised:
        spec(**fields)
    assert "config.json: providers[0]" in str(raised.value) or "duplicate" in str(raised.value)


@pytest.mark.parametrize(("text", "message"), [
    ("providers: []", "expected kind CredentialProviderConfig"),
    (config(api_version="kubelet.config.k8s.io/v2"), "expected kind"),
    (config(), "at least 1 item in plugins is required"),
    ("[1", "not valid YAML or JSON"),
])
def test_a_file_that_is_no_provider_config_is_refused(text, message):
    with pytest.raises(ProviderConfigError, match=message):
        parse_provider_config([("c.yaml", text)])


@pytest.mark.parametrize(("image", "served"), [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app", True),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/app", True),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com:443/app", False),  # another port is another registry
    ("dkr.ecr.us-east-1.amazonaws.com/app", False),  # a glob label stands for exactly one label
    ("docker.io/library/alpine", False),
])
def test_matchimages_match_as_the_kubelet_matches_them(image, served):
    assert spec().serves(image) is served


def test_a_glob_with_a_path_serves_that_path_and_below_only():
    team = spec(matchImages=["registry.example.com/team"])
    assert team.serves("registry.example.com/team/app")
    assert not team.serves("registry.example.com/other/app")


def test_the_request_is_the_kubelets():
    assert json.loads(provider_request(spec(), "example.com/app")) == {
        "kind": "CredentialProviderRequest", "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "image": "example.com/app"}


def response(**fields) -> bytes:
    return json.dumps({"kind": "CredentialProviderResponse", "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                       "cacheKeyType": "Registry", "cacheDuration": "6h",
                       "auth": {"*.example.com": {"username": "u", "password": "pw-fake-331"}}, **fields}).encode()


def test_a_response_gives_its_credentials_and_how_long_to_keep_them():
    answer = parse_provider_response(response(), spec=spec(), image="a.example.com/app")
    assert (answer.cache_key_type, answer.cache_duration) == ("Registry", 21600)
    (auth,) = answer.config.auths
    assert (answer.config.source, auth.key, auth.username, auth.password) == (
        "provider: ecr-credential-provider", "*.example.com", "u", "pw-fake-331")


@pytest.mark.parametrize(("fields", "message"), [
    ({"apiVersion": "credentialprovider.kubelet.k8s.io/v1beta1"}, "not 'credentialprovider.kubelet.k8s.io/v1'"),
    ({"kind": "Other"}, "kind 'Other'"),
    ({"cacheKeyType": "Pod"}, "cacheKeyType 'Pod'"),
    ({"cacheDuration": "a while"}, "cacheDuration"),
    ({"auth": {"x": {"username": 1, "password": "pw-fake-331"}}}, "auth entry 'x'"),
])
def test_a_bad_response_is_an_error_that_shows_no_credential(fields, message):
    with pytest.raises(CredentialPluginError, match=message) as raised:
        parse_provider_response(response(**fields), spec=spec(), image="a.example.com/app")
    assert "pw-fake-331" not in str(raised.value)
    assert "provider: ecr-credential-provider" in str(raised.value)


def test_the_cache_is_looked_up_by_image_then_registry_then_globally():
    assert cache_keys("a.example.com/team/app") == ("a.example.com/team/app", "a.example.com", "global")
    cache = ProviderCache()
    registry_wide = parse_provider_response(response(), spec=spec(), image="a.example.com/app")
    cache.put("a.example.com/app", registry_wide, default=0, now=100.0)
    assert cache.get("a.example.com/other", now=100.0 + 21600) is registry_wide.config  # same registry, in time
    assert cache.get("b.example.com/other", now=101.0) is None
    assert cache.get("a.example.com/other", now=100.0 + 21601) is None  # expired: asked again


def test_a_duration_of_zero_keeps_nothing_and_none_falls_back_to_the_default():
    cache = ProviderCache()
    cache.put("a.example.com/app", parse_provider_response(response(cacheDuration="0s"), spec=spec(),
                                                           image="a.example.com/app"), default=3600, now=0.0)
    assert cache.get("a.example.com/app", now=0.0) is None
    without = json.loads(response())
    del without["cacheDuration"]
    answer = parse_provider_response(json.dumps(without).encode(), spec=spec(), image="a.example.com/app")
    cache.put("a.example.com/app", answer, default=60, now=0.0)
    assert cache.get("a.example.com/app", now=60.0) is answer.config
    assert cache.get("a.example.com/app", now=61.0) is None
    cache.put("a.example.com/app", answer, default=0, now=0.0)
    assert cache.get("a.example.com/app", now=0.0) is None
