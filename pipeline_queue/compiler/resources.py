"""Drone's resource amounts as Kubernetes quantities: cpu in millicores, memory with Docker-style units."""

from __future__ import annotations

import re

from pipeline_queue.errors import CompileError

_QUANTITY_RE = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|[KMGTPE]i|[mkMGTPE])?")
_SIZE_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)")

# Unit as written (lowercased) -> Kubernetes suffix. `b` alone is bytes.
_MEMORY_UNITS = {
    "": "",
    "b": "",
    "k": "k",
    "kb": "k",
    "m": "M",
    "mb": "M",
    "g": "G",
    "gb": "G",
    "t": "T",
    "tb": "T",
    "p": "P",
    "pb": "P",
    "e": "E",
    "eb": "E",
    "ki": "Ki",
    "kib": "Ki",
    "mi": "Mi",
    "mib": "Mi",
    "gi": "Gi",
    "gib": "Gi",
    "ti": "Ti",
    "tib": "Ti",
    "pi": "Pi",
    "pib": "Pi",
    "ei": "Ei",
    "eib": "Ei",
}


def is_quantity(text: str) -> bool:
    """True for a non-negative Kubernetes resource quantity such as `250m`, `1.5`, `512Mi`, `1e3`."""
    return _QUANTITY_RE.fullmatch(text) is not None


def cpu_quantity(value: str, *, where: str) -> str:
    """Drone's whole numbers are millicores (`250` -> `250m`); Kubernetes quantities pass as written."""
    text = value.strip()
    if text.isascii() and text.isdigit():
        return f"{int(text)}m"
    if is_quantity(text):
        return text
    raise CompileError(f"{where}: {value!r} is not a cpu amount (millicores like 250, or a quantity like 500m or 1.5)")


def memory_quantity(value: str, *, where: str) -> str:
    """Bytes or a size with a unit (`500MiB`, `1GB`, `512Mi`) as a Kubernetes quantity."""
    text = value.strip()
    if text.isascii() and text.isdigit():
        return str(int(text))
    # `m` is milli in Kubernetes and mega for Docker: a bare lowercase `m` is refused as ambiguous.
    match = _SIZE_RE.fullmatch(text)
    unit = match.group(2) if match else ""
    if match and unit != "m" and unit.lower() in _MEMORY_UNITS:
        quantity = match.group(1) + _MEMORY_UNITS[unit.lower()]
        if is_quantity(quantity):
            return quantity
    if is_quantity(text) and not text.endswith("m"):
        return text
    raise CompileError(
        f"{where}: {value!r} is not a memory size (bytes, or a number with a unit like 500MiB, 1GB or 512Mi)"
    )
