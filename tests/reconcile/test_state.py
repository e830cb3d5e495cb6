"""The reconcile state machine, fed stored plans, step records and pod dicts."""

from __future__ import annotations

from datetime import timedelta

from pipeline_queue.compiler import StagePlan
from pipeline_queue.compiler.conditions import BuildFacts
from pipeline_queue.reconcile.state import (
    CreateStep,
    DeleteObjects,
    FetchLog,
    FinishStage,
    RecordPull,
    RecordStep,
    StageView,
    Timeouts,
    decide,
)
from pipeline_queue.vocabulary import Status
from tests.reconcile.builders import NOW, exited, plan_of, pod, running, waiting

TWO_STEPS = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: golang:1.22
  commands: [go build]
- name: test
  image: golang:1.22
  commands: [go test]
"""

DAG = """
kind: pipeline
type: kubernetes
name: default
steps:
- {name: a, image: alpine:3.19, commands: [a]}
- {name: b, image: alpine:3.19, commands: [b], depends_on: [a]}
- {name: c, image: alpine:3.19, commands: [c], depends_on: [a]}
- {name: d, image: alpine:3.19, commands: [d], depends_on: [b, c]}
"""

ON_FAILURE = """
kind: pipeline
type: kubernetes
name: default
steps:
- {name: build, image: alpine:3.19, commands: [make]}
- {name: notify, image: alpine:3.19, commands: [notify], when: {status: [failure]}}
- {name: always, image: alpine:3.19, commands: [report], when: {status: [success, failure]}}
"""

PRIVATE = """
kind: pipeline
type: kubernetes
name: default
steps:
- {name: app, image: "registry.example.com/team/app:1.0", commands: [run]}
"""


def view(plan: StagePlan, *pods: dict, statuses: dict[str, Status] | None = None, **fields) -> StageView:
    steps = {step.name: Status.PENDING for step in plan.all_steps}
    steps.update(statuses or {})
    fields.setdefault("started", NOW - timedelta(seconds=60))
    fields.setdefault("facts", BuildFacts(repo="octo/app", branch="main", event="push", ref="refs/heads/main"))
    return StageView(plan=plan, status=Status.RUNNING, steps=steps, now=NOW,
                     pods={p["metadata"]["name"]: p for p in pods}, **fields)


def of_type(actions, kind):
    return [action for action in actions if isinstance(action, kind)]


def test_first_advance_creates_only_the_first_step_with_the_stage_deadline():
    plan = plan_of(TWO_STEPS)
    decision = decide(view(plan))
    assert decision.actions == (CreateStep("build", node="", deadline_seconds=3540),)
    assert not decision.finishes


def test_a_pod_that_exists_is_never_created_again():
    plan = plan_of(TWO_STEPS)
    decision = decide(view(plan, pod(plan, "build")))
    assert of_type(decision.actions, CreateStep) == []
    assert decision.retry_after == 290  # the start timeout (300 s) of a pod created 10 s ago


def test_running_pod_is_recorded_once_with_node_and_image_id():
    plan = plan_of(TWO_STEPS)
    decision = decide(view(plan, running(plan, "build", node="node-2")))
    [record, pull] = decision.actions
    assert record == RecordStep("build", Status.RUNNING, node="node-2",
                                image_id="docker.io/library/alpine@sha256:" + "a" * 64, pull_policy="IfNotPresent")
    assert pull == RecordPull("build", node="node-2", image_id=record.image_id, digest="sha256:" + "a" * 64)
    again = decide(view(plan, running(plan, "build"), statuses={"build": Status.RUNNING}))
    assert again.actions == ()


def test_success_runs_the_next_step_on_the_same_node_then_finishes():
    plan = plan_of(TWO_STEPS)
    decision = decide(view(plan, exited(plan, "build", node="node-2"), statuses={"build": Status.RUNNING}))
    assert decision.actions[0] == FetchLog("build")
    assert decision.actions[1].status is Status.SUCCESS and decision.actions[1].exit_code == 0
    assert decision.actions[2] == CreateStep("test", node="node-2", deadline_seconds=3540)
    done = decide(view(plan, exited(plan, "build"), exited(plan, "test"), statuses={"build": Status.SUCCESS}))
    image_id = "docker.io/library/alpine@sha256:" + "a" * 64
    assert done.actions == (
        FetchLog("test"),
        RecordStep("test", Status.SUCCESS, exit_code=0, node="node-1", image_id=image_id, pull_policy="IfNotPresent"),
        # A step that ran and finished between two looks: its pull is recorded as it is first seen.
        RecordPull("test", node="node-1", image_id=image_id, digest="sha256:" + "a" * 64),
        FinishStage(),
        DeleteObjects(),
    )


def test_a_failed_step_skips_the_rest_and_finishes_the_stage():
    plan = plan_of(TWO_STEPS)
    decision = decide(view(plan, exited(plan, "build", 2), statuses={"build": Status.RUNNING}))
    record = of_type(decision.actions, RecordStep)
    assert record[0].status is Status.FAILURE and record[0].exit_code == 2 and record[0].error == "exit code 2"
    assert record[1] == RecordStep("test", Status.SKIPPED)
    assert decision.actions[-2:] == (FinishStage(), DeleteObjects())


def test_failure_ignore_lets_the_pipeline_go_on():
    plan = plan_of(TWO_STEPS.replace("commands: [go build]", "commands: [go build]\n  failure: ignore"))
    decision = decide(view(plan, exited(plan, "build", 1), statuses={"build": Status.RUNNING}))
    assert of_type(decision.actions, CreateStep) == [CreateStep("test", node="node-1", deadline_seconds=3540)]


def test_depends_on_runs_parallel_branches_and_joins_them():
    plan = plan_of(DAG)
    assert decide(view(plan)).actions == (CreateStep("a", deadline_seconds=3540),)
    after_a = decide(view(plan, exited(plan, "a"), statuses={"a": Status.SUCCESS}))
    assert [a.step for a in of_type(after_a.actions, CreateStep)] == ["b", "c"]
    one_branch = decide(view(plan, exited(plan, "a"), exited(plan, "b"), running(plan, "c"),
                             statuses={"a": Status.SUCCESS, "b": Status.SUCCESS, "c": Status.RUNNING}))
    assert of_type(one_branch.actions, CreateStep) == []
    joined = decide(view(plan, exited(plan, "a"), exited(plan, "b"), exited(plan, "c"),
                         statuses={"a": Status.SUCCESS, "b": Status.SUCCESS, "c": Status.RUNNING}))
    assert [a.step for a in of_type(joined.actions, CreateStep)] == ["d"]


def test_status_failure_steps_run_only_when_something_failed():
    plan = plan_of(ON_FAILURE)
    failed = decide(view(plan, exited(plan, "build", 1), statuses={"build": Status.RUNNING}))
    assert [a.step for a in of_type(failed.actions, CreateStep)] == ["notify"]
    passed = decide(view(plan, exited(plan, "build", 0), statuses={"build": Status.RUNNING}))
    assert RecordStep("notify", Status.SKIPPED) in passed.actions
    assert [a.step for a in of_type(passed.actions, CreateStep)] == ["always"]


def test_when_branch_skips_a_step_on_other_branches():
    text = TWO_STEPS.replace("commands: [go test]", "commands: [go test]\n  when: {branch: [release/*]}")
    plan = plan_of(text)
    main = decide(view(plan, exited(plan, "build"), statuses={"build": Status.RUNNING}))
    assert RecordStep("test", Status.SKIPPED) in main.actions and main.finishes
    release = BuildFacts(branch="release/1.0", event="push")
    on_release = decide(view(plan, exited(plan, "build"), statuses={"build": Status.RUNNING}, facts=release))
    assert [a.step for a in of_type(on_release.actions, CreateStep)] == ["test"]


def test_a_detached_step_lets_the_next_one_start_and_does_not_hold_the_stage():
    text = TWO_STEPS.replace("commands: [go build]", "commands: [go build]\n  detach: true")
    plan = plan_of(text)
    started = decide(view(plan, running(plan, "build"), statuses={"build": Status.RUNNING}))
    assert [a.step for a in of_type(started.actions, CreateStep)] == ["test"]
    finished = decide(view(plan, running(plan, "build"), exited(plan, "test"),
                           statuses={"build": Status.RUNNING, "test": Status.RUNNING}))
    assert FetchLog("build") in finished.actions  # what the detached step printed is kept
    assert finished.actions[-2:] == (FinishStage(), DeleteObjects())


def test_services_start_first_and_steps_reach_them_by_name_through_host_aliases():
    text = TWO_STEPS.replace("steps:", "services:\n- {name: Db, image: 'postgres:16'}\nsteps:", 1)
    plan = plan_of(text)
    assert [a.step for a in decide(view(plan)).actions] == ["Db"]
    # Scheduled but without an address: the steps wait for it.
    waiting_db = pod(plan, "Db")
    assert decide(view(plan, waiting_db, statuses={"Db": Status.PENDING})).actions == ()
    db = running(plan, "Db", image_id="docker.io/library/postgres@sha256:" + "b" * 64)
    db["status"]["podIP"] = "10.1.2.3"
    decision = decide(view(plan, db, statuses={"Db": Status.RUNNING}))
    assert of_type(decision.actions, CreateStep) == [
        CreateStep("build", node="node-1", deadline_seconds=3540, host_aliases=(("10.1.2.3", "db"),))]


def test_a_service_that_cannot_start_is_not_waited_for():
    text = TWO_STEPS.replace("steps:", "services:\n- {name: db, image: 'postgres:16'}\nsteps:", 1)
    plan = plan_of(text)
    broken = waiting(plan, "db", "ErrImagePull", "not found")
    decision = decide(view(plan, broken))
    assert [a.step for a in of_type(decision.actions, CreateStep)] == ["build"]
    assert of_type(decision.actions, CreateStep)[0].host_aliases == ()


def test_cancel_keeps_logs_kills_the_stage_and_deletes_everything():
    plan = plan_of(TWO_STEPS)
    decision = decide(view(plan, running(plan, "build"), statuses={"build": Status.RUNNING}, cancel=True))
    assert decision.actions == (FetchLog("build"), FinishStage(Status.KILLED, "the build was cancelled"),
                                DeleteObjects())


def test_the_stage_timeout_stops_the_stage():
    plan = plan_of(TWO_STEPS)
    decision = decide(view(plan, running(plan, "build"), statuses={"build": Status.RUNNING},
                           started=NOW - timedelta(seconds=61), timeouts=Timeouts(stage=60)))
    finish = of_type(decision.actions, FinishStage)[0]
    assert finish.status is Status.FAILURE and "timeout of 60s" in finish.error
    assert decision.actions[-1] == DeleteObjects()


def test_a_pod_stopped_by_its_deadline_fails_the_step():
    plan = plan_of(TWO_STEPS)
    stopped = exited(plan, "build", 137, reason="DeadlineExceeded")
    stopped["status"]["phase"] = "Failed"
    record = of_type(decide(view(plan, stopped, statuses={"build": Status.RUNNING})).actions, RecordStep)[0]
    assert record.status is Status.FAILURE and record.exit_code == 137 and "DeadlineExceeded" in record.error


def test_a_pod_that_does_not_start_in_time_is_an_error():
    plan = plan_of(TWO_STEPS)
    stuck = pod(plan, "build", created=NOW - timedelta(seconds=301))
    stuck["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                      "message": "0/2 nodes are available"}]
    record = of_type(decide(view(plan, stuck)).actions, RecordStep)[0]
    assert record.status is Status.ERROR
    assert record.error.startswith("step 'build' did not start within 300s")
    assert "Unschedulable 0/2 nodes are available" in record.error


def test_err_image_pull_without_credentials_fails_at_once_with_a_clear_error():
    plan = plan_of(PRIVATE)
    message = ('failed to pull and unpack image "registry.example.com/team/app:1.0": '
               "pull access denied: authorization failed: no basic auth credentials")
    decision = decide(view(plan, waiting(plan, "app", "ErrImagePull", message)))
    record = of_type(decision.actions, RecordStep)[0]
    assert record.status is Status.ERROR
    assert record.error.startswith("image registry.example.com/team/app:1.0 could not be pulled: no credentials "
                                   "for registry.example.com (image_pull_secrets: none); ErrImagePull: ")
    assert decision.finishes


def test_image_pull_back_off_also_fails_the_step():
    plan = plan_of(PRIVATE)
    record = of_type(decide(view(plan, waiting(plan, "app", "ImagePullBackOff", "Back-off pulling image"))).actions,
                     RecordStep)[0]
    assert record.status is Status.ERROR
    assert "could not be pulled" in record.error and "ImagePullBackOff" in record.error


def test_err_image_never_pull_names_the_node_and_the_policy():
    plan = plan_of(PRIVATE.replace("commands: [run]", "commands: [run], pull: never"))
    decision = decide(view(plan, waiting(plan, "app", "ErrImageNeverPull", "not present", node="node-2")))
    error = of_type(decision.actions, RecordStep)[0].error
    assert error.startswith("image registry.example.com/team/app:1.0 is not present on node node-2")
    assert "pull: never" in error


def test_a_running_step_whose_pod_vanished_is_an_error():
    plan = plan_of(TWO_STEPS)
    record = of_type(decide(view(plan, statuses={"build": Status.RUNNING})).actions, RecordStep)[0]
    assert record.status is Status.ERROR and "disappeared" in record.error


def test_a_finished_stage_only_cleans_up():
    plan = plan_of(TWO_STEPS)
    finished = StageView(plan=plan, status=Status.SUCCESS, steps={}, pods={}, now=NOW)
    assert decide(finished).actions == (DeleteObjects(),)
