"""The two YAML readers `yamlsafe` may run on, as a fixture: libyaml's parser, and PyYAML's own without libyaml."""

from __future__ import annotations

import pytest

from pipeline_queue.spec import yamlsafe


@pytest.fixture(params=["libyaml", "pure Python"])
def yaml_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs once on each reader; the value names the one in use."""
    if request.param == "pure Python":
        monkeypatch.setattr(yamlsafe, "_NodeReader", yamlsafe._PureNodeReader)
    return str(request.param)
