"""Amazon ECR built in (the `ecr` extra, boto3): a token from GetAuthorizationToken, with the worker's own AWS
credentials (boto3's usual chain: environment, shared files, instance or pod role), kept in this process until
shortly before it expires.

boto3 is imported only here and only when installed; without it `available()` says so and ECR images get no
built-in credentials (`explain` tells why). The endpoint follows boto3's settings too (`AWS_ENDPOINT_URL_ECR`),
which is how the tests point it at moto's server.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable
from typing import Any

from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.dockerconfig import DockerConfig
from pipeline_queue.registry.ecr import SOURCE, EcrRegistry, token_credentials, usable_until

INSTALL_HINT = "install the ecr extra: pip install 'pipeline-queue[ecr]'"


def available() -> bool:
    """Whether boto3 is installed, without importing it (explain and workers that never meet ECR stay light)."""
    return importlib.util.find_spec("boto3") is not None


class EcrTokens:
    """ECR tokens by registry host, each until `registry.ecr.usable_until` its expiry on `clock` (epoch seconds)."""

    def __init__(self, *, clock: Callable[[], float] = time.time, timeout: float = 10.0) -> None:
        self._clock, self.timeout = clock, timeout
        self._tokens: dict[str, tuple[float, DockerConfig]] = {}
        self._clients: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EcrTokens({len(self._tokens)} kept)"

    def config_for(self, registry: EcrRegistry) -> DockerConfig:
        """The registry's credentials; CredentialPluginError naming the registry and what AWS said, when it cannot
        be had."""
        with self._lock:
            kept = self._tokens.get(registry.host)
            if kept is not None and self._clock() < kept[0]:
                return kept[1]
        token, expires_at = self._ask(registry)
        config = token_credentials(registry, token)
        with self._lock:
            self._tokens[registry.host] = (usable_until(expires_at), config)
        return config

    def _ask(self, registry: EcrRegistry) -> tuple[str, float]:
        if not available():
            raise CredentialPluginError(f"{SOURCE}: {registry.host} is an ECR registry but boto3 is missing: "
                                        f"{INSTALL_HINT}")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client(registry).get_authorization_token(registryIds=[registry.account])
        except ClientError as error:
            details = error.response.get("Error", {})
            raise CredentialPluginError(f"{SOURCE}: no token for {registry.host}: {details.get('Code', 'error')}: "
                                        f"{details.get('Message', '')}".rstrip(": ")) from None
        except BotoCoreError as error:
            raise CredentialPluginError(f"{SOURCE}: no token for {registry.host}: {error}") from None
        data = answer.get("authorizationData") or []
        if not data or not data[0].get("authorizationToken"):
            raise CredentialPluginError(f"{SOURCE}: ECR gave no authorization data for {registry.host}")
        expires = data[0].get("expiresAt")
        return str(data[0]["authorizationToken"]), expires.timestamp() if expires is not None else 0.0

    def _client(self, registry: EcrRegistry) -> Any:
        """One client per region (and FIPS choice), made on first use; boto3 sessions are not shared across threads."""
        key = (registry.region, registry.fips)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                                use_fips_endpoint=registry.fips, retries={"max_attempts": 3, "mode": "standard"})
                client = self._clients[key] = boto3.session.Session().client("ecr", region_name=registry.region,
                                                                            config=config)
        return client
