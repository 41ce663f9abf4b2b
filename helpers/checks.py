"""Answer checks for the notebooks' exercises: compare a learner's value with the project's own computation.

A wrong answer gets a hint that says how it is off: a wrong shape (or a transposed one), a sign, a clean
factor such as 2, 4, the number of channels C or of positions H·W (each suggests a normalisation or a
sum-against-mean mix-up), or a near miss that looks like rounding.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

__all__ = ["relative_error", "check_answer", "diagnose"]

_CLEAN_FACTORS = {
    2.0: "a factor of 2: a missing or extra ½ (the paper's content loss has one) or a term counted twice?",
    4.0: "a factor of 4: the paper's E_l carries 1/4 (the mean of squared Gram differences is 4 E_l)?",
    -1.0: "the sign is flipped: a difference taken the other way round, or a gradient where the step is its negative?",
}


def _as_tensor(value, name: str) -> Tensor:
    if value is None or value is Ellipsis:
        raise ValueError(f"{name} is not filled in yet")
    if isinstance(value, Tensor):
        return value.detach().double().cpu()
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def relative_error(answer, expected) -> float:
    """‖answer − expected‖ / max(‖expected‖, tiny), over all entries, in float64.

    Args:
        answer: a tensor, array or number.
        expected: the reference value, same shape as ``answer``.

    Returns:
        The relative error as a Python float.
    """
    a, e = _as_tensor(answer, "answer"), _as_tensor(expected, "expected")
    if a.shape != e.shape:
        raise ValueError(f"answer has shape {tuple(a.shape)} but the reference has shape {tuple(e.shape)}")
    return float(torch.linalg.vector_norm(a - e) / torch.linalg.vector_norm(e).clamp_min(1e-30))


def _factor_hint(ratio: float, factors: Mapping[str, float | tuple[float, str]]) -> str | None:
    candidates = {}  # the exercise's own factors first: they know the likely mistake best
    for label, value in factors.items():
        value, what = (
            value
            if isinstance(value, tuple)
            else (value, f"a factor of {label} = {value:g}: a sum over {label} where a mean was meant, or the reverse?")
        )
        candidates.setdefault(float(value), what)
        candidates.setdefault(1.0 / float(value), what)
    for value, what in _CLEAN_FACTORS.items():
        candidates.setdefault(value, what)
        candidates.setdefault(1.0 / value, what)
    for value, hint in candidates.items():
        if abs(ratio - value) <= 1e-3 * abs(value):
            return hint
    return None


def diagnose(answer, expected, factors: Mapping[str, float | tuple[float, str]] | None = None) -> str | None:
    """Say how ``answer`` is off from ``expected``, or None when no simple explanation fits.

    Args:
        answer, expected: tensors, arrays or numbers.
        factors: named sizes of the exercise, e.g. ``{"C": 64, "H·W": 1024}``, to recognise as factors; a value
            may also be ``(factor, hint)`` for a mistake with its own explanation.

    Returns:
        One sentence, e.g. "your answer is 4 × the reference: a factor of 4: ...".
    """
    a, e = _as_tensor(answer, "answer"), _as_tensor(expected, "expected")
    if a.shape != e.shape:
        if a.dim() == 2 and a.t().shape == e.shape and relative_error(a.t(), e) < 1e-4:
            return "it is the transpose of the reference: rows and columns swapped (channels × positions?)"
        if a.numel() == e.numel() and relative_error(a.reshape(e.shape), e) < 1e-4:
            return f"the numbers are right but the shape is {tuple(a.shape)}; the reference is {tuple(e.shape)}"
        return f"the shape is {tuple(a.shape)} but the reference has shape {tuple(e.shape)}"
    if not bool(torch.isfinite(a).all()):
        return "the answer contains NaN or infinite values"
    scale = float((a * e).sum() / (e * e).sum().clamp_min(1e-300))
    if scale != 0 and relative_error(a, scale * e) < 1e-3:
        hint = _factor_hint(scale, factors or {})
        if hint is not None:
            return f"your answer is {scale:.4g} × the reference: {hint}"
    error = relative_error(a, e)
    if error < 1e-2:
        return f"close (relative error {error:.1e}): did you round, or use a value that was rounded?"
    return None


def check_answer(
    answer,
    expected,
    name: str = "answer",
    rtol: float = 1e-4,
    factors: Mapping[str, float | tuple[float, str]] | None = None,
) -> float:
    """Print how far an exercise answer is from the reference and raise, with a hint, if it is too far.

    Args:
        answer: the learner's value (tensor, array or number); ``...`` means not done yet.
        expected: the project's own computation of the same thing.
        name: what the message calls the answer.
        rtol: the largest relative error accepted; an exercise that asks for "about N" passes a
            tolerance that matches (e.g. 0.05).
        factors: named sizes to recognise when the answer is off by one of them (see ``diagnose``).

    Returns:
        The relative error. Raises AssertionError, saying how the answer is off where it can.

    Used by the exercises of every notebook.
    """
    a, e = _as_tensor(answer, name), _as_tensor(expected, "expected")
    hint = diagnose(a, e, factors)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: not yet right: {hint}")
    error = relative_error(a, e)
    if not error <= rtol:
        raise AssertionError(
            f"{name}: relative error {error:.2e} is above {rtol:.0e}; not yet right" + (f": {hint}" if hint else "")
        )
    print(f"{name}: correct (relative error {error:.1e})")
    return error
