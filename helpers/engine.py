"""The optimisation engine (stub: being written)."""

from __future__ import annotations

__all__ = ["stylize", "reconstruct"]


def stylize(content_image, style_image, **options):
    raise NotImplementedError


def reconstruct(image, **options):
    raise NotImplementedError
