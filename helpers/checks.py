"""Answer checks for the notebooks' exercises: compare a learner's tensor with the project's own computation."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["relative_error", "check_answer"]


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


def check_answer(answer, expected, name: str = "answer", rtol: float = 1e-4) -> float:
    """Print how far an exercise answer is from the reference and raise if it is too far.

    Args:
        answer: the learner's value (tensor, array or number); ``...`` means not done yet.
        expected: the project's own computation of the same thing.
        name: what the message calls the answer.
        rtol: the largest relative error accepted.

    Returns:
        The relative error. Raises AssertionError (with the error in the message) above ``rtol``.

    Used by the exercises of every notebook.
    """
    error = relative_error(answer, expected)
    if not error <= rtol:
        raise AssertionError(f"{name}: relative error {error:.2e} is above {rtol:.0e}; not yet right")
    print(f"{name}: correct (relative error {error:.1e})")
    return error
