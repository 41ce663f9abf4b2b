"""A live control for the arbitrary-style network: two paintings, a mix between them, a strength, a preview.

Imported on its own (``from helpers.realtime.widget import RealtimeWidget``); ipywidgets is imported
when a widget is built, never by ``import helpers``. Each control carries a CSS class (``nst-rt-style``,
``nst-rt-style2``, ``nst-rt-mix``, ``nst-rt-strength``, ``nst-rt-preview``, ``nst-rt-latency``) so a
browser test can find it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping

from torch import Tensor

from ..images import resize_image, to_pil
from .api import fast_stylize, style_embedding

__all__ = ["RealtimeWidget"]


class RealtimeWidget:
    """Stylise one photo live: every change of a control reruns the network and updates the preview.

    The embedding used is ``strength · ((1 − mix) · e₁ + mix · e₂) + (1 − strength) · e_photo``, with
    e₁, e₂ the two paintings' embeddings (computed once) and e_photo the photo's own.

    Args:
        content_image: (1, 3, H, W) RGB in [0, 1]; shrunk so that its longest side is ``size``.
        paintings: name -> (1, 3, h, w) painting, at least two.
        size: longest side of the preview, in pixels.

    Display ``widget.widget``; ``widget.render()`` reruns by hand and returns the milliseconds it took.
    Built in notebooks/06_realtime_style_transfer.ipynb.
    """

    def __init__(self, content_image: Tensor, paintings: Mapping[str, Tensor], size: int = 384) -> None:
        import ipywidgets as widgets

        if len(paintings) < 2:
            raise ValueError(f"paintings needs at least two entries to mix between, got {len(paintings)}")
        self.content = resize_image(content_image, size)
        self.embeddings = {name: style_embedding(painting) for name, painting in paintings.items()}
        self.own = style_embedding(self.content)
        names = list(paintings)
        self.first = widgets.Dropdown(options=names, value=names[0], description="painting")
        self.second = widgets.Dropdown(options=names, value=names[1], description="second painting")
        self.mix = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="mix")
        self.strength = widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="strength")
        self.preview = widgets.Image(format="png")
        self.latency = widgets.Label()
        self.timings: list[float] = []
        for control, name in (
            (self.first, "style"),
            (self.second, "style2"),
            (self.mix, "mix"),
            (self.strength, "strength"),
            (self.preview, "preview"),
            (self.latency, "latency"),
        ):
            control.add_class(f"nst-rt-{name}")
        for control in (self.first, self.second, self.mix, self.strength):
            control.observe(lambda _: self.render(), names="value")
        controls = widgets.VBox([self.first, self.second, self.mix, self.strength, self.latency])
        self.widget = widgets.HBox([controls, self.preview])
        self.render()

    def embedding(self) -> Tensor:
        """The (1, 100) embedding the controls describe."""
        mix, strength = self.mix.value, self.strength.value
        painted = (1 - mix) * self.embeddings[self.first.value] + mix * self.embeddings[self.second.value]
        return strength * painted + (1 - strength) * self.own

    def render(self) -> float:
        """Run the network with the current controls, show the result; returns the milliseconds taken."""
        start = time.perf_counter()
        image = fast_stylize(self.content, embedding=self.embedding())
        buffer = io.BytesIO()
        to_pil(image).save(buffer, format="PNG", compress_level=1)
        self.preview.value = buffer.getvalue()
        milliseconds = 1000 * (time.perf_counter() - start)
        self.timings.append(milliseconds)
        h, w = image.shape[-2:]
        self.latency.value = f"{milliseconds:.0f} ms for {w}×{h} px (network and PNG)"
        return milliseconds
