"""Plans (parse_plan) and the cost functions, including the pinned ResNet-18 figures on the cost function."""
import json

import pytest

from golden.costs import FLOAT_OPS_PER_TRANSITION, avg_bits, layer_costs, transition_shifts
from golden.plan import parse_plan, plan_from_mapping
from golden.spec import DEFAULT_SPEC as S
from golden.topologies import resnet18_cifar, resnet50_imagenet, tiny_resnet


def test_pinned_resnet18_uniform4_bitops_and_macs():
    net = resnet18_cifar()
    costs = layer_costs(net, parse_plan("uniform:4", net, S).layer_widths(net, S), S)
    assert sum(c.macs for c in costs) == 555_422_720
    assert sum(c.bitops for c in costs) == 8_971_943_936
    by_name = {c.name: c for c in costs}
    assert (by_name["conv1"].b_w, by_name["fc"].b_a, by_name["layer1.0.conv1"].b_w) == (8, 8, 4)


def test_uniform8_bitops_is_64_macs_and_no_transitions():
    net = resnet50_imagenet()
    costs = layer_costs(net, parse_plan("uniform:8", net, S).layer_widths(net, S), S)
    assert sum(c.bitops for c in costs) == 64 * 4_089_184_256
    assert sum(c.transition_shifts for c in costs) == 0
    assert avg_bits(costs) == 8.0


def test_transition_shifts_definition():
    layer = resnet18_cifar().op("layer2.0.conv1")  # 64->128, 3x3, stride 2, 32x32 input
    assert transition_shifts(layer, 4, 4, S) == 128 * 64 * 9 + 64 * 32 * 32
    assert transition_shifts(layer, 8, 4, S) == 64 * 32 * 32
    assert transition_shifts(layer, 4, 8, S) == 128 * 64 * 9
    assert transition_shifts(layer, 8, 8, S) == 0
    assert FLOAT_OPS_PER_TRANSITION == 2


def test_json_plan_file_mixed_widths(tmp_path):
    net = tiny_resnet()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"default": 6, "layer1.0.conv1": 2, "layer2.0.conv2": [4, 8], "conv1": 8}))
    widths = parse_plan(str(path), net, S).layer_widths(net, S)
    assert widths["layer1.0.conv1"] == (2, 2) and widths["layer2.0.conv2"] == (4, 8)
    assert widths["layer1.0.conv2"] == (6, 6) and widths["conv1"] == (8, 8) and widths["fc"] == (8, 8)
    costs = {c.name: c for c in layer_costs(net, widths, S)}
    assert costs["layer2.0.conv2"].bitops == net.op("layer2.0.conv2").macs * 32


@pytest.mark.parametrize("mapping, message", [
    ({"layer1.0.conv1": 4}, "no width for layer layer1.0.conv2"),
    ({"default": 4, "layer9.conv": 4}, "unknown layer 'layer9.conv'"),
    ({"default": 4, "layer1.0.conv1": 9}, r"layer layer1.0.conv1: b_w must be in \[2, 8\], got 9"),
    ({"default": 4, "layer1.0.conv1": [4, 1]}, "layer layer1.0.conv1: b_a must be in"),
    ({"default": 4, "layer1.0.conv1": [4, 4, 4]}, "layer layer1.0.conv1: width must be an int or"),
    ({"default": 4, "fc": 4}, "layer fc always runs at N=8 bits"),
])
def test_plan_errors_name_layer_and_width(mapping, message):
    with pytest.raises(ValueError, match=message):
        plan_from_mapping("p", mapping, tiny_resnet(), S)


def test_plan_string_errors(tmp_path):
    net = tiny_resnet()
    with pytest.raises(ValueError, match="width 'x'"):
        parse_plan("uniform:x", net, S)
    with pytest.raises(ValueError, match="b_w must be in"):
        parse_plan("uniform:1", net, S)
    with pytest.raises(ValueError, match="no such file"):
        parse_plan(str(tmp_path / "missing.json"), net, S)
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ValueError, match="invalid JSON"):
        parse_plan(str(tmp_path / "bad.json"), net, S)
    with pytest.raises(TypeError, match="b_w must be an int"):
        plan_from_mapping("p", {"default": 4.0}, net, S)
