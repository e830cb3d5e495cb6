"""The Drone registry extension client against a plugin server of the tests' own, which checks every signature."""

from __future__ import annotations

import socket

import pytest

from pipeline_queue.credentials.http_plugin import RegistryExtension
from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.extension import ExtensionRequest
from tests.credentials.plugin_server import PluginServer

SECRET = "shared-plugin-secret-5521"
PASSWORD = "pw-plugin-issued-6630"
REQUEST = ExtensionRequest(repo={"slug": "octo/hello"}, build={"number": 4, "event": "push"}, pipeline="default")
ENTRY = {"address": "registry.example.com", "username": "ci", "password": PASSWORD}


@pytest.fixture
def plugin():
    with PluginServer(SECRET, default=[ENTRY]) as server:
        yield server


def client(url: str, secret: str = SECRET, **options) -> RegistryExtension:
    pauses: list[float] = []
    extension = RegistryExtension(url, secret, timeout=2.0, sleep=pauses.append, **options)
    extension.pauses = pauses  # what it would have waited between attempts
    return extension


def test_a_signed_request_gets_the_plugins_credentials(plugin):
    config = client(plugin.url).registries(REQUEST)
    assert [(auth.key, auth.username, auth.password) for auth in config.auths] == [
        ("registry.example.com", "ci", PASSWORD)]
    (body,) = plugin.requests
    assert body["repo"]["slug"] == "octo/hello" and body["build"]["number"] == 4
    assert plugin.headers[0]["accept"] == "application/vnd.drone.registry.v1+json"
    assert SECRET not in str(plugin.headers[0])


def test_a_wrong_secret_is_refused_by_the_plugin_and_not_retried(plugin):
    extension = client(plugin.url, secret="not-the-shared-secret")
    with pytest.raises(CredentialPluginError) as raised:
        extension.registries(REQUEST)
    assert str(raised.value) == f"plugin: http ({plugin.url}) refused the request: 400 Bad Request"
    assert (plugin.refused, plugin.requests, extension.pauses) == (1, [], [])


def test_a_plugin_briefly_down_is_asked_again(plugin):
    plugin.failures = 2
    extension = client(plugin.url)
    assert extension.registries(REQUEST).auths[0].password == PASSWORD
    assert len(plugin.requests) == 3 and extension.pauses == [0.2, 0.4]


def test_a_plugin_that_stays_down_is_an_error_naming_it(plugin):
    plugin.failures = 5
    with pytest.raises(CredentialPluginError, match=r"plugin: http \(.*\) answered 503 Service Unavailable, 3 "):
        client(plugin.url).registries(REQUEST)


def test_a_plugin_that_is_not_there_is_an_error_naming_it():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/registry"  # bound, never listening: refused
        with pytest.raises(CredentialPluginError) as raised:
            client(url).registries(REQUEST)
    assert str(raised.value) == f"plugin: http ({url}) is unreachable (Connection refused), 3 attempts"


def test_a_plugin_that_hangs_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(CredentialPluginError, match=r"is unreachable \(timed out\), 1 attempts"):
            RegistryExtension(url, SECRET, timeout=0.3, attempts=1).registries(REQUEST)


def test_an_answer_that_is_not_registries_shows_none_of_it(plugin):
    plugin.default = {"password": PASSWORD}  # not a list
    with pytest.raises(CredentialPluginError, match="not a JSON list") as raised:
        client(plugin.url).registries(REQUEST)
    assert PASSWORD not in str(raised.value)


def test_credentials_are_keyed_by_repository_as_the_plugin_decides(plugin):
    plugin.registries = {"octo/other": [{**ENTRY, "password": "pw-other-fake"}]}
    plugin.default = []
    assert client(plugin.url).registries(REQUEST).auths == ()


def test_the_secret_never_shows(plugin):
    assert SECRET not in repr(client(plugin.url))
