"""POST /hook on the real app, a real SQLite store and real git repositories: what each delivery answers and
stores. (Builds running on a cluster from deliveries: tests/integration/test_webhooks.py.)"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipeline_queue import store
from pipeline_queue.server.app import create_app
from pipeline_queue.server.services import Services
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.store.repositories import add_repository
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.repository import seal_webhook_secret
from pipeline_queue.vocabulary import Status
from tests.scm.local_git import Repository, make_repository
from tests.server.hook_support import headers, payload

SECRET = "s3cret-webhook-value-for-tests"
PIPELINE = """kind: pipeline
type: kubernetes
name: build
steps:
- name: test
  image: alpine:3.19
  commands: [echo built]
"""
TAGS_ONLY = PIPELINE + "trigger:\n  event: [tag]\n"


class Hooks:
    def __init__(self, tmp: Path) -> None:
        self.settings = Settings(run=RunConfig(namespace="hooks"), paths=PathsConfig(data_dir=tmp / "data"))
        url = store.database_url(data_dir=tmp / "data")
        store.migrate(url)
        self.engine = store.create_engine(url)
        self.sessions = store.session_factory(self.engine)
        self.sent: list[int] = []
        services = Services(settings=self.settings, sessions=self.sessions, send=self.sent.extend, broker_url="")
        self.client = TestClient(create_app(services))
        self.tmp = tmp

    def register(self, slug: str, *, trusted: bool = False, files: dict[str, str] | None = None,
                 clone: bool = True) -> tuple[Repository, str]:
        """`slug` registered with SECRET and a local repository holding `files`; the repository and its commit."""
        repository = make_repository(self.tmp / slug.replace("/", "_"))
        commit = repository.commit(files or {".drone.yml": PIPELINE})
        ring = load_key_ring(self.settings.vault, data_dir=self.settings.paths.data_dir, create=True).ring
        with self.sessions.begin() as session:
            add_repository(session, slug, trusted=trusted, clone_url=repository.url if clone else "",
                           webhook_secret=seal_webhook_secret(ring, slug, SECRET))
        return repository, commit

    def post(self, provider: str, kind: str, body: bytes, *, secret: str = SECRET, delivery: str = "",
             **extra: str):
        return self.client.post("/hook", content=body,
                                headers={**headers(provider, kind, body, secret=secret, delivery=delivery), **extra})

    def build(self, build_id: int) -> store.BuildDetail:
        with self.sessions() as session:
            detail = store.get_build(session, build_id)
        assert detail is not None
        return detail

    def count(self) -> int:
        with self.sessions() as session:
            return len(store.list_builds(session, limit=1000))


@pytest.fixture
def hooks(tmp_path: Path):
    made = Hooks(tmp_path)
    yield made
    made.engine.dispose()


@pytest.mark.parametrize(("provider", "kind", "event", "branch"), [
    ("github", "push", "push", "master"),
    ("gitea", "push", "push", "master"),
    ("gitlab", "push", "push", "master"),
])
def test_a_signed_push_creates_a_build_of_the_file_at_that_commit(hooks, provider, kind, event, branch):
    _, commit = hooks.register("octo/app")
    answer = hooks.post(provider, kind, payload(provider, kind, repo="octo/app", commit=commit))
    assert answer.status_code == 200, answer.text
    [build_id] = answer.json()["builds"]
    detail = hooks.build(build_id)
    assert (detail.build.repo, detail.build.event, detail.build.branch, detail.build.commit) == (
        "octo/app", event, branch, commit)
    assert detail.build.trigger == "@hook" and detail.build.status is Status.PENDING
    assert hooks.sent == [detail.stages[0].id]
    steps = [step.name for step in detail.stages[0].steps]
    assert steps == ["clone", "test"]  # the clone step fetches the commit from the registered URL


@pytest.mark.parametrize(("provider", "tag"), [("github", "v1.4.0"), ("gitea", "v0.3.0"), ("gitlab", "v2.0.0")])
def test_a_tag_push_is_a_tag_build_with_drone_s_tag_variables(hooks, provider, tag):
    _, commit = hooks.register("octo/app", files={".drone.yml": TAGS_ONLY})
    answer = hooks.post(provider, "tag", payload(provider, "tag", repo="octo/app", commit=commit))
    [build_id] = answer.json()["builds"]
    detail = hooks.build(build_id)
    assert (detail.build.event, detail.build.ref, detail.build.commit) == ("tag", f"refs/tags/{tag}", commit)
    env = _env(detail, "test")
    assert env["DRONE_TAG"] == tag and env["DRONE_BUILD_EVENT"] == "tag"
    assert env["DRONE_SEMVER"] == tag.removeprefix("v") and env["DRONE_SEMVER_MAJOR"] == tag[1]


def test_a_pull_request_from_a_fork_of_an_untrusted_repository_is_blocked_until_approved(hooks):
    repository, _ = hooks.register("octo/app")
    head = repository.commit({"feature.txt": "x"}, message="feature")
    repository.git("push", "-q", repository.url, f"{head}:refs/pull/42/head")
    answer = hooks.post("github", "pull_request", payload("github", "pull_request", repo="octo/app", commit=head))
    assert answer.status_code == 200, answer.text
    [build_id] = answer.json()["builds"]
    assert "approve" in answer.json()["reason"]
    detail = hooks.build(build_id)
    assert detail.build.status is Status.BLOCKED and hooks.sent == []
    env = _env(detail, "test")
    assert (env["DRONE_BUILD_EVENT"], env["DRONE_PULL_REQUEST"], env["DRONE_SOURCE_BRANCH"],
            env["DRONE_TARGET_BRANCH"], env["DRONE_BUILD_ACTION"]) == (
        "pull_request", "42", "week-numbers", "main", "opened")
    assert env["DRONE_PULL_REQUEST_TITLE"] == "Show week numbers"
    closed = hooks.post("github", "pull_request", payload("github", "pull_request", repo="octo/app", commit=head,
                                                            changes={"action": "closed"}))
    assert closed.json()["cancelled"] == [build_id]
    assert hooks.build(build_id).build.status is Status.KILLED


def test_a_redelivery_answers_with_the_first_builds_and_creates_none(hooks):
    _, commit = hooks.register("octo/app")
    body = payload("github", "push", repo="octo/app", commit=commit)
    first = hooks.post("github", "push", body, delivery="d-1")
    again = hooks.post("github", "push", body, delivery="d-1")
    assert again.status_code == 200 and again.json()["builds"] == first.json()["builds"]
    assert hooks.count() == 1
    assert hooks.post("github", "push", body, delivery="d-2").json()["builds"] != first.json()["builds"]


def test_two_commits_build_each_its_own_pipeline_file(hooks):
    repository, first = hooks.register("octo/app")
    second = repository.commit({".drone.yml": PIPELINE.replace("name: test", "name: second-file")})
    ids = [hooks.post("github", "push", payload("github", "push", repo="octo/app", commit=sha)).json()["builds"][0]
           for sha in (first, second)]
    assert [[step.name for step in hooks.build(i).stages[0].steps][-1] for i in ids] == ["test", "second-file"]


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_a_wrong_or_missing_signature_is_401_and_nothing_is_stored(hooks, provider):
    _, commit = hooks.register("octo/app")
    body = payload(provider, "push", repo="octo/app", commit=commit)
    wrong = hooks.post(provider, "push", body, secret="not-the-secret")
    assert wrong.status_code == 401 and SECRET not in wrong.text
    unsigned = {key: value for key, value in headers(provider, "push", body, secret=SECRET).items()
                if "Signature" not in key and "Token" not in key}
    assert hooks.client.post("/hook", content=body, headers=unsigned).status_code == 401
    assert hooks.count() == 0


def test_a_body_changed_after_signing_is_refused(hooks):
    _, commit = hooks.register("octo/app")
    body = payload("github", "push", repo="octo/app", commit=commit)
    signed = headers("github", "push", body, secret=SECRET)
    forged = body.replace(b"Update README", b"Update READMF")
    assert forged != body
    assert hooks.client.post("/hook", content=forged, headers=signed).status_code == 401
    assert hooks.count() == 0


def test_unregistered_malformed_oversized_and_unknown_deliveries(hooks):
    body = payload("github", "push", repo="nobody/here", commit="a" * 40)
    unknown = hooks.post("github", "push", body)
    assert unknown.status_code == 404 and "not registered" in unknown.json()["error"]
    malformed = hooks.client.post("/hook", content=b"{not json", headers={"X-GitHub-Event": "push"})
    assert malformed.status_code == 400 and "not JSON" in malformed.json()["error"]
    assert hooks.client.post("/hook", content=b"{}", headers={"Content-Type": "application/json"}).status_code == 400
    huge = b"{" + b" " * (25 * 1024 * 1024) + b"}"
    assert hooks.client.post("/hook", content=huge, headers={"X-GitHub-Event": "push"}).status_code == 413
    assert hooks.client.get("/healthz").json() == {"status": "ok"}  # the server carries on


def test_events_that_start_nothing_say_why(hooks):
    repository, commit = hooks.register("octo/app", files={".drone.yml": TAGS_ONLY})
    ping = hooks.post("github", "ping", payload("github", "ping", repo="octo/app", commit=commit))
    assert ping.status_code == 200 and ping.json()["builds"] == [] and ping.json()["reason"]
    no_trigger = hooks.post("github", "push", payload("github", "push", repo="octo/app", commit=commit))
    assert no_trigger.json()["builds"] == [] and "trigger" in no_trigger.json()["reason"]
    skipped = payload("github", "push", repo="octo/app", commit=commit,
                      changes={"head_commit.message": "docs [skip ci]"})
    assert "[skip ci]" in hooks.post("github", "push", skipped).json()["reason"]
    bare = repository.commit({"README": "no pipeline here"})
    repository.git("rm", "-q", ".drone.yml")
    repository.git("commit", "-q", "-m", "drop the pipeline")
    repository.git("push", "-q", repository.url, "HEAD:refs/heads/main")
    missing = repository.git("rev-parse", "HEAD")
    assert bare != missing
    answer = hooks.post("github", "push", payload("github", "push", repo="octo/app", commit=missing))
    assert answer.status_code == 200 and ".drone.yml not found" in answer.json()["reason"]
    assert hooks.count() == 0


def test_a_repository_without_a_clone_url_or_with_a_bad_pipeline_gets_422(hooks):
    _, commit = hooks.register("octo/none", clone=False)
    answer = hooks.post("github", "push", payload("github", "push", repo="octo/none", commit=commit))
    assert answer.status_code == 422 and "--clone-url" in answer.json()["error"]
    _, bad = hooks.register("octo/bad", files={".drone.yml": "kind: pipeline\ntype: kubernetes\nsteps: [1\n"})
    answer = hooks.post("github", "push", payload("github", "push", repo="octo/bad", commit=bad))
    assert answer.status_code == 422 and ".drone.yml" in answer.json()["error"]


def test_the_repository_is_found_whatever_the_host_s_letter_case(hooks):
    _, commit = hooks.register("Octo/App")
    answer = hooks.post("github", "push", payload("github", "push", repo="octo/app", commit=commit))
    assert answer.status_code == 200 and hooks.build(answer.json()["builds"][0]).build.repo == "Octo/App"


def _env(detail: store.BuildDetail, step: str) -> dict[str, str]:
    """The plain environment the stage's plan gives `step` (secrets are references, never values)."""
    [stage] = detail.stages
    [planned] = [planned for planned in stage.plan["steps"] if planned["name"] == step]
    container = planned["pod"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", "") for item in container["env"]}


def test_hmac_helper_matches_github_s_documented_example():
    # GitHub's documentation: secret "It's a Secret to Everybody", body "Hello, World!".
    digest = hmac.new(b"It's a Secret to Everybody", b"Hello, World!", hashlib.sha256).hexdigest()
    assert digest == "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
