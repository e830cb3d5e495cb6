"""A step's `when: action` is matched at the worker against the action a webhook stored with the build."""

from __future__ import annotations

from pathlib import Path

from pipeline_queue.kube import Kube, RetryPolicy, make_api_client
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.reconcile.service import advance_stage
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.store import get_stage
from pipeline_queue.vocabulary import Status
from tests.polling import wait_for
from tests.reconcile import test_service as shared

cluster, namespace = shared.cluster, shared.namespace  # the development cluster of tests/reconcile, one per module

PIPELINE = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: on-open
  image: alpine:3.19
  commands: [echo opened]
  when: {action: [opened]}
- name: on-push-of-commits
  image: alpine:3.19
  commands: [echo synchronized]
  when: {action: [synchronized]}
"""


def test_only_the_step_of_the_pull_request_s_action_runs(namespace, cluster, sessions, tmp_path: Path):
    settings = Settings(run=RunConfig(namespace=namespace), paths=PathsConfig(data_dir=tmp_path / "data"))
    submitted = submit_text(PIPELINE, filename=".drone.yml", settings=settings, sessions=sessions,
                            send=lambda ids: None,
                            event=BuildEvent(repo="octo/app", event="pull_request", branch="main", commit="b" * 40,
                                             ref="refs/pull/3/head", pull_request="3", action="opened"))
    stage_id = submitted.stages[0].stage_id
    kube = Kube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05))
    wait_for(lambda: advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings).finished,
             what="the stage to finish", timeout=60)
    with sessions() as session:
        stage = get_stage(session, stage_id)
    assert {step.name: step.status for step in stage.steps} == {"on-open": Status.SUCCESS,
                                                                  "on-push-of-commits": Status.SKIPPED}
