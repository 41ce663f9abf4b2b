"""The optimisation loop over an image's pixels, with the stock ``torch.optim.LBFGS`` and ``torch.optim.Adam``.

One *step* is one evaluation of the objective (a forward and a backward pass through VGG), for both
optimizers; an L-BFGS iteration whose line search needs a second evaluation counts two steps. Every step
appends one record to the history. The pixels stay in [0, 1]: each evaluation scores the image clipped to
the box (its gradient passes straight through the clip), and the pixels are projected onto the box after
every optimizer step, so L-BFGS's next evaluation at the projected point is the one it has already made.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import Tensor

from .errors import NonFiniteLossError
from .objective import StyleObjective

__all__ = ["Recorder", "Problem", "run_lbfgs", "run_adam", "live_preview"]

Callback = Callable[[int, Tensor, dict], object]
_MEMORY = 4


class Recorder:
    """What spans every level of a run: the step counter, the clock, the history, the callback and the bar.

    ``stopped`` becomes "callback" when the callback returns False; the loops end after the current step.
    """

    def __init__(self, steps: int, callback: Callback | None, callback_every: int, progress: bool, hint: str) -> None:
        self.steps, self.step, self.history, self.shape = steps, 0, [], (0, 0)
        self.callback, self.callback_every, self.hint = callback, callback_every, hint
        self.stopped: str | None = None
        self.start, self.paused = time.perf_counter(), 0.0
        self.bar = _progress_bar(steps) if progress else None

    def seconds(self) -> float:
        """Wall time since the run began, without the time spent inside the callback."""
        return time.perf_counter() - self.start - self.paused

    def add(self, record: dict, image: Tensor) -> None:
        """Keep one step's record, advance the bar, and call the callback when it is due."""
        self.history.append(record)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"loss {record['total']:.4g}", refresh=False)
        if self.callback is None or record["step"] % self.callback_every:
            return
        began = time.perf_counter()
        try:
            verdict = self.callback(record["step"], image.detach().contiguous(), record)
        finally:
            self.paused += time.perf_counter() - began
        if verdict is False:
            self.stopped = "callback"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress_bar(steps: int):
    from tqdm.auto import tqdm  # imported here: in a notebook, tqdm.auto pulls in ipywidgets

    return tqdm(total=steps, desc="stylize", unit="step", leave=False)


class Problem:
    """The optimisation at one image size: the pixels, a closure for ``torch.optim``, and the best image seen.

    Args:
        recorder: the run's ``Recorder``.
        objective: the loss at this size.
        start: (1, 3, H, W) starting image (clipped to [0, 1]).
        channels_last: store the pixels as (1, H, W, 3), the layout a channels-last extractor reads fastest.
        budget: the most steps this level may take.
    """

    def __init__(
        self, recorder: Recorder, objective: StyleObjective, start: Tensor, channels_last: bool, budget: int
    ) -> None:
        self.recorder, self.objective, self.channels_last = recorder, objective, channels_last
        self.stop_at = min(recorder.steps, recorder.step + budget)
        pixels = start.detach().float().clamp(0, 1)
        pixels = pixels.permute(0, 2, 3, 1) if channels_last else pixels
        self.pixels = pixels.contiguous().clone().requires_grad_(True)
        self.scale: float | None = None
        self.best_total, self.best_image = math.inf, None
        self.memory: list[tuple[Tensor, Tensor, Tensor]] = []
        self.evaluations = 0

    def image(self) -> Tensor:
        """The pixels as a (1, 3, H, W) view (channels-last in memory when the pixels are stored so)."""
        return self.pixels.permute(0, 3, 1, 2) if self.channels_last else self.pixels

    @property
    def done(self) -> bool:
        """True once the step budget is spent or the callback asked to stop."""
        return self.recorder.stopped is not None or self.recorder.step >= self.stop_at

    @torch.no_grad()
    def project(self) -> None:
        """Clip the pixels to [0, 1] in place."""
        self.pixels.clamp_(0, 1)

    def _remembered(self, shown: Tensor) -> tuple[Tensor, Tensor, Tensor] | None:
        return next((entry for entry in self.memory if torch.equal(entry[0], shown)), None)

    def knows_current(self) -> bool:
        """Whether the loss at the current pixels is remembered, so asking for it again costs no step."""
        return self._remembered(self.image().detach().clamp(0, 1)) is not None

    def closure(self) -> Tensor:
        """The scaled loss at the current pixels (a level starts near 1), with the gradient in ``pixels.grad``."""
        shown = self.image().detach().clamp(0, 1)
        remembered = self._remembered(shown)
        if remembered is not None:
            self.pixels.grad = remembered[2].clone()
            return remembered[1]
        view = self.image()
        candidate = view + (view.clamp(0, 1) - view).detach()  # the clipped image; the gradient passes through
        total, parts = self.objective(candidate)
        value = self._record(float(total.detach()), parts, shown)
        self.pixels.grad = None
        (total * self.scale).backward()
        loss = torch.tensor(value * self.scale)
        self.memory = [*self.memory[-(_MEMORY - 1) :], (shown, loss, self.pixels.grad.clone())]
        return loss

    def _record(self, total: float, parts: dict[str, Tensor], image: Tensor) -> float:
        recorder = self.recorder
        recorder.step += 1
        self.evaluations += 1
        terms = torch.stack([parts["content"], parts["style"], parts["tv"]])
        content, style, tv, *layers = torch.cat([terms, parts["style_layers"]]).tolist()
        if not math.isfinite(total):
            h, w = image.shape[-2:]
            raise NonFiniteLossError(
                f"the loss became {total} at step {recorder.step} ({h}x{w} px; content {content:.4g}, "
                f"style {style:.4g}, tv {tv:.4g}). {recorder.hint}"
            )
        if self.scale is None:
            self.scale = 1.0 / total if total > 0 else 1.0
        if total < self.best_total:
            self.best_total, self.best_image = total, image.clone()
        record = {
            "step": recorder.step,
            "seconds": recorder.seconds(),
            "content": content,
            "style": style,
            "tv": tv,
            "total": total,
            "style_layers": dict(zip(self.objective.style_targets, layers)),
            "size": tuple(image.shape[-2:]),
        }
        recorder.add(record, image)
        return total


def run_lbfgs(problem: Problem, history_size: int = 20, first_step: float = 0.05) -> str:
    """Minimise with ``torch.optim.LBFGS`` and its strong-Wolfe line search until the problem is done.

    Each ``optimizer.step`` makes one iteration; its line search may take at most the steps left in the
    budget (``max_eval``), so a run never takes more steps than it was given. The first iteration, a
    steepest-descent step, is scaled (through ``lr``) to move the pixel with the largest gradient by
    ``first_step``; later iterations take L-BFGS's own step length 1, as torch does.

    Returns:
        "converged" when an iteration makes no progress, else "steps" (or the recorder's reason to stop).
    """
    optimizer = torch.optim.LBFGS(
        [problem.pixels],
        lr=1.0,
        max_iter=1,
        history_size=history_size,
        tolerance_grad=0.0,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )
    group = optimizer.param_groups[0]
    problem.closure()  # the gradient at the start sets the first step's length
    gradient = problem.pixels.grad.abs()
    group["lr"] = first_step / float(gradient.max()) / min(1.0, 1.0 / float(gradient.sum()))
    while not problem.done:
        left = problem.stop_at - problem.recorder.step - (0 if problem.knows_current() else 1)
        if left < 1:  # one step left, and the current point is new: spend it there
            problem.closure()
            break
        group["max_eval"] = left  # the line search evaluates at most this many points
        before = problem.evaluations
        optimizer.step(problem.closure)
        problem.project()
        group["lr"] = 1.0
        if problem.evaluations == before:
            return "converged"
    return problem.recorder.stopped or "steps"


def run_adam(problem: Problem, lr: float) -> str:
    """Minimise with ``torch.optim.Adam`` (``lr`` in [0, 1] pixel units), projecting after each step, until done."""
    optimizer = torch.optim.Adam([problem.pixels], lr=lr)
    while not problem.done:
        optimizer.step(problem.closure)
        problem.project()
    return problem.recorder.stopped or "steps"


def live_preview(caption: bool = True) -> Callable[[int, Tensor, dict], None]:
    """A callback for ``stylize`` that shows the current image in a notebook, replacing the previous one.

    Args:
        caption: show the step and the total loss under the image.

    Returns:
        ``callback(step, image, record)``; pass it as ``callback=live_preview()``.
    """
    from IPython.display import Pretty, display

    from .images import to_pil

    handles = {}

    def callback(step: int, image: Tensor, record: dict) -> None:
        shown = [to_pil(image)] + ([Pretty(f"step {step}: total loss {record['total']:.4g}")] if caption else [])
        if not handles:
            handles.update({i: display(item, display_id=True) for i, item in enumerate(shown)})
        else:
            for i, item in enumerate(shown):
                handles[i].update(item)

    return callback
