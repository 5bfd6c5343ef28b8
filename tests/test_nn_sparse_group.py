"""The sparse group lasso on coupled structures (``pz.L1(a) + pz.GroupL1(b)`` with example_inputs) and
optimizer checkpoints with coupled penalties (``torch.load(weights_only=True)``)."""

import io
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, ProxSGD, Regularizer, prune  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nn_models import make  # noqa: E402

torch.set_num_threads(1)


def gather(reg, tensors):
    """Per structure, the flat vector of its entries in ``tensors`` ({name: tensor shaped like the parameter})."""
    return [torch.cat([tensors[name].index_select(dim, torch.as_tensor(idx)).flatten()
                       for name, dim, idx in st.slices()]) for st in reg.structures]


def joined(vectors):
    """One 1-D vector and its group labels (what the linear-model penalties take)."""
    labels = np.concatenate([np.full(v.numel(), g) for g, v in enumerate(vectors)])
    return torch.cat(vectors).double(), labels


def current(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("arch", ["cnn_bn", "resnet1d", "transformer"])
def test_value_is_the_sparse_group_lasso_over_the_structures(arch):
    model, x = make(arch)
    n = len(Regularizer(model, pz.GroupL1(0.1), example_inputs=x).structures)
    c = np.linspace(0.5, 2.0, n)
    reg = Regularizer(model, pz.L1(0.05) + pz.L2(0.02) + pz.GroupL1(0.3, weights=c), example_inputs=x)
    vectors = gather(reg, current(model))
    expected = sum(0.3 * cg * float(v.norm()) + 0.05 * float(v.abs().sum()) + 0.02 * float((v * v).sum())
                   for cg, v in zip(c, vectors, strict=True))
    assert float(reg().detach()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("with_l2", [False, True])
@pytest.mark.parametrize("arch", ["cnn_bn", "resnet1d", "transformer"])
def test_prox_matches_the_penalty_sum_on_the_concatenated_groups(arch, with_l2):
    """ProxSGD (scalar step) and the diagonal metric (ProxAdamW's steps) against PenaltySum.prox."""
    model, x = make(arch, seed=3)
    n = len(Regularizer(model, pz.GroupL1(0.1), example_inputs=x).structures)
    c = np.linspace(0.5, 2.0, n)
    enet = pz.L1(0.2) + pz.L2(0.3) if with_l2 else pz.L1(0.2)
    step = 0.3
    soft = [v - v.clamp(-step * 0.2, step * 0.2) for v in gather(Regularizer(
        model, pz.GroupL1(0.1), example_inputs=x), current(model))]
    lam = float(np.median([float(v.norm()) / (step * cg) for v, cg in zip(soft, c, strict=True)]))
    reg = Regularizer(model, enet + pz.GroupL1(lam, weights=c), example_inputs=x)  # about half vanish
    params = reg.parameters()
    names = [name for name, _ in reg.named_parameters()]
    before = current(model)
    w, labels = joined(gather(reg, before))
    torch.manual_seed(0)
    denoms = [torch.rand_like(p) * 3 + 0.2 for p in params]
    steps = joined(gather(reg, {**{k: torch.full_like(v, step) for k, v in before.items()},
                                **{nm: step / d for nm, d in zip(names, denoms, strict=True)}}))[0]
    reference = enet + pz.GroupL1(lam, groups=labels, weights=c)
    for case, s in (("scalar", step), ("diagonal", steps)):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(before[[k for k, q in model.named_parameters() if q is p][0]])
        penalty = reg.param_groups()[0]["penalty"]
        penalty.prox_foreach_(params, step, None if case == "scalar" else denoms)
        got = joined(gather(reg, current(model)))[0]
        ref = reference.prox(w, s)
        torch.testing.assert_close(got, ref.to(got.dtype), rtol=1e-5, atol=1e-6)
        assert 0 < int((got == 0).sum()) < got.numel(), case
        if case == "scalar":  # whole groups vanish, and single entries of live ones
            zero_groups = [bool((v == 0).all()) for v in gather(reg, current(model))]
            assert any(zero_groups) and not all(zero_groups)
            assert int((got == 0).sum()) > sum(v.numel() for v, z in zip(gather(reg, current(model)), zero_groups,
                                                                            strict=True) if z)


def test_training_gives_zero_groups_and_zeros_inside_live_ones_and_prune_is_exact():
    model, x = make("cnn_bn", seed=1)
    torch.manual_seed(1)
    xs, y = torch.randn(64, *x.shape[1:]), torch.randint(0, 3, (64,))
    reg = Regularizer(model, pz.L1(0.01) + pz.GroupL1(0.05), example_inputs=x, group_weights="uniform")
    opt = ProxAdamW(reg.param_groups(), lr=0.02)
    model.train()
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()
    vectors = gather(reg, current(model))
    dead = [bool((v == 0).all()) for v in vectors]
    sparse_live = [bool((v == 0).any()) for v, d in zip(vectors, dead, strict=True) if not d]
    assert any(dead) and not all(dead) and any(sparse_live)
    model.eval()
    pruned = prune(model, example_inputs=xs)
    with torch.no_grad():
        torch.testing.assert_close(pruned(xs), model(xs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("penalty", [pz.GroupL1(0.05), pz.L1(0.01) + pz.GroupL1(0.05)])
def test_coupled_structures_keep_adams_metric(penalty):
    """The capped metric is for element-wise L1 groups; a coupled group's joint prox uses Adam's ``d``
    (docs/nn.md), so metric="capped" and metric="adam" take the same steps on it."""
    trained = []
    for metric in ("capped", "adam"):
        model, x = make("cnn_bn", seed=2)
        torch.manual_seed(2)
        xs, y = torch.randn(32, *x.shape[1:]), torch.randint(0, 3, (32,))
        reg = Regularizer(model, penalty, example_inputs=x)
        opt = ProxAdamW(reg.param_groups(), lr=0.02, metric=metric)
        for _ in range(5):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xs), y).backward()
            opt.step()
        trained.append(current(model))
    assert any((p == 0).any() for p in trained[0].values())  # the prox acted
    for name, value in trained[0].items():
        torch.testing.assert_close(value, trained[1][name], rtol=0, atol=0)


def test_bad_sums_on_coupled_structures():
    model, x = make("mlp")
    with pytest.raises(ValueError, match="weights"):
        Regularizer(model, pz.L1(0.1, weights=np.ones(6)) + pz.GroupL1(0.1), example_inputs=x)
    with pytest.raises(TypeError, match="GroupL1"):
        Regularizer(model, pz.L1(0.1) + pz.L2(0.1), example_inputs=x)


# -- checkpoints --------------------------------------------------------------------------------
def _train_steps(model, opt, xs, y, steps):
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
@pytest.mark.parametrize("penalty", [pz.GroupL1(0.05), pz.L1(0.01) + pz.GroupL1(0.05, weights=np.arange(11.0))])
def test_state_dict_with_coupled_groups_loads_with_weights_only(penalty, optimizer):
    def build(model, x):
        reg = Regularizer(model, penalty, example_inputs=x)
        if optimizer == "adamw":
            return ProxAdamW(reg.param_groups(), lr=0.02, schedule=lambda s: min(1.0, s / 3))
        return ProxSGD(reg.param_groups(), lr=0.05, momentum=0.9, schedule=lambda s: min(1.0, s / 3))

    model, x = make("cnn_bn", seed=4)
    torch.manual_seed(4)
    xs, y = torch.randn(32, *x.shape[1:]), torch.randint(0, 3, (32,))
    opt = build(model, x)
    _train_steps(model, opt, xs, y, 4)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # no Python objects with parameter references
    assert saved["opt"]["param_groups"][0]["penalty"]["penalty"] == "CoupledGroupL1"

    twin, _ = make("cnn_bn", seed=5)  # other weights: everything comes from the checkpoint
    twin.load_state_dict(saved["model"])
    opt_twin = build(twin, x)
    opt_twin.load_state_dict(saved["opt"])
    restored = opt_twin.param_groups[0]["penalty"]
    assert restored.penalty == penalty
    assert {id(p) for p in restored.groups.params} <= {id(p) for p in twin.parameters()}  # the twin's own
    _train_steps(model, opt, xs, y, 3)
    _train_steps(twin, opt_twin, xs, y, 3)
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_coupled_checkpoint_needs_an_optimizer_on_the_same_structures():
    model, x = make("cnn_bn")
    opt = ProxSGD(Regularizer(model, pz.GroupL1(0.05), example_inputs=x).param_groups(), lr=0.1)
    state = opt.state_dict()
    groups = Regularizer(model, pz.GroupL1(0.05), example_inputs=x).param_groups()
    plain = ProxSGD([dict(groups[0], penalty=pz.GroupL1(0.05)), groups[1]], lr=0.1)  # per-tensor rows
    with pytest.raises(ValueError, match="coupled structures"):
        plain.load_state_dict(state)
    other, x2 = make("mlp")
    opt_other = ProxSGD(Regularizer(other, pz.GroupL1(0.05), example_inputs=x2).param_groups(), lr=0.1)
    with pytest.raises(ValueError, match="differ"):
        opt_other.load_state_dict({**state, "state": {}, "param_groups": [
            dict(state["param_groups"][0], params=opt_other.state_dict()["param_groups"][0]["params"]),
            dict(state["param_groups"][1], params=opt_other.state_dict()["param_groups"][1]["params"])]})


def test_state_dict_of_a_penalty_sum_per_tensor_loads_with_weights_only():
    torch.manual_seed(0)
    model = nn.Linear(5, 4)
    penalty = pz.L1(0.01) + pz.GroupL1(0.1, groups=[0, 0, 1, 1])
    opt = ProxSGD(model.parameters(), lr=0.1, penalty=penalty)
    model(torch.randn(3, 5)).sum().backward()
    opt.step()
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    opt2 = ProxSGD(model.parameters(), lr=0.1)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["penalty"] == penalty
