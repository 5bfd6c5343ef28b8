"""The HESSO arm of benchmarks/nn_budget.py (``benchmarks.nn_hesso``): HESSO's optimizer on OTO-format
Conv → BatchNorm channel groups reaches its target number of exactly-zero channels, and prune removes
exactly those with the same outputs. Skipped when only-train-once (the ``bench`` extra) is missing."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.nn_hesso import conv_bn_groups, hesso_optimizer, import_oto  # noqa: E402

from penalized.nn import prune  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nn_models import make  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.skipif(import_oto() is None, reason="only-train-once is not installed")]


def test_hesso_groups_are_the_conv_bn_channels():
    model, _ = make("cnn_bn")
    groups = conv_bn_groups(model)
    prunable = [g for g in groups if g["is_prunable"]]
    assert [g["num_groups"] for g in prunable] == [6, 5]
    assert prunable[0]["p_names"] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    named = {n for g in groups for n in g["p_names"]}
    assert named == {n for n, _ in model.named_parameters()}  # every parameter once


def test_hesso_reaches_its_zero_channels_and_prune_removes_exactly_them():
    model, x = make("cnn_bn", seed=3)
    torch.manual_seed(3)
    xs, y = torch.randn(64, *x.shape[1:]), torch.randint(0, 3, (64,))
    opt = hesso_optimizer(model, lr=0.05, momentum=0.9, target_group_sparsity=4.5 / 11, start_pruning_step=5,
                          pruning_steps=20, pruning_periods=2)
    model.train()
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()
    dead = {}
    for conv, bn in ((model[0], model[1]), (model[4], model[5])):
        rows = torch.cat([conv.weight.detach().flatten(1), conv.bias.detach()[:, None],
                          bn.weight.detach()[:, None], bn.bias.detach()[:, None]], 1)
        dead[conv] = int((rows == 0).all(1).sum())
    assert sum(dead.values()) == 4  # int(11 · 4.5/11): HESSO's target, exactly zero
    model.eval()
    small = prune(model, example_inputs=xs)
    assert small[0].out_channels + small[4].out_channels == 11 - 4
    with torch.no_grad():
        torch.testing.assert_close(small(xs), model(xs), rtol=1e-5, atol=1e-5)
