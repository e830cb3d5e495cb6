"""Fixtures of the credential plugin tests: a fake kubelet credential provider, and moto's server standing in for
Amazon ECR (started on a free port as a subprocess; those tests are skipped, saying why, without moto)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.polling import wait_for

FAKE_PROVIDER = textwrap.dedent('''\
    #!{python}
    """A kubelet credential provider for tests: answers the request on stdin as its arguments and environment say."""
    import argparse, json, os, sys, time

    parser = argparse.ArgumentParser()
    parser.add_argument("--user", default="provider-user")
    parser.add_argument("--key", default="")
    parser.add_argument("--cache-key-type", default="Image")
    parser.add_argument("--duration", default=None)
    parser.add_argument("--api-version", default="credentialprovider.kubelet.k8s.io/v1")
    parser.add_argument("--calls", default="")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--hang", action="store_true")
    options = parser.parse_args()
    request = json.load(sys.stdin)
    if options.calls:
        with open(options.calls, "a") as calls:
            calls.write(json.dumps(request) + "\\n")
    if options.hang:
        time.sleep(60)
    if options.fail:
        print("noise first", file=sys.stderr)
        print("cannot reach the cloud's token service", file=sys.stderr)
        sys.exit(3)
    response = {{
        "apiVersion": options.api_version,
        "kind": "CredentialProviderResponse",
        "cacheKeyType": options.cache_key_type,
        "auth": {{options.key or request["image"].split("/")[0]: {{
            "username": options.user, "password": os.environ["FAKE_PROVIDER_PASSWORD"]}}}},
    }}
    if options.duration is not None:
        response["cacheDuration"] = options.duration
    json.dump(response, sys.stdout)
''')


@pytest.fixture
def provider_bin(tmp_path: Path) -> Path:
    """A bin directory holding the fake provider as `fake-provider`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "fake-provider"
    script.write_text(FAKE_PROVIDER.format(python=sys.executable))
    script.chmod(0o755)
    return folder


def provider_config(*providers: dict[str, object]) -> str:
    """A CredentialProviderConfig in the kubelet's YAML-or-JSON format."""
    return json.dumps({"apiVersion": "kubelet.config.k8s.io/v1", "kind": "CredentialProviderConfig",
                       "providers": list(providers)})


def fake_provider(*, match: list[str], password: str, args: list[str] | None = None,
                  default_cache: str = "0s") -> dict[str, object]:
    return {"name": "fake-provider", "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "matchImages": match,
            "defaultCacheDuration": default_cache, "args": args or [],
            "env": [{"name": "FAKE_PROVIDER_PASSWORD", "value": password}]}


# -- moto's server, for ECR -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto server (ECR's stand-in: no real AWS account is ever asked)."""
    pytest.importorskip("boto3", reason="boto3 is not installed: pip install 'pipeline-queue[ecr]' to test ECR")
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    if importlib.util.find_spec("moto") is None or server is None:
        pytest.skip("moto's server is not installed: pip install 'moto[server]' to test ECR")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            return process.poll() is not None

    try:
        wait_for(answers, what="moto_server to answer", timeout=30, explain=log.read_text)
        assert process.poll() is None, log.read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 pointed at moto (its own settings, as an operator would point it elsewhere), with made-up keys."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return moto_endpoint
