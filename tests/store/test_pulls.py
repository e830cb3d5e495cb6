"""Pull records: one per step, the earliest credentialed pull of a digest found again, no column for a secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from pipeline_queue.store import add_finding
from pipeline_queue.store.findings import list_findings
from pipeline_queue.store.pulls import NewPull, first_credentialed_pull, list_pulls, record_pull
from pipeline_queue.vocabulary import FindingKind
from tests.store.builders import new_build, two_stage_build

IMAGE = "registry.example.com/team/deployer:2"
DIGEST = "sha256:" + "d" * 64
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _pull(build_id: int, step_id: int, *, credentialed: bool, repo: str = "octo/hello") -> NewPull:
    return NewPull(build_id=build_id, step_id=step_id, repo=repo, node="node-1", image=IMAGE,
                   image_id=f"registry.example.com/team/deployer@{DIGEST}", digest=DIGEST, credentialed=credentialed,
                   registry_key="registry.example.com" if credentialed else "")


def test_a_step_keeps_one_pull_record_however_often_its_pod_is_seen(sessions):
    with sessions.begin() as session:
        detail = two_stage_build(session, new_build())
        step_id = detail.stages[1].steps[0].id
        assert record_pull(session, _pull(detail.build.id, step_id, credentialed=True), at=T0)
        assert not record_pull(session, _pull(detail.build.id, step_id, credentialed=False))
        (kept,) = list_pulls(session, build_id=detail.build.id)
    assert (kept.step_id, kept.node, kept.digest, kept.credentialed, kept.registry_key) == (
        step_id, "node-1", DIGEST, True, "registry.example.com")
    assert kept.created == T0


def test_the_first_credentialed_pull_of_a_digest_names_its_build_and_repository(sessions):
    with sessions.begin() as session:
        early = two_stage_build(session, new_build("acme/secret"))
        late = two_stage_build(session, new_build("acme/later"))
        anonymous = two_stage_build(session, new_build("acme/other"))
        record_pull(session, _pull(anonymous.build.id, anonymous.stages[1].steps[0].id, credentialed=False),
                    at=T0 - timedelta(hours=1))
        record_pull(session, _pull(late.build.id, late.stages[1].steps[0].id, credentialed=True, repo="acme/later"),
                    at=T0 + timedelta(minutes=5))
        record_pull(session, _pull(early.build.id, early.stages[1].steps[0].id, credentialed=True,
                                   repo="acme/secret"), at=T0)
        by_digest = first_credentialed_pull(session, digest=DIGEST)
        by_image = first_credentialed_pull(session, image=IMAGE)
        assert first_credentialed_pull(session, digest="sha256:" + "0" * 64) is None
    assert by_digest is not None and (by_digest.build_id, by_digest.repo) == (early.build.id, "acme/secret")
    assert by_image == by_digest


def test_the_pulls_table_has_no_column_for_a_password_or_a_secret(engine):
    columns = {column["name"] for column in sa.inspect(engine).get_columns("pulls")}
    assert not any(word in name for name in columns for word in ("password", "secret", "token", "auth"))


def test_findings_are_listed_by_build_and_by_step(sessions):
    with sessions.begin() as session:
        detail = two_stage_build(session, new_build())
        first, second = detail.stages[0].steps[1].id, detail.stages[1].steps[0].id
        for step_id in (first, second):
            add_finding(session, build_id=detail.build.id, step_id=step_id, kind=FindingKind.RISK, image=IMAGE,
                        mode="warn", action="warn")
        assert [f.step_id for f in list_findings(session, build_id=detail.build.id)] == [first, second]
        assert [f.step_id for f in list_findings(session, step_id=second)] == [second]
        assert list_findings(session, build_id=detail.build.id + 1) == ()
