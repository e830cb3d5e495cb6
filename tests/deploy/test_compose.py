"""docker-compose.yml: valid against the Compose specification's own JSON schema (check-jsonschema's vendored
copy), every command it runs is a real `pipeline-queue` command, its entrypoint turns secrets into variables,
and it has the parts an operator expects (a durable Redis, PostgreSQL, a migration, pools per queue that scale,
one beat, one watcher, Flower behind basic auth; health checks, restarts and limits)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from pipeline_queue.cli import cli
from tests.deploy.manifests import COMPOSE_FILE, compose, compose_app_services

POOLS = ("control", "default", "cache")


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed (a test dependency: pip install {name})")
    return found


def test_the_file_validates_against_the_compose_specification() -> None:
    result = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", sorted(compose_app_services()))
def test_each_service_runs_a_real_pipeline_queue_command(service: str) -> None:
    command = compose_app_services()[service]["command"]
    shown = CliRunner().invoke(cli, [*command, "--help"], prog_name="pipeline-queue")
    assert shown.exit_code == 0, shown.output


def _entrypoint_script() -> list[str]:
    """The entrypoint as the container gets it: Compose reads `$$` as a literal `$`."""
    return [part.replace("$$", "$") for part in compose()["x-pipeline-queue"]["entrypoint"]]


def test_the_entrypoint_turns_each_secret_file_into_its_variable_then_becomes_pipeline_queue(tmp_path: Path) -> None:
    secrets, bin_dir = tmp_path / "secrets", tmp_path / "bin"
    secrets.mkdir()
    bin_dir.mkdir()
    (secrets / "PQ_SECRET_KEY").write_text("a-key")
    (secrets / "PGPASSWORD").write_text("pg pass with spaces")
    fake = bin_dir / "pipeline-queue"  # stands in for the real command: shows what it was given
    fake.write_text('#!/bin/sh\necho "args=$*"\necho "key=$PQ_SECRET_KEY"\necho "pg=$PGPASSWORD"\n')
    fake.chmod(0o755)
    shell, flags, script, name = _entrypoint_script()
    script = script.replace("/run/secrets", str(secrets))
    result = subprocess.run([shell, flags, script, name, "worker", "--queues", "control"], capture_output=True,
                            text=True, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, timeout=30,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["args=worker --queues control", "key=a-key", "pg=pg pass with spaces"]


def _services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def test_redis_keeps_an_append_only_file_on_a_volume_and_never_evicts() -> None:
    redis = _services()["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    assert "--dir /data" in command and any(volume.endswith(":/data") for volume in redis["volumes"])
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in _services()["postgres"]["volumes"])
    assert set(compose()["volumes"]) == {"redis-data", "postgres-data"}


def test_the_migration_runs_once_before_every_other_process() -> None:
    services = compose_app_services()
    assert services["migrate"]["restart"] == "no"
    for name, service in services.items():
        if name not in ("migrate", "flower"):
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name


def test_there_is_a_pool_per_queue_that_scales_and_one_beat_and_one_watcher() -> None:
    services = compose_app_services()
    for pool in POOLS:
        worker = services[f"worker-{pool}"]
        command = worker["command"]
        assert command[:3] == ["worker", "--queues", pool]
        # `--scale worker-X=N` needs no fixed name and no host port; each process names itself after its container.
        assert "container_name" not in worker and "ports" not in worker
        assert command[command.index("--hostname") + 1] == f"{pool}@%h"
    for single in ("beat", "watch"):
        assert services[single].get("deploy", {}).get("replicas", 1) == 1


def test_every_process_has_a_health_check_a_restart_policy_and_limits() -> None:
    undisabled = {"migrate": "one shot", "watch": "no health signal of its own: restarted when it exits"}
    for name, service in _services().items():
        assert service["restart"] in ("unless-stopped", "no"), name
        assert set(service["deploy"]["resources"]["limits"]) == {"cpus", "memory"}, name
        if name in undisabled:
            assert service["healthcheck"] == {"disable": True}, name
        else:
            assert service["healthcheck"]["test"], name


def test_every_process_reads_the_same_environment_and_its_secrets_from_compose_secrets() -> None:
    services = compose_app_services()
    for name, service in services.items():
        assert {"REDIS_URL", "DATABASE_URL", "KUBECONFIG"} <= set(service["environment"]), name
        assert not {"PQ_SECRET_KEY", "PGPASSWORD", "POSTGRES_PASSWORD"} & set(service["environment"]), name
        assert "PQ_SECRET_KEY" in service["secrets"] or name == "flower", name
    assert make_url(services["serve"]["environment"]["DATABASE_URL"]).password is None  # libpq reads PGPASSWORD
    assert {"environment"} == {key for secret in compose()["secrets"].values() for key in secret}


def test_flower_asks_for_basic_auth_and_listens_only_on_the_host_s_loopback() -> None:
    flower = compose_app_services()["flower"]
    assert flower["secrets"] == ["FLOWER_BASIC_AUTH"]  # Flower's own variable, set by the entrypoint
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])
