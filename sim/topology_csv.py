"""Read SCALE-Sim convolution topology CSVs into a `Workload`, so users can bring their own networks.

Column layout (SCALE-Sim 3.0.0 `topology_utils.load_arrays_conv`; the first row is a header):

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,

A trailing comma is optional; a ninth column, SCALE-Sim's sparsity ratio, is accepted only as "1:1"
(dense). Following SCALE-Sim: the IFMAP size already includes any padding, the output size is
`oh = ⌈(H − fh + s) / s⌉` (SCALE-Sim rounds up: 12×12, 3×3, stride 2 gives 6×6, where a framework's
floor gives 5×5), and a layer whose name contains "DP" is depthwise: it becomes one layer per channel
(`<name>Channel_<i>`, 1 input channel each). Every value is checked; an error names the row (1-based
line number in the file) and the column.
"""
from __future__ import annotations

from pathlib import Path

from golden.limits import DEFAULT_LIMITS, Limits
from golden.spec import NestedSpec

from .workload import Workload

COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
           "Num Filter", "Strides")
DENSE = "1:1"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def scalesim_out_size(size: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output size: ⌈(size − kernel + stride) / stride⌉."""
    return _ceil_div(size - kernel + stride, stride)


def _parse_row(fields: list[str], where: str) -> tuple[str, list[int]]:
    if fields and fields[-1] == "":
        fields = fields[:-1]
    if len(fields) == len(COLUMNS) + 1:
        if fields[-1] != DENSE:
            raise ValueError(f"{where}, column 9 (sparsity): only dense {DENSE!r} is supported, got {fields[-1]!r}")
        fields = fields[:-1]
    if len(fields) != len(COLUMNS):
        raise ValueError(f"{where}: expected {len(COLUMNS)} columns ({', '.join(COLUMNS)}), got {len(fields)}")
    name = fields[0]
    if not name:
        raise ValueError(f"{where}, column 1 ({COLUMNS[0]}): empty layer name")
    values = []
    for col, (text, column) in enumerate(zip(fields[1:], COLUMNS[1:]), start=2):
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
            raise ValueError(f"{where}, column {col} ({column}): expected a positive integer, got {text!r}")
        values.append(int(text))
    h, w, fh, fw = values[:4]
    if fh > h:
        raise ValueError(f"{where}, column 4 (Filter Height): {fh} exceeds IFMAP Height {h}")
    if fw > w:
        raise ValueError(f"{where}, column 5 (Filter Width): {fw} exceeds IFMAP Width {w}")
    return name, values


def check_row_limits(where: str, values: list[int], layers_before: int, limits: Limits) -> None:
    """Resource limits of one CSV row, before it is expanded: channels and filters <= max_channels, the
    input feature map (channels·H·W) <= max_tensor_elems, and the layer count after this row (a depthwise row
    adds one layer per channel) <= max_layers."""
    h, w, _, _, channels, filters, _ = values
    limits.check("max_channels", channels, f"{where}, column 6 (Channels)")
    limits.check("max_channels", filters, f"{where}, column 7 (Num Filter)")
    limits.check("max_tensor_elems", channels * h * w, f"{where}: IFMAP elements (Channels·Height·Width)")
    limits.check("max_layers", layers_before + 1, f"{where}: layer count")


def read_topology_csv(path, spec: NestedSpec, limits: Limits = DEFAULT_LIMITS) -> Workload:
    """The layers of a SCALE-Sim conv topology CSV as a `Workload` at widths (N, N); ValueError names the
    row and column of the first malformed value or exceeded limit (golden.limits)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"topology {path}: no such file")
    limits.check("max_file_bytes", path.stat().st_size, f"topology {path}: size")
    names, shapes = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"topology {path}: not UTF-8 text ({e})") from None
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"topology {path}: row {line_no}"
        name, values = _parse_row([f.strip() for f in line.split(",")], where)
        h, w, fh, fw, channels, filters, stride = values
        check_row_limits(where, values, len(names) + (channels - 1 if "DP" in name else 0), limits)
        npx = scalesim_out_size(h, fh, stride) * scalesim_out_size(w, fw, stride)
        if "DP" in name:
            for c in range(channels):
                names.append(f"{name}Channel_{c}")
                shapes.append((filters, fh * fw, npx, h * w))
        else:
            names.append(name)
            shapes.append((filters, fh * fw * channels, npx, channels * h * w))
    if not names:
        raise ValueError(f"topology {path}: no layers (the first row is the header)")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"topology {path}: duplicate layer name {dup!r}")
    count = len(names)
    m, k, n, in_elems = (list(col) for col in zip(*shapes))
    return Workload(names=tuple(names), m=m, k=k, n=n, in_elems=in_elems, out_bits=[spec.n_bits] * count,
                    residual_elems=[0] * count, residual_bits=[spec.n_bits] * count,
                    b_w=[spec.n_bits] * count, b_a=[spec.n_bits] * count)
