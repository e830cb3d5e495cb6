"""Amazon ECR's rules: which hosts are ECR registries, what a token holds, until when it is used."""

from __future__ import annotations

import base64

import pytest

from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.ecr import REFRESH_BEFORE, EcrRegistry, parse_ecr_host, token_credentials, usable_until


@pytest.mark.parametrize(("host", "expected"), [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", EcrRegistry("", "123456789012", "us-east-1")),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", EcrRegistry("", "123456789012", "cn-north-1")),
    ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
     EcrRegistry("", "123456789012", "us-gov-west-1", fips=True)),
    ("123456789012.dkr-ecr.eu-west-1.on.aws", EcrRegistry("", "123456789012", "eu-west-1")),
    ("123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", EcrRegistry("", "123456789012", "us-iso-east-1")),
])
def test_ecr_hosts_give_account_region_and_fips(host, expected):
    assert parse_ecr_host(host) == EcrRegistry(host, expected.account, expected.region, expected.fips)


@pytest.mark.parametrize("host", [
    "12345678901.dkr.ecr.us-east-1.amazonaws.com",  # eleven digits
    "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com:5000",
    "public.ecr.aws",
    "docker.io",
])
def test_other_hosts_are_not_ecr(host):
    assert parse_ecr_host(host) is None


REGISTRY = EcrRegistry("123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012", "us-east-1")


def test_a_token_is_aws_and_a_password_for_that_host():
    token = base64.b64encode(b"AWS:pw-fake-tok-901").decode()
    (auth,) = token_credentials(REGISTRY, token).auths
    assert (auth.key, auth.username, auth.password) == (REGISTRY.host, "AWS", "pw-fake-tok-901")


@pytest.mark.parametrize("token", ["not base64!", base64.b64encode(b"no-colon-pw-fake").decode(), ""])
def test_a_token_that_is_not_user_and_password_is_an_error_showing_none_of_it(token):
    with pytest.raises(CredentialPluginError, match="plugin: ecr") as raised:
        token_credentials(REGISTRY, token)
    assert "pw-fake" not in str(raised.value)


def test_a_token_is_used_until_shortly_before_it_expires():
    assert usable_until(1_000_000.0) == 1_000_000.0 - REFRESH_BEFORE
    assert REFRESH_BEFORE >= 60
