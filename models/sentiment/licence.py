"""What a sentiment model's licence allows, from its manifest, in one line for logs, help and docs.

A manifest states it as ``"licence": {"commercial_use": true|false, "summary": "..."}``. A model
whose manifest says nothing is treated as not cleared: the safe reading for a user who has to ask.
"""

from __future__ import annotations

from typing import Any, Mapping


def commercial_use_cleared(manifest: Mapping[str, Any]) -> bool:
    """True only when the manifest says commercial use is allowed.

    >>> commercial_use_cleared({"licence": {"commercial_use": True, "summary": "MIT + Apache-2.0 data"}})
    True
    >>> commercial_use_cleared({}), commercial_use_cleared({"licence": {"commercial_use": "yes"}})
    (False, False)
    """
    lic = manifest.get("licence")
    return isinstance(lic, Mapping) and lic.get("commercial_use") is True


def licence_line(manifest: Mapping[str, Any]) -> str:
    """One line naming the model and what its licence allows.

    >>> licence_line({"version": "m-1", "licence": {"commercial_use": False, "summary": "trained on NC data"}})
    'sentiment model m-1: NOT cleared for commercial use (trained on NC data)'
    >>> licence_line({"version": "m-2", "licence": {"commercial_use": True, "summary": "MIT weights, Apache-2.0 data"}})
    'sentiment model m-2: cleared for commercial use (MIT weights, Apache-2.0 data)'
    >>> licence_line({"version": "m-3"})
    "sentiment model m-3: NOT cleared for commercial use (the model's manifest states no licence)"
    """
    lic = manifest.get("licence") if isinstance(manifest.get("licence"), Mapping) else {}
    summary = str(lic.get("summary") or "the model's manifest states no licence")
    verdict = "cleared" if commercial_use_cleared(manifest) else "NOT cleared"
    return f"sentiment model {manifest.get('version', '?')}: {verdict} for commercial use ({summary})"
