"""BatchNorm recalibration (recalibrate_batchnorm, prune(calibrate=)) and the staleness measure."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from _nn_models import make  # noqa: E402
from penalized.nn import batchnorm_drift, prune, recalibrate_batchnorm  # noqa: E402


def _batches(x, n=4, seed=3):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn((16, *x.shape[1:]), generator=g) * 2 + 1, torch.zeros(16)) for _ in range(n)]


def test_recalibration_equals_the_average_of_batch_statistics():
    model, x = make("cnn_bn")
    model.train()
    model[0].train()
    model[6].p = 0.0  # a ReLU: training flags of other modules must come back as they were
    loader = _batches(x)
    bn = model[1]
    momentum = bn.momentum
    recalibrate_batchnorm(model, loader)
    # reference: per batch, the conv's output statistics over batch and length (unbiased variance)
    with torch.no_grad():
        outs = [model[0](xb) for xb, _ in loader]
    means = torch.stack([o.mean(dim=(0, 2)) for o in outs]).mean(0)
    vars_ = torch.stack([o.transpose(0, 1).reshape(o.shape[1], -1).var(dim=1, unbiased=True) for o in outs]).mean(0)
    torch.testing.assert_close(bn.running_mean, means, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bn.running_var, vars_, rtol=1e-5, atol=1e-6)
    assert bn.momentum == momentum and model.training and all(m.training for m in model.modules())
    assert int(bn.num_batches_tracked) == len(loader)


def test_drift_is_zero_after_recalibrating_on_the_same_batch_and_large_when_stale():
    model, x = make("cnn_bn")
    batch = _batches(x, n=1)
    before = batchnorm_drift(model, batch[0])
    assert set(before) == {"1", "5"} and before["1"] > 0.5  # inputs shifted by +1 and scaled by 2
    recalibrate_batchnorm(model, batch)
    after = batchnorm_drift(model, batch[0])
    assert after["1"] < 1e-5
    # the second norm saw the first one's batch statistics (biased variance) during the pass
    assert after["5"] < 0.05 < before["5"]
    assert not model.training  # eval as it was


def test_prune_calibrate_recomputes_the_pruned_copys_statistics():
    model, x = make("cnn_bn")
    with torch.no_grad():  # zero channel 2 of the first conv with its BN entries
        model[0].weight[2] = 0
        model[0].bias[2] = 0
        model[1].weight[2] = 0
        model[1].bias[2] = 0
    loader = _batches(x)
    plain = prune(model, example_inputs=x)
    calibrated = prune(model, example_inputs=x, calibrate=loader)
    assert calibrated[0].out_channels == 5
    reference = recalibrate_batchnorm(plain, loader)
    for a, b in zip(calibrated.modules(), reference.modules(), strict=True):
        if isinstance(a, nn.BatchNorm1d):
            torch.testing.assert_close(a.running_mean, b.running_mean)
            torch.testing.assert_close(a.running_var, b.running_var)
    with torch.no_grad():
        torch.testing.assert_close(calibrated(x), reference(x))
    # the original is untouched
    assert float(model[1].running_mean.abs().sum()) > 0


def test_flat_prune_calibrate_and_bad_input():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).eval()
    with torch.no_grad():
        model[0].weight[1] = 0
    loader = [torch.randn(8, 4) + 3 for _ in range(2)]
    small = prune(model, calibrate=loader)
    torch.testing.assert_close(small[1].running_mean, torch.cat([small[0](b) for b in loader]).mean(0).detach(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no batch"):
        recalibrate_batchnorm(model, [])
    with pytest.raises(ValueError, match="max_batches"):
        recalibrate_batchnorm(model, loader, max_batches=0)
    assert recalibrate_batchnorm(nn.Linear(2, 2), loader) is not None  # no BatchNorm: unchanged


def test_exported():
    assert pz.nn.recalibrate_batchnorm is recalibrate_batchnorm
