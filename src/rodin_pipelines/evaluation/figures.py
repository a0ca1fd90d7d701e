"""Matplotlib figures as pictures (headless), and the evaluate stage's score chart."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # stages run without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def figure_picture(figure: plt.Figure) -> np.ndarray:
    """A figure as an RGB picture ``(H, W, 3)`` uint8; the figure is closed."""
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return np.asarray(Image.open(buffer).convert("RGB"))


def score_chart(metrics: dict[str, float], prefixes: tuple[str, ...] = ("fid_clip_", "kid_clip_"),
                title: str = "") -> np.ndarray:
    """One horizontal bar panel per metric prefix (``fid_clip_ours``, ``fid_clip_gaussian``...),
    rows in the order the metrics hold them, values printed at the bars."""
    figure, axes = plt.subplots(1, len(prefixes), figsize=(4.5 * len(prefixes), 3), dpi=100)
    for axis, prefix in zip(np.atleast_1d(axes), prefixes):
        rows = {k.removeprefix(prefix): v for k, v in metrics.items() if k.startswith(prefix)}
        names = list(rows)[::-1]
        values = [rows[name] for name in names]
        axis.barh(names, values, color=["tab:orange" if n == "ours" else "tab:blue"
                                        for n in names])
        for position, value in enumerate(values):
            axis.annotate(f"{value:.3g}", (value, position), xytext=(3, 0),
                          textcoords="offset points", va="center", fontsize=8)
        axis.set_title(f"{prefix.rstrip('_')} (lower is better)", fontsize=9)
        axis.margins(x=0.25)
    if title:
        figure.suptitle(title, fontsize=9)
    return figure_picture(figure)


def accuracy_chart(rows: dict[str, tuple[float, float]], title: str = "") -> np.ndarray:
    """Horizontal bars of accuracies ``{name: (accuracy, chance)}`` in [0, 1], each with its
    chance level drawn as a black tick, rows top to bottom in the dict's order."""
    names = list(rows)[::-1]
    figure, axis = plt.subplots(figsize=(6.0, 0.35 * len(names) + 1.6), dpi=100)
    values = [rows[name][0] for name in names]
    axis.barh(names, values, color="tab:blue", label="accuracy")
    for position, name in enumerate(names):
        accuracy, chance = rows[name]
        axis.plot([chance, chance], [position - 0.4, position + 0.4], color="black", lw=2,
                  label="chance" if position == 0 else None)
        axis.annotate(f"{accuracy:.2f}", (accuracy, position), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=8)
    axis.set_xlim(0, 1.1)
    # Below the axes: inside, it would hide a long bar's value.
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=8,
                frameon=False)
    if title:
        axis.set_title(title, fontsize=9)
    return figure_picture(figure)
