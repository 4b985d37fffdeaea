"""sim/figures.py style helpers and the per-layer figure grouping: SI prefixes, three formats at 300 dpi,
deterministic vector output, depthwise channels summed above MAX_BARS layers."""
import io
import struct

import numpy as np
import pytest
from PIL import Image

from sim.figures import FIGURE_CHOICES, PNG_DPI, pyplot, render_figure, si_scale
from sim.report_figures import MAX_BARS, grouped_rows, render_cycles


def png_dpi(data: bytes) -> float:
    """Horizontal resolution from the PNG pHYs chunk (pixels per metre -> dots per inch)."""
    at = data.index(b"pHYs")
    per_metre = struct.unpack(">I", data[at + 4:at + 8])[0]
    return per_metre * 0.0254


def test_si_scale():
    assert si_scale([2_286_159, 10]) == (1e6, "M")
    assert si_scale([0.0025]) == (1e-3, "m")
    assert si_scale([2.5e-6]) == (1e-6, "µ")
    assert si_scale([0, 0]) == (1.0, "")
    assert si_scale([999.0]) == (1.0, "")


def test_render_figure_formats_and_determinism():
    def figure():
        plt = pyplot()
        fig, ax = plt.subplots()
        ax.plot([1, 2], [3, 4])
        return fig
    first, second = render_figure(figure(), "f"), render_figure(figure(), "f")
    assert sorted(first) == ["f.pdf", "f.png", "f.svg"]
    assert first["f.pdf"] == second["f.pdf"] and first["f.svg"] == second["f.svg"]
    assert round(png_dpi(first["f.png"])) == PNG_DPI


def test_png_is_the_tight_box_of_the_raster():
    """The PNG is the 300-dpi tight bounding box plus 0.1 in, as savefig(bbox_inches="tight") makes it; a
    label drawn past the figure's edge is kept (drawn again, the raster of the figure lacks it)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2.0, 1.5))
    ax.plot([0, 1], [0, 1])
    fig.text(1.2, 0.5, "outside")  # 0.4 in right of the figure
    fig.set_dpi(PNG_DPI)
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    image = Image.open(io.BytesIO(render_figure(fig, "f", FIGURE_CHOICES["png"])["f.png"]))
    assert image.size == (int(bbox.width * PNG_DPI), int(bbox.height * PNG_DPI))
    assert image.size[0] > 2.4 * PNG_DPI  # the figure is 2 in wide
    pixels = np.asarray(image)
    assert (pixels[:, -5:] == 255).all()  # padding right of the outside label: white face colour
    assert (pixels[:, -int(0.45 * PNG_DPI):] < 128).any()  # the label's dark glyphs were drawn


def test_figure_choices():
    assert FIGURE_CHOICES == {"all": ("pdf", "svg", "png"), "png": ("png",), "none": ()}
    plt = pyplot()
    assert render_figure(plt.subplots()[0], "f", FIGURE_CHOICES["none"]) == {}
    assert list(render_figure(plt.subplots()[0], "f", FIGURE_CHOICES["png"])) == ["f.png"]
    assert not plt.get_fignums()  # every figure closed


def test_png_crop_matches_savefig():
    """A figure drawn inside its edges: the cropped raster has savefig(bbox_inches="tight")'s size and
    nearly its pixels (the layout is computed at 300 dpi instead of savefig's pre-draw dpi)."""
    def figure():
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(2.0, 1.5), layout="constrained")
        ax.barh([0, 1], [3, 4], label="bars")
        ax.set_yticks([0, 1], ["first", "second"])
        fig.legend(loc="outside lower center")
        return fig
    ours = np.asarray(Image.open(io.BytesIO(render_figure(figure(), "f", FIGURE_CHOICES["png"])["f.png"])))
    buf = io.BytesIO()
    fig = figure()
    fig.savefig(buf, format="png", dpi=PNG_DPI, bbox_inches="tight")
    pyplot().close(fig)
    theirs = np.asarray(Image.open(buf))
    assert abs(ours.shape[0] - theirs.shape[0]) <= 2 and abs(ours.shape[1] - theirs.shape[1]) <= 2
    assert (ours < 128).any(axis=-1).mean() == pytest.approx((theirs < 128).any(axis=-1).mean(), rel=0.1)


def test_depthwise_channels_grouped_above_max_bars():
    rows = [{"name": "c0", "compute_cycles": 9, "readout_cycles": 1, "load_cycles": 3, "stall_cycles": 0}]
    rows += [{"name": f"dw_DPChannel_{i}", "compute_cycles": 4, "readout_cycles": 1, "load_cycles": 1, "stall_cycles": 2}
             for i in range(MAX_BARS)]
    grouped, did = grouped_rows(rows)
    assert did and [r["name"] for r in grouped] == ["c0", "dw_DP"]
    assert grouped[1]["compute_cycles"] == 4 * MAX_BARS and grouped[1]["stall_cycles"] == 2 * MAX_BARS
    assert grouped_rows(rows[:MAX_BARS]) == (rows[:MAX_BARS], "")
    files = render_cycles(rows, "net")
    assert b"depthwise channels summed" in files["cycles.svg"]


def test_consecutive_layers_grouped_when_channels_are_not_enough():
    """A huge network without depthwise layers is drawn with at most MAX_BARS bars (totals kept)."""
    rows = [{"name": f"l{i}", "compute_cycles": i, "readout_cycles": 1, "stall_cycles": 0}
            for i in range(5 * MAX_BARS + 3)]
    grouped, note = grouped_rows(rows)
    assert len(grouped) <= MAX_BARS and note == "6 consecutive layers per bar"
    assert grouped[0]["name"] == "l0.." and sum(r["compute_cycles"] for r in grouped) == sum(range(len(rows)))
