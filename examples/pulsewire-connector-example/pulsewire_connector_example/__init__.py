"""App Store customer reviews from a saved RSS JSON feed, as pulsewire review events."""

from __future__ import annotations

import json
from pathlib import Path

from pulsewire.streams.sdk import Connector, ConnectorConfig, ConnectorError, Raw, parse_time, to_int


class AppStoreConfig(ConnectorConfig):
    path: Path
    app: str = "app"


class AppStoreReviews(Connector):
    """App Store customer reviews (RSS JSON feed saved to a file)."""

    name = "appstore"
    Config = AppStoreConfig
    personal_fields = ("author", "title", "content")  # who wrote the review, and what

    def setup(self):
        try:
            self.feed = json.loads(Path(self.config.path).read_text())
        except (OSError, ValueError) as exc:
            raise ConnectorError(f"cannot read the feed {self.config.path}: {exc}") from None

    def poll(self, cursor):
        entries = [e for e in self.feed.get("feed", {}).get("entry", []) if "im:rating" in e]
        entries.sort(key=lambda e: (e["updated"]["label"], e["id"]["label"]))  # oldest first
        for e in entries:
            position = f'{e["updated"]["label"]}|{e["id"]["label"]}'
            if cursor is None or position > cursor:
                yield Raw(e, cursor=position)

    def map(self, e):
        return {"kind": "review", "source": "appstore", "event_id": f'appstore:{e["id"]["label"]}',
                "occurred_at": parse_time(e["updated"]["label"]), "customer_id": e["author"]["uri"]["label"],
                "rating": to_int(e["im:rating"]["label"]), "product": self.config.app, "channel": "app_store",
                "text": f'{e["title"]["label"]}\n{e["content"]["label"]}'}
