"""The store's API has no place for a password, and what it hands out is frozen plain data."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

import pipeline_queue.store as store
from pipeline_queue.compiler import CredentialSource
from pipeline_queue.store.models import Base
from pipeline_queue.vocabulary import Status, combined_status

# Words that would name a credential's value (a `secret` here is only the name of one).
SECRET_WORDS = {"password", "passwd", "pass", "token", "auth", "value"}


def _names_in_api() -> set[str]:
    names = set()
    for record in (CredentialSource, store.NewBuild, store.NewStage, store.StepRecord):
        names |= {field.name for field in dataclasses.fields(record)}
    for function in (store.create_build, store.update_step, store.add_finding, store.finish_stage):
        names |= set(inspect.signature(function).parameters)
    return names


def test_no_field_parameter_or_column_can_hold_a_password():
    columns = {column.name for table in Base.metadata.sorted_tables for column in table.columns}
    for name in _names_in_api() | columns:
        assert not SECRET_WORDS & set(name.lower().split("_")), name


def test_a_credential_source_refuses_a_password():
    with pytest.raises(TypeError):
        CredentialSource(secret="dockerconfig", key="ghcr.io", username="ci", password="hunter2")  # type: ignore[call-arg]


def test_records_are_frozen():
    source = CredentialSource(secret="dockerconfig", key="ghcr.io", username="ci")
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.username = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("children", "parent"),
    [
        ([], Status.SUCCESS),
        ([Status.SUCCESS, Status.SKIPPED], Status.SUCCESS),
        ([Status.SUCCESS, Status.KILLED], Status.KILLED),
        ([Status.KILLED, Status.FAILURE], Status.FAILURE),
        ([Status.FAILURE, Status.ERROR, Status.KILLED], Status.ERROR),
    ],
)
def test_a_parent_shows_the_worst_outcome_of_its_children(children, parent):
    assert combined_status(children) is parent


def test_only_pending_blocked_and_running_are_unfinished():
    assert sorted(status.value for status in Status if not status.terminal) == ["blocked", "pending", "running"]


def test_the_store_reads_no_environment_variables():
    sources = Path(store.__file__).parent.rglob("*.py")
    assert [path.name for path in sources if "environ" in path.read_text()] == []
