"""Signatures: HMAC-SHA256 of the raw body (GitHub prefixed with `sha256=`, Gitea and Forgejo bare), GitLab's token."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from pipeline_queue.hooks import verify
from tests.hooks.deliveries import raw

SECRET = "s3cr3t-webhook-key"
GITHUB_BODY = raw("go-scm_github_push.json")
GITEA_BODY = raw("go-scm_gitea_push.json")


def hex_hmac(body: bytes, secret: str = SECRET) -> str:
    """The oracle: Python's hmac over the exact bytes, as the hosts document it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_github_signature_made_with_the_secret_verifies():
    assert verify("github", {"X-Hub-Signature-256": f"sha256={hex_hmac(GITHUB_BODY)}"}, GITHUB_BODY, SECRET)


def test_upper_case_hex_and_any_header_case_verify():
    headers = {"x-hub-signature-256": f"sha256={hex_hmac(GITHUB_BODY).upper()}"}
    assert verify("github", headers, GITHUB_BODY, SECRET)


@pytest.mark.parametrize("headers", [
    {"X-Hub-Signature-256": f"sha256={hex_hmac(GITHUB_BODY, 'another secret')}"},
    {"X-Hub-Signature-256": hex_hmac(GITHUB_BODY)},
    {"X-Hub-Signature-256": f"sha1={hex_hmac(GITHUB_BODY)}"},
    {"X-Hub-Signature-256": f"SHA256={hex_hmac(GITHUB_BODY)}"},
    {"X-Hub-Signature-256": f"sha256={hex_hmac(GITHUB_BODY)[:-1]}"},
    {"X-Hub-Signature-256": f"sha256={hex_hmac(GITHUB_BODY)}00"},
    {"X-Hub-Signature-256": "sha256=" + " ".join(hex_hmac(GITHUB_BODY)[i:i + 2] for i in range(0, 64, 2))},
    {"X-Hub-Signature-256": "sha256=" + "z" * 64},
    {"X-Hub-Signature-256": "sha256="},
    {"X-Hub-Signature": "sha1=" + hmac.new(SECRET.encode(), GITHUB_BODY, hashlib.sha1).hexdigest()},
    {"X-Gitea-Signature": hex_hmac(GITHUB_BODY)},
    {},
], ids=["wrong-secret", "no-prefix", "sha1-prefix", "upper-prefix", "short", "long", "spaced", "not-hex", "empty",
        "sha1-header-only", "gitea-header", "missing"])
def test_a_github_signature_that_is_not_right_fails(headers: dict[str, str]):
    assert not verify("github", headers, GITHUB_BODY, SECRET)


def test_a_tampered_body_fails():
    headers = {"X-Hub-Signature-256": f"sha256={hex_hmac(GITHUB_BODY)}"}
    tampered = GITHUB_BODY.replace(b"Update README", b"Update READMF")
    assert tampered != GITHUB_BODY
    assert not verify("github", headers, tampered, SECRET)
    assert not verify("github", headers, GITHUB_BODY + b"\n", SECRET)


def test_an_empty_secret_never_verifies():
    headers = {"X-Hub-Signature-256": f"sha256={hex_hmac(GITHUB_BODY, '')}"}
    assert not verify("github", headers, GITHUB_BODY, "")
    assert not verify("gitea", {"X-Gitea-Signature": hex_hmac(GITEA_BODY, "")}, GITEA_BODY, "")
    assert not verify("gitlab", {"X-Gitlab-Token": ""}, b"{}", "")


@pytest.mark.parametrize("headers", [
    {"X-Gitea-Signature": hex_hmac(GITEA_BODY)},
    {"x-gitea-signature": hex_hmac(GITEA_BODY)},
    {"X-Forgejo-Signature": hex_hmac(GITEA_BODY)},
    {"X-Forgejo-Signature": hex_hmac(GITEA_BODY), "X-Gitea-Signature": hex_hmac(GITEA_BODY)},
])
def test_a_gitea_or_forgejo_signature_made_with_the_secret_verifies(headers: dict[str, str]):
    assert verify("gitea", headers, GITEA_BODY, SECRET)


@pytest.mark.parametrize("headers", [
    {"X-Gitea-Signature": hex_hmac(GITEA_BODY, "another secret")},
    {"X-Gitea-Signature": f"sha256={hex_hmac(GITEA_BODY)}"},
    {"X-Gitea-Signature": hex_hmac(GITEA_BODY)[:-2]},
    {"X-Forgejo-Signature": hex_hmac(GITEA_BODY), "X-Gitea-Signature": hex_hmac(GITEA_BODY, "another secret")},
    {"X-Hub-Signature-256": f"sha256={hex_hmac(GITEA_BODY)}"},
    {},
], ids=["wrong-secret", "github-prefix", "short", "one-of-two-wrong", "github-header", "missing"])
def test_a_gitea_signature_that_is_not_right_fails(headers: dict[str, str]):
    assert not verify("gitea", headers, GITEA_BODY, SECRET)


def test_a_tampered_gitea_body_fails():
    assert not verify("gitea", {"X-Gitea-Signature": hex_hmac(GITEA_BODY)}, GITEA_BODY[:-1], SECRET)


def test_a_gitlab_token_equal_to_the_secret_verifies_whatever_the_body():
    assert verify("gitlab", {"X-Gitlab-Token": SECRET}, b"anything", SECRET)
    assert verify("gitlab", {"x-gitlab-token": SECRET}, raw("go-scm_gitlab_push.json"), SECRET)


@pytest.mark.parametrize("headers", [
    {"X-Gitlab-Token": "another secret"},
    {"X-Gitlab-Token": SECRET.upper()},
    {"X-Gitlab-Token": SECRET[:-1]},
    {"X-Gitlab-Token": ""},
    {"X-Gitlab-Token-Other": SECRET},
    {},
])
def test_a_gitlab_token_that_is_not_the_secret_fails(headers: dict[str, str]):
    assert not verify("gitlab", headers, b"{}", SECRET)


def test_an_unknown_provider_never_verifies():
    assert not verify("bitbucket", {"X-Hub-Signature-256": f"sha256={hex_hmac(GITHUB_BODY)}"}, GITHUB_BODY, SECRET)
