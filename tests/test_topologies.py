"""Topology shapes and MAC counts (pinned numbers from the golden model issue)."""
import pytest

from golden.ir import Conv
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
