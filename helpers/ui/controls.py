"""The playground's widgets: what they are, how they are laid out, and how they map to a ``Settings``.

Behaviour (running, caching, saving) lives in ``helpers.ui.Playground``, which builds on ``Controls``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from .render import loss_plot_svg
from .settings import INITS, MIN_SIZE, OPTIMIZERS, RATIO_RANGE, STYLE_LAYERS, TV_WEIGHTS, Settings

__all__ = ["Controls", "PREVIEW_WIDTH"]

PREVIEW_WIDTH = 320
_COLORS = {"info": "#1f5f8b", "done": "#1d7a2e", "warning": "#9a6700", "error": "#b42318"}
_WIDE = {"description_width": "130px"}


class Controls:
    """Every widget of the playground, a ``settings`` property that reads them and ``set_settings`` to move them.

    Args:
        files: image names the pickers offer.
        settings: where the widgets start.

    Display it as the last expression of a cell. Built in notebooks/05_style_weights_playground.ipynb.
    """

    def __init__(self, files: Sequence[str], settings: Settings) -> None:
        self.content_picker = widgets.Dropdown(options=list(files), description="content", style=_WIDE)
        self.style_picker = widgets.Dropdown(options=list(files), description="style", style=_WIDE)
        self.content_thumb = widgets.Image(format="png", width=72)
        self.style_thumb = widgets.Image(format="png", width=72)
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="your picture")
        self.layer_sliders = {name: widgets.FloatSlider(min=0.0, max=1.0, step=0.05, description=name, style=_WIDE)
                              for name in STYLE_LAYERS}
        self.ratio_slider = widgets.FloatLogSlider(base=10, min=math.log10(RATIO_RANGE[0]), max=math.log10(RATIO_RANGE[1]),
                                                   step=0.25, readout_format=".1e", description="content/style α/β",
                                                   style=_WIDE)
        self.tv_slider = widgets.SelectionSlider(options=[(f"{w:g}", w) for w in TV_WEIGHTS], description="TV weight",
                                                 style=_WIDE)
        self.size_slider = widgets.IntSlider(min=MIN_SIZE, max=1024, step=32, description="size (px)", style=_WIDE)
        self.steps_slider = widgets.IntSlider(min=1, max=1000, description="steps", style=_WIDE)
        self.optimizer_buttons = widgets.ToggleButtons(options=OPTIMIZERS, description="optimizer", style=_WIDE)
        self.init_buttons = widgets.ToggleButtons(options=INITS, description="initialisation", style=_WIDE)
        self.seed_box = widgets.BoundedIntText(min=0, max=2**31 - 1, description="seed", style=_WIDE)
        self.run_button = widgets.Button(description="Run", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.save_button = widgets.Button(description="Save PNG", icon="save", disabled=True)
        self.progress = widgets.IntProgress(min=0, max=1, value=0, description="progress", style=_WIDE)
        self.progress_label = widgets.Label()
        self.preview = widgets.Image(format="png", width=PREVIEW_WIDTH)
        self.losses = widgets.HTML(loss_plot_svg([], "loss"))
        self.status = widgets.HTML()
        self.gallery = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._tag_for_browser()
        self.set_settings(settings)
        self.widget = self._layout()

    def _tag_for_browser(self) -> None:
        for widget, name in ((self.preview, "preview"), (self.run_button, "run"), (self.stop_button, "stop"),
                             (self.status, "status"), (self.gallery, "gallery")):
            widget.add_class(f"nst-{name}")
        for name, slider in self.layer_sliders.items():
            slider.add_class(f"nst-weight-{name}")

    def _layout(self) -> widgets.Widget:
        pickers = [widgets.HBox([self.content_picker, self.content_thumb]),
                   widgets.HBox([self.style_picker, self.style_thumb]), self.upload]
        controls = widgets.VBox([*pickers, widgets.HTML("<b>style layer weights</b>"), *self.layer_sliders.values(),
                                 widgets.HTML("<b>loss and run</b>"), self.ratio_slider, self.tv_slider,
                                 self.size_slider, self.steps_slider, self.optimizer_buttons, self.init_buttons,
                                 self.seed_box, widgets.HBox([self.run_button, self.stop_button, self.save_button])])
        view = widgets.VBox([widgets.HBox([self.progress, self.progress_label]), self.preview, self.losses, self.status])
        return widgets.VBox([widgets.HBox([controls, view]), widgets.HTML("<b>gallery</b>"), self.gallery])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def settings(self) -> Settings:
        """The settings the widgets hold now."""
        return Settings(
            content=self.content_picker.value, style=self.style_picker.value,
            layer_weights={name: float(s.value) for name, s in self.layer_sliders.items()},
            ratio=float(self.ratio_slider.value), tv_weight=float(self.tv_slider.value),
            size=int(self.size_slider.value), steps=int(self.steps_slider.value),
            optimizer=self.optimizer_buttons.value, init=self.init_buttons.value, seed=int(self.seed_box.value),
        )

    def set_settings(self, settings: Settings) -> None:
        """Move every widget to ``settings``; the ratio and TV sliders widen to hold values outside their range."""
        self.content_picker.value, self.style_picker.value = settings.content, settings.style
        for name, slider in self.layer_sliders.items():
            slider.value = settings.layer_weights.get(name, 0.0)
        exponent = math.log10(settings.ratio) if settings.ratio > 0 else self.ratio_slider.min
        self.ratio_slider.min = min(self.ratio_slider.min, math.floor(exponent))
        self.ratio_slider.max = max(self.ratio_slider.max, math.ceil(exponent))
        self.ratio_slider.value = settings.ratio
        if settings.tv_weight not in [value for _, value in self.tv_slider.options]:
            values = sorted({*(value for _, value in self.tv_slider.options), settings.tv_weight})
            self.tv_slider.options = [(f"{w:g}", w) for w in values]
        self.tv_slider.value = settings.tv_weight
        self.size_slider.value, self.steps_slider.value = settings.size, settings.steps
        self.optimizer_buttons.value, self.init_buttons.value = settings.optimizer, settings.init
        self.seed_box.value = settings.seed

    def say(self, text: str, kind: str = "info") -> None:
        """Show one line under the preview; ``kind`` is "info", "done", "warning" or "error"."""
        self.status.value = f'<span style="color:{_COLORS[kind]}">{html.escape(text)}</span>'

    @property
    def message(self) -> str:
        """The status line as plain text."""
        return html.unescape(self.status.value.split(">", 1)[-1].rsplit("<", 1)[0])

    def close(self) -> None:
        """Close every widget of the playground."""
        pending = [self.widget]
        while pending:
            widget = pending.pop()
            pending.extend(getattr(widget, "children", ()))
            widget.close()
