"""The /progress chart, drawn when the outbox sends it: a PNG of a patient's scores over time (Agg).

matplotlib is imported on the first chart only, so start-up stays fast. No pyplot: each chart is
its own Figure, so charts can be drawn in worker threads while the coach goes on."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Sequence
from datetime import date, timedelta

from dialogs.actions import ChartSeries
from storage.payloads import Photo

WIDTH, ROW_HEIGHT, DPI = 6.4, 1.9, 100


def progress_png(series: Sequence[ChartSeries]) -> bytes:
    """One small panel per questionnaire, each on its own full scale, dates along the bottom."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, ROW_HEIGHT * len(series) + 0.5), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(series), 1, squeeze=False, sharex=True)
    for axis, line in zip(axes[:, 0], series, strict=True):
        days = [date.fromisoformat(day) for day, _ in line.points]
        axis.plot(days, [value for _, value in line.points], marker="o", color="#2e7d6b", linewidth=2)
        axis.set_ylim(line.low, line.high)
        axis.set_title(line.label, fontsize=10, loc="left")
        axis.grid(True, alpha=0.3)
    every_day = sorted({date.fromisoformat(day) for line in series for day, _ in line.points})
    if every_day:  # a week either side, so a single result's date reads clearly
        bottom = axes[-1, 0]
        bottom.set_xlim(every_day[0] - timedelta(days=7), every_day[-1] + timedelta(days=7))
        bottom.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=6))  # type: ignore[no-untyped-call]
        bottom.xaxis.set_major_formatter(DateFormatter("%d %b"))  # type: ignore[no-untyped-call]
    figure.subplots_adjust(
        left=0.08, right=0.97, top=1 - 0.35 / figure.get_figheight(), bottom=0.5 / figure.get_figheight(), hspace=0.45
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def picture(payload: Photo) -> bytes:
    """The PNG to send: the chart drawn in a worker thread (0.1-0.3 s), or the bytes it carries."""
    if payload.chart:
        return await asyncio.to_thread(progress_png, payload.chart)
    return base64.b64decode(payload.png_base64 or "")
