"""Resource amounts: Drone's millicores and memory units become Kubernetes quantities; bad ones are errors."""

from __future__ import annotations

import pytest

from pipeline_queue.compiler.resources import cpu_quantity, memory_quantity
from pipeline_queue.errors import CompileError
from tests.compiler.conftest import compile_text


@pytest.mark.parametrize(
    ("value", "quantity"),
    [
        ("250", "250m"),
        ("1000", "1000m"),
        ("0", "0m"),
        ("500m", "500m"),
        ("1.5", "1.5"),
        ("0.25", "0.25"),
        ("1e3", "1e3"),
    ],
)
def test_cpu(value: str, quantity: str) -> None:
    assert cpu_quantity(value, where="w") == quantity


@pytest.mark.parametrize(
    ("value", "quantity"),
    [
        ("1073741824", "1073741824"),
        ("500MiB", "500Mi"),
        ("2GiB", "2Gi"),
        ("64KiB", "64Ki"),
        ("64KB", "64k"),
        ("100MB", "100M"),
        ("1GB", "1G"),
        ("1.5GiB", "1.5Gi"),
        ("512Mi", "512Mi"),
        ("1G", "1G"),
        ("1k", "1k"),
        ("2K", "2k"),
        ("100 MiB", "100Mi"),
        ("1gb", "1G"),
        ("10b", "10"),
        ("1e9", "1e9"),
    ],
)
def test_memory(value: str, quantity: str) -> None:
    assert memory_quantity(value, where="w") == quantity


@pytest.mark.parametrize("value", ["-1", "lots", "1.2.3", "12 parsecs", "500m", "1 000", "0x10", ""])
def test_bad_memory_is_refused(value: str) -> None:
    with pytest.raises(CompileError, match="is not a memory size"):
        memory_quantity(value, where="w")


@pytest.mark.parametrize("value", ["-250", "one", "250 m", "1Gi?", "2e3m", ""])
def test_bad_cpu_is_refused(value: str) -> None:
    with pytest.raises(CompileError, match="is not a cpu amount"):
        cpu_quantity(value, where="w")


def test_the_error_names_the_step_and_the_field() -> None:
    text = (
        "kind: pipeline\ntype: kubernetes\nname: r\nsteps:\n- name: heavy\n  image: alpine:3\n"
        "  resources:\n    requests:\n      cpu: two\n"
    )
    with pytest.raises(CompileError) as caught:
        compile_text(text)
    assert str(caught.value).startswith("step 'heavy': resources.requests.cpu: 'two' is not a cpu amount")


def test_a_bad_claim_size_is_an_error() -> None:
    with pytest.raises(CompileError, match="workspace claim size"):
        compile_text(
            "kind: pipeline\ntype: kubernetes\nname: r\nsteps:\n- name: a\n  image: alpine:3\n",
            workspace_claim_size="big",
        )
