"""docs/privacy.md states what the code does: where the demo keeps its generated key and its
simulated people's raw ids, and how a changed topic retention reaches existing topics."""

from __future__ import annotations

import stat
from pathlib import Path

from pulsewire.streams.demo import demo_key

DOCS = Path(__file__).resolve().parents[2]
PRIVACY = (DOCS / "docs" / "privacy.md").read_text()


def test_the_demo_key_file_is_where_and_as_private_as_the_doc_says(tmp_path, monkeypatch):
    monkeypatch.delenv("PULSEWIRE_PSEUDONYM_KEY", raising=False)
    key = demo_key(tmp_path)
    kf = tmp_path / "pseudonym.key"
    assert kf.read_text() == key and stat.S_IMODE(kf.stat().st_mode) == 0o600
    assert "`<data-dir>/pseudonym.key`" in PRIVACY and "0600" in PRIVACY
    assert "`<data-dir>/ground_truth.json`" in PRIVACY and "raw ids" in PRIVACY


def test_topic_retention_is_said_to_be_applied_by_pulsewire_topics_everywhere():
    readme = (DOCS / "README.md").read_text()
    assert "set the declared retention on existing ones" in readme
    assert "change it on the broker afterwards" not in PRIVACY
    assert "run\n`pulsewire topics` to apply it to the existing topics" in PRIVACY
    assert "Everything stored has a time limit" not in readme
