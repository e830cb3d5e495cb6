"""Built-in ECR against moto's server mode (never a real account): a token from GetAuthorizationToken with the
worker's AWS credentials, kept until shortly before it expires, and clear errors when none can be had."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline_queue.credentials import ecr
from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.ecr import REFRESH_BEFORE, parse_ecr_host

ACCOUNT = "123456789012"
REGISTRY = parse_ecr_host(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com")
MOTO_PASSWORD = f"{ACCOUNT}-auth-token"
"""What moto issues as the password of an account's token."""
MOTO_EXPIRY = datetime(2015, 1, 1, tzinfo=UTC).timestamp()
"""When moto's tokens expire (it always says 2015-01-01)."""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_token_of_the_registrys_account_and_region(aws):
    (auth,) = ecr.EcrTokens(clock=Clock(MOTO_EXPIRY - 3600)).config_for(REGISTRY).auths
    assert (auth.key, auth.username, auth.password) == (REGISTRY.host, "AWS", MOTO_PASSWORD)


def test_a_token_is_kept_until_shortly_before_it_expires(aws):
    clock = Clock(MOTO_EXPIRY - REFRESH_BEFORE - 60)
    tokens = ecr.EcrTokens(clock=clock)
    first = tokens.config_for(REGISTRY)
    assert tokens.config_for(REGISTRY) is first  # kept: ECR is not asked
    clock.now = MOTO_EXPIRY - REFRESH_BEFORE
    again = tokens.config_for(REGISTRY)
    assert again is not first and again == first  # asked anew, ahead of the expiry


def test_without_aws_credentials_the_error_says_so(aws, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(CredentialPluginError) as raised:
        ecr.EcrTokens(timeout=1.0).config_for(REGISTRY)
    assert str(raised.value) == f"plugin: ecr: no token for {REGISTRY.host}: Unable to locate credentials"
