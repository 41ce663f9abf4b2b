"""The optimisation loop over an image's pixels: L-BFGS with a strong-Wolfe line search, or Adam.

One *step* is one evaluation of the objective (a forward and a backward pass through VGG), for both
optimizers: an L-BFGS iteration that needs a second line-search evaluation counts two steps. Every
step appends one record to the history, so steps, records and compute stay in proportion.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import torch
from torch import Tensor

from .errors import NonFiniteLossError
from .objective import StyleObjective

__all__ = ["Session", "Level", "StopRun", "run_lbfgs", "run_adam", "live_preview"]

Callback = Callable[[int, Tensor, dict], object]


class StopRun(Exception):
    """Raised inside the loop to end a level early; ``reason`` says why ("steps", "callback", "converged")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Session:
    """What spans every level of a run: the step counter, the clock, the history, the callback and the bar."""

    def __init__(self, steps: int, callback: Callback | None, callback_every: int, progress: bool, hint: str) -> None:
        self.steps, self.step, self.history, self.shape = steps, 0, [], (0, 0)
        self.callback, self.callback_every, self.hint = callback, callback_every, hint
        self.start, self.paused = time.perf_counter(), 0.0
        self.bar = _progress_bar(steps) if progress else None

    def seconds(self) -> float:
        """Wall time since the run began, without the time spent inside the callback."""
        return time.perf_counter() - self.start - self.paused

    def after_step(self, record: dict, image: Tensor) -> None:
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
            raise StopRun("callback")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress_bar(steps: int):
    from tqdm.auto import tqdm  # imported here: in a notebook, tqdm.auto pulls in ipywidgets

    return tqdm(total=steps, desc="stylize", unit="step", leave=False)


class Level:
    """The optimisation at one image size: evaluates the objective and keeps the best image seen."""

    def __init__(self, session: Session, objective: StyleObjective, shape: tuple[int, ...], channels_last: bool,
                 budget: int) -> None:
        self.session, self.objective, self.shape, self.channels_last = session, objective, shape, channels_last
        self.stop_at = min(session.steps, session.step + budget)
        self.scale = None
        self.best_total, self.best_image = math.inf, None
        self.names = list(objective.style_targets)

    def to_flat(self, image: Tensor) -> Tensor:
        """The optimisation variable: the pixels as one vector (NHWC order when channels_last)."""
        pixels = image.permute(0, 2, 3, 1) if self.channels_last else image
        return pixels.detach().float().contiguous().reshape(-1).clone()

    def to_image(self, flat: Tensor) -> Tensor:
        b, c, h, w = self.shape
        return flat.view(b, h, w, c).permute(0, 3, 1, 2) if self.channels_last else flat.view(b, c, h, w)

    def evaluate(self, flat: Tensor) -> tuple[float, Tensor]:
        """Loss (rescaled so the level starts near 1) and its gradient at the pixels ``flat``."""
        session = self.session
        if session.step >= self.stop_at:
            raise StopRun("steps")
        leaf = flat.detach().requires_grad_(True)
        image = self.to_image(leaf).clamp(0, 1)  # the loss of the image actually returned
        total, parts = self.objective(image)
        values = torch.cat([torch.stack([total.detach(), parts["content"], parts["style"], parts["tv"]]),
                            parts["style_layers"]]).tolist()
        session.step += 1
        if not math.isfinite(values[0]):
            raise NonFiniteLossError(
                f"the loss became {values[0]} at step {session.step} ({self.shape[-2]}x{self.shape[-1]} px; "
                f"content {values[1]:.4g}, style {values[2]:.4g}, tv {values[3]:.4g}). {session.hint}"
            )
        if self.scale is None:
            self.scale = 1.0 / values[0] if values[0] > 0 else 1.0
        (total * self.scale).backward()
        _synchronize(leaf)
        record = {"step": session.step, "seconds": session.seconds(), "content": values[1], "style": values[2],
                  "tv": values[3], "total": values[0], "style_layers": dict(zip(self.names, values[4:])),
                  "size": tuple(self.shape[-2:])}
        if values[0] < self.best_total:
            self.best_total, self.best_image = values[0], image.detach().clone()
        session.after_step(record, image)
        return values[0] * self.scale, leaf.grad


def _synchronize(tensor: Tensor) -> None:
    if tensor.device.type == "cuda":
        torch.cuda.synchronize(tensor.device)


def _two_loop(g: Tensor, memory: list[tuple[Tensor, Tensor, Tensor]]) -> Tensor:
    """L-BFGS direction -H g from the stored (s, y, 1/yᵀs) pairs (Nocedal & Wright, Algorithm 7.4)."""
    q, alphas = -g, []
    for s, y, rho in reversed(memory):
        alpha = rho * s.dot(q)
        q = q - alpha * y
        alphas.append(alpha)
    s, y, _ = memory[-1]
    r = q * (s.dot(y) / y.dot(y))
    for (s, y, rho), alpha in zip(memory, reversed(alphas)):
        r = r + s * (alpha - rho * y.dot(r))
    return r


def run_lbfgs(level: Level, x: Tensor, history_size: int = 20, first_step: float = 0.05) -> None:
    """Minimise with L-BFGS and a strong-Wolfe line search until ``level`` raises StopRun.

    Args:
        level: the objective at one size.
        x: the starting pixels, flat (see ``Level.to_flat``).
        history_size: how many (s, y) pairs the inverse-Hessian estimate remembers.
        first_step: the largest pixel change (in [0, 1] units) of the first, steepest-descent step.
    """
    from torch.optim.lbfgs import _strong_wolfe

    def along(x0: Tensor, t: float, d: Tensor) -> tuple[float, Tensor]:
        return level.evaluate(x0 + t * d)

    f, g = level.evaluate(x)
    memory: list[tuple[Tensor, Tensor, Tensor]] = []
    while True:
        d = _two_loop(g, memory) if memory else -g
        gtd = g.dot(d)
        if not gtd < 0:
            memory.clear()
            d, gtd = -g, -g.dot(g)
        t = 1.0 if memory else first_step / max(float(g.abs().max()), 1e-30)
        f_new, g_new, t, _ = _strong_wolfe(along, x, t, d, f, g, gtd)
        s, y = d * t, g_new - g
        x = x + s
        ys = y.dot(s)
        if ys > 1e-10 * y.dot(y).clamp_min(1e-30).sqrt() * s.norm():
            memory = memory[-(history_size - 1):] + [(s, y, 1.0 / ys)]
        if abs(f - f_new) < 1e-9:
            raise StopRun("converged")
        f, g = f_new, g_new


def run_adam(level: Level, x: Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    """Minimise with Adam (``lr`` in [0, 1] pixel units), clipping the pixels to [0, 1] after each step.

    The update is ``torch.optim.Adam``'s, written out so that the first call does not pay for its import.
    """
    x = x.clone()
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    for t in itertools.count(1):
        _, g = level.evaluate(x)
        m.mul_(betas[0]).add_(g, alpha=1 - betas[0])
        v.mul_(betas[1]).addcmul_(g, g, value=1 - betas[1])
        denominator = (v / (1 - betas[1] ** t)).sqrt_().add_(eps)
        x.addcdiv_(m, denominator, value=-lr / (1 - betas[0] ** t)).clamp_(0, 1)


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
