"""Generate the committed JSON Schema files from the Python models.

    python -m pulsewire.schemas.generate          # rewrite schemas/json/*.json
    python -m pulsewire.schemas.generate --check  # exit 1 if the committed files drift

A test runs ``--check`` logic, so a model change without regenerated files fails CI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import TypeAdapter

from .dead_letter import DeadLetter
from .events import EVENT_MODELS, Event
from .scored import ScoredEvent

JSON_DIR = Path(__file__).parent / "json"
BASE_ID = "https://pulsewire.dev/schemas/"


def _with_meta(schema: dict, name: str, title: str) -> dict:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_ID + name, "title": title,
            **{k: v for k, v in schema.items() if k != "title"}}


def extra_schemas() -> dict[str, dict]:
    """Other modules (alerts) contribute schemas here without this file importing them eagerly."""
    out: dict[str, dict] = {}
    try:
        from .alerts import alert_schemas  # type: ignore[attr-defined]
    except ImportError:
        return out
    out.update(alert_schemas())
    from .drift import drift_schemas

    out.update(drift_schemas())
    from .outcome import outcome_schemas

    out.update(outcome_schemas())
    return out


def all_schemas() -> dict[str, dict]:
    out = {
        "event.v1.schema.json": _with_meta(TypeAdapter(Event).json_schema(), "event.v1.schema.json",
                                           "pulsewire canonical event, version 1 (any kind)"),
        "dead_letter.v1.schema.json": _with_meta(DeadLetter.model_json_schema(), "dead_letter.v1.schema.json",
                                                 "pulsewire dead letter, version 1"),
        "scored_event.v1.schema.json": _with_meta(ScoredEvent.model_json_schema(), "scored_event.v1.schema.json",
                                                  "pulsewire scored event, version 1"),
    }
    for kind, model in EVENT_MODELS.items():
        name = f"event.{kind}.v1.schema.json"
        out[name] = _with_meta(model.model_json_schema(), name, f"pulsewire {kind} event, version 1")
    out.update(extra_schemas())
    return out


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def drift() -> list[str]:
    """Names of files that differ from (or are missing against) the models."""
    bad = []
    wanted = all_schemas()
    for name, schema in wanted.items():
        path = JSON_DIR / name
        if not path.exists() or path.read_text() != render(schema):
            bad.append(name)
    for path in JSON_DIR.glob("*.json"):
        if path.name not in wanted:
            bad.append(f"{path.name} (no model)")
    return bad


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = drift()
        if bad:
            print("JSON Schema files drift from the models: " + ", ".join(bad) +
                  "\nregenerate with: python -m pulsewire.schemas.generate", file=sys.stderr)
            return 1
        print("JSON Schema files match the models")
        return 0
    JSON_DIR.mkdir(exist_ok=True)
    for name, schema in all_schemas().items():
        (JSON_DIR / name).write_text(render(schema))
        print(f"wrote {JSON_DIR / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
