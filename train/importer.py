"""Import a float torchvision-layout ResNet checkpoint as a calibrated nested-integer golden model
(post-training quantization: fold BatchNorm, calibrate every step on float images, export; no controller).

Checkpoints are read with torch.load(weights_only=True) (no arbitrary unpickling). A checkpoint may be the
state_dict itself or a dict holding it under "state_dict" or "model"; a "module." prefix (DataParallel) is
stripped. Missing, unexpected or mis-shaped keys raise ValueError naming them.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from golden.model import NestedModel
from golden.spec import DEFAULT_SPEC, NestedSpec

from .arch import ResNetArch, arch as arch_by_name
from .calibrate import calibrate
from .data import load_cifar10, load_digits
from .export import export_model_file
from .fold import fold_resnet
from .nested import NestedNet
from .resnet import ResNet
from .runtime import limit_threads

WRAPPER_KEYS = ("state_dict", "model")
IGNORED_SUFFIX = "num_batches_tracked"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def load_state_dict(path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, loaded safely (weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError / RuntimeError for unsafe or garbled files
        raise ValueError(f"checkpoint {path}: not loadable with weights_only=True ({type(e).__name__}: {e})") from e
    for key in WRAPPER_KEYS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"checkpoint {path}: expected a state_dict (name -> tensor)")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def build_float_model(state: dict[str, torch.Tensor], arch: ResNetArch) -> ResNet:
    """A float `ResNet` of `arch` (class count from fc.weight) loaded from `state`; clear errors on keys."""
    if "fc.weight" not in state or state["fc.weight"].dim() != 2:
        raise ValueError(f"checkpoint for {arch.name}: key 'fc.weight' missing or not 2-D (classes, features)")
    model = ResNet(arch.with_classes(int(state["fc.weight"].shape[0])))
    expected = model.state_dict()
    given = {k: v for k, v in state.items() if not k.endswith(IGNORED_SUFFIX)}
    wanted = {k for k in expected if not k.endswith(IGNORED_SUFFIX)}
    missing, unexpected = sorted(wanted - set(given)), sorted(set(given) - wanted)
    if missing or unexpected:
        raise ValueError(f"checkpoint does not match arch {arch.name}: missing keys {missing[:8]}"
                         f"{' …' if len(missing) > 8 else ''} ({len(missing)}), unexpected keys {unexpected[:8]}"
                         f"{' …' if len(unexpected) > 8 else ''} ({len(unexpected)})")
    for k in sorted(wanted):
        if tuple(given[k].shape) != tuple(expected[k].shape):
            raise ValueError(f"checkpoint key {k}: shape {tuple(given[k].shape)} != {tuple(expected[k].shape)} "
                             f"expected by arch {arch.name}")
    model.load_state_dict(given, strict=False)
    return model.eval()


def _fit(images: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Resize (bilinear) to shape's H×W and repeat a single channel to shape's C."""
    c, h, w = shape
    if images.shape[1] == 1 and c > 1:
        images = images.repeat(1, c, 1, 1)
    if images.shape[1] != c:
        raise ValueError(f"calibration images have {images.shape[1]} channels, the model needs {c}")
    if tuple(images.shape[2:]) != (h, w):
        images = F.interpolate(images, size=(h, w), mode="bilinear", align_corners=False)
    return images


def _read_image_dir(directory: Path, count: int) -> torch.Tensor:
    """.npy float arrays (N, C, H, W) or (C, H, W) taken as normalized, else PNG/JPEG files normalized with
    the ImageNet channel statistics; at most `count` images, in file-name order."""
    npys = sorted(directory.glob("*.npy"))
    if npys:
        arrays = []
        for p in npys:
            a = np.load(p, allow_pickle=False)
            if a.ndim not in (3, 4):
                raise ValueError(f"calibration array {p}: shape {a.shape}, expected (N, C, H, W) or (C, H, W)")
            if arrays and a.shape[-3:] != arrays[0].shape[1:]:
                raise ValueError(f"calibration array {p}: images of shape {a.shape[-3:]}, but "
                                 f"{npys[0].name} holds {arrays[0].shape[1:]}")
            arrays.append(a[None] if a.ndim == 3 else a)
        return torch.from_numpy(np.concatenate(arrays)[:count].astype(np.float32))
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:count]
    if not files:
        raise ValueError(f"calibration directory {directory}: no CIFAR-10 batches, .npy arrays or PNG/JPEG images")
    from PIL import Image
    out = []
    for p in files:
        rgb = np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0
        x = (rgb - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
        out.append(torch.from_numpy(x.transpose(2, 0, 1).copy()))
    sizes = {tuple(t.shape) for t in out}
    if len(sizes) > 1:
        out = [F.interpolate(t[None], size=out[0].shape[1:], mode="bilinear", align_corners=False)[0] for t in out]
    return torch.stack(out)


def calibration_images(source: str | None, shape: tuple[int, int, int], count: int) -> torch.Tensor:
    """`count` float images of `shape`: from a directory (CIFAR-10 batches, .npy arrays or image files), or
    the digits set (source None or "digits") resized and channel-repeated."""
    if count < 1:
        raise ValueError(f"calibration count must be >= 1, got {count}")
    if source in (None, "digits"):
        images = load_digits().train.images[:count]
    else:
        directory = Path(source)
        if not directory.is_dir():
            raise ValueError(f"calibration source {source!r} is neither 'digits' nor a directory")
        try:
            images = load_cifar10(directory).train.images[:count]
        except ValueError as cifar_error:
            if any(directory.glob("data_batch_*")) or any(directory.glob("cifar-10-batches-*")):
                raise cifar_error
            images = _read_image_dir(directory, count)
    return _fit(images, shape)


def import_checkpoint(checkpoint, arch_name: str, out_path, calib: str | None = None, calib_count: int = 32,
                      input_size: int | None = None, spec: NestedSpec = DEFAULT_SPEC,
                      progress: Callable[[str], None] | None = None) -> NestedModel:
    """Checkpoint -> calibrated golden model file at `out_path` (module docstring). `input_size` overrides
    the arch's H = W (e.g. 32 for a quick test of an ImageNet layout)."""
    limit_threads()
    arch = arch_by_name(arch_name)
    if input_size is not None:
        arch = arch.with_input((arch.input_shape[0], input_size, input_size))
    float_model = build_float_model(load_state_dict(checkpoint), arch)
    arch = float_model.arch
    network = arch.network()
    if progress:
        progress(f"{checkpoint}: {arch.name}, {len(network.layers)} conv/linear layers, {arch.num_classes} classes, "
                 f"input {arch.input_shape}; calibrating on {calib_count} images from {calib or 'digits'}")
    net = NestedNet(network, spec, fold_resnet(float_model, network), 1.0, controller=False)
    calibrate(net, calibration_images(calib, arch.input_shape, calib_count))
    model = export_model_file(net, out_path)
    if progress:
        progress(f"wrote {out_path}")
    return model
