import numpy as np
import pytest
import torch

import helpers


def test_relative_error_value():
    assert helpers.relative_error(torch.tensor([3.0, 4.0]), torch.tensor([3.0, 0.0])) == pytest.approx(4 / 3)
    assert helpers.relative_error(np.eye(2), torch.eye(2)) == 0


def test_check_answer_accepts_close_and_prints(capsys):
    error = helpers.check_answer(torch.tensor([1.0, 2.0 + 1e-7]), torch.tensor([1.0, 2.0]), name="gram")
    assert error < 1e-6
    assert "gram: correct" in capsys.readouterr().out


def test_check_answer_rejects_wrong_and_unfinished():
    with pytest.raises(AssertionError, match="relative error 4.76e-01 is above 1e-04; not yet right$"):
        helpers.check_answer(torch.tensor([1.0, 1.1]), torch.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match="not filled in"):
        helpers.check_answer(..., torch.tensor([1.0]))
    with pytest.raises(AssertionError, match=r"shape is \(2,\) but the reference has shape \(3,\)"):
        helpers.check_answer(torch.zeros(2), torch.zeros(3))
    with pytest.raises(AssertionError, match="NaN"):
        helpers.check_answer(torch.tensor([float("nan")]), torch.tensor([1.0]))


@pytest.mark.parametrize(
    "factor, words",
    [(2.0, "factor of 2"), (0.5, "factor of 2"), (4.0, "factor of 4"), (0.25, "factor of 4"), (-1.0, "sign")],
)
def test_a_clean_factor_names_the_likely_mix_up(factor, words):
    expected = torch.tensor([[1.5, 1.25], [1.25, 2.75]])
    with pytest.raises(AssertionError, match=f"{factor:.4g} × the reference.*{words}"):
        helpers.check_answer(expected * factor, expected)


def test_factors_of_the_exercise_are_recognised_both_ways():
    expected = torch.tensor([0.3, 0.7, 0.1])
    for answer in (expected * 64, expected / 64):
        with pytest.raises(AssertionError, match="factor of C = 64: a sum over C"):
            helpers.check_answer(answer, expected, factors={"C": 64, "H·W": 1024})
    with pytest.raises(AssertionError, match="factor of H·W = 1024"):
        helpers.check_answer(expected * 1024, expected, factors={"C": 64, "H·W": 1024})


def test_near_misses_transposes_and_reshapes_get_their_own_hint():
    expected = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with pytest.raises(AssertionError, match="close .*round"):
        helpers.check_answer(expected + torch.tensor([[0.01, 0, 0], [0, 0, 0]]), expected)
    with pytest.raises(AssertionError, match="transpose"):
        helpers.check_answer(expected.t(), expected)
    with pytest.raises(AssertionError, match="numbers are right but the shape"):
        helpers.check_answer(expected.reshape(6), expected)
    assert helpers.diagnose(torch.tensor([5.0, -3.0]), torch.tensor([1.0, 2.0])) is None


def test_about_n_answers_pass_at_the_tolerance_the_exercise_gives():
    assert helpers.check_answer(98.0, 100.0, "about 100", rtol=0.05) == pytest.approx(0.02)
    with pytest.raises(AssertionError, match="close"):
        helpers.check_answer(99.5, 100.0, "exact")


def test_a_factor_may_carry_its_own_hint():
    with pytest.raises(AssertionError, match="counted both halves"):
        helpers.check_answer(3.0, 1.5, factors={"full": (2.0, "counted both halves of a symmetric matrix?")})
    with pytest.raises(AssertionError, match="counted both halves"):
        helpers.check_answer(3.99, 2.0, factors={"full": (1.995, "counted both halves of a symmetric matrix?")})
