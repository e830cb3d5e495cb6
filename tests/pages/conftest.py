"""Fixtures of the pages' tests: the real app served by uvicorn over a SQLite store and an embedded Redis, builds the
real producer made (their steps moved on with the store's own functions, as the workers move them), and one headless
Chromium per module, driven by Selenium through Debian's chromedriver.

Screenshots go to `$PQ_SCREENSHOTS`, else `.pipeline-queue/screenshots` in the checkout (ignored by git).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from pipeline_queue import broker, store
from pipeline_queue.producer.submit import BuildEvent, SubmittedBuild, submit_text
from pipeline_queue.producer.tenants import registered
from pipeline_queue.server.app import create_app
from pipeline_queue.server.services import Services
from pipeline_queue.settings import Settings
from pipeline_queue.store.tokens import create_token
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.repository import seal_secret, seal_webhook_secret
from pipeline_queue.vocabulary import Status
from tests.conftest import ROOT
from tests.polling import wait_for

REPO = "octo/app"
WEBHOOK_SECRET = "whsec-5b1e0c9a7d2f4e8b"
REGISTRY_PASSWORD = "s3cret-registry-password-41"
DEPLOY_TOKEN = "deploy-token-value-9f2c77"
SECRETS = {
    "dockerconfig": json.dumps({"auths": {"registry.example.com": {"username": "ci", "password": REGISTRY_PASSWORD}}}),
    "deploy_token": DEPLOY_TOKEN,
}
"""The repository's secrets: no page may ever show a value."""

PIPELINES = """
kind: pipeline
type: kubernetes
name: build
image_pull_secrets: [dockerconfig]
steps:
- name: compile
  image: registry.example.com/team/builder:1.0
  commands: [make]
- name: test
  image: golang:1.22
  environment:
    TOKEN: {from_secret: deploy_token}
  commands: [go test ./...]
---
kind: pipeline
name: deploy
type: kubernetes
depends_on: [build]
steps:
- {name: push, image: alpine, commands: [echo pushing]}
"""

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000")
"""Headless, as root, and without the background connections this machine's closed network refuses."""


@dataclass
class Site:
    """The running server and what the tests reach into: the store, the settings, the advance calls sent."""

    url: str
    settings: Settings
    sessions: Any
    redis_url: str
    token: str
    read_only_token: str
    sent: list[int] = field(default_factory=list)

    def submit(self, *, repo: str = REPO, branch: str = "main", text: str = PIPELINES, blocked: bool = False,
               message: str = "") -> SubmittedBuild:
        """A build as the producer makes it; a registered repository's with its secrets and trust."""
        with self.sessions.begin() as session:
            record = store.get_repository(session, repo)
            tenant = (registered(session, repo, vault=self.settings.vault, data_dir=self.settings.paths.data_dir)
                      if record is not None and record.registered else None)
        event = BuildEvent(repo=repo, branch=branch, commit="c0ffee" + "0" * 34, message=message, author="octocat")
        return submit_text(text, filename=".drone.yml", event=event, settings=self.settings, sessions=self.sessions,
                           send=self.sent.extend, tenant=tenant, blocked=blocked)

    def steps(self, build_id: int) -> dict[str, Any]:
        """`stage/step` -> the step record."""
        with self.sessions.begin() as session:
            detail = store.get_build(session, build_id)
        return {f"{stage.name}/{step.name}": step for stage in detail.stages for step in stage.steps}

    def stages(self, build_id: int) -> dict[str, Any]:
        with self.sessions.begin() as session:
            detail = store.get_build(session, build_id)
        return {stage.name: stage for stage in detail.stages}

    def run_step(self, step_id: int, *, log: str = "", status: Status = Status.SUCCESS, node: str = "node-1",
                 image_id: str = "", pull_policy: str | None = None) -> None:
        """What the workers record of a step's pod: it started on `node`, wrote `log`, ended as `status`."""
        with self.sessions.begin() as session:
            store.update_step(session, step_id, status=Status.RUNNING, node=node, image_id=image_id or None,
                              pull_policy=pull_policy)
            store.set_log(session, step_id, log)
            if status.terminal:
                store.update_step(session, step_id, status=status, exit_code=0 if status is Status.SUCCESS else 1)

    def url_of(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("pages")
    data_dir = folder / "data"
    settings = Settings.from_env({"PQ_DATA_DIR": str(data_dir), "PQ_NAMESPACE": "pages"})
    url = store.database_url(data_dir=data_dir)
    store.migrate(url)
    engine = store.create_engine(url)
    sessions = store.session_factory(engine)
    redis_url = broker.ensure_embedded(folder / "redis")  # the cache page's index, in a Redis of its own
    _register(settings, sessions)
    with sessions.begin() as session:
        token, read_only = create_token(session, "alice"), create_token(session, "viewer", read_only=True)
    sent: list[int] = []
    services = Services(settings=settings, sessions=sessions, send=sent.extend, broker_url=redis_url)
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="pages-server", daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), what="uvicorn to start")
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Site(url=f"http://127.0.0.1:{port}", settings=settings, sessions=sessions, redis_url=redis_url,
               token=token, read_only_token=read_only, sent=sent)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    broker.stop(data_dir=folder / "redis")


def _register(settings: Settings, sessions: Any) -> None:
    ring = load_key_ring(settings.vault, data_dir=settings.paths.data_dir, create=True).ring
    with sessions.begin() as session:
        store.add_repository(session, REPO, clone_url="https://git.example.com/octo/app.git",
                             webhook_secret=seal_webhook_secret(ring, REPO, WEBHOOK_SECRET))
        for name, value in SECRETS.items():
            store.put_secret(session, REPO, name, ciphertext=seal_secret(ring, REPO, name, value))


@pytest.fixture(scope="module")
def browser(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module's tests; skipped, saying why, where Debian's Chromium is not installed."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("headless Chromium is not installed here (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("PQ_SCREENSHOTS") or ROOT / ".pipeline-queue" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
