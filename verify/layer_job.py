"""A conv layer of a golden model as an RTL job: GEMM operands (im2col driven from Python), per-filter
requant parameters, the residual, and the golden layer output it must reproduce.

    W (M, K) = weight master codes reshaped;  A (K, N) = im2col(x) master codes;  Y (M, N) = run_layer(...)
The RTL computes Y tile by tile (verify.gemm.tiles); the output kind maps to the output unit's mode:
act -> relu, wide -> wide, logits -> logits.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from golden.inference import infer, run_layer
from golden.ir import INPUT
from golden.model import NestedModel
from golden.session import resolve_images, resolve_model

from .gemm import Tile, im2col, tile_operands
from .tile_job import TileConfig, TileJob

MODE_OF_KIND = {"act": "relu", "wide": "wide", "logits": "logits"}


@dataclass(frozen=True)
class LayerJob:
    name: str
    mode: str
    b_w: int
    b_a: int
    a_signed: bool
    s: int
    res_en: bool
    weights: np.ndarray   # (M, K)
    acts: np.ndarray      # (K, N)
    bias: np.ndarray      # (M,)
    m: np.ndarray         # (M,)
    m_r: np.ndarray       # (M,)
    resid: np.ndarray     # (M, N)
    expected: np.ndarray  # (M, N) golden layer output

    @property
    def config(self) -> TileConfig:
        """The configuration every tile of this layer starts with (K = the whole reduction)."""
        return TileConfig(self.b_w, self.b_a, self.a_signed, self.mode, self.s, self.res_en, self.weights.shape[1])

    def tile(self, t: Tile, rows: int, cols: int) -> TileJob:
        """The TileJob of output block t on an R×C array: operands, per-filter parameters and residual rows,
        zero-padded on an edge tile."""
        w, a = tile_operands(self.weights, self.acts, t, rows, cols)
        params = [np.zeros(rows, np.int64) for _ in range(3)]
        for dst, src in zip(params, (self.bias, self.m, self.m_r)):
            dst[:t.rows] = src[t.m0:t.m0 + t.rows]
        resid = np.zeros((rows, cols), np.int64)
        resid[:t.rows, :t.cols] = self.resid[t.m0:t.m0 + t.rows, t.n0:t.n0 + t.cols]
        return TileJob(w, a, *params, resid, self.config)

    def save(self, path: Path) -> None:
        np.savez(path, **{k: np.asarray(v) for k, v in asdict(self).items()})

    @classmethod
    def load(cls, path: Path) -> "LayerJob":
        with np.load(path) as z:
            d = {k: z[k] for k in z.files}
        for k in ("name", "mode"):
            d[k] = str(d[k])
        for k in ("b_w", "b_a", "s"):
            d[k] = int(d[k])
        for k in ("a_signed", "res_en"):
            d[k] = bool(d[k])
        return cls(**d)


def layer_job(model: NestedModel, name: str, x: np.ndarray, b_w: int, b_a: int,
              residual: np.ndarray | None = None) -> LayerJob:
    """The job of layer `name` on one image's input x (1, C, H, W) (and residual (1, M, OH, OW))."""
    layer = model.network.op(name)
    p = model.params(name)
    m_out = layer.out_ch
    expected = run_layer(model, name, x, b_w, b_a, residual)
    acts = im2col(np.asarray(x[0], dtype=np.int64), layer.kernel, layer.stride, layer.padding) \
        if layer.kind == "conv" else np.asarray(x[0], dtype=np.int64).reshape(-1, 1)
    n_pix = acts.shape[1]
    zeros = np.zeros(m_out, dtype=np.int64)
    return LayerJob(
        name=name, mode=MODE_OF_KIND[layer.output_kind], b_w=b_w, b_a=b_a,
        a_signed=model.tensor_signed(layer.input), s=int(p.shift or 0), res_en=residual is not None,
        weights=np.asarray(p.weight, dtype=np.int64).reshape(m_out, -1), acts=acts,
        bias=np.asarray(p.bias, dtype=np.int64), m=zeros if p.m is None else np.asarray(p.m, dtype=np.int64),
        m_r=zeros if p.m_r is None else np.asarray(p.m_r, dtype=np.int64),
        resid=np.zeros((m_out, n_pix), np.int64) if residual is None else np.asarray(residual[0]).reshape(m_out, -1),
        expected=np.asarray(expected[0], dtype=np.int64).reshape(m_out, -1))


@lru_cache(maxsize=4)
def reference_run(model_name: str = "resnet18", seed: int = 0):
    """(model, tensors) of one seeded synthetic image through the model at N bits, with every op's output kept
    (the inputs and residuals the layer benches feed the RTL). model_name: a topology (its seeded synthetic model)
    or a model file (golden.session.resolve_model)."""
    model = resolve_model(model_name, seed)
    image = resolve_images(model, 1, seed, None)
    tensors = dict(infer(model, image, plan=f"uniform:{model.spec.n_bits}", keep_tensors=True).tensors)
    tensors[INPUT] = image
    return model, tensors


def prepare_layer_job(name: str, b_w: int, b_a: int, out_dir: Path, model_name: str = "resnet18",
                      seed: int = 0) -> Path:
    """Write the job of layer `name` of `model_name` (reference_run) into out_dir; returns its path."""
    model, tensors = reference_run(model_name, seed)
    layer = model.network.op(name)
    res = tensors[layer.residual] if layer.residual else None
    job = layer_job(model, name, tensors[layer.input], b_w, b_a, res)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{Path(model_name).stem}-{seed}-{name}-w{b_w}a{b_a}.npz"
    job.save(path)
    return path


def model_layer_picks(model: NestedModel, k_max: int) -> dict[str, tuple[str, int, int]]:
    """The layers of `model` the conv-layer benches run (make verify MODEL=...), as role -> (layer, b_w, b_a):
    "stem" (the first layer, widths N, N), "middle" (a downsample "wide" layer if the model has one, else the
    switchable layer in the middle of the network, at the second-smallest b_w and second-largest b_a candidate)
    and "fused" (the switchable layer with the smallest K <= k_max, at the smallest candidate b_w and N/2 - 1 bits
    for b_a, so the fused design runs packed lanes with a rounded-up width)."""
    net, spec = model.network, model.spec
    cands, n = sorted(spec.candidates), spec.n_bits
    switchable = net.switchable_layers
    if not switchable:
        raise ValueError(f"model {net.name} has no switchable layer to verify at reduced widths")
    wide = [layer for layer in switchable if layer.output_kind == "wide"]
    middle = wide[0] if wide else switchable[len(switchable) // 2]
    small = sorted((layer for layer in switchable if layer.in_ch * layer.kernel ** 2 <= k_max),
                   key=lambda layer: layer.in_ch * layer.kernel ** 2)
    if not small:
        raise ValueError(f"model {net.name}: no switchable layer has K <= {k_max} (the fused bench's buffer depth)")
    b_w, b_a = (cands[1], cands[-2]) if len(cands) > 1 else (n, n)
    return {"stem": (net.layers[0].name, n, n), "middle": (middle.name, b_w, b_a),
            "fused": (small[0].name, cands[0], max(cands[0], n // 2 - 1))}
