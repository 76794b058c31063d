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

# text as SVG text, not a path per glyph: the browser sets it (and a reader can select it),
# the file is 40% smaller and a chart with many labels draws in half the time
matplotlib.rcParams["svg.fonttype"] = "none"
MAX_X_LABELS = 12  # more month labels than this overlap: every k-th one is labelled

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
    positions = list(range(len(x_labels)))
    for name, values in series.items():
        axes.plot(positions, list(values), marker="o", label=name)
    step = max(1, math.ceil(len(x_labels) / MAX_X_LABELS))
    axes.set_xticks(positions[::step], [x_labels[i] for i in positions[::step]])
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


def forest(title: str, labels: Sequence[str], effects: Sequence[float | None],
           lows: Sequence[float | None], highs: Sequence[float | None],
           unit: str = "points", missing: str = "no figure") -> str:
    """A forest plot: each comparison's effect as a point with its 95% interval as a line,
    one row each, against a line at zero (no difference). A missing effect (None: suppressed
    or no comparison) is a gap marked `missing`; a missing end of an interval (unbounded)
    runs to the edge of the plot."""
    figure, axes = pyplot.subplots(figsize=(6.5, 0.9 + 0.45 * max(1, len(labels))))
    rows = list(range(len(labels)))[::-1]  # the first comparison at the top
    known = [v for v in (*effects, *lows, *highs) if v is not None]
    edge = max([abs(v) for v in known] + [1.0]) * 1.15
    for row, effect, low, high in zip(rows, effects, lows, highs, strict=True):
        if effect is None:
            axes.annotate(missing, (0, row), ha="center", va="center", color=_MUTED)
            continue
        axes.plot([edge * -1 if low is None else low, edge if high is None else high],
                  [row, row], color=_INK, linewidth=1.5)
        axes.plot([effect], [row], marker="s", color=_ACCENT, markersize=7)
    axes.axvline(0, color=_MUTED, linestyle="--", linewidth=1)
    axes.set_xlim(-edge, edge)
    axes.set_ylim(-0.7, len(labels) - 0.3)
    axes.set_yticks(rows, list(labels))
    axes.set_xlabel(f"{unit} (left of the dashed line: lower; right: higher)")
    axes.set_title(title, fontsize=10, color=_INK)
    axes.spines[["top", "right", "left"]].set_visible(False)
    return _svg(figure)
