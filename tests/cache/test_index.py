"""The node cache index on a real Redis: what a sweep stores, that it writes only changes, and the pull records."""

from __future__ import annotations

import copy

from pipeline_queue.cache.index import (
    NodeImage,
    all_nodes,
    credentialed_among,
    credentialed_repositories,
    first_pull,
    images_on,
    nodes_with,
    record_pull,
    sweep,
)
from pipeline_queue.cache.rules import FirstPull, PrivacyRules, is_private
from pipeline_queue.images import parse_image
from tests.cache.conftest import digest_for, node_json

GOLANG = ("docker.io/library/golang", "1.21", 800)
ALPINE = ("docker.io/library/alpine", "3.19", 7)
PRIVATE = ("registry.corp.example.com/team/app", "2.0", 120)
GOLANG_DIGEST = digest_for("docker.io/library/golang:1.21")


def cluster() -> list[dict]:
    return [
        node_json("node-1", [GOLANG, ALPINE]),
        node_json("node-2", [GOLANG, PRIVATE]),
        node_json("node-3", []),
    ]


def test_the_first_sweep_writes_every_node_and_image(client, prefix):
    stats = sweep(cluster(), redis=client, prefix=prefix)
    assert (stats.nodes, stats.images, stats.removed_nodes, stats.changed_nodes) == (3, 4, 0, 2)
    assert stats.writes == client.writes > 0
    assert all_nodes(client, prefix=prefix) == ("node-1", "node-2", "node-3")
    assert images_on(client, "node-1", prefix=prefix) == (
        NodeImage("docker.io/library/alpine:3.19", digest_for("docker.io/library/alpine:3.19"), 7),
        NodeImage(f"docker.io/library/alpine@{digest_for('docker.io/library/alpine:3.19')}",
                  digest_for("docker.io/library/alpine:3.19"), 7),
        NodeImage("docker.io/library/golang:1.21", GOLANG_DIGEST, 800),
        NodeImage(f"docker.io/library/golang@{GOLANG_DIGEST}", GOLANG_DIGEST, 800),
    )
    assert images_on(client, "node-3", prefix=prefix) == ()
    assert nodes_with(client, "golang:1.21", prefix=prefix) == ("node-1", "node-2")
    assert nodes_with(client, "registry.corp.example.com/team/app:2.0", prefix=prefix) == ("node-2",)


def test_a_second_identical_sweep_writes_nothing(client, prefix):
    sweep(cluster(), redis=client, prefix=prefix)
    before = client.writes
    stats = sweep(cluster(), redis=client, prefix=prefix)
    assert (stats.writes, stats.changed_nodes, stats.nodes, stats.images) == (0, 0, 3, 4)
    assert client.writes == before


def test_the_order_the_kubelet_lists_images_in_is_no_change(client, prefix):
    sweep(cluster(), redis=client, prefix=prefix)
    reordered = cluster()
    for node in reordered:
        node["status"]["images"].reverse()
        for entry in node["status"]["images"]:
            entry["names"].reverse()
    before = client.writes
    assert sweep(reordered, redis=client, prefix=prefix).writes == 0
    assert client.writes == before


def test_an_evicted_image_costs_a_few_writes_and_leaves_that_node(client, prefix):
    sweep(cluster(), redis=client, prefix=prefix)
    evicted = cluster()
    evicted[0] = node_json("node-1", [ALPINE])
    before = client.writes
    stats = sweep(evicted, redis=client, prefix=prefix)
    # HDEL of both names, SREM from both name sets and from the digest set, the node's new fingerprint.
    assert stats.writes == client.writes - before == 5
    assert stats.changed_nodes == 1
    assert nodes_with(client, "golang:1.21", prefix=prefix) == ("node-2",)
    assert nodes_with(client, GOLANG_DIGEST, prefix=prefix) == ("node-2",)
    assert [image.name for image in images_on(client, "node-1", prefix=prefix)] == [
        "docker.io/library/alpine:3.19", f"docker.io/library/alpine@{digest_for('docker.io/library/alpine:3.19')}"
    ]


def test_a_node_that_disappears_is_gone_in_both_directions(client, prefix):
    sweep(cluster(), redis=client, prefix=prefix)
    stats = sweep([node for node in cluster() if node["metadata"]["name"] != "node-2"], redis=client, prefix=prefix)
    assert stats.removed_nodes == 1
    assert all_nodes(client, prefix=prefix) == ("node-1", "node-3")
    assert images_on(client, "node-2", prefix=prefix) == ()
    assert nodes_with(client, "golang:1.21", prefix=prefix) == ("node-1",)
    assert nodes_with(client, "registry.corp.example.com/team/app:2.0", prefix=prefix) == ()
    assert list(client.scan_iter(match=f"{prefix}*team/app*")) == []  # no empty set left behind


def test_names_with_tag_with_digest_and_a_bare_digest_all_resolve(client, prefix):
    sweep(cluster(), redis=client, prefix=prefix)
    for text in ("golang:1.21", "docker.io/library/golang:1.21", "index.docker.io/library/golang:1.21",
                 f"golang@{GOLANG_DIGEST}", f"docker.io/library/golang@{GOLANG_DIGEST}", GOLANG_DIGEST):
        assert nodes_with(client, text, prefix=prefix) == ("node-1", "node-2"), text
    assert nodes_with(client, "golang:1.22", prefix=prefix) == ()


def test_familiar_names_from_docker_nodes_are_normalized_and_none_names_skipped(client, prefix):
    node = {"metadata": {"name": "docker-node"}, "status": {"images": [
        {"names": [f"golang@{GOLANG_DIGEST}", "golang:1.21"], "sizeBytes": 800},
        {"names": ["<none>@<none>", "<none>:<none>"], "sizeBytes": 5},
    ]}}
    stats = sweep([node], redis=client, prefix=prefix)
    assert stats.images == 2
    assert [image.name for image in images_on(client, "docker-node", prefix=prefix)] == [
        "docker.io/library/golang:1.21", f"docker.io/library/golang@{GOLANG_DIGEST}"
    ]


def test_a_tag_that_moves_to_a_new_digest_moves_the_digest_sets(client, prefix):
    sweep([node_json("node-1", [GOLANG])], redis=client, prefix=prefix)
    moved = node_json("node-1", [GOLANG])
    new_digest = "sha256:" + "c" * 64
    moved["status"]["images"][0]["names"][0] = f"docker.io/library/golang@{new_digest}"
    sweep([moved], redis=client, prefix=prefix)
    assert nodes_with(client, GOLANG_DIGEST, prefix=prefix) == ()
    assert nodes_with(client, new_digest, prefix=prefix) == ("node-1",)
    assert nodes_with(client, "golang:1.21", prefix=prefix) == ("node-1",)
    assert images_on(client, "node-1", prefix=prefix)[0] == NodeImage("docker.io/library/golang:1.21", new_digest, 800)


def test_small_batches_give_the_same_index(client, prefix):
    nodes = [node_json(f"n-{number}", [GOLANG, ALPINE][: number % 3]) for number in range(7)]
    stats = sweep(nodes, redis=client, prefix=prefix, batch=2)
    assert stats.nodes == 7
    assert nodes_with(client, "golang:1.21", prefix=prefix) == ("n-1", "n-2", "n-4", "n-5")
    assert sweep(copy.deepcopy(nodes), redis=client, prefix=prefix, batch=3).writes == 0


def test_sweeps_under_different_prefixes_do_not_meet(client, prefix):
    other = prefix + "other:"
    sweep(cluster(), redis=client, prefix=prefix)
    sweep([node_json("node-9", [ALPINE])], redis=client, prefix=other)
    assert all_nodes(client, prefix=prefix) == ("node-1", "node-2", "node-3")
    assert all_nodes(client, prefix=other) == ("node-9",)


# --- credentialed pulls -----------------------------------------------------------------------------------

APP = "registry.corp.example.com/team/app"
APP_DIGEST = digest_for(f"{APP}:2.0")


def test_the_first_credentialed_pull_is_kept_by_digest_and_by_name(client, prefix):
    first = record_pull(client, image_name=f"{APP}:2.0", digest=f"{APP}@{APP_DIGEST}", build=41, repo="acme/backend",
                        credentialed=True, registry_key="registry.corp.example.com", prefix=prefix)
    again = record_pull(client, image_name=f"{APP}:2.0", digest=APP_DIGEST, build=57, repo="acme/frontend",
                        credentialed=True, registry_key="registry.corp.example.com/team", prefix=prefix)
    assert (first, again) == (True, False)
    expected = FirstPull(build="41", repo="acme/backend", registry_key="registry.corp.example.com")
    assert first_pull(client, APP_DIGEST, prefix=prefix) == expected
    assert first_pull(client, f"{APP}:9.9", prefix=prefix) == expected  # by name, for a tag never pulled
    assert first_pull(client, f"{APP}@{APP_DIGEST}", prefix=prefix) == expected
    assert credentialed_among(client, [APP, "docker.io/library/alpine"], prefix=prefix) == {APP}


def test_a_pull_without_credentials_writes_nothing_and_proves_nothing(client, prefix):
    before = client.writes
    assert record_pull(client, image_name="acme/tool:1", digest="", build=3, repo="acme/x", credentialed=False,
                       registry_key="", prefix=prefix) is False
    assert client.writes == before
    assert first_pull(client, "acme/tool:1", prefix=prefix) is None
    assert credentialed_repositories(client, prefix=prefix) == frozenset()


def test_credentialed_repositories_make_every_tag_private(client, prefix):
    record_pull(client, image_name="acme/tool:1", digest="", build=3, repo="acme/x", credentialed=True,
                registry_key="https://index.docker.io/v1/", prefix=prefix)
    repos = credentialed_repositories(client, prefix=prefix)
    assert repos == frozenset({"docker.io/acme/tool"})
    verdict = is_private(parse_image("docker.io/acme/tool:2"), rules=PrivacyRules(), credentialed_repos=repos)
    assert verdict.private is True
    assert first_pull(client, "acme/tool:2", prefix=prefix) == FirstPull("3", "acme/x", "https://index.docker.io/v1/")
