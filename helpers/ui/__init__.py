"""The style-weights playground: ipywidgets controls that steer ``helpers.stylize`` by hand.

``from helpers.ui import Playground`` imports ipywidgets; ``helpers.ui.settings``, ``helpers.ui.cache`` and
``helpers.ui.run`` do not, so the pure parts can be used and tested without it.

Modules: ``settings`` (what a learner sets, turned into engine options), ``cache`` (finished results on disk),
``run`` (the staged run), ``render`` (PNG and SVG for the widgets), ``controls`` (the widgets),
``app`` (``Playground``: the widgets wired to the engine).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Playground", "RunRecord", "Settings", "cache_key", "settings_to_options"]

_HOMES = {
    "Playground": "app",
    "RunRecord": "run",
    "Settings": "settings",
    "settings_to_options": "settings",
    "cache_key": "cache",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'helpers.ui' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
