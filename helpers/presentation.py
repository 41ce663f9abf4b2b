"""Presentation size for figures: larger fonts, lines and figures for a projector, switched on explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["PRESENTATION_ENV", "PRESENTATION_RC", "presentation_mode", "use_presentation_style"]

PRESENTATION_ENV = "NST_PRESENTATION"

PRESENTATION_RC: dict[str, object] = {
    "figure.figsize": (9.6, 5.4),  # 16:9
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 16,
    "axes.titlesize": 16,
    "axes.labelsize": 16,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 14,
    "figure.titlesize": 20,
    "lines.linewidth": 2.5,
    "lines.markersize": 8,
    "axes.linewidth": 1.2,
    "grid.linewidth": 1.0,
}


def presentation_mode() -> bool:
    """True when ``NST_PRESENTATION`` is set to 1/true/yes/on (the lecture build sets it)."""
    return os.environ.get(PRESENTATION_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def use_presentation_style(enabled: bool = True, rc: Mapping[str, object] | None = None) -> dict[str, object]:
    """Set matplotlib's rcParams for a projector, or leave them alone when ``enabled`` is False.

    Args:
        enabled: apply the settings; False changes nothing (pass ``presentation_mode()`` here).
        rc: the settings to apply; None means ``PRESENTATION_RC`` (fonts of 16 pt and more for labels and
            titles, thicker lines, 16:9 figures at 110 dpi).

    Returns:
        The previous values of the keys that were set (empty when ``enabled`` is False), so that
        ``matplotlib.rcParams.update(previous)`` undoes the call.

    Used by the lecture build (``python3 tasks.py lecture``) before each notebook runs.
    """
    if not enabled:
        return {}
    import matplotlib

    settings = dict(PRESENTATION_RC if rc is None else rc)
    previous = {key: matplotlib.rcParams[key] for key in settings}
    matplotlib.rcParams.update(settings)
    return previous
