"""Multiply-accumulates counted: count_macs against Torch-Pruning's op counter, structure_costs against
the drop in count_macs when exactly that structure is pruned."""

import copy
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
tp = pytest.importorskip("torch_pruning")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import Regularizer, count_macs, prune, structure_costs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nn_models import make  # noqa: E402

torch.set_num_threads(1)


@pytest.mark.parametrize("arch", ["mlp", "cnn_bn", "resnet1d"])
def test_count_macs_matches_torch_pruning_on_linear_and_conv_layers(arch):
    model, x = make(arch)
    _, _, layer_flops, _ = tp.utils.count_ops_and_params(model, x, layer_wise=True)
    expected = 0
    for m in model.modules():  # torch-pruning adds the biases: out per Linear, out per output position per conv
        if isinstance(m, nn.Linear):
            expected += layer_flops[m] - (m.out_features if m.bias is not None else 0)
        elif isinstance(m, nn.modules.conv._ConvNd):
            per_position = m.weight.numel() + (m.out_channels if m.bias is not None else 0)
            assert layer_flops[m] % per_position == 0
            expected += layer_flops[m] // per_position * m.weight.numel()
    assert count_macs(model, x) == expected


def test_count_macs_of_attention_is_the_projections_and_the_products():
    model, x = make("transformer")  # 7 sequences of 5 tokens, width 8, 2 heads of 4, FFN 12, 3 features, 4 classes
    b, t, e, f = 7, 5, 8, 12
    expected = b * t * (3 * e + 3 * e * e + e * e + 2 * e * f) + b * 2 * t * t * e + b * e * 4
    assert count_macs(model, x) == expected


@pytest.mark.parametrize("arch", ["mlp", "cnn_bn", "resnet1d", "transformer"])
def test_the_cost_of_a_structure_is_what_pruning_it_saves(arch):
    model, x = make(arch, seed=2)
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    costs = structure_costs(model, x)
    assert costs.shape == (len(reg.structures),) and bool((costs > 0).all())
    total = count_macs(model, x)
    kinds = {}
    for g, st in enumerate(reg.structures):  # one structure of every layer / kind
        kinds.setdefault(st.name.split("[")[0], g)
    for g in kinds.values():
        net = copy.deepcopy(model)
        params = dict(net.named_parameters())
        with torch.no_grad():
            for s in reg.structures[g].parts:  # its rows and every column that reads it
                params[s.name].index_fill_(s.dim, s.index, 0.0)
        pruned = prune(net, example_inputs=x)
        assert total - count_macs(pruned, x) == pytest.approx(costs[g], rel=1e-9), reg.structures[g].name


def test_costs_follow_the_selection_and_weight_the_penalty():
    model, x = make("resnet1d")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x, include="blocks.1.*")
    costs = structure_costs(model, x, include="blocks.1.*")
    all_costs = structure_costs(model, x)
    names = [st.name for st in Regularizer(model, pz.GroupL1(0.1), example_inputs=x).structures]
    assert costs.tolist() == [all_costs[names.index(st.name)] for st in reg.structures]
    weighted = Regularizer(model, pz.GroupL1(0.1, weights=costs / costs.mean()), example_inputs=x,
                           include="blocks.1.*")
    assert float(weighted().detach()) > 0
    # in a 1-D CNN a middle channel costs its row and the next layer's column (per position): closed form
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv1d(4, 6, 3, padding=1), nn.ReLU(),
                        nn.Conv1d(6, 5, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 10, 2))
    xc = torch.randn(3, 1, 10)
    c = structure_costs(cnn, xc) / 3
    layers = [st.name.split("[")[0] for st in Regularizer(cnn, pz.GroupL1(0.1), example_inputs=xc).structures]
    expected = {"0": 10 * (1 * 3 + 6 * 3), "2": 10 * (4 * 3 + 5 * 3), "4": 10 * (6 * 3) + 2 * 10}
    assert c.tolist() == [expected[name] for name in layers]
    assert sorted(layers) == ["0"] * 4 + ["2"] * 6 + ["4"] * 5
    assert count_macs(cnn, xc) == 3 * (10 * 3 * (4 + 4 * 6 + 6 * 5) + 50 * 2)


def test_bad_input():
    model, x = make("mlp")
    with pytest.raises(TypeError, match="model"):
        count_macs("not a model", x)
    with pytest.raises(TypeError, match="example_inputs"):
        count_macs(model, x.numpy())
    with pytest.raises(TypeError, match="example_inputs"):
        structure_costs(model, "x")
