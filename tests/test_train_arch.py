"""train/arch.py, resnet.py, fold.py: IR equal to golden's topologies, torchvision key layout, BN folding."""
import pytest
import torch

from golden.topologies import resnet18_cifar, resnet50_imagenet, tiny_bottleneck, tiny_resnet
from train.arch import ResNetArch, arch
from train.fold import fold_resnet
from train.resnet import ResNet


@pytest.mark.parametrize("name, golden", [("resnet18_cifar", resnet18_cifar), ("resnet50", resnet50_imagenet)])
def test_arch_network_equals_golden_topology(name, golden):
    assert arch(name).network() == golden()


def test_tiny_archs_equal_golden_tiny_topologies():
    tiny = ResNetArch("tiny", (3, 16, 16), (3, 1, 1), True, (8, 16), (1, 1), "basic", 10)
    tb = ResNetArch("tiny_bottleneck", (3, 16, 16), (3, 1, 1), True, (4, 8), (1, 1), "bottleneck", 10)
    assert tiny.network() == tiny_resnet()
    assert tb.network() == tiny_bottleneck()


@pytest.mark.parametrize("name, n_keys", [("resnet18", 122), ("resnet50", 320)])
def test_state_dict_has_torchvision_layout(name, n_keys):
    keys = list(ResNet(arch(name)).state_dict())
    assert len(keys) == n_keys  # torchvision.models.resnet18 / resnet50 state_dict sizes
    for k in ("conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
              "layer2.0.downsample.1.num_batches_tracked", "layer4.1.bn2.bias", "fc.weight", "fc.bias"):
        assert k in keys


def test_resnet_output_shapes_follow_the_ir():
    a = arch("resnet18").with_input((3, 64, 64)).with_classes(7)
    net = a.network()
    assert ResNet(a)(torch.zeros(2, 3, 64, 64)).shape == (2, 7)
    assert net.op("layer4.1.conv2").out_hw == (2, 2)


def test_folding_equals_conv_then_batchnorm():
    torch.manual_seed(0)
    a = arch("digits")
    model = ResNet(a)
    for m in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()
    model.eval()
    folded = fold_resnet(model, a.network())
    x = torch.randn(3, 16, 8, 8, dtype=torch.float64)
    block = model.layer1[0]
    ref = block.bn1(block.conv1(x.float())).double()
    w, b = folded["layer1.0.conv1"]
    got = torch.nn.functional.conv2d(x, w, b, padding=1)
    assert torch.allclose(got, ref, atol=1e-4)
    assert set(folded) == {layer.name for layer in a.network().layers}


def test_unknown_arch_names_the_known_ones():
    with pytest.raises(ValueError, match="resnet50"):
        arch("vgg16")
