"""The playground's widgets: what they are, how they are laid out, and how they map to a ``Settings``.

Behaviour (running, caching, saving) lives in ``helpers.ui.Playground``, which builds on ``Controls``.
The weights are in the engine's balanced units: log-scale sliders centred on 1, each with an on/off box.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..analysis import receptive_field
from .inputs import LogSlider, parse_whole
from .render import loss_plot_svg
from .settings import (
    INITS,
    LAYER_WEIGHT_RANGE,
    MAX_STEPS,
    OPTIMIZERS,
    RATIO_RANGE,
    SIZES,
    STYLE_LAYERS,
    TV_RANGE,
    Settings,
)
from .upload import BUTTON_CLASS, ROW_CLASS, guard_html

__all__ = ["LAYER_ROLES", "PREVIEW_WIDTH", "Controls"]

PREVIEW_WIDTH = 320
MAX_SEED = 2**31 - 1
LAYER_ROLES = {
    "relu1_1": "colour and the finest grain",
    "relu2_1": "colour patches and fine texture",
    "relu3_1": "brush strokes and small repeated marks",
    "relu4_1": "larger motifs and stroke patterns",
    "relu5_1": "the largest structures, such as the sky's swirls",
}
_COLORS = {"info": "#1f5f8b", "done": "#1d7a2e", "warning": "#9a6700", "error": "#b42318"}
_NARROW = {"description_width": "72px"}
_INVALID = "#fde2e1"


def _heading(text: str, tooltip: str) -> widgets.HTML:
    return widgets.HTML(f"<b>{text}</b>", tooltip=tooltip)


def _row(*children: widgets.Widget) -> widgets.HBox:
    return widgets.HBox(list(children), layout=widgets.Layout(align_items="center"))


class Controls:
    """Every widget of the playground, a ``settings`` property that reads them and ``set_settings`` to move them.

    Args:
        files: image names the pickers offer.
        settings: where the widgets start.

    Display it as the last expression of a cell. Built in notebooks/05_style_weights_playground.ipynb.
    """

    def __init__(self, files: Sequence[str], settings: Settings) -> None:
        picker = {"style": _NARROW, "layout": widgets.Layout(width="280px")}
        self.content_picker = widgets.Dropdown(
            options=list(files), description="content", **picker, tooltip="the photograph whose layout the result keeps"
        )
        self.style_picker = widgets.Dropdown(
            options=list(files),
            description="style",
            **picker,
            tooltip="the painting whose colours and textures the result takes",
        )
        self.content_thumb = widgets.Image(format="png", width=64)  # a tooltip breaks the Image view in ipywidgets 8.1
        self.style_thumb = widgets.Image(format="png", width=64)
        self.upload = widgets.FileUpload(
            accept="image/*",
            multiple=False,
            description="upload",
            layout=widgets.Layout(width="130px"),
            tooltip="upload a picture: it becomes the content and is offered as a style",
        )
        self.upload_guard = widgets.HTML(guard_html(), tooltip="what the upload button accepts")
        self.layer_sliders = {
            name: LogSlider(name, LAYER_WEIGHT_RANGE, 1.0, self._layer_tooltip(name), switch=True)
            for name in STYLE_LAYERS
        }
        self.ratio_slider = LogSlider(
            "α/β",
            RATIO_RANGE,
            0.1,
            "content weight α over style weight β (log scale): "
            "1 balances the two terms, smaller values give more style, larger more photo",
        )
        self.tv_slider = LogSlider(
            "TV",
            TV_RANGE,
            0.01,
            "total-variation weight next to β = 1 (log scale): smooths pixel-scale speckle; "
            "the photo's own roughness scores 1, 0.01 removes speckle",
            switch=True,
        )
        self.size_picker = widgets.Dropdown(
            options=list(SIZES),
            description="size (px)",
            **picker,
            tooltip="longest side of the result; a step's time grows with the pixels",
        )
        self.steps_box = widgets.Text(
            description="steps",
            continuous_update=False,
            style=_NARROW,
            layout=widgets.Layout(width="160px"),
            tooltip=f"objective evaluations at full size, 1 to {MAX_STEPS}; L-BFGS usually settles within 100-300",
        )
        self.optimizer_buttons = widgets.ToggleButtons(
            options=OPTIMIZERS,
            description="optimizer",
            style={**_NARROW, "button_width": "76px"},
            tooltip="how the pixels are updated",
            tooltips=["L-BFGS: few, well-aimed steps (notebook 04)", "Adam: fixed step size, less memory"],
        )
        self.init_buttons = widgets.ToggleButtons(
            options=INITS,
            description="start",
            style={**_NARROW, "button_width": "76px"},
            tooltip="the image the optimisation starts from",
            tooltips=[
                "the photo: repeatable, the layout is right from step 1",
                "white noise from the seed: a different result per seed",
                "the painting",
                "real time: the network of notebook 06 paints it at once, then the optimisation refines it",
            ],
        )
        self.seed_box = widgets.Text(
            description="seed",
            continuous_update=False,
            style=_NARROW,
            layout=widgets.Layout(width="160px"),
            tooltip="seeds the noise start; only used when the start is noise",
        )
        self.run_button = widgets.Button(
            description="Run",
            button_style="success",
            icon="play",
            tooltip="optimise with these settings (a cached result comes back at once)",
        )
        self.stop_button = widgets.Button(
            description="Stop",
            button_style="danger",
            icon="stop",
            disabled=True,
            tooltip="end the run after the current step and keep the image so far",
        )
        self.save_button = widgets.Button(
            description="Save PNG",
            icon="save",
            disabled=True,
            tooltip="write the result to a PNG with the settings in its metadata",
        )
        self.progress = widgets.IntProgress(
            min=0, max=1, value=0, tooltip="steps done over both stages", layout=widgets.Layout(width="120px")
        )
        self.progress_label = widgets.Label(tooltip="the stage, the step and the time left")
        self.preview = widgets.Image(format="png")
        self.losses = widgets.HTML(loss_plot_svg([], "loss", width=PREVIEW_WIDTH), tooltip="the weighted loss terms")
        self.status = widgets.HTML(tooltip="what the playground is doing")
        self.changed = widgets.HTML(tooltip="settings moved since the run started")
        self.gallery = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._tag_for_browser()
        self._wire_controls()
        self.set_settings(settings)
        self.widget = self._layout()

    @staticmethod
    def _layer_tooltip(name: str) -> str:
        side = receptive_field(name)
        return (
            f"{name} sees {side}×{side} px patches: {LAYER_ROLES[name]}. Its weight relative to the other layers "
            "that are on (log scale, 1 = an equal say)"
        )

    def _tag_for_browser(self) -> None:
        named = {
            "preview": self.preview,
            "run": self.run_button,
            "stop": self.stop_button,
            "status": self.status,
            "gallery": self.gallery,
            "size": self.size_picker,
            "steps": self.steps_box,
            "seed": self.seed_box,
            "progress-label": self.progress_label,
            "changed": self.changed,
            "init": self.init_buttons,
            "ratio": self.ratio_slider.slider,
            "ratio-readout": self.ratio_slider.readout,
        }
        for name, widget in named.items():
            widget.add_class(f"nst-{name}")
        self.upload.add_class(BUTTON_CLASS)
        for name, control in self.layer_sliders.items():
            control.slider.add_class(f"nst-weight-{name}")
            control.switch.add_class(f"nst-on-{name}")
            control.switch.tooltip = f"{name} on or off: off leaves the layer out of the style term"
            control.readout.add_class(f"nst-readout-{name}")
        self.tv_slider.switch.tooltip = "smoothing on or off"

    def _wire_controls(self) -> None:
        self.init_buttons.observe(lambda _: self._show_seed_state(), "value")
        for box in (self.steps_box, self.seed_box):
            box.observe(lambda change: self._check_typed(change["owner"]), "value")

    def _show_seed_state(self) -> None:
        self.seed_box.disabled = self.init_buttons.value != "noise"

    def _typed(self, box: widgets.Text) -> int:
        if box is self.steps_box:
            return parse_whole(box.value, "steps", 1, MAX_STEPS)
        return parse_whole(box.value, "seed", 0, MAX_SEED)

    def _check_typed(self, box: widgets.Text) -> None:
        try:
            self._typed(box)
        except ValueError as error:
            box.style.background = _INVALID
            self.say(str(error), "error")
        else:
            box.style.background = None

    def _layout(self) -> widgets.Widget:
        upload = widgets.HBox([self.upload, self.upload_guard], layout=widgets.Layout(align_items="center"))
        upload.add_class(ROW_CLASS)
        layers = [_row(*control.widgets()) for control in self.layer_sliders.values()]
        controls = widgets.VBox(
            [
                _row(self.content_picker, self.content_thumb),
                _row(self.style_picker, self.style_thumb),
                upload,
                _heading(
                    "style layers",
                    "the style term is the weighted mean of these layers' Gram-matrix losses: "
                    "only the weights' proportions matter; the box turns a layer off",
                ),
                *layers,
                _heading("balance", "how much the photo, the painting and smoothness each count"),
                _row(*self.ratio_slider.widgets()),
                _row(*self.tv_slider.widgets()),
                _heading("run", "the size, length and start of the optimisation"),
                _row(self.size_picker),
                _row(self.steps_box, self.seed_box),
                self.optimizer_buttons,
                self.init_buttons,
            ],
            layout=widgets.Layout(width="400px"),
        )
        view = widgets.VBox(
            [
                _row(self.run_button, self.stop_button, self.save_button),
                _row(self.progress, self.progress_label),
                self.preview,
                self.status,
                self.changed,
                self.losses,
            ],
            layout=widgets.Layout(width=f"{PREVIEW_WIDTH + 20}px"),
        )
        main = widgets.HBox([controls, view], layout=widgets.Layout(align_items="flex-start"))
        root = widgets.VBox([main, _heading("gallery", "finished results, newest first"), self.gallery])
        root.add_class("nst-playground")
        return root

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def settings(self) -> Settings:
        """The settings the widgets hold now; a typed value that is not a valid number raises ValueError."""
        init = self.init_buttons.value
        try:
            seed = self._typed(self.seed_box)
        except ValueError:
            if init == "noise":
                raise
            seed = 0  # the box is disabled and its value unused
        return Settings(
            content=self.content_picker.value,
            style=self.style_picker.value,
            layer_weights={name: control.value for name, control in self.layer_sliders.items()},
            ratio=self.ratio_slider.value,
            tv_weight=self.tv_slider.value,
            size=int(self.size_picker.value),
            steps=self._typed(self.steps_box),
            optimizer=self.optimizer_buttons.value,
            init=init,
            seed=seed,
        )

    def set_settings(self, settings: Settings) -> None:
        """Move every widget to ``settings``; a slider widens to hold a value outside its range."""
        self.content_picker.value, self.style_picker.value = settings.content, settings.style
        for name, control in self.layer_sliders.items():
            control.value = settings.layer_weights.get(name, 0.0)
        self.ratio_slider.value, self.tv_slider.value = settings.ratio, settings.tv_weight
        if settings.size not in self.size_picker.options:
            self.size_picker.options = sorted({*self.size_picker.options, settings.size})
        self.size_picker.value = settings.size
        self.steps_box.value, self.seed_box.value = str(settings.steps), str(settings.seed)
        self.optimizer_buttons.value, self.init_buttons.value = settings.optimizer, settings.init
        self._show_seed_state()

    def setting_widgets(self) -> list[widgets.Widget]:
        """Every widget whose value is part of the settings."""
        return [
            self.content_picker,
            self.style_picker,
            *(
                w
                for control in (*self.layer_sliders.values(), self.ratio_slider, self.tv_slider)
                for w in (control.slider, control.switch)
                if w is not None
            ),
            self.size_picker,
            self.steps_box,
            self.optimizer_buttons,
            self.init_buttons,
            self.seed_box,
        ]

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
