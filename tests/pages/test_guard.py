"""What stands in front of every page, over HTTP: the Content-Security-Policy, sign-in, the session cookie, CSRF on
every form, read-only tokens, and the refusals a person can meet, each a page saying what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_queue import store
from pipeline_queue.commands.repos import MAX_VALUE
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.server.pages.guard import CONTENT_SECURITY_POLICY
from pipeline_queue.server.pages.repos import MAX_SECRET_VALUE
from pipeline_queue.settings import Settings
from pipeline_queue.store.tokens import create_token, revoke_token
from tests.pages.web import csrf_of, pages, sign_in

SIMPLE = """kind: pipeline
type: kubernetes
name: default
steps:
- {name: build, image: "alpine:3.19", commands: [make]}
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"  # where the `sessions` fixture keeps its database


@pytest.fixture
def sent() -> list[int]:
    return []


@pytest.fixture
def client(sessions, data_dir, sent):
    with pages(sessions, data_dir, sent) as client:
        yield client


def blocked_build(sessions, data_dir: Path, sent: list[int]) -> int:
    settings = Settings.from_env({"PQ_DATA_DIR": str(data_dir), "PQ_NAMESPACE": "pages"})
    return submit_text(SIMPLE, filename=".drone.yml", event=BuildEvent(repo="octo/app", branch="main"),
                       settings=settings, sessions=sessions, send=sent.extend, blocked=True).build_id


def test_every_answer_carries_a_strict_content_security_policy(client, sessions):
    answers = [client.get("/sign-in"), client.get("/builds"), client.get("/static/pages.css"),
               client.post("/builds/1/cancel")]
    sign_in(client, sessions)
    answers += [client.get("/builds"), client.get("/builds/99")]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["x-frame-options"] == "DENY"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert answers[-1].status_code == 404 and "build 99 does not exist" in answers[-1].text
    assert answers[-2].headers["cache-control"] == "no-store"


def test_without_a_session_a_page_leads_to_sign_in_and_a_form_is_refused(client, sessions, data_dir, sent):
    build_id = blocked_build(sessions, data_dir, sent)
    answer = client.get(f"/builds/{build_id}?tab=logs")
    assert answer.status_code == 303 and answer.headers["location"] == f"/sign-in?next=/builds/{build_id}%3Ftab%3Dlogs"
    refused = client.post(f"/builds/{build_id}/cancel", data={"csrf": "x"})
    assert refused.status_code == 401 and "not signed in" in refused.text
    assert sent == []


def test_sign_in_sets_an_http_only_cookie_that_holds_no_token(client, sessions):
    cookie = client.get("/sign-in").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    csrf = csrf_of(client.get("/sign-in").text)
    wrong = client.post("/sign-in", data={"csrf": csrf, "token": "pq_nope"})
    assert wrong.status_code == 401 and "not known" in wrong.text
    sign_in(client, sessions)
    assert client.get("/builds").status_code == 200
    assert "pq_" not in client.cookies["pq_session"]


def test_a_form_needs_the_session_s_csrf_secret_from_this_site(client, sessions, data_dir, sent):
    build_id = blocked_build(sessions, data_dir, sent)
    csrf = sign_in(client, sessions)
    for data, headers in (({"no": "csrf"}, {}), ({"csrf": "forged"}, {}), ({"csrf": csrf}, {"origin": "http://evil.example"}),
                          ({"csrf": csrf}, {"sec-fetch-site": "cross-site"})):
        answer = client.post(f"/builds/{build_id}/approve", data=data, headers=headers)
        assert answer.status_code == 403, answer.text
    assert client.post(f"/builds/{build_id}/approve", content=b'{"csrf": 1}',
                       headers={"content-type": "application/json"}).status_code == 415
    many = {f"f{number}": "x" for number in range(60)} | {"csrf": csrf}
    assert client.post(f"/builds/{build_id}/approve", data=many).status_code == 400
    assert client.post(f"/builds/{build_id}/approve", data={"csrf": csrf, "pad": "x" * 300_000}).status_code == 413
    assert sent == []
    approved = client.post(f"/builds/{build_id}/approve", data={"csrf": csrf})
    assert approved.status_code == 303 and approved.headers["location"] == f"/builds/{build_id}"
    assert sent != []


def test_a_session_ends_with_its_token_a_tampered_cookie_or_signing_out(client, sessions):
    sign_in(client, sessions)
    good = client.cookies["pq_session"]
    assert client.get("/builds", headers={"cookie": f"pq_session={good[:-3]}AAA"}).status_code == 303
    assert client.get("/builds", headers={"cookie": f"pq_session={good}"}).status_code == 200
    with sessions.begin() as session:
        revoke_token(session, "alice")
    assert client.get("/builds").status_code == 303  # revoked: signed out
    csrf = sign_in(client, sessions, "bob")
    assert client.post("/sign-out", data={"csrf": csrf}).status_code == 303
    assert client.get("/builds").status_code == 303


def test_sign_in_goes_on_only_to_a_path_of_this_site(client, sessions):
    sign_in(client, sessions)
    client.post("/sign-out", data={"csrf": csrf_of(client.get("/builds").text)})
    for number, (wanted, target) in enumerate((("/cache", "/cache"), ("//evil.example/x", "/builds"),
                                               ("https://evil.example", "/builds"), ("/\\evil.example", "/builds"))):
        with sessions.begin() as session:
            token = create_token(session, f"visitor-{number}")
        answer = client.post("/sign-in", data={"csrf": csrf_of(client.get("/sign-in").text), "token": token,
                                               "next": wanted})
        assert answer.headers["location"] == target
        client.post("/sign-out", data={"csrf": csrf_of(client.get("/builds").text)})


def test_a_read_only_token_sees_no_buttons_and_may_not_use_them(client, sessions, data_dir, sent):
    build_id = blocked_build(sessions, data_dir, sent)
    with sessions.begin() as session:
        store.add_repository(session, "octo/lib")
    csrf = sign_in(client, sessions, "viewer", read_only=True)
    page = client.get(f"/builds/{build_id}").text
    assert "/approve" not in page and "/cancel" not in page and "/restart" not in page
    assert "add-secret" not in client.get("/repos/octo/lib").text
    refused = client.post(f"/builds/{build_id}/approve", data={"csrf": csrf})
    assert refused.status_code == 403 and "read-only" in refused.text
    secret = client.post("/repos/octo/lib", data={"csrf": csrf, "action": "add-secret", "name": "x", "value": "yyyy"})
    assert secret.status_code == 403
    assert sent == []


def test_a_secret_the_form_cannot_take_is_refused_saying_why(client, sessions):
    with sessions.begin() as session:
        store.add_repository(session, "octo/lib")
    csrf = sign_in(client, sessions)
    for name, value, why in (("bad name!", "v", "may hold only"), ("ok", "", "empty"),
                             ("ok", "x" * (MAX_SECRET_VALUE + 1), "at most 64 KiB")):
        answer = client.post("/repos/octo/lib", data={"csrf": csrf, "action": "add-secret", "name": name,
                                                      "value": value})
        assert answer.status_code in (400, 409) and why in answer.text, answer.text
    added = client.post("/repos/octo/lib", data={"csrf": csrf, "action": "add-secret", "name": "ok", "value": "ab\r\n"})
    assert added.headers["location"] == "/repos/octo/lib?added=ok&short=1"
    assert "not mask" in client.get(added.headers["location"]).text
    assert MAX_SECRET_VALUE == MAX_VALUE  # the page's limit is the command line's


def test_the_raw_log_is_plain_text_of_that_build_s_step_only(client, sessions, data_dir, sent):
    first, second = blocked_build(sessions, data_dir, sent), blocked_build(sessions, data_dir, sent)
    with sessions.begin() as session:
        step = store.get_build(session, first).stages[0].steps[0].id
        store.set_log(session, step, "\x1b[31mred\x1b[0m <b>\n")
    sign_in(client, sessions)
    raw = client.get(f"/builds/{first}/steps/{step}/log.txt")
    assert raw.text == "red <b>\n" and raw.headers["content-type"].startswith("text/plain")
    assert client.get(f"/builds/{second}/steps/{step}/log.txt").status_code == 404
