"""Figures of the lessons: labelled image grids (the paper's Figures 1 and 3) and loss curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor

from .images import show_image

__all__ = ["image_grid", "plot_history"]


def _label_only(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def image_grid(
    rows: Sequence[Sequence[Tensor | None]],
    row_labels: Sequence[str] | None = None,
    column_labels: Sequence[str] | None = None,
    size: float = 2.0,
    fig=None,
):
    """Draw images in a grid with a label left of each row and above each column.

    Args:
        rows: one sequence per row of (1, 3, H, W) or (3, H, W) images in [0, 1]; None leaves a cell blank.
            Rows may differ in length; the grid is as wide as the longest.
        row_labels: one label per row, written on the left, or None.
        column_labels: one label per column, written above the top row, or None.
        size: height of each cell in inches.
        fig: a Matplotlib figure or subfigure to draw into; None makes a new figure.

    Returns:
        The figure (never shown here: the notebook displays it).

    Built in notebooks/03_layer_reconstructions.ipynb.
    """
    import matplotlib.pyplot as plt

    rows = [list(row) for row in rows]
    ncols = max((len(row) for row in rows), default=0)
    if not rows or ncols == 0:
        raise ValueError("rows is empty: give at least one image")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"got {len(row_labels)} row labels for {len(rows)} rows")
    if column_labels is not None and len(column_labels) != ncols:
        raise ValueError(f"got {len(column_labels)} column labels for {ncols} columns")
    if fig is None:
        fig = plt.figure(figsize=(size * ncols * 1.3, size * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r, c]
            image = row[c] if c < len(row) else None
            if image is None:
                ax.set_axis_off()
                continue
            show_image(image, ax=ax)
            ax.set_axis_on()
            _label_only(ax)
            if c == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[r])
            if r == 0 and column_labels is not None:
                ax.set_title(column_labels[c])
    return fig


def plot_history(
    history: Sequence[Mapping],
    keys: Sequence[str] = ("total",),
    x: str = "step",
    per_layer: bool = False,
    weights: Mapping[str, float] | None = None,
    ax=None,
    label: str | None = None,
):
    """Plot loss records (``StyleResult.history``) on a log scale.

    Args:
        history: one dict per step with the ``x`` key and the ``keys`` asked for.
        keys: which columns to plot ("total", "content", "style", "tv").
        x: "step" or "seconds" for the horizontal axis.
        per_layer: also plot each style layer's loss from the "style_layers" column.
        weights: layer name -> weight to multiply each style layer's curve by (e.g. w_l); None plots them raw.
        ax: the axis to draw on; None makes a new figure.
        label: prefix for the legend entries (to compare runs on one axis).

    Returns:
        The axis.

    Built in notebooks/04_style_transfer.ipynb.
    """
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("history is empty: nothing to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    xs = [record[x] for record in history]
    prefix = f"{label}: " if label else ""
    for key in keys:
        ax.plot(xs, [record[key] for record in history], label=f"{prefix}{key}")
    if per_layer:
        for name in history[0]["style_layers"]:
            scale = 1.0 if weights is None else float(weights.get(name, 0.0))
            ax.plot(xs, [record["style_layers"][name] * scale for record in history], label=f"{prefix}{name}", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("wall time (s)" if x == "seconds" else "step (objective evaluations)")
    ax.set_ylabel("loss")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside the axes, never over a curve
    return ax
