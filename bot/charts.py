"""Progress charts as PNG pictures (Pillow): one panel per indicator with its measured series,
the baseline and the target. Slack gets the picture as an upload, the web chat as an image."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session, select

from bot import formatting
from bot.i18n import t
from bot.monitor import Context, current_measurements
from models import Indicator, Intervention

WIDTH, PANEL, MARGIN = 720, 200, 48
INK, GRID, LINE, BASE, TARGET = (40, 40, 40), (225, 225, 225), (31, 119, 180), (150, 150, 150), (44, 160, 44)


def progress_png(session: Session, iv: Intervention, locale: str) -> bytes | None:
    """The chart of every indicator of `iv` that has measurements, or None when none has."""
    indicators = list(
        session.exec(
            select(Indicator)
            .where(Indicator.intervention_id == iv.id, Indicator.name.is_not(None))
            .order_by(Indicator.position)
        )
    )
    series = [(ind, [m for m in current_measurements(session, ind.id) if m.value is not None]) for ind in indicators]
    series = [(ind, points) for ind, points in series if points]
    if not series:
        return None
    image = Image.new("RGB", (WIDTH, PANEL * len(series)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for n, (ind, points) in enumerate(series):
        panel(draw, font, Context(ind, iv), points, n * PANEL, locale)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def panel(draw: ImageDraw.ImageDraw, font, ctx: Context, points, top: int, locale: str) -> None:
    ind = ctx.ind
    values = [p.value for p in points]
    marks = [v for v in (ind.baseline, ind.target) if v is not None]
    low, high = min(values + marks), max(values + marks)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    left, right, y0, y1 = MARGIN + 20, WIDTH - MARGIN, top + 30, top + PANEL - 36

    def y(value: float) -> float:
        return y1 - (value - low) / (high - low) * (y1 - y0)

    def x(i: int) -> float:
        return left + (right - left) * (i / max(1, len(points) - 1)) if len(points) > 1 else (left + right) / 2

    draw.text((left, top + 8), ind.name or "", fill=INK, font=font)
    draw.rectangle([left, y0, right, y1], outline=GRID)
    for value, colour, key in (
        (ind.baseline, BASE, "monitor.chart_baseline"),
        (ind.target, TARGET, "monitor.chart_target"),
    ):
        if value is not None:
            draw.line([left, y(value), right, y(value)], fill=colour, width=1)
            draw.text(
                (left + 4, y(value) - 12), f"{t(locale, key)} {ctx.number(value, locale)}", fill=colour, font=font
            )
    coords = [(x(i), y(p.value)) for i, p in enumerate(points)]
    if len(coords) > 1:
        draw.line(coords, fill=LINE, width=3)
    for cx, cy in coords:
        draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=LINE)
    first, last = points[0], points[-1]
    draw.text((left, y1 + 6), formatting.period(first.period_start, first.period_end, locale), fill=INK, font=font)
    label = formatting.period(last.period_start, last.period_end, locale)
    draw.text((right - 6 * len(label), y1 + 6), label, fill=INK, font=font)
    draw.text((coords[-1][0] - 10, coords[-1][1] - 18), ctx.number(last.value, locale), fill=LINE, font=font)
