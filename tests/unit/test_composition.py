"""The composition root (streams/app.py): a typed context built before any agent, so install order
does not matter, and the table sinks are the only way agents write to ClickHouse."""

from __future__ import annotations

import ast
import pathlib

import pytest

from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.streams import agents
from pulsewire.streams.agents.learn import ModelRegistry
from pulsewire.streams.app import create_app
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.settings import Settings
from pulsewire.streams.sinks import SINKS

KEY = b"composition-key-0123456789"


def _checkpoint(data_dir: pathlib.Path) -> int:
    """A trained churn model's checkpoint in the data dir, as the learner leaves it."""
    ln = OnlineLearner("churn")
    for i in range(20):
        ln.learn({"id": f"x{i}", "model": "churn", "x": {"tickets": float(i % 5)}, "y": i % 2, "w": 1.0}, 0, i)
    signing = KeyRing(KEY).snapshot_key  # the worker verifies with the snapshot subkey, never the key itself
    ModelRegistry(signing, data_dir).checkpoint("churn", ln.snapshot(signing))
    return ln.version


@pytest.mark.parametrize("order", ["declared", "reversed", "features first, learn never"])
def test_agents_see_the_same_complete_context_whatever_the_install_order(tmp_path, order):
    version = _checkpoint(tmp_path)
    installers = {"declared": agents.INSTALLERS, "reversed": agents.INSTALLERS[::-1],
                  "features first, learn never": [agents.features.install, agents.score.install]}[order]
    app, ctx = create_app(Settings(data_dir=tmp_path), key=KEY, installers=installers)
    assert ctx.models.version("churn") == version  # the features agent predicts with the trained model
    assert ctx.learner_config is not None and set(ctx.sinks) == set(SINKS)
    assert ctx.topic_map.group == app.conf.id


def test_agents_write_to_clickhouse_only_through_the_table_sinks():
    root = pathlib.Path(agents.__file__).parent
    direct = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("insert_rows", "insert", "store", "client"):
                direct.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert direct == []
