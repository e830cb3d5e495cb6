"""The pages over Starlette's TestClient, for what needs no browser: headers, sessions, CSRF, refusals, streams."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from pipeline_queue.server.app import create_app
from pipeline_queue.server.services import Services
from pipeline_queue.settings import Settings
from pipeline_queue.store.tokens import create_token

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF secret the page's forms carry."""
    match = _CSRF.search(html)
    assert match, "the page has no form"
    return match.group(1)


@contextmanager
def pages(sessions: Any, data_dir: Path, sent: list[int]) -> Iterator[TestClient]:
    settings = Settings.from_env({"PQ_DATA_DIR": str(data_dir), "PQ_NAMESPACE": "pages"})
    services = Services(settings=settings, sessions=sessions, send=sent.extend, broker_url="")
    with TestClient(create_app(services), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, sessions: Any, name: str = "alice", *, read_only: bool = False) -> str:
    """Sign `client` in with a new token called `name`; the CSRF secret of the new session."""
    with sessions.begin() as session:
        token = create_token(session, name, read_only=read_only)
    answer = client.post("/sign-in", data={"csrf": csrf_of(client.get("/sign-in").text), "token": token})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/builds").text)
