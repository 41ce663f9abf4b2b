import math

import pytest
import torch

from helpers import optim
from helpers.optim import Problem, Recorder, run_adam, run_lbfgs


class Quadratic:
    """f(x) = mean((x - target)²) with a target partly outside [0, 1]: the box minimum is clip(target)."""

    style_targets = {"relu1_1": None}

    def __init__(self, target):
        self.target, self.calls = target, []

    def __call__(self, image):
        self.calls.append(image.detach().clone())
        value = ((image - self.target) ** 2).mean()
        parts = {
            "content": value.detach(),
            "style": torch.zeros(()),
            "tv": torch.zeros(()),
            "style_layers": value.detach().view(1),
        }
        return value, parts


@pytest.fixture
def target():
    return torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.3


def problem_for(target, steps, channels_last=False, callback=None):
    recorder = Recorder(steps, callback, 1, progress=False, hint="")
    objective = Quadratic(target)
    return Problem(recorder, objective, torch.full_like(target, 0.5), channels_last, steps), objective


@pytest.mark.parametrize("channels_last", [False, True])
def test_lbfgs_finds_the_box_constrained_minimum_of_a_quadratic(target, channels_last):
    problem, _ = problem_for(target, 40, channels_last)
    stopped = run_lbfgs(problem)
    assert stopped in ("steps", "converged")
    torch.testing.assert_close(problem.best_image, target.clamp(0, 1), atol=1e-4, rtol=0)
    assert problem.best_total == pytest.approx(float(((target.clamp(0, 1) - target) ** 2).mean()), rel=1e-3)


def test_adam_approaches_the_same_minimum(target):
    problem, _ = problem_for(target, 300)
    assert run_adam(problem, lr=0.02) == "steps"
    assert (problem.best_image - target.clamp(0, 1)).abs().max() < 0.02


def test_pixels_stay_in_the_box_and_no_point_is_evaluated_twice(target):
    problem, objective = problem_for(target, 6)  # short of the minimum: every iteration moves
    run_lbfgs(problem)
    assert 0 <= problem.pixels.min() and problem.pixels.max() <= 1
    assert len(objective.calls) == len(problem.recorder.history) == problem.evaluations == 6
    for i, a in enumerate(objective.calls):
        assert all(not torch.equal(a, b) for b in objective.calls[i + 1 :])


@pytest.mark.parametrize("memory", [1, 4])
def test_the_budget_is_never_exceeded_even_inside_a_line_search(target, monkeypatch, memory):
    monkeypatch.setattr(optim, "_MEMORY", memory)  # 1: the accepted point is often forgotten and re-evaluated
    for steps in (1, 2, 3, 7, 12):
        problem, objective = problem_for(target * 3, steps)
        run_lbfgs(problem)
        assert len(problem.recorder.history) == len(objective.calls) <= steps


def test_a_callback_that_returns_false_stops_the_loop(target):
    problem, _ = problem_for(target, 50, callback=lambda step, image, record: step < 3)
    assert run_adam(problem, lr=0.01) == "callback"
    assert len(problem.recorder.history) == 3


def test_records_carry_the_scaled_start_and_the_best_image(target):
    problem, _ = problem_for(target, 10)
    run_lbfgs(problem)
    history = problem.recorder.history
    assert [r["step"] for r in history] == list(range(1, len(history) + 1))
    assert problem.scale == pytest.approx(1 / history[0]["total"])
    assert problem.best_total == min(r["total"] for r in history)


def test_a_non_finite_loss_is_an_error_naming_the_step():
    problem, _ = problem_for(torch.full((1, 3, 4, 4), math.nan), 5)
    with pytest.raises(FloatingPointError, match="loss became nan at step 1"):
        run_lbfgs(problem)
