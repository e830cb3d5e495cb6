"""The cache guard's findings are recorded once per build, step, kind, image and node."""

from __future__ import annotations

import pytest

from pipeline_queue.errors import UsageError
from pipeline_queue.store import add_finding, create_build, get_build
from pipeline_queue.vocabulary import FindingKind
from tests.store.builders import new_build, two_stage_build

PRIVATE = "registry.example.com/team/app:1"


def test_the_same_finding_is_recorded_once(sessions):
    with sessions.begin() as session:
        detail = two_stage_build(session, new_build())
        build_id, step_id = detail.build.id, detail.stages[0].steps[1].id
        first = add_finding(session, build_id=build_id, step_id=step_id, kind=FindingKind.LEAK, image=PRIVATE,
                            node="node-1", mode="warn", action="recorded", detail="cached by build 3")
        again = add_finding(session, build_id=build_id, step_id=step_id, kind=FindingKind.LEAK, image=PRIVATE,
                            node="node-1", mode="warn", action="recorded")
    assert first.created and not again.created
    assert again.finding == first.finding
    assert (first.finding.kind, first.finding.image, first.finding.detail) == (FindingKind.LEAK, PRIVATE,
                                                                               "cached by build 3")


def test_findings_differ_by_step_kind_image_and_node(sessions):
    with sessions.begin() as session:
        detail = two_stage_build(session, new_build())
        build_id, steps = detail.build.id, detail.stages[0].steps
        base = {"build_id": build_id, "kind": FindingKind.RISK, "image": PRIVATE, "mode": "warn", "action": "recorded"}
        outcomes = [
            add_finding(session, **base).created,
            add_finding(session, **base).created,  # no step, twice: still one finding
            add_finding(session, **base, step_id=steps[0].id).created,
            add_finding(session, **base, step_id=steps[1].id).created,
            add_finding(session, **{**base, "kind": FindingKind.LEAK}).created,
            add_finding(session, **{**base, "image": PRIVATE + "-other"}).created,
            add_finding(session, **base, node="node-2").created,
        ]
        other_build = create_build(session, new_build(), stages=[]).build.id
        elsewhere = add_finding(session, **{**base, "build_id": other_build}).created
        findings = get_build(session, build_id).findings
    assert outcomes == [True, False, True, True, True, True, True]
    assert elsewhere
    assert len(findings) == 6
    assert [finding.id for finding in findings] == sorted(finding.id for finding in findings)


def test_an_unknown_kind_is_refused(sessions):
    with sessions.begin() as session:
        build_id = create_build(session, new_build(), stages=[]).build.id
        with pytest.raises(UsageError, match="unknown finding kind 'oops'"):
            add_finding(session, build_id=build_id, kind="oops", image=PRIVATE, mode="warn", action="recorded")
