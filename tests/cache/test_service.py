"""The guard's edge over a real Redis (the test's own key prefix) and a real SQLite store: what `advance` reads for
the guard (privacy, the nodes caching an image, first pulls, risks already noted), findings recorded once, counted
once and told in the step's log, pull records kept and indexed, and Redis gone."""

from __future__ import annotations

import json

import pytest

from pipeline_queue import metrics
from pipeline_queue.broker import redis_client
from pipeline_queue.cache import index
from pipeline_queue.cache.guard import LOG_PREFIX
from pipeline_queue.cache.service import CacheGuard, FindingToRecord
from pipeline_queue.compiler import StagePlan
from pipeline_queue.settings import CacheConfig
from pipeline_queue.store import NewStage, get_log
from pipeline_queue.store.pulls import NewPull, list_pulls
from pipeline_queue.vocabulary import CacheGuardMode, FindingKind
from tests.cache.conftest import digest_for, node_json
from tests.store.builders import new_build, planned_build

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
CREDENTIALED = PIPELINE.format(pull_secrets="image_pull_secrets: [regcred]")
ANONYMOUS = PIPELINE.format(pull_secrets="")



class Stage:
    """One planned build of one step, `app`, as advance sees it."""

    def __init__(self, sessions, repo: str, text: str) -> None:
        with sessions.begin() as session:
            detail = planned_build(session, new_build(repo), [(NewStage(name="default"), text)],
                                   secrets={"regcred": CONFIG})
        stage = detail.stages[0]
        self.sessions, self.repo = sessions, repo
        self.build_id, self.step_id = detail.build.id, stage.steps[0].id
        self.plan = StagePlan.from_json(stage.plan)

    def read(self, guard: CacheGuard, *, image_id: str = ""):
        pods = {}
        if image_id:
            pods[self.plan.step("app").pod_name] = {"status": {"containerStatuses": [
                {"name": "step", "imageID": image_id}]}}
        with self.sessions.begin() as session:
            return guard.read(session, self.plan, pods, build_id=self.build_id, repo=self.repo,
                              step_ids={"app": self.step_id})

    def pulled(self, guard: CacheGuard, *, node: str = "node-1") -> None:
        step = self.plan.step("app")
        key = step.credentials[0].key if step.credentials else ""
        with self.sessions.begin() as session:
            guard.record_pull(session, NewPull(build_id=self.build_id, step_id=self.step_id, repo=self.repo, node=node,
                                               image=step.image.reference, image_id=IMAGE_ID, digest=DIGEST,
                                               credentialed=bool(key), registry_key=key))

    def finding(self, kind: FindingKind, detail: str) -> FindingToRecord:
        return FindingToRecord(build_id=self.build_id, step_id=self.step_id, kind=kind, image=f"{PRIVATE}:1.0",
                               action="warn" if kind is FindingKind.RISK else "recorded", detail=detail, node="")


def _counted(client, prefix: str, kind: str, action: str) -> float:
    """The count of findings as every process's increments add up in Redis (what /metrics reads)."""
    key = metrics.METRIC_KEY.format(prefix=prefix, name=metrics.CACHE_FINDINGS.name)
    return float(client.hget(key, json.dumps([kind, action], separators=(",", ":"))) or 0)


@pytest.fixture
def counting(redis_options, prefix):
    """This process's counts go to the test's Redis, under its prefix, for the test's length."""
    if "unix_socket_path" in redis_options:
        url = f"unix://{redis_options['unix_socket_path']}"
    else:
        url = f"redis://{redis_options['host']}:{redis_options['port']}/{redis_options.get('db', 0)}"
    metrics.configure(url, prefix=prefix)
    yield
    metrics.configure(None)


def test_a_credentialed_pull_makes_the_image_private_in_what_the_next_stage_reads(client, prefix, sessions):
    guard = CacheGuard(CacheConfig(guard=CacheGuardMode.WARN), redis=client, prefix=prefix)
    owner, other = Stage(sessions, "acme/secret", CREDENTIALED), Stage(sessions, "acme/other", ANONYMOUS)
    assert not other.read(guard).facts(other.plan.step("app")).verdict.private  # nobody pulled it yet
    owner.pulled(guard)
    assert index.credentialed_repositories(client, prefix=prefix) == {PRIVATE}
    index.sweep([node_json("node-2", [(PRIVATE, "1.0", 10)])], redis=client, prefix=prefix)
    view = other.read(guard)
    facts = view.facts(other.plan.step("app"))
    assert view.mode is CacheGuardMode.WARN
    assert facts.verdict.private and "with credentials" in facts.verdict.reason
    assert facts.cached_on == ("node-2",)


def test_a_finding_is_recorded_once_counted_once_and_a_risk_told_in_the_log(client, prefix, sessions, counting):
    guard = CacheGuard(CacheConfig(guard=CacheGuardMode.WARN), redis=client, prefix=prefix)
    other = Stage(sessions, "acme/other", ANONYMOUS)
    before = _counted(client, prefix, "risk", "warn")
    with sessions.begin() as session:
        assert guard.record_finding(session, other.finding(FindingKind.RISK, "it is private"))
        assert not guard.record_finding(session, other.finding(FindingKind.RISK, "it is private"))  # again
        text = get_log(session, other.step_id).text
    assert _counted(client, prefix, "risk", "warn") == before + 1
    assert text == f"{LOG_PREFIX} it is private\n"
    assert other.read(guard).risks == {"app": ("it is private",)}


def test_the_first_pull_of_a_digest_a_pod_runs_is_read_from_the_index(client, prefix, sessions):
    guard = CacheGuard(CacheConfig(guard=CacheGuardMode.OFF), redis=client, prefix=prefix)
    owner, other = Stage(sessions, "acme/secret", CREDENTIALED), Stage(sessions, "acme/other", ANONYMOUS)
    owner.pulled(guard)
    other.pulled(guard)
    first = other.read(guard, image_id=IMAGE_ID).first_pulls[DIGEST]
    assert (first.build, first.repo, first.registry_key) == (str(owner.build_id), "acme/secret",
                                                             "registry.example.com")
    with sessions.begin() as session:
        pulls = list_pulls(session)
    assert [(p.repo, p.credentialed, p.registry_key) for p in pulls] == [
        ("acme/secret", True, "registry.example.com"), ("acme/other", False, "")]


def test_without_redis_the_patterns_decide_and_the_database_names_the_first_pull(sessions, tmp_path):
    unreachable = redis_client(f"unix://{tmp_path}/no-redis.sock", quick=True)
    config = CacheConfig(guard=CacheGuardMode.BLOCK, private_registries=("registry.example.com",))
    guard = CacheGuard(config, redis=unreachable)
    owner, other = Stage(sessions, "acme/secret", CREDENTIALED), Stage(sessions, "acme/other", ANONYMOUS)
    owner.pulled(guard)  # kept in the database; the index cannot be written
    view = other.read(guard, image_id=IMAGE_ID)
    facts = view.facts(other.plan.step("app"))
    assert facts.verdict.private and "PQ_PRIVATE_REGISTRIES" in facts.verdict.reason
    assert view.first_pulls[DIGEST].repo == "acme/secret"


def test_an_image_pinned_by_digest_is_found_cached_under_whatever_name_a_node_lists_it(client, prefix, sessions):
    digest = digest_for(f"{PRIVATE}:2.0")
    config = CacheConfig(guard=CacheGuardMode.WARN, private_registries=("registry.example.com",))
    guard = CacheGuard(config, redis=client, prefix=prefix)
    index.sweep([node_json("node-3", [(PRIVATE, "2.0", 10)])], redis=client, prefix=prefix)
    pinned = Stage(sessions, "acme/pinned", ANONYMOUS.replace(f"{PRIVATE}:1.0", f"{PRIVATE}@{digest}"))
    tagged = Stage(sessions, "acme/tagged", ANONYMOUS)
    assert pinned.read(guard).facts(pinned.plan.step("app")).cached_on == ("node-3",)
    assert tagged.read(guard).facts(tagged.plan.step("app")).cached_on == ()  # :1.0 is on no node
