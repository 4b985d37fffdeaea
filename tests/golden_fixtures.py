"""Shared test models: a hand-checkable 4-op network whose every value is worked out in test_inference.py."""
import numpy as np

from golden.ir import Conv, GlobalAvgPool, Network
from golden.model import ConvParams, GapParams, NestedModel
from golden.spec import DEFAULT_SPEC


def _params(weight, bias, m=None, shift=None, m_r=None):
    weight = np.array(weight, dtype=np.int8)
    return ConvParams(weight, np.array(bias, dtype=np.int32), None if m is None else np.array(m, dtype=np.int64),
                      shift, None if m_r is None else np.array(m_r, dtype=np.int64),
                      np.full(weight.shape[0], 0.01))


def hand_model() -> NestedModel:
    """input 1×2×2 signed -> conv1 (1×1, 1->2, N bits) -> block conv (1×1, 2->2, residual conv1, switchable)
    -> global avg pool (m=1, s=2) -> fc (2->2 logits)."""
    ops = (Conv("conv1", "input", 1, 2, (2, 2), switchable=False),
           Conv("block", "conv1", 2, 2, (2, 2), residual="conv1"),
           GlobalAvgPool("avgpool", "block", 2, (2, 2)),
           Conv("fc", "avgpool", 2, 2, (1, 1), output_kind="logits", switchable=False, kind="linear"))
    net = Network("hand", (1, 2, 2), ops, "conv1", 2)
    layers = {
        "conv1": _params([[[[3]]], [[[-2]]]], [5, 100], [1, 1], 2),
        "block": _params([[[[64]], [[-37]]], [[[100]], [[7]]]], [-100, 300], [3, 1], 6, [16, 32]),
        "fc": _params([[1, -1], [-2, 3]], [0, 10], [5, 5], 1),
    }
    scales = {"input": 0.05, "conv1": 0.1, "block": 0.2, "avgpool": 0.2, "fc": 0.01}
    return NestedModel(net, DEFAULT_SPEC, layers, {"avgpool": GapParams(1, 2)}, scales)


HAND_IMAGE = np.array([[[[10, -20], [127, -128]]]])
