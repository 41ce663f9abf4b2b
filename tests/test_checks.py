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
    with pytest.raises(AssertionError, match="relative error 5.00e-01"):
        helpers.check_answer(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match="not filled in"):
        helpers.check_answer(..., torch.tensor([1.0]))
    with pytest.raises(ValueError, match="shape"):
        helpers.check_answer(torch.zeros(2), torch.zeros(3))
    with pytest.raises(AssertionError):
        helpers.check_answer(torch.tensor([float("nan")]), torch.tensor([1.0]))
