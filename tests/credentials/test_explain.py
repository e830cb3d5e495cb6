"""`explain` names the plugins a worker will ask for each image, without asking any of them (no request reaches the
extension, no provider runs, ECR is not called) and without a value."""

from __future__ import annotations

import json
import os

from pipeline_queue.credentials import ecr
from tests.conftest import run_cli
from tests.credentials.conftest import fake_provider, provider_config
from tests.credentials.plugin_server import PluginServer

ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"
STEPS = {"ecr": ECR_IMAGE, "provided": "provider.pq.test/team/app:1.0", "public": "alpine:3.19"}
PIPELINE = "kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n" + "".join(
    f"- {{name: {name}, image: '{image}', commands: [run]}}\n" for name, image in STEPS.items())


def test_explain_names_each_steps_plugins_and_asks_none(tmp_path, provider_bin):
    calls = tmp_path / "calls.jsonl"
    (tmp_path / "providers.json").write_text(provider_config(fake_provider(
        match=["provider.pq.test"], password="pw-never-shown-1", args=["--calls", str(calls)])))
    (tmp_path / ".drone.yml").write_text(PIPELINE)
    with PluginServer("explain-secret-771") as plugin:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PQ_", "AWS_"))} | {
            "PQ_REGISTRY_PLUGIN_ENDPOINT": plugin.url, "PQ_REGISTRY_PLUGIN_SECRET": "explain-secret-771",
            "PQ_CREDENTIAL_PROVIDER_CONFIG": str(tmp_path / "providers.json"),
            "PQ_CREDENTIAL_PROVIDER_BIN_DIR": str(provider_bin), "PQ_PRIVATE_REGISTRIES": "provider.pq.test"}
        as_json = run_cli("explain", str(tmp_path / ".drone.yml"), "--json", env=env)
        as_text = run_cli("explain", str(tmp_path / ".drone.yml"), env=env)
        assert (plugin.requests, plugin.refused) == ([], 0)
    assert not calls.exists()
    assert as_json.returncode == 0 and as_text.returncode == 0, as_json.stderr + as_text.stderr
    steps = {step["name"]: step for step in json.loads(as_json.stdout)["pipelines"][0]["steps"]}
    asked = "asked when the stage starts"
    ecr_note = asked if ecr.available() else f"not installed: {ecr.INSTALL_HINT}"  # the `ecr` extra, or not
    assert steps["ecr"]["credentials"] == [
        {"secret": "plugin: http", "registry": "", "username": "", "plugin": True, "note": asked},
        {"secret": "plugin: ecr", "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "username": "AWS",
         "plugin": True, "note": ecr_note}]
    assert [c["secret"] for c in steps["provided"]["credentials"]] == ["plugin: http", "provider: fake-provider"]
    assert steps["provided"]["cache_risk"] is None  # the provider will give it credentials
    assert [c["secret"] for c in steps["public"]["credentials"]] == ["plugin: http"]
    assert "credentials  plugin: http (asked when the stage starts); provider: fake-provider -> provider.pq.test " \
           "(asked when the stage starts)" in as_text.stdout
    for output in (as_json.stdout + as_json.stderr, as_text.stdout + as_text.stderr):
        assert "pw-never-shown-1" not in output and "explain-secret-771" not in output
