from pathlib import Path

import pulsewire_connector_example as ex
from pulsewire.streams.testing import check_conformance, run_connector

FEED = Path(ex.__file__).parent / "sample_feed.json"


def test_reviews():
    events = run_connector(ex.AppStoreReviews({"path": FEED, "app": "pos"})).events
    assert [e.rating for e in events] == [5, 4, 1] and events[2].text.startswith("Crashes on checkout")


def test_conformance():
    check_conformance(lambda: ex.AppStoreReviews({"path": FEED}), bad=[{"id": {"label": "1"}}])
