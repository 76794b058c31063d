"""Charts as SVG drawn by matplotlib (no hand-built graphics, nothing to load in the browser).

Each chart is a standalone SVG document the page shows as an image; the page also shows the
same numbers as a table with a CSV download, so nothing is only in a picture.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: render to files only
from matplotlib import pyplot
from matplotlib.figure import Figure

_INK, _ACCENT, _MUTED = "#1b1f24", "#0b5cad", "#9aa3ad"


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()


def bars_with_intervals(title: str, labels: Sequence[str], values: Sequence[float | None],
                        lows: Sequence[float | None], highs: Sequence[float | None],
                        unit: str = "%") -> str:
    """Bars with 95% confidence intervals as error bars. A missing value (None: not measured,
    or suppressed by disclosure control) is a gap marked "n/a", never a bar of zero."""
    figure, axes = pyplot.subplots(figsize=(6, 3.2))
    shown = [v if v is not None else math.nan for v in values]
    below = [max(0.0, (v or 0.0) - (lo if lo is not None else (v or 0.0)))
             for v, lo in zip(values, lows, strict=True)]
    above = [max(0.0, (hi if hi is not None else (v or 0.0)) - (v or 0.0))
             for v, hi in zip(values, highs, strict=True)]
    axes.bar(labels, shown, color=_ACCENT, yerr=[below, above], capsize=6, ecolor=_INK)
    for index, value in enumerate(values):
        if value is None:
            axes.annotate("n/a", (index, 0), ha="center", va="bottom", color=_MUTED)
    axes.set_title(title, fontsize=11, color=_INK)
    axes.set_ylabel(unit)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def lines(title: str, x_labels: Sequence[str], series: dict[str, Sequence[float]],
          unit: str = "") -> str:
    """One line per series over the same x labels (e.g. tasks per month per organisation)."""
    figure, axes = pyplot.subplots(figsize=(6.5, 3.2))
    for name, values in series.items():
        axes.plot(list(x_labels), list(values), marker="o", label=name)
    axes.set_title(title, fontsize=11, color=_INK)
    if unit:
        axes.set_ylabel(unit)
    axes.spines[["top", "right"]].set_visible(False)
    if len(series) > 1:
        axes.legend(fontsize=8, frameon=False)
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes.grid(axis="y", color=_MUTED, alpha=0.3)
    return _svg(figure)


def bars_against_thresholds(title: str, labels: Sequence[str], values: Sequence[float | None],
                            thresholds: Sequence[tuple[str, float]], unit: str = "%",
                            missing: str = "n/a") -> str:
    """Bars (e.g. each cohort's reduction) against horizontal threshold lines. A missing
    value (None: no result yet, or suppressed) is a gap marked `missing`, never a bar of 0."""
    figure, axes = pyplot.subplots(figsize=(6, 3.2))
    axes.bar(list(labels), [v if v is not None else math.nan for v in values], color=_ACCENT)
    for index, value in enumerate(values):
        if value is None:
            axes.annotate(missing, (index, 0), ha="center", va="bottom", color=_MUTED)
    for (name, level), style in zip(thresholds, ("--", ":", "-."), strict=False):
        axes.axhline(level, color=_INK, linestyle=style, linewidth=1,
                     label=f"{name}: {level:g}{unit}")
    axes.axhline(0, color=_MUTED, linewidth=0.8)
    axes.set_title(title, fontsize=11, color=_INK)
    axes.set_ylabel(unit)
    axes.spines[["top", "right"]].set_visible(False)
    if thresholds:  # below the plot: never over a bar
        axes.legend(fontsize=8, frameon=False, loc="upper center",
                    bbox_to_anchor=(0.5, -0.12), ncol=len(thresholds))
    return _svg(figure)
