import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers import figures


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _images(generator, n, h=6, w=9):
    return [torch.rand(1, 3, h, w, generator=generator) for _ in range(n)]


def test_image_grid_lays_out_rows_and_labels(generator):
    rows = [_images(generator, 3), _images(generator, 2)]
    fig = figures.image_grid(rows, row_labels=["style", "content"], column_labels=["a", "b", "c"])
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_title() for ax in axes[0]] == ["a", "b", "c"]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["style", "content"]
    assert not axes[1, 2].axison and not axes[1, 2].images  # the short row leaves a blank cell


def test_image_grid_draws_the_pixels_it_is_given(generator):
    image = torch.rand(1, 3, 5, 7, generator=generator)
    fig = figures.image_grid([[image, None]])
    drawn = np.asarray(fig.axes[0].images[0].get_array())
    expected = (image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(drawn, expected)
    assert not fig.axes[1].images


def test_image_grid_rejects_mismatched_labels(generator):
    with pytest.raises(ValueError, match="row labels"):
        figures.image_grid([_images(generator, 2)], row_labels=["x", "y"])
    with pytest.raises(ValueError, match="column labels"):
        figures.image_grid([_images(generator, 2)], column_labels=["x"])
    with pytest.raises(ValueError, match="empty"):
        figures.image_grid([])


def _history():
    return [
        {
            "step": s,
            "seconds": 0.5 * s,
            "total": 10.0 / s,
            "content": 1.0 / s,
            "style": 9.0 / s,
            "style_layers": {"relu1_1": 2.0 / s, "relu2_1": 4.0 / s},
        }
        for s in range(1, 5)
    ]


def test_plot_history_draws_each_key_and_weighted_layers():
    ax = figures.plot_history(
        _history(),
        keys=("total", "content"),
        per_layer=True,
        weights={"relu1_1": 0.5, "relu2_1": 0.25},
        x="seconds",
        label="run",
    )
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"run: total", "run: content", "run: relu1_1", "run: relu2_1"}
    np.testing.assert_allclose(lines["run: relu2_1"].get_ydata(), [1.0, 0.5, 1 / 3, 0.25])
    np.testing.assert_allclose(lines["run: total"].get_xdata(), [0.5, 1.0, 1.5, 2.0])
    assert ax.get_yscale() == "log"


def test_plot_history_uses_the_given_axis_and_refuses_empty():
    _, ax = plt.subplots()
    assert figures.plot_history(_history(), ax=ax) is ax
    assert len(ax.get_lines()) == 1
    with pytest.raises(ValueError, match="empty"):
        figures.plot_history([])
