"""The style-weights playground: ipywidgets controls that steer ``helpers.stylize`` by hand.

``from helpers.ui import Playground`` imports ipywidgets; ``helpers.ui.settings``, ``cache``, ``run``, ``sizes``
and ``upload`` do not, so the pure parts can be used and tested without it.

Modules: ``settings`` (what a learner sets, turned into engine options in balanced units), ``sizes`` (the
stages of a run, and pictures too small for the layers), ``run`` (the staged run and its pace), ``cache``
(finished results on disk, keyed by everything they depend on), ``render`` (PNG and SVG for the widgets),
``upload`` (the browser-side guard for large uploads), ``inputs`` (a log slider and a checked number box),
``controls`` (the widgets), ``app`` (``Playground``: the widgets wired to the engine).
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
