"""Read SCALE-Sim topology CSVs (convolution and GEMM) into a `Workload`, so users can bring their own networks.

Convolution format (SCALE-Sim 3.0.0 `topology_utils.load_arrays_conv`; the first row is a header):

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,

GEMM format (SCALE-Sim's `-i gemm`, `load_arrays_gemm`; header `Layer, M, N, K,`):

    Layer, M, N, K,

SCALE-Sim turns a GEMM row into a convolution with an M×K IFMAP, a 1×K filter, 1 channel, N filters and
stride 1: M output pixels, reduction K, N filters, so here m (filters) = N, k = K, n (pixels) = M and the
input holds M·K elements. `format="auto"` reads a file as GEMM when its header's columns 2-4 are M, N, K.

Fields (both formats): a trailing comma is optional; SCALE-Sim ignores whatever follows the last comma, so a
trailing field starting with '#' (e.g. `#dw` in its MobileNet files) is a comment and ignored; a further
column, SCALE-Sim's sparsity ratio, is accepted only as "1:1" (dense). Convolution rows follow SCALE-Sim:
the IFMAP size already includes any padding, the output size is `oh = ⌈(H − fh + s) / s⌉` (SCALE-Sim rounds
up: 12×12, 3×3, stride 2 gives 6×6, where a framework's floor gives 5×5), and a layer whose name contains
"DP" is depthwise: it becomes one layer per channel (`<name>Channel_<i>`, 1 input channel each).
Duplicate layer names (SCALE-Sim allows them) are made unique by appending `_2`, `_3`, … and listed in
`Topology.renamed`. Every value is checked; an error names the row (1-based line number) and the column.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from golden.limits import DEFAULT_LIMITS, Limits
from golden.spec import NestedSpec

from .workload import Workload

COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
           "Num Filter", "Strides")
GEMM_COLUMNS = ("Layer", "M", "N", "K")
FORMATS = ("auto", "conv", "gemm")
DENSE = "1:1"
COMMENT = "#"


@dataclass(frozen=True)
class Topology:
    """A topology file read: its layers, the format it was read as, and the duplicate names renamed
    ((line number, name in the file, unique name))."""

    workload: Workload
    format: str
    renamed: tuple[tuple[int, str, str], ...]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def scalesim_out_size(size: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output size: ⌈(size − kernel + stride) / stride⌉."""
    return _ceil_div(size - kernel + stride, stride)


def split_fields(line: str) -> list[str]:
    """The stripped comma-separated fields of a row, without trailing empty fields and a trailing '#' comment."""
    fields = [f.strip() for f in line.split(",")]
    while fields and (fields[-1] == "" or fields[-1].startswith(COMMENT)):
        fields.pop()
    return fields


def detect_format(header: str) -> str:
    """"gemm" when the header's columns 2-4 are M, N, K (any case), else "conv"."""
    fields = [f.lstrip("\ufeff").upper() for f in split_fields(header)]
    return "gemm" if fields[1:4] == ["M", "N", "K"] else "conv"


def _positive_ints(fields: list[str], columns: tuple[str, ...], where: str) -> list[int]:
    """Columns 2.. of a row as positive ints; the sparsity column after them must be dense."""
    if len(fields) == len(columns) + 1:
        if fields[-1] != DENSE:
            raise ValueError(f"{where}, column {len(fields)} (sparsity): only dense {DENSE!r} is supported, "
                             f"got {fields[-1]!r}")
        fields = fields[:-1]
    if len(fields) != len(columns):
        raise ValueError(f"{where}: expected {len(columns)} columns ({', '.join(columns)}), got {len(fields)}")
    if not fields[0]:
        raise ValueError(f"{where}, column 1 ({columns[0]}): empty layer name")
    values = []
    for col, (text, column) in enumerate(zip(fields[1:], columns[1:]), start=2):
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
            raise ValueError(f"{where}, column {col} ({column}): expected a positive integer, got {text!r}")
        values.append(int(text))
    return values


def conv_layers(name: str, fields: list[str], where: str, limits: Limits,
                layers_before: int) -> list[tuple[str, tuple[int, int, int, int]]]:
    """One convolution row as [(name, (m, k, n, in_elems))]; a depthwise ("DP") row gives one per channel.
    Limits (check_row_limits) are checked before a depthwise row is expanded."""
    h, w, fh, fw, channels, filters, stride = _positive_ints(fields, COLUMNS, where)
    check_row_limits(where, channels, filters, channels * h * w, layers_before + (channels if "DP" in name else 1),
                     limits)
    if fh > h:
        raise ValueError(f"{where}, column 4 (Filter Height): {fh} exceeds IFMAP Height {h}")
    if fw > w:
        raise ValueError(f"{where}, column 5 (Filter Width): {fw} exceeds IFMAP Width {w}")
    npx = scalesim_out_size(h, fh, stride) * scalesim_out_size(w, fw, stride)
    if "DP" in name:
        return [(f"{name}Channel_{c}", (filters, fh * fw, npx, h * w)) for c in range(channels)]
    return [(name, (filters, fh * fw * channels, npx, channels * h * w))]


def check_row_limits(where: str, channels: int, filters: int, ifmap_elems: int, layers_after: int,
                     limits: Limits, columns: tuple[str, str] = ("column 6 (Channels)", "column 7 (Num Filter)")
                     ) -> None:
    """Resource limits of one row, before it is expanded: channels (or K) and filters (or N) <= max_channels,
    the input operand (channels·H·W, or M·K) <= max_tensor_elems, and the layer count after this row (a
    depthwise row adds one layer per channel) <= max_layers. `columns` name the channel and filter columns."""
    limits.check("max_channels", channels, f"{where}, {columns[0]}")
    limits.check("max_channels", filters, f"{where}, {columns[1]}")
    limits.check("max_tensor_elems", ifmap_elems, f"{where}: input elements")
    limits.check("max_layers", layers_after, f"{where}: layer count")


def gemm_layers(name: str, fields: list[str], where: str, limits: Limits,
                layers_before: int) -> list[tuple[str, tuple[int, int, int, int]]]:
    """One GEMM row `name, M, N, K` as [(name, (m = N, k = K, n = M, in_elems = M·K))] (module docstring)."""
    m_rows, n_cols, k = _positive_ints(fields, GEMM_COLUMNS, where)
    check_row_limits(where, k, n_cols, m_rows * k, layers_before + 1, limits, ("column 4 (K)", "column 3 (N)"))
    return [(name, (n_cols, k, m_rows, m_rows * k))]


def unique_names(names: list[str], lines: list[int]) -> tuple[list[str], list[tuple[int, str, str]]]:
    """`names` with each repeat renamed `<name>_<i>` (i = 2, 3, … skipping names already taken), and the
    (line, old, new) renames."""
    taken = set(names)
    seen: set[str] = set()
    out, renamed = [], []
    for name, line in zip(names, lines):
        new = name
        if name in seen:
            i = 2
            while f"{name}_{i}" in taken:
                i += 1
            new = f"{name}_{i}"
            taken.add(new)
            renamed.append((line, name, new))
        seen.add(new)
        out.append(new)
    return out, renamed


def read_topology(path, spec: NestedSpec, format: str = "auto", limits: Limits = DEFAULT_LIMITS) -> Topology:
    """The layers of a SCALE-Sim topology file as a `Topology` (workload at widths (N, N)); ValueError names
    the row and column of the first malformed value or exceeded limit (golden.limits)."""
    path = Path(path)
    if format not in FORMATS:
        raise ValueError(f"--topology-format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not path.is_file():
        raise ValueError(f"topology {path}: no such file")
    limits.check("max_file_bytes", path.stat().st_size, f"topology {path}: size")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"topology {path}: not UTF-8 text ({e})") from None
    if not lines:
        raise ValueError(f"topology {path}: empty file (the first row is the header)")
    kind = detect_format(lines[0]) if format == "auto" else format
    parse_row = gemm_layers if kind == "gemm" else conv_layers
    names, line_numbers, shapes = [], [], []
    for line_no, line in enumerate(lines[1:], start=2):
        fields = split_fields(line)
        if not fields:
            continue
        for name, shape in parse_row(fields[0], fields, f"topology {path}: row {line_no}", limits, len(names)):
            names.append(name)
            line_numbers.append(line_no)
            shapes.append(shape)
    if not names:
        raise ValueError(f"topology {path}: no layers (the first row is the header)")
    names, renamed = unique_names(names, line_numbers)
    count = len(names)
    m, k, n, in_elems = (list(col) for col in zip(*shapes))
    workload = Workload(names=tuple(names), m=m, k=k, n=n, in_elems=in_elems, out_bits=[spec.n_bits] * count,
                        residual_elems=[0] * count, residual_bits=[spec.n_bits] * count,
                        b_w=[spec.n_bits] * count, b_a=[spec.n_bits] * count)
    return Topology(workload, kind, tuple(renamed))
