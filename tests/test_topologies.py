"""Topology shapes and MAC counts (pinned numbers from the golden model issue)."""
import pytest

from golden.ir import Conv, GlobalAvgPool, MaxPool, Network
from golden.topologies import resnet18_cifar, resnet50_imagenet, tiny_bottleneck, tiny_resnet, topology


def test_resnet18_cifar_macs():
    assert resnet18_cifar().macs == 555_422_720


def test_resnet50_imagenet_macs():
    assert resnet50_imagenet().macs == 4_089_184_256


def test_resnet18_structure():
    net = resnet18_cifar()
    assert len(net.layers) == 21  # stem + 16 block convs + 3 downsample + fc
    assert len(net.switchable_layers) == 19
    assert net.controller_input == "conv1"
    assert net.op("layer4.1.conv2").out_hw == (4, 4)
    assert net.op("layer2.0.conv2").residual == "layer2.0.downsample"
    assert net.op("layer1.0.conv2").residual == "conv1"
    assert net.op("fc").weight_shape == (10, 512)


def test_resnet50_structure():
    net = resnet50_imagenet()
    assert len(net.layers) == 1 + 16 * 3 + 4 + 1
    assert net.controller_input == "maxpool"
    assert net.op("maxpool").out_hw == (56, 56)
    assert net.op("layer2.0.conv2").stride == 2  # stride on the 3×3 conv, as torchvision v1.5
    assert net.op("layer4.2.conv3").out_hw == (7, 7)
    assert net.op("fc").weight_shape == (1000, 2048)


@pytest.mark.parametrize("make", [tiny_resnet, tiny_bottleneck])
def test_tiny_nets_have_every_op_kind(make):
    net = make()
    kinds = {op.kind for op in net.ops}
    assert kinds == {"conv", "maxpool", "gap", "linear"}
    assert any(isinstance(op, Conv) and op.output_kind == "wide" for op in net.ops)


def test_unknown_topology_names_it():
    with pytest.raises(ValueError, match="resnet99"):
        topology("resnet99")


def _net(*ops, input_shape=(2, 4, 4), num_classes=3):
    return Network("t", input_shape, ops, "input", num_classes)


FC = Conv("fc", "gap", 2, 3, (1, 1), output_kind="logits", switchable=False, kind="linear")


def test_network_checks_declared_shapes_against_the_tensors_read():
    conv = Conv("c", "input", 2, 2, (4, 4), 3, 1, 1, switchable=False)
    _net(conv, GlobalAvgPool("gap", "c", 2, (4, 4)), FC)  # consistent
    with pytest.raises(ValueError, match=r"op gap declares input shape \(2, 3, 3\) but tensor 'c' has shape "
                                         r"\(2, 4, 4\)"):
        _net(conv, GlobalAvgPool("gap", "c", 2, (3, 3)), FC)
    with pytest.raises(ValueError, match=r"op c declares input shape \(2, 4, 4\) but tensor 'input' has shape "
                                         r"\(3, 4, 4\)"):
        _net(conv, GlobalAvgPool("gap", "c", 2, (4, 4)), FC, input_shape=(3, 4, 4))
    strided = Conv("s", "c", 2, 2, (4, 4), 3, 2, 1, residual="c")
    with pytest.raises(ValueError, match=r"op s output shape \(2, 2, 2\) != shape \(2, 4, 4\) of its residual"):
        _net(conv, strided, GlobalAvgPool("gap", "s", 2, (2, 2)), FC)
    with pytest.raises(ValueError, match="num_classes=4"):
        _net(conv, GlobalAvgPool("gap", "c", 2, (4, 4)), FC, num_classes=4)


def test_op_geometry_is_checked_naming_op_and_field():
    with pytest.raises(TypeError, match=r"op c: stride must be an int, got 1.5"):
        Conv("c", "input", 2, 2, (4, 4), 3, 1.5, 1)
    with pytest.raises(ValueError, match=r"op c: padding must be >= 0, got -1"):
        Conv("c", "input", 2, 2, (4, 4), 1, 1, -1)
    with pytest.raises(ValueError, match=r"op c: in_hw must be two ints >= 1"):
        Conv("c", "input", 2, 2, (4, 0), 1)
    with pytest.raises(ValueError, match="a linear has kernel 1"):
        Conv("fc", "gap", 2, 3, (2, 2), kind="linear")
    with pytest.raises(ValueError, match=r"op p: padding must be < kernel=3, got 3"):
        MaxPool("p", "input", 2, (4, 4), 3, 2, 3)
    with pytest.raises(ValueError, match=r"op g: channels must be >= 1, got 0"):
        GlobalAvgPool("g", "input", 0, (4, 4))
