"""The values `parse` returns are frozen and serialise to JSON."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline_queue.hooks import Action, Cause, Event, Ignored
from tests.hooks.deliveries import event, raw


def test_an_event_is_frozen_and_serialises_to_json():
    pushed = event("github", "push", raw("go-scm_github_push.json"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        pushed.commit = "0" * 40  # type: ignore[misc]
    data = json.loads(json.dumps(dataclasses.asdict(pushed)))
    assert (data["provider"], data["kind"], data["action"], data["pull_request"]) == ("github", "push", "", None)
    assert set(data) == {field.name for field in dataclasses.fields(Event)}


def test_ignored_is_frozen_and_serialises_to_json():
    skipped = Ignored("The head commit's message says [skip ci]; no build is started.", Cause.SKIP_DIRECTIVE,
                      repo="a/b", ref="refs/heads/main")
    with pytest.raises(dataclasses.FrozenInstanceError):
        skipped.reason = "other"  # type: ignore[misc]
    assert json.loads(json.dumps(dataclasses.asdict(skipped)))["cause"] == "skip_directive"


def test_actions_are_drone_s_words():
    assert [action.value for action in Action] == ["", "opened", "synchronized", "reopened", "closed"]
