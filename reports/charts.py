"""Vector charts of the report: matplotlib figures saved as SVG, embedded in the HTML that WeasyPrint lays out.

Text stays text in the SVG (`svg.fonttype = none`), so the PDF's charts are searchable and sharp at
any zoom, and the map is drawn from the marts' H3 cell boundaries alone: no tiles, nothing online.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from datetime import date

import h3
import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.ticker import FuncFormatter, MaxNLocator

plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 9,
        "axes.titleweight": "bold",
        "svg.hashsalt": "cur-reports",  # stable ids: the same figures give the same file
    }
)
ACCENT = "#1f4e79"
MUTED = "#9db4cc"
ALERT = "#b03a2e"
MAP_COARSE_ABOVE_DEGREES = 0.4  # a cut spanning more latitude than this is drawn with coarser cells
MAP_COARSE_RESOLUTION = 6


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def _week_labels(weeks: Sequence[date]) -> list[str]:
    return [w.strftime("%d.%m") for w in weeks]


def trend(
    weeks: Sequence[date], values: Sequence[float | None], title: str, *, percent: bool = False, bars: bool = False
) -> str:
    """One KPI over the trend weeks; missing weeks (None) leave a gap, never a made-up zero."""
    fig, ax = plt.subplots(figsize=(3.4, 2.0))
    x = list(range(len(weeks)))
    shown = [(i, v * 100 if percent else v) for i, v in zip(x, values, strict=True) if v is not None]
    if bars:
        ax.bar([i for i, _ in shown], [v for _, v in shown], color=[MUTED] * (len(shown) - 1) + [ACCENT], width=0.7)
    else:
        ax.plot([i for i, _ in shown], [v for _, v in shown], color=ACCENT, marker="o", markersize=2.5, linewidth=1.4)
        if shown:
            ax.plot([shown[-1][0]], [shown[-1][1]], marker="o", color=ALERT, markersize=4)
    ax.set_title(title, loc="left")
    ax.set_xticks(x[::2], _week_labels(weeks)[::2])
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=not percent))
    if percent:
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f} %"))
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.tick_params(labelsize=7)
    return _svg(fig)


def sla_bars(labels: Sequence[str], first_answer: Sequence[float | None], resolution: Sequence[float | None]) -> str:
    """Shares in time per SLA class, first answer and resolution side by side."""
    fig, ax = plt.subplots(figsize=(6.6, 0.45 * max(len(labels), 2) + 0.6))
    y = list(range(len(labels)))
    ax.barh(
        [i - 0.2 for i in y],
        [(v or 0) * 100 for v in first_answer],
        height=0.38,
        color=ACCENT,
        label="Первый ответ в срок",
    )
    ax.barh([i + 0.2 for i in y], [(v or 0) * 100 for v in resolution], height=0.38, color=MUTED, label="Решено в срок")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f} %"))
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, fontsize=7, frameon=False)
    return _svg(fig)


def h3_map(cells: Sequence[dict]) -> str | None:
    """The H3 cells of the cut, shaded by their appeals; None when the week has no cell to draw.

    A territory is drawn with the marts' own cells (resolution 8, their `cell_boundary`). A ministry's
    cells spread over the whole region, where a resolution-8 cell (about 0.7 km²) is smaller than a
    dot, so they are summed into their resolution-6 parents (about 36 km²) and drawn as those.
    """
    rings = {c["h3_cell"]: _ring(c["cell_boundary"]) for c in cells}
    appeals = {c["h3_cell"]: c["appeals"] for c in cells}
    if not rings:
        return None
    lats = [lat for ring in rings.values() for _, lat in ring]
    resolution = 8
    if max(lats) - min(lats) > MAP_COARSE_ABOVE_DEGREES:
        resolution = MAP_COARSE_RESOLUTION
        parents: dict[str, int] = {}
        for cell, count in appeals.items():
            parent = h3.cell_to_parent(cell, resolution)
            parents[parent] = parents.get(parent, 0) + count
        appeals = parents
        rings = {p: [(lon, lat) for lat, lon in h3.cell_to_boundary(p)] for p in parents}
    polygons = list(rings.values())
    values = [appeals[c] for c in rings]
    fig, ax = plt.subplots(figsize=(6.6, 4.2))
    norm = Normalize(vmin=0, vmax=max(values) or 1)
    collection = PolyCollection(polygons, array=values, cmap="OrRd", norm=norm, edgecolors="#555555", linewidths=0.3)
    ax.add_collection(collection)
    ax.autoscale_view()
    ax.set_aspect(1 / max(0.2, math.cos(math.radians(sum(lats) / len(lats)))))  # degrees of longitude shrink northwards
    ax.set_axis_off()
    ax.set_title(f"разрешение H3: {resolution}", loc="left", fontsize=7, fontweight="normal")
    bar = fig.colorbar(collection, ax=ax, shrink=0.7, pad=0.02)
    bar.set_label("обращений за неделю", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    return _svg(fig)


def _ring(boundary: str) -> list[tuple[float, float]]:
    """(lon, lat) points of a GeoJSON Polygon (or the first polygon of a MultiPolygon)."""
    geometry = json.loads(boundary)
    ring = geometry["coordinates"][0] if geometry.get("type") == "Polygon" else geometry["coordinates"][0][0]
    return [(lon, lat) for lon, lat in ring]
