"""Inputs that never rewrite a value: a log-scale slider with an off switch, and a checked whole-number box.

ipywidgets' ``FloatLogSlider`` snaps a value set from code to its step in the browser and sends the snapped
value back (100 comes back as 100.00000000000009); while the kernel is busy, the browser then ignores the
kernel's next value, and the slider ends on the old one. ``LogSlider`` moves an ``IntSlider`` over steps of
the exponent instead, whose values are whole numbers on both sides, and keeps the exact value it was given
until the learner moves it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import ipywidgets as widgets

__all__ = ["STEPS_PER_DECADE", "LogSlider", "parse_whole"]

STEPS_PER_DECADE = 20


def parse_whole(text: str, what: str, low: int, high: int) -> int:
    """The whole number typed in ``text``; anything else raises ValueError saying what to type (never rewritten)."""
    if not re.fullmatch(r"\s*[0-9]+\s*", text or ""):
        raise ValueError(f"{what}: {text!r} is not a whole number; type digits only, e.g. {low + 1}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{what} must be from {low} to {high}; {text!r} is outside that range")
    return value


class LogSlider:
    """A slider on a log scale (``STEPS_PER_DECADE`` steps a decade), a readout, and optionally an on/off box.

    Args:
        description: the slider's label.
        bounds: the smallest and largest value the track spans (powers of ten).
        value: where it starts.
        tooltip: what the slider does; the box and the readout get their own.
        switch: add a checkbox that turns the value off (``value`` is then 0).

    ``slider``, ``switch`` and ``readout`` are the widgets; ``value`` reads and sets the number.
    """

    def __init__(
        self, description: str, bounds: tuple[float, float], value: float, tooltip: str, switch: bool = False
    ) -> None:
        low, high = (round(math.log10(bound) * STEPS_PER_DECADE) for bound in bounds)
        self.slider = widgets.IntSlider(
            min=low,
            max=high,
            readout=False,
            description=description,
            tooltip=tooltip,
            style={"description_width": "72px"},
            layout=widgets.Layout(width="300px"),
        )
        self.switch = (
            widgets.Checkbox(
                value=True, indent=False, tooltip=f"{description} on or off", layout=widgets.Layout(width="24px")
            )
            if switch
            else None
        )
        self.readout = widgets.Label(tooltip=f"the value of {description}", layout=widgets.Layout(width="44px"))
        self._exact = value
        self.slider.observe(self._moved, "value")
        if self.switch is not None:
            self.switch.observe(lambda _: self._show(), "value")
        self.value = value

    @staticmethod
    def _step(value: float) -> int:
        return round(math.log10(value) * STEPS_PER_DECADE)

    def _moved(self, change: dict[str, Any]) -> None:
        if change["new"] != self._step(self._exact):  # the learner moved it: the step's own value from now on
            self._exact = 10 ** (change["new"] / STEPS_PER_DECADE)
        self._show()

    def _show(self) -> None:
        on = self.on
        self.slider.disabled = not on
        self.readout.value = f"{self._exact:.3g}" if on else "off"

    @property
    def on(self) -> bool:
        """False when the box beside the slider is unticked."""
        return self.switch is None or self.switch.value

    @property
    def value(self) -> float:
        """The number the slider stands for: exact as set from code, else its step's value; 0 when off."""
        return self._exact if self.on else 0.0

    @value.setter
    def value(self, value: float) -> None:
        if value <= 0 and self.switch is not None:
            self.switch.value = False
            return
        step = self._step(value)
        self.slider.min, self.slider.max = min(self.slider.min, step), max(self.slider.max, step)
        self._exact = value
        self.slider.value = step
        if self.switch is not None:
            self.switch.value = True
        self._show()

    def widgets(self) -> list[widgets.Widget]:
        """The box (or a spacer of its width), the slider and the readout, for one row."""
        first = self.switch if self.switch is not None else widgets.Box(layout=widgets.Layout(width="24px"))
        return [first, self.slider, self.readout]
