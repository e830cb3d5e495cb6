"""The guard's edge over a real Redis (the test's own key prefix) and a real SQLite store: findings recorded
once, counted once, told in the step's log; pull records kept; a leak found after the fact; Redis gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY
from redis.backoff import NoBackoff
from redis.retry import Retry

from pipeline_queue import store
from pipeline_queue.cache import index
from pipeline_queue.cache.guard import LOG_PREFIX
from pipeline_queue.cache.service import CacheGuard, StepContext
from pipeline_queue.settings import CacheConfig
from pipeline_queue.store import NewBuild, NewStage, NewStep, get_log
from pipeline_queue.store.pulls import list_pulls
from tests.reconcile.builders import plan_of

PRIVATE = "registry.example.com/team/app"
CONFIG = json.dumps({"auths": {"registry.example.com": {"username": "bot", "password": "pw-svc-1187-not-real"}}})
DIGEST = "sha256:" + "e" * 64
IMAGE_ID = f"{PRIVATE}@{DIGEST}"
PIPELINE = f"""
kind: pipeline
type: kubernetes
name: default
{{pull_secrets}}
steps:
- name: app
  image: {PRIVATE}:1.0
  commands: [echo hi]
"""


@pytest.fixture
def sessions(tmp_path: Path):
    url = store.database_url(data_dir=tmp_path / "data")
    store.migrate(url)
    engine = store.create_engine(url)
    yield store.session_factory(engine)
    engine.dispose()


def _build(sessions, repo: str) -> StepContext:
    with sessions.begin() as session:
        detail = store.create_build(session, NewBuild(repo=repo, event="push"), stages=[
            NewStage(name="default", plan={}, steps=(NewStep(name="app", image=f"{PRIVATE}:1.0"),))])
    return StepContext(build_id=detail.build.id, step_id=detail.stages[0].steps[0].id, repo=repo)


def _counted(kind: str, action: str) -> float:
    return REGISTRY.get_sample_value("pq_cache_findings_total", {"kind": kind, "action": action}) or 0.0


CREDENTIALED = plan_of(PIPELINE.format(pull_secrets="image_pull_secrets: [regcred]"),
                       secrets={"regcred": CONFIG}).step("app")
ANONYMOUS = plan_of(PIPELINE.format(pull_secrets="")).step("app")


def test_a_credentialed_pull_makes_the_image_private_and_the_next_uncredentialed_step_a_risk(client, prefix, sessions):
    guard = CacheGuard(CacheConfig(guard="warn"), redis=client, prefix=prefix)
    owner, other = _build(sessions, "acme/secret"), _build(sessions, "acme/other")
    with sessions.begin() as session:
        assert guard.before_create(session, ANONYMOUS, other).action == "none"  # nobody pulled it yet
        guard.after_start(session, CREDENTIALED, owner, node="node-1", image_id=IMAGE_ID)
    assert index.credentialed_repositories(client, prefix=prefix) == {PRIVATE}
    before = _counted("risk", "warn")
    with sessions.begin() as session:
        decision = guard.before_create(session, ANONYMOUS, other)
        guard.before_create(session, ANONYMOUS, other)  # a repeated advance: the same finding
        text = get_log(session, other.step_id).text
    assert decision.action == "warn"
    assert _counted("risk", "warn") == before + 1
    assert text.count(LOG_PREFIX) == 1 and "is private" in text


def test_a_step_that_ran_it_uncredentialed_is_a_leak_naming_node_and_first_build(client, prefix, sessions):
    guard = CacheGuard(CacheConfig(guard="off"), redis=client, prefix=prefix)
    owner, other = _build(sessions, "acme/secret"), _build(sessions, "acme/other")
    before = _counted("leak", "recorded")
    with sessions.begin() as session:
        assert guard.after_start(session, CREDENTIALED, owner, node="node-1", image_id=IMAGE_ID) is None
        leak = guard.after_start(session, ANONYMOUS, other, node="node-1", image_id=IMAGE_ID)
        guard.after_start(session, ANONYMOUS, other, node="node-1", image_id=IMAGE_ID)
        pulls = list_pulls(session)
        findings = store.get_build(session, other.build_id).findings
    assert leak is not None and leak.first_pull is not None
    assert (leak.node, leak.first_pull.build, leak.first_pull.repo) == ("node-1", str(owner.build_id), "acme/secret")
    assert [(f.kind.value, f.node, f.mode, f.action) for f in findings] == [("leak", "node-1", "off", "recorded")]
    assert _counted("leak", "recorded") == before + 1
    assert [(p.repo, p.credentialed, p.registry_key) for p in pulls] == [
        ("acme/secret", True, "registry.example.com"), ("acme/other", False, "")]


def test_without_redis_the_patterns_still_decide_and_the_database_names_the_first_pull(sessions):
    unreachable = redis.Redis(unix_socket_path="/nonexistent/redis.sock", retry=Retry(NoBackoff(), 0))
    guard = CacheGuard(CacheConfig(guard="block", private_registries=("registry.example.com",)),
                       redis=unreachable)
    owner, other = _build(sessions, "acme/secret"), _build(sessions, "acme/other")
    with sessions.begin() as session:
        assert guard.before_create(session, ANONYMOUS, other).action == "block"
        guard.after_start(session, CREDENTIALED, owner, node="node-2", image_id=IMAGE_ID)
        leak = guard.after_start(session, ANONYMOUS, other, node="node-2", image_id=IMAGE_ID)
    assert leak is not None and leak.first_pull is not None and leak.first_pull.repo == "acme/secret"
