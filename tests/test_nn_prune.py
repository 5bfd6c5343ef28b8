"""penalized.nn.prune and sparsity_report: fewer parameters, identical outputs."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, Regularizer, prune, sparsity_report  # noqa: E402

torch.set_num_threads(1)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def zero_rows(layer, rows):
    with torch.no_grad():
        layer.weight[rows] = 0.0


def assert_same_function(model, pruned, x):
    model.eval()
    pruned.eval()
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-5, atol=1e-5)


def test_mlp_dead_rows_with_bias_fold_into_next_bias():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 8), nn.Tanh(), nn.Dropout(0.2),
                          nn.Linear(8, 3))
    with torch.no_grad():
        model[0].bias.uniform_(0.5, 1.0)  # dead ReLU units still output relu(b) > 0
    zero_rows(model[0], [1, 4, 5, 9])
    zero_rows(model[2], [0, 7])
    with torch.no_grad():
        model[5].weight[:, 3] = 0.0  # unit 3 of layer 2 feeds nothing
    pruned = prune(model)
    assert [pruned[0].out_features, pruned[2].in_features, pruned[2].out_features, pruned[5].in_features] == \
        [6, 6, 5, 5]
    assert n_params(pruned) < n_params(model)
    assert model[0].weight.shape == (10, 5)  # the original is untouched
    assert_same_function(model, pruned, torch.randn(64, 5))


def test_batchnorm_prelu_and_missing_next_bias():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.PReLU(6), nn.Linear(6, 2, bias=False))
    model.train()
    model(torch.randn(50, 4))  # running statistics
    zero_rows(model[0], [0, 2, 3])
    pruned = prune(model)
    assert pruned[1].num_features == 3 and pruned[2].weight.shape == (3,) and pruned[3].bias is not None
    assert_same_function(model, pruned, torch.randn(20, 4))


def test_conv_channels_through_pooling_and_flatten():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3),
                          nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8 * 4, 4))
    model.eval()
    with torch.no_grad():
        model[0].bias.uniform_(0.1, 0.5)
        model[4].running_mean.uniform_(-0.5, 0.5)
    zero_rows(model[0], [0, 3])
    zero_rows(model[3], [1, 2, 6])
    pruned = prune(model)
    assert (pruned[0].out_channels, pruned[3].in_channels, pruned[3].out_channels) == (4, 4, 5)
    assert pruned[8].in_features == 5 * 4 and pruned[4].num_features == 5
    assert_same_function(model, pruned, torch.randn(3, 1, 14, 14))


def test_zero_padding_keeps_channels_with_a_nonzero_constant():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=1))
    with torch.no_grad():
        model[0].bias.copy_(torch.tensor([0.5, -0.5, 0.3, 0.2]))
    zero_rows(model[0], [0, 1])  # unit 0 outputs relu(0.5) ≠ 0 (border differs), unit 1 outputs 0
    pruned = prune(model)
    assert pruned[0].out_channels == 3
    assert_same_function(model, pruned, torch.randn(2, 2, 7, 7))


def test_unsupported_models():
    with pytest.raises(TypeError, match="prune works on nn.Sequential"):
        prune(nn.Linear(3, 2))
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))  # LayerNorm mixes units
    zero_rows(model[0], [0])
    pruned = prune(model)
    assert pruned[0].out_features == 4
    assert_same_function(model, pruned, torch.randn(5, 3))


def test_group_lasso_training_then_prune_and_report():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3))
    x, y = torch.randn(128, 8), torch.randint(0, 3, (128,))
    reg = Regularizer(model, {"4.*": None, "*": pz.GroupL1(0.02)})
    opt = ProxAdamW(reg.param_groups(), lr=0.02)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    report = sparsity_report(model)
    assert [r.name for r in report.layers] == ["0", "2", "4"]
    assert report.layers[0].zeroed_units > 0 and report.layers[2].zeroed_units == 0
    pruned = prune(model)
    assert_same_function(model, pruned, x)
    assert report.total_params_after == n_params(pruned) < report.total_params
    for row in report.layers:
        assert row.zeros == int((dict(model.named_modules())[row.name].weight == 0).sum())
        assert row.params_after == sum(p.numel() for p in dict(pruned.named_modules())[row.name].parameters())
    text = str(report)
    assert "zeroed units" in text and "total" in text
    d = report.to_dict()
    assert d["zeroed_units"] == report.zeroed_units and d["layers"][0]["shape"] == [32, 8]
    assert 0 < d["zero_fraction"] < 1


def test_report_without_prune_support():
    model = nn.ModuleDict({"a": nn.Linear(3, 2)})
    zero_rows(model["a"], [0])
    report = sparsity_report(model)
    assert report.layers[0].zeroed_units == 1 and report.layers[0].params_after is None
    assert report.total_params_after is None and "—" in str(report)
