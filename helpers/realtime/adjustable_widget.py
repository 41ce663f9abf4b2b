"""Sliders for the adjustable network: α/β and one weight per style layer, answered by one forward pass each.

Imported on its own (``from helpers.realtime.adjustable_widget import AdjustableWidget``); ipywidgets is imported
when a widget is built, never by ``import helpers``. The conventions are the playground's (notebook 05): log-scale
sliders centred on 1 in balanced units, each layer with an on/off box. Every control carries a CSS class for the
browser test: ``nst-adj-style``, ``nst-adj-ratio``, ``nst-adj-weight-<layer>``, ``nst-adj-on-<layer>``,
``nst-adj-preview``, ``nst-adj-latency``, ``nst-adj-exact``, ``nst-adj-exact-preview``, ``nst-adj-status``.
"""

from __future__ import annotations

import html
import io
import math
import time
from collections.abc import Mapping

import torch
from torch import Tensor

from ..engine import stylize
from ..images import resize_image, to_pil
from ..vgg import cached_vgg19
from .adjustable import LAYER_WEIGHT_RANGE, RATIO_RANGE, STYLE_LAYERS, TV_WEIGHT, adjustable_stylize
from .adjustable_train import Setting, setting_objective
from .api import style_embedding

__all__ = ["PREVIEW_WIDTH", "AdjustableWidget"]

PREVIEW_WIDTH = 256
"""Width in the page of the two pictures, in CSS pixels (a smaller picture is scaled up)."""


def _png(image: Tensor) -> bytes:
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class AdjustableWidget:
    """Stylise one photo live with the adjustable network; a button runs ``helpers.stylize`` with the same weights.

    Args:
        content_image: (1, 3, H, W) RGB in [0, 1]; shrunk so that its longest side is ``size``.
        paintings: name -> (1, 3, h, w) painting; each is resized to ``size`` and embedded once.
        size: longest side of the pictures, in pixels.
        exact_steps: objective evaluations of the optimisation the button runs (L-BFGS from the photo).

    Display ``widget.widget``; ``widget.render()`` reruns by hand and returns the milliseconds it took;
    ``widget.run_exact()`` is what the button does. Built in notebooks/07_adjustable_style_transfer.ipynb.
    """

    def __init__(
        self, content_image: Tensor, paintings: Mapping[str, Tensor], size: int = 256, exact_steps: int = 150
    ) -> None:
        import ipywidgets as widgets

        if not paintings:
            raise ValueError("paintings is empty: give at least one name -> painting")
        self.content, self.exact_steps = resize_image(content_image, size), exact_steps
        self.styles = {name: resize_image(p, size, upscale=True) for name, p in paintings.items()}
        self.embeddings = {name: style_embedding(image) for name, image in self.styles.items()}
        log = {"base": 10, "step": 0.05, "readout_format": ".2g"}
        self.painting = widgets.Dropdown(options=list(paintings), description="painting")
        self.ratio = widgets.FloatLogSlider(
            value=0.1, min=math.log10(RATIO_RANGE[0]), max=math.log10(RATIO_RANGE[1]), description="α/β", **log
        )
        self.weights = {
            name: widgets.FloatLogSlider(
                value=1.0,
                min=math.log10(LAYER_WEIGHT_RANGE[0]),
                max=math.log10(LAYER_WEIGHT_RANGE[1]),
                description=name,
                **log,
            )
            for name in STYLE_LAYERS
        }
        self.switches = {
            name: widgets.Checkbox(value=True, indent=False, description="on", layout=widgets.Layout(width="60px"))
            for name in STYLE_LAYERS
        }
        self.preview, self.exact_preview = (widgets.Image(format="png", width=PREVIEW_WIDTH) for _ in range(2))
        self.latency, self.status = widgets.Label(), widgets.HTML()
        self.exact = widgets.Button(
            description="Run L-BFGS",
            icon="play",
            button_style="success",
            tooltip="helpers.stylize with these weights, for comparison",
        )
        self.timings: list[float] = []
        self._tag(widgets)
        for control in (self.painting, self.ratio, *self.weights.values(), *self.switches.values()):
            control.observe(lambda _: self.render(), names="value")
        self.exact.on_click(lambda _: self.run_exact())
        rows = [widgets.HBox([self.weights[n], self.switches[n]]) for n in STYLE_LAYERS]
        controls = widgets.VBox([self.painting, self.ratio, *rows, self.latency, self.exact, self.status])
        pictures = [
            widgets.VBox([widgets.HTML(f"<b>{title}</b>"), image])
            for title, image in (("network", self.preview), ("optimisation (button)", self.exact_preview))
        ]
        self.widget = widgets.HBox([controls, *pictures], layout=widgets.Layout(align_items="flex-start"))
        self.render()

    def _tag(self, widgets) -> None:
        for control, name in (
            (self.painting, "style"),
            (self.ratio, "ratio"),
            (self.preview, "preview"),
            (self.latency, "latency"),
            (self.exact, "exact"),
            (self.exact_preview, "exact-preview"),
            (self.status, "status"),
        ):
            control.add_class(f"nst-adj-{name}")
        for name in STYLE_LAYERS:
            self.weights[name].add_class(f"nst-adj-weight-{name}")
            self.switches[name].add_class(f"nst-adj-on-{name}")

    def setting(self) -> Setting:
        """The loss weights the controls hold now (a layer switched off has weight 0)."""
        layers = {n: float(self.weights[n].value) if self.switches[n].value else 0.0 for n in STYLE_LAYERS}
        return Setting(float(self.ratio.value), layers)

    def render(self) -> float:
        """Run the network with the current controls, show the result; returns the milliseconds taken."""
        setting, start = self.setting(), time.perf_counter()
        if not any(setting.style_layers.values()):
            self.latency.value = "every layer is off: switch one on"
            return 0.0
        image = adjustable_stylize(
            self.content,
            embedding=self.embeddings[self.painting.value],
            style_layers=dict(setting.style_layers),
            content_weight=setting.ratio,
        )
        self.preview.value = _png(image)
        milliseconds = 1000 * (time.perf_counter() - start)
        self.timings.append(milliseconds)
        h, w = image.shape[-2:]
        self.latency.value = f"{milliseconds:.0f} ms for {w}×{h} px (network and PNG)"
        self.image = image
        return milliseconds

    def run_exact(self) -> dict:
        """``helpers.stylize`` with the current weights; shows its picture and both totals under one objective."""
        setting, style = self.setting(), self.styles[self.painting.value]
        if not any(setting.style_layers.values()):
            self.status.value = "every layer is off: switch one on"
            return {}
        self.status.value = "optimising…"
        start = time.perf_counter()
        result = stylize(
            self.content,
            style,
            style_layers=dict(setting.style_layers),
            content_weight=setting.ratio,
            style_weight=1.0,
            tv_weight=TV_WEIGHT,
            size=max(self.content.shape[-2:]),
            steps=self.exact_steps,
            progress=False,
        )
        seconds = time.perf_counter() - start
        self.exact_preview.value = _png(result.image)
        objective = setting_objective(cached_vgg19(device=self.content.device), self.content, style, setting)
        with torch.no_grad():
            totals = {"network": float(objective(self.image)[0]), "optimisation": float(objective(result.image)[0])}
        self.status.value = html.escape(
            f"loss {totals['network']:.4g} from the network in {self.timings[-1]:.0f} ms; "
            f"{totals['optimisation']:.4g} from {len(result.history)} L-BFGS steps in {seconds:.1f} s"
        )
        return {**totals, "seconds": seconds, "steps": len(result.history)}
