"""API tokens: the store keeps only digests, `token create|list|revoke` as a user runs them, and the bearer check in
front of `/api` (401 without a known token, 403 for a read-only one that writes), never echoing a token."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from pipeline_queue.errors import UsageError
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.server.app import create_app
from pipeline_queue.server.services import Services
from pipeline_queue.settings import Settings
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import ApiToken
from pipeline_queue.store.tokens import authenticate, create_token, list_tokens, revoke_token
from tests.conftest import run_cli

PIPELINE = """kind: pipeline
type: kubernetes
name: build
steps:
- {name: compile, image: "alpine:3.19", commands: [echo hi]}
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"  # where the `sessions` fixture keeps its database


def pq(data_dir: Path, *args: str):
    drop = ("DATABASE_URL", "PQ_SECRET_KEY", "REDIS_URL", "KUBECONFIG")
    return run_cli(*args, env={**{k: v for k, v in os.environ.items() if k not in drop}, "PQ_DATA_DIR": str(data_dir)})


def make(sessions, name: str, *, read_only: bool = False) -> str:
    with sessions.begin() as session:
        return create_token(session, name, read_only=read_only)


def check(sessions, token: str):
    with sessions.begin() as session:
        return authenticate(session, token)


# -- the store -------------------------------------------------------------------------------------------------------


def test_a_token_is_stored_only_as_its_digest(sessions):
    token = make(sessions, "ci")
    assert re.fullmatch(r"pq_[A-Za-z0-9_-]{43}", token)
    with sessions.begin() as session:
        row = session.execute(sa.select(ApiToken)).scalar_one()
        assert row.digest == hashlib.sha256(token.encode()).hexdigest()
        assert token not in {str(value) for value in vars(row).values()}
    assert make(sessions, "other") != token


@pytest.mark.parametrize("name", ["", "a b", "x" * 101, "ünï", "a/b", "name\n"])
def test_a_token_name_is_letters_digits_dot_underscore_dash(sessions, name):
    with pytest.raises(UsageError, match="token name"):
        make(sessions, name)
    make(sessions, "Release_bot-1.2")


def test_a_name_is_taken_once(sessions):
    make(sessions, "ci")
    with pytest.raises(UsageError, match="exists already"):
        make(sessions, "ci")


def test_authenticate_knows_only_live_tokens_and_list_shows_no_digest(sessions):
    token = make(sessions, "ci", read_only=True)
    record = check(sessions, token)
    assert (record.name, record.read_only) == ("ci", True)
    assert check(sessions, token + "x") is None and check(sessions, "pq_") is None
    [listed] = with_session(sessions, list_tokens)
    assert set(vars(listed)) == {"name", "read_only", "created", "last_used"}
    assert with_session(sessions, revoke_token, "ci") is True
    assert with_session(sessions, revoke_token, "ci") is False
    assert check(sessions, token) is None


def test_last_used_moves_on_at_most_once_a_minute(sessions):
    token = make(sessions, "ci")
    first = check(sessions, token).last_used
    assert first is not None
    assert check(sessions, token).last_used == first
    long_ago = utcnow() - timedelta(minutes=2)
    with sessions.begin() as session:
        session.execute(sa.update(ApiToken).values(last_used=long_ago))
    assert check(sessions, token).last_used > long_ago


def with_session(sessions, function, *args):
    with sessions.begin() as session:
        return function(session, *args)


# -- the command line ------------------------------------------------------------------------------------------------


def test_token_create_list_revoke_as_a_user_runs_them(data_dir, sessions):
    created = pq(data_dir, "token", "create", "deploy-bot", "--read-only")
    assert created.returncode == 0, created.stderr
    [token] = re.findall(r"^token: (pq_\S+)$", created.stdout, flags=re.MULTILINE)
    assert created.stdout.count(token) == 1
    assert "shown only now" in created.stdout and "Authorization: Bearer <token>" in created.stdout
    assert check(sessions, token).read_only is True
    listed, as_json = pq(data_dir, "token", "list"), pq(data_dir, "token", "list", "--json")
    assert "deploy-bot" in listed.stdout and as_json.stdout.startswith('[{"name": "deploy-bot", "read_only": true')
    digest = hashlib.sha256(token.encode()).hexdigest()
    for result in (listed, as_json):
        assert result.returncode == 0, result.stderr
        assert token not in result.stdout + result.stderr and digest not in result.stdout + result.stderr
    again = pq(data_dir, "token", "create", "deploy-bot")
    assert again.returncode == 2 and "exists already" in again.stderr
    revoked = pq(data_dir, "token", "revoke", "deploy-bot")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert check(sessions, token) is None
    missing = pq(data_dir, "token", "revoke", "deploy-bot")
    assert missing.returncode == 1 and "no token named 'deploy-bot'" in missing.stderr


# -- the bearer check in front of /api -------------------------------------------------------------------------------


@pytest.fixture
def sent() -> list[int]:
    return []


@pytest.fixture
def client(data_dir: Path, sessions, sent: list[int]) -> TestClient:
    settings = Settings.from_env({"PQ_DATA_DIR": str(data_dir)})
    submit_text(PIPELINE, filename=".drone.yml", event=BuildEvent(repo="octo/app", branch="main", commit="a" * 40),
                settings=settings, sessions=sessions, send=sent.extend, blocked=True)
    return TestClient(create_app(Services(settings=settings, sessions=sessions, send=sent.extend, broker_url="")))


@pytest.mark.parametrize("header", [None, "", "Basic b2N0bzpwdw==", "Bearer", "Bearer ", "Bearer a b", "Token x",
                                    "Bearer pq_not-a-token-anyone-was-given"])
@pytest.mark.parametrize("path", ["/api/builds/1", "/api/no/such/route"])
def test_without_a_known_token_every_api_path_is_a_401(client, header, path):
    answer = client.get(path, headers={} if header is None else {"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert set(answer.json()) == {"error"}
    assert "pq_not-a-token" not in answer.text and "b2N0bzpwdw" not in answer.text


def test_a_valid_token_opens_the_api_whatever_the_scheme_s_case(client, sessions):
    token = make(sessions, "ci")
    assert client.get("/api/builds", headers={"Authorization": f"bearer {token}"}).status_code == 200
    answer = client.get("/api/builds/1", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and token not in answer.text


def test_a_revoked_token_is_refused_and_never_echoed(client, sessions):
    token = make(sessions, "ci")
    with_session(sessions, revoke_token, "ci")
    answer = client.get("/api/builds", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert token not in answer.text and all(token not in value for value in answer.headers.values())


@pytest.mark.parametrize("action", ["cancel", "approve", "restart"])
def test_a_read_only_token_reads_but_may_not_act(client, sessions, sent, action):
    token = make(sessions, "viewer", read_only=True)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/builds/1", headers=headers).json()["status"] == "blocked"
    answer = client.post(f"/api/builds/1/{action}", headers=headers)
    assert answer.status_code == 403 and "read-only" in answer.json()["error"] and token not in answer.text
    assert client.get("/api/builds/1", headers=headers).json()["status"] == "blocked" and sent == []
