"""The one figure style of the reports: colour-blind-safe palette, SI-prefixed unit labels, one-column sizes,
and rendering of a figure to PDF + SVG (vector) and PNG (300 dpi) bytes.

FIGURE_CHOICES are the formats a command's `--figures` option names: "all" (PDF + SVG + PNG), "png" (the
raster only: a bit over half the drawing time of all three, and no PDF font subsetting), "none" (no figure;
matplotlib is not even imported).

Render functions return `{file name: bytes}` so the caller writes every file of a report in one place.

Palette: Okabe & Ito, "Color Universal Design" (2008), safe for the common colour-vision deficiencies.
SI prefixes: a quantity in its base unit is divided by 1000^e, e = ⌊log10(max |value|) / 3⌋ clipped to the
prefixes below, so an axis reads "cycles per image (Mcycles)" with plain tick numbers instead of "1e6".
"""
from __future__ import annotations

import io
import math
from collections.abc import Iterable

import numpy as np

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
FORMATS = ("pdf", "svg", "png")
FIGURE_CHOICES = {"all": FORMATS, "png": ("png",), "none": ()}
PNG_DPI = 300
COLUMN_WIDTH_IN = 3.5   # one column of a two-column paper (IEEE / ACM: 3.33-3.5 in)
FULL_WIDTH_IN = 7.0
SI_PREFIXES = {-4: "p", -3: "n", -2: "µ", -1: "m", 0: "", 1: "k", 2: "M", 3: "G", 4: "T"}
RC = {
    "font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "xtick.labelsize": 6, "ytick.labelsize": 6,
    "legend.fontsize": 6, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.linewidth": 0.4, "grid.alpha": 0.4, "axes.axisbelow": True,
    "pdf.fonttype": 42, "svg.fonttype": "none", "svg.hashsalt": "dqt-hw", "lines.linewidth": 1.0,
}


def si_scale(values: Iterable[float]) -> tuple[float, str]:
    """(divisor, prefix) for values in a base unit: divisor = 1000^e, e = ⌊log10(max |v|) / 3⌋ in [−4, 4]
    (0 when every value is 0)."""
    peak = max((abs(float(v)) for v in values), default=0.0)
    if peak == 0 or not math.isfinite(peak):
        return 1.0, ""
    exponent = min(max(math.floor(math.log10(peak) / 3), min(SI_PREFIXES)), max(SI_PREFIXES))
    return 1000.0 ** exponent, SI_PREFIXES[exponent]


def si_axis(values, unit: str) -> tuple[np.ndarray, str]:
    """`values` (base unit) scaled to the SI prefix that suits them, and the unit label: "Mcycles", "µJ"."""
    values = np.asarray(values, dtype=np.float64)
    divisor, prefix = si_scale(values.ravel())
    return values / divisor, f"{prefix}{unit}"


def pyplot():
    """matplotlib.pyplot on the Agg backend with the house style applied."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update({**RC, "axes.prop_cycle": cycler(color=OKABE_ITO)})
    return plt


def render_figure(fig, stem: str, formats: tuple[str, ...] = FORMATS) -> dict[str, bytes]:
    """`{stem.<fmt>: bytes}` for each of `formats` (default PDF, SVG, PNG), cropped to the figure's tight
    bounding box plus savefig.pad_inches; PDF/SVG without creation dates (same figure, same bytes), PNG at
    PNG_DPI. Closes the figure.

    The figure is laid out and drawn once, on the Agg canvas at PNG_DPI: the PNG is that raster, cropped
    (when something is drawn past the figure's edge, which the raster lacks, the PNG is drawn again by
    savefig); each vector format then draws once more with the layout frozen (savefig with
    bbox_inches="tight" would lay out and draw every format twice)."""
    import matplotlib.pyplot as plt
    from matplotlib import rcParams
    from matplotlib.image import imsave

    metadata = {"pdf": {"CreationDate": None, "Creator": "dqt-hw"}, "svg": {"Date": None, "Creator": "dqt-hw"},
                "png": {"Software": "dqt-hw"}}
    files = {}
    try:
        if not formats:
            return files
        fig.set_dpi(PNG_DPI)
        fig.canvas.draw()
        tight = fig.get_tightbbox(fig.canvas.get_renderer())
        bbox = tight.padded(rcParams["savefig.pad_inches"])
        width, height = fig.get_size_inches()
        inside = tight.x0 >= 0 and tight.y0 >= 0 and tight.x1 <= width and tight.y1 <= height
        fig.set_layout_engine("none")
        for fmt in formats:
            buf = io.BytesIO()
            if fmt == "png" and inside:
                imsave(buf, _crop(fig, bbox), format="png", dpi=PNG_DPI, metadata=metadata["png"])
            else:
                fig.savefig(buf, format=fmt, dpi=PNG_DPI, bbox_inches=bbox, metadata=metadata[fmt])
            files[f"{stem}.{fmt}"] = buf.getvalue()
    finally:
        plt.close(fig)
    return files


def _crop(fig, bbox) -> np.ndarray:
    """The figure's drawn Agg raster (H, W, 4) cut to `bbox` (inches, origin bottom left; int(size · dpi)
    pixels, as savefig makes it); where the box reaches past the figure the figure's face colour fills in."""
    raster = np.asarray(fig.canvas.buffer_rgba())
    height, width = raster.shape[:2]
    x0, top = round(bbox.x0 * PNG_DPI), height - round(bbox.y1 * PNG_DPI)
    x1, bottom = x0 + int(bbox.width * PNG_DPI), top + int(bbox.height * PNG_DPI)
    out = np.empty((bottom - top, x1 - x0, 4), np.uint8)
    out[:] = np.round(np.asarray(fig.get_facecolor()) * 255).astype(np.uint8)
    src_y, src_x = slice(max(top, 0), min(bottom, height)), slice(max(x0, 0), min(x1, width))
    out[src_y.start - top:src_y.stop - top, src_x.start - x0:src_x.stop - x0] = raster[src_y, src_x]
    return out


def per_layer_height(layers: int) -> float:
    """Figure height (inches) for horizontal per-layer bars: 0.11 in per layer plus 0.9 in for axes and
    legend, at least 2 in (56 ResNet-50 layers: 7.1 in, one label per bar at 6 pt)."""
    return max(2.0, 0.11 * layers + 0.9)
