"""Connectors are found by entry point: ``[project.entry-points."pulsewire.connectors"]``.

A third-party package declares ``my_source = "my_pkg.module:MyConnector"`` in its own
pyproject and ``pulsewire connectors list`` shows it once the package is installed.
Two packages declaring the same name is an error, never a silent pick.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from .connector import Connector, ConnectorError

GROUP = "pulsewire.connectors"


class DuplicateConnectorError(ConnectorError):
    pass


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name if dist else '?'} ({ep.value})"


def available() -> dict[str, EntryPoint]:
    """name -> entry point, for every installed connector; raises on a duplicate name."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        prev = found.get(ep.name)
        if prev is not None and (prev.value != ep.value or _origin(prev) != _origin(ep)):
            raise DuplicateConnectorError(
                f"connector name {ep.name!r} is registered twice: by {_origin(prev)} and by {_origin(ep)}; "
                "uninstall one of them or rename its entry point")
        found[ep.name] = ep
    return dict(sorted(found.items()))


def load(name: str) -> type[Connector]:
    eps = available()
    if name not in eps:
        raise ConnectorError(f"no connector named {name!r}; installed: {', '.join(eps) or '(none)'} "
                             "(see `pulsewire connectors list`)")
    try:
        cls = eps[name].load()
    except Exception as exc:
        raise ConnectorError(f"connector {name!r} ({_origin(eps[name])}) failed to import: "
                             f"{type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConnectorError(f"entry point {name!r} ({_origin(eps[name])}) is not a pulsewire Connector subclass")
    return cls
