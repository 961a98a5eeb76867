"""The progress chart: a PNG of a patient's questionnaire scores over time (matplotlib, Agg).

matplotlib is imported on the first chart only, so start-up stays fast."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

from dialogs.actions import ChartSeries

WIDTH, ROW_HEIGHT, DPI = 6.4, 2.0, 110


def progress_png(series: Sequence[ChartSeries]) -> bytes:
    """One small panel per questionnaire, each on its own full scale, dates along the bottom."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.dates import AutoDateLocator, DateFormatter

    figure, axes = plt.subplots(
        len(series), 1, figsize=(WIDTH, ROW_HEIGHT * len(series) + 0.4), dpi=DPI, squeeze=False, sharex=True
    )
    try:
        for axis, line in zip(axes[:, 0], series, strict=True):
            days = [date.fromisoformat(day) for day, _ in line.points]
            values = [value for _, value in line.points]
            axis.plot(days, values, marker="o", color="#2e7d6b", linewidth=2)
            axis.set_ylim(line.low, line.high)
            axis.set_title(line.label, fontsize=10, loc="left")
            axis.grid(True, alpha=0.3)
            axis.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=6))  # type: ignore[no-untyped-call]
            axis.xaxis.set_major_formatter(DateFormatter("%d %b"))  # type: ignore[no-untyped-call]
        every_day = sorted({date.fromisoformat(day) for line in series for day, _ in line.points})
        if every_day:  # a week either side of a single result, so its date reads clearly
            axes[0, 0].set_xlim(every_day[0] - timedelta(days=7), every_day[-1] + timedelta(days=7))
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
