"""penalized.nn: Regularizer, ProxSGD, ProxAdamW (PyTorch)."""

import copy
import io
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, ProxSGD, Regularizer  # noqa: E402

torch.set_num_threads(1)


def mlp(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.BatchNorm1d(12), nn.Linear(12, 8), nn.Tanh(),
                         nn.LayerNorm(8), nn.Linear(8, 3)).to(dtype)


def batch(seed=1, n=32, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def train(model, opt, steps=5, reg=None, seed=1, sched=None):
    x, y = batch(seed, dtype=next(model.parameters()).dtype)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        if reg is not None:
            loss = loss + reg()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    return model


WEIGHTS = ["0.weight", "3.weight", "6.weight"]


# -- packaging ------------------------------------------------------------------------------
def test_import_penalized_does_not_import_torch_and_nn_is_lazy():
    code = ("import sys, penalized as pz; assert 'torch' not in sys.modules; "
            "pz.nn.ProxAdamW; assert 'torch' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_clear_import_error_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import penalized.nn\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "penalized.nn needs PyTorch: pip install 'penalized[nn]'" in out.stdout, out.stderr


# -- selection ------------------------------------------------------------------------------
def test_default_selection_weights_only_no_bias_no_norm():
    model = mlp()
    model[5] = nn.LayerNorm((8,))
    reg = Regularizer(model, pz.L1(0.1))
    assert [n for n, _ in reg.named_parameters()] == WEIGHTS
    # a 2-D LayerNorm weight is still a normalization parameter, and conv kernels are weights
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.LayerNorm((2, 2)), nn.Flatten(),
                        nn.Linear(8, 2))
    names = [n for n, _ in Regularizer(net, pz.L2(0.1)).named_parameters()]
    assert names == ["0.weight", "4.weight"]


def test_include_exclude_patterns_types_modules_callables():
    model = mlp()
    names = lambda reg: [n for n, _ in reg.named_parameters()]  # noqa: E731
    assert names(Regularizer(model, pz.L1(0.1), include="[03].*")) == ["0.weight", "3.weight"]
    assert names(Regularizer(model, pz.L1(0.1), include=r"re:[36]\.weight")) == ["3.weight", "6.weight"]
    assert names(Regularizer(model, pz.L1(0.1), exclude="6.weight")) == ["0.weight", "3.weight"]
    by_type = Regularizer(model, pz.L1(0.1), include=nn.Linear, exclude=model[0])
    assert names(by_type) == ["3.weight", "6.weight"]
    assert names(Regularizer(model, pz.L1(0.1), include=lambda n, p: p.shape[0] == 8)) == ["3.weight"]
    assert names(Regularizer(model, pz.L1(0.1), include=["0.*", nn.BatchNorm1d], weights_only=False)) == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert names(Regularizer(model, pz.L2(0.1), include="*.bias", weights_only=False)) == [
        "0.bias", "2.bias", "3.bias", "5.bias", "6.bias"]


def test_wrapped_models_use_inner_names():
    model = mlp()
    wrapped = nn.DataParallel(model)
    assert [n for n, _ in Regularizer(wrapped, pz.L1(0.1), include="0.*").named_parameters()] == ["0.weight"]


# -- the formula ----------------------------------------------------------------------------
def test_values_equal_keras_formulas():
    model = mlp()
    ws = [model[0].weight, model[3].weight, model[6].weight]
    l1 = sum(w.abs().sum() for w in ws)
    l2 = sum((w * w).sum() for w in ws)
    assert torch.allclose(Regularizer(model, pz.L1(0.01))(), 0.01 * l1)  # keras.regularizers.L1(0.01)
    assert torch.allclose(Regularizer(model, pz.L2(0.02))(), 0.02 * l2)  # keras.regularizers.L2(0.02): no 1/2
    assert torch.allclose(Regularizer(model, pz.L1L2(l1=0.01, l2=0.02))(), 0.01 * l1 + 0.02 * l2)
    value = Regularizer(model, pz.L1(0.01))()
    assert value.requires_grad and value.ndim == 0


def test_per_layer_penalties_and_group_penalty():
    model = mlp()
    reg = Regularizer(model, {"0.weight": pz.GroupL1(0.5), "6.*": None, nn.Linear: pz.L2(0.1)})
    assert reg.penalties == {"0.weight": pz.GroupL1(0.5), "3.weight": pz.L2(0.1)}  # first matching key wins
    expected = 0.5 * model[0].weight.norm(dim=1).sum() + 0.1 * (model[3].weight ** 2).sum()
    assert torch.allclose(reg(), expected)
    with pytest.raises(ValueError, match=r"'6\.\*' match no selected parameter"):
        Regularizer(model, {nn.Linear: pz.L2(0.1), "6.*": None})  # shadowed by the earlier key
    by_shape = Regularizer(model, lambda name, p: pz.L1(0.1) if p.shape[1] == 12 else None)
    assert list(by_shape.penalties) == ["3.weight"]


def test_schedule_warm_up():
    model = mlp()
    reg = Regularizer(model, pz.L1(0.1), schedule=lambda step: min(1.0, step / 4))
    full = Regularizer(model, pz.L1(0.1))()
    assert float(reg().detach()) == 0.0
    reg.step()
    reg.step()
    assert torch.allclose(reg(), 0.5 * full)
    state = reg.state_dict()
    other = Regularizer(model, pz.L1(0.1), schedule=reg.schedule)
    other.load_state_dict(state)
    assert torch.allclose(other(), 0.5 * full)


def test_sgd_weight_decay_equivalence_step_for_step():
    """Regularizer(L2(λ)) in the loss + SGD  ==  SGD(weight_decay=2λ) on the same weights."""
    lam = 0.03
    for momentum in (0.0, 0.9):
        a, b = mlp(), mlp()
        reg = Regularizer(a, pz.L2(lam))
        opt_a = torch.optim.SGD(a.parameters(), lr=0.1, momentum=momentum)
        weights = [b[0].weight, b[3].weight, b[6].weight]
        others = [p for p in b.parameters() if all(p is not w for w in weights)]
        opt_b = torch.optim.SGD([{"params": weights, "weight_decay": 2 * lam}, {"params": others}], lr=0.1,
                                momentum=momentum)
        x, y = batch()
        for _ in range(8):
            for model, opt, r in ((a, opt_a, reg), (b, opt_b, None)):
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x), y) + (r() if r else 0.0)
                loss.backward()
                opt.step()
            for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
                torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


# -- proximal optimizers ------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda g: ProxSGD(g, lr=0.1, momentum=0.9),
                                  lambda g: ProxAdamW(g, lr=0.05),
                                  lambda g: ProxAdamW(g, lr=0.05, foreach=False)])
def test_l1_prox_gives_exact_zeros_subgradient_does_not(make):
    model = mlp()
    reg = Regularizer(model, pz.L1(0.05))
    train(model, make(reg.param_groups()), steps=30)
    zeros = sum(int((p == 0).sum()) for p in reg.parameters())
    assert zeros > 0.3 * sum(p.numel() for p in reg.parameters())
    assert all(int((p == 0).sum()) == 0 for n, p in model.named_parameters() if n.endswith("bias"))
    # the same penalty through the loss, trained by Adam (sub)gradients: no exact zero
    sub = mlp()
    reg = Regularizer(sub, pz.L1(0.05))
    train(sub, torch.optim.Adam(sub.parameters(), lr=0.05), steps=30, reg=reg)
    assert sum(int((p == 0).sum()) for p in reg.parameters()) == 0


PROX_PENALTIES = [pz.L1(0.05), pz.L2(0.3), pz.L1L2(l1=0.05, l2=0.2),
                  pz.L1(0.05, weights=np.linspace(0, 2, 12)), pz.GroupL1(0.3)]


@pytest.mark.parametrize("penalty", PROX_PENALTIES, ids=repr)
def test_optimizer_step_is_data_step_then_the_penalty_prox(penalty):
    x, y = batch(dtype=torch.float64)
    for momentum in (0.0, 0.5):
        # ProxSGD: torch SGD step, then prox with s = lr / (1 - momentum)
        a, b = mlp(dtype=torch.float64), mlp(dtype=torch.float64)
        opt_a = ProxSGD([{"params": [a[0].weight], "penalty": penalty}], lr=0.1, momentum=momentum)
        opt_b = torch.optim.SGD([b[0].weight], lr=0.1, momentum=momentum)
        for _ in range(3):
            for model, opt in ((a, opt_a), (b, opt_b)):
                opt.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
            with torch.no_grad():
                b[0].weight.copy_(torch.as_tensor(penalty.prox(b[0].weight.numpy(), 0.1 / (1 - momentum))))
            torch.testing.assert_close(a[0].weight, b[0].weight)

@pytest.mark.parametrize("penalty", PROX_PENALTIES, ids=repr)
@pytest.mark.parametrize("foreach", [False, True])
def test_prox_adamw_is_adamw_then_the_diagonal_prox(penalty, foreach):
    """AdamW step, then the prox with the per-coordinate step lr / (sqrt(v̂) + eps)."""
    x, y = batch(dtype=torch.float64)
    a, b = mlp(dtype=torch.float64), mlp(dtype=torch.float64)
    layers = (0,) if penalty.get_params()["weights"] is not None else (0, 3)  # factors sized for layer 0
    opt_a = ProxAdamW([{"params": [a[i].weight for i in layers], "penalty": penalty}], lr=0.02,
                      weight_decay=0.01, foreach=foreach, metric="adam")  # capped: tests/test_nn_optim.py
    opt_b = torch.optim.AdamW([b[i].weight for i in layers], lr=0.02, weight_decay=0.01)
    for _ in range(3):
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for i in layers:
            state = opt_b.state[b[i].weight]
            t = float(state["step"])
            denom = (state["exp_avg_sq"] / (1 - 0.999**t)).sqrt().numpy() + 1e-8
            with torch.no_grad():
                b[i].weight.copy_(torch.as_tensor(penalty.prox(b[i].weight.numpy(), 0.02 / denom)))
            torch.testing.assert_close(a[i].weight, b[i].weight)


@pytest.mark.parametrize("penalty", PROX_PENALTIES[:3] + [pz.L1(0.0), pz.L2(0.0)], ids=repr)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_in_place_prox_kernels_match_prox(penalty, dtype):
    g = torch.Generator().manual_seed(0)
    ws = [torch.randn(7, 5, generator=g, dtype=dtype), torch.randn(3, generator=g, dtype=dtype)]
    ds = [torch.rand(w.shape, generator=g, dtype=dtype) + 0.1 for w in ws]
    for denoms in (None, ds):
        expect = [penalty.prox(w, 0.4 if denoms is None else 0.4 / d) for w, d in zip(ws, ds, strict=True)]
        single = [w.clone() for w in ws]
        for i, w in enumerate(single):
            penalty.prox_(w, 0.4, None if denoms is None else denoms[i])
        multi = penalty.prox_foreach_([w.clone() for w in ws], 0.4, denoms)
        for e, s1, s2 in zip(expect, single, multi, strict=True):
            torch.testing.assert_close(s1, e)
            torch.testing.assert_close(s2, e)
            assert torch.equal(s1 == 0, e == 0) and torch.equal(s2 == 0, e == 0)  # the same exact zeros


@pytest.mark.parametrize("amsgrad", [False, True])
def test_prox_adamw_groups_batched_in_one_update_match_the_per_parameter_update(amsgrad):
    """Groups sharing Adam's hyperparameters take one multi-tensor update; groups with their
    own lr, a schedule and a parameter that misses steps must still match the single-tensor path."""
    models, opts = [mlp(dtype=torch.float64), mlp(dtype=torch.float64)], []
    for model, foreach in zip(models, (False, True), strict=True):
        opts.append(ProxAdamW([
            {"params": [model[0].weight, model[3].weight], "penalty": pz.L1(0.02)},
            {"params": [model[0].bias, model[3].bias]},
            {"params": [model[6].weight], "penalty": pz.GroupL1(0.05)},
            {"params": [model[6].bias], "lr": 0.05, "penalty": pz.L2(0.1)},
        ], lr=0.02, weight_decay=0.01, amsgrad=amsgrad, foreach=foreach, schedule=lambda t: min(1.0, (t + 1) / 3)))
    x, y = batch(dtype=torch.float64)
    for step in range(6):
        for model, opt in zip(models, opts, strict=True):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            if step % 3 == 1:  # this parameter misses a step: its own bias correction afterwards
                model[3].weight.grad = None
            opt.step()
    for pa, pb in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
        assert torch.equal(pa == 0, pb == 0)
    assert (models[1][0].weight == 0).any()
    assert [g["penalty_step"] for g in opts[1].param_groups] == [6, 6, 6, 6]


@pytest.mark.parametrize("amsgrad", [False, True])
def test_prox_adamw_without_penalty_is_adamw(amsgrad):
    a, b, c = mlp(), mlp(), mlp()
    train(a, ProxAdamW(a.parameters(), lr=0.01, weight_decay=0.01, amsgrad=amsgrad), steps=6)
    train(b, ProxAdamW(b.parameters(), lr=0.01, weight_decay=0.01, amsgrad=amsgrad, foreach=True), steps=6)
    train(c, torch.optim.AdamW(c.parameters(), lr=0.01, weight_decay=0.01, amsgrad=amsgrad), steps=6)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        torch.testing.assert_close(pa, pc)
        torch.testing.assert_close(pb, pc)


@pytest.mark.parametrize("make", [lambda g: ProxSGD(g, lr=0.05, momentum=0.9, penalty=pz.L1(0.02)),
                                  lambda g: ProxAdamW(g, lr=0.02, penalty=pz.GroupL1(0.05),
                                                      schedule=lambda s: min(1.0, s / 3))])
def test_state_dict_round_trip_resumes_identically(make):
    a = mlp()
    opt = make(Regularizer(a, pz.L1(0.02)).param_groups())
    train(a, opt, steps=4)
    buffer = io.BytesIO()
    torch.save({"model": a.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # penalties are stored as plain dicts
    b = mlp(seed=5)
    b.load_state_dict(saved["model"])
    opt_b = make(Regularizer(b, pz.L1(0.02)).param_groups())
    opt_b.load_state_dict(saved["opt"])
    assert opt_b.param_groups[0]["penalty"] == opt.param_groups[0]["penalty"]
    assert opt_b.param_groups[0]["penalty_step"] == 4
    train(a, opt, steps=4, seed=7)
    train(b, opt_b, steps=4, seed=7)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_an_adamw_checkpoint_resumes_in_prox_adamw_with_its_penalty():
    a = mlp()
    adamw = torch.optim.AdamW(a.parameters(), lr=0.01, weight_decay=0.0)
    train(a, adamw, steps=3)
    b = mlp()
    b.load_state_dict(a.state_dict())
    prox = ProxAdamW(b.parameters(), lr=0.01, penalty=pz.L1(0.01))
    # copies, as from a checkpoint file (torch's load_state_dict keeps the tensors it is given)
    prox.load_state_dict(copy.deepcopy(adamw.state_dict()))  # same layout: step, exp_avg, exp_avg_sq
    assert prox.param_groups[0]["penalty"] == pz.L1(0.01)
    reference = ProxAdamW(a.parameters(), lr=0.01, penalty=pz.L1(0.01))
    reference.load_state_dict(copy.deepcopy(adamw.state_dict()))
    train(a, reference, steps=2)
    train(b, prox, steps=2)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert float(prox.state[b[0].weight]["step"]) == 5


def test_lr_scheduler_and_lambda_schedule_change_the_prox_step():
    w = nn.Parameter(torch.tensor([1.0, -1.0, 0.5]))
    opt = ProxSGD([w], lr=0.1, penalty=pz.L1(1.0), schedule=lambda s: 0.0 if s == 0 else 1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    shrink = []
    for _ in range(4):
        before = w.detach().clone()
        opt.zero_grad()
        (0.0 * w.sum()).backward()  # zero data gradient: the step is the prox alone
        opt.step()
        sched.step()
        shrink.append(float((before - w.detach()).abs()[0]))
    assert shrink == pytest.approx([0.0, 0.05, 0.025, 0.0125])  # warm-up factor 0, then lr·λ halving


def test_fixed_points_are_the_lasso_solution_with_momentum_and_adam():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 8))
    y = X @ np.array([2.0, -1.5, 0, 0, 1.0, 0, 0, 0]) + 0.3 * rng.normal(size=40)
    ref = pz.LinearRegression(pz.L1(0.3), fit_intercept=False, tol=1e-10, max_iter=100_000).fit(X, y).coef_
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def fit(make, steps, gamma=1.0):
        w = torch.zeros(8, dtype=torch.float64, requires_grad=True)
        opt = make([w])
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
        for _ in range(steps):
            opt.zero_grad()
            ((yt - Xt @ w) ** 2).mean().backward()
            opt.step()
            sched.step()
        return w.detach().numpy()

    for momentum in (0.0, 0.9):
        z = fit(lambda p, m=momentum: ProxSGD(p, lr=0.05, momentum=m, penalty=pz.L1(0.3)), 600)
        np.testing.assert_allclose(z, ref, atol=1e-8)
        assert np.array_equal(z == 0, ref == 0)
    z = fit(lambda p: ProxAdamW(p, lr=0.05, penalty=pz.L1(0.3)), 1200, gamma=0.993)
    np.testing.assert_allclose(z, ref, atol=1e-5)
    assert np.array_equal(z == 0, ref == 0)


def test_param_groups_and_dtype_device_preserved():
    model = mlp(dtype=torch.float64)
    reg = Regularizer(model, {"0.weight": pz.GroupL1(0.1), "*": pz.L1(0.01)})
    groups = reg.param_groups(lr=0.01)
    assert [g["penalty"] for g in groups] == [pz.GroupL1(0.1), pz.L1(0.01), None]
    assert groups[-1]["weight_decay"] == 0.0 and len(groups[-1]["params"]) == 7
    assert "weight_decay" not in reg.param_groups(decay_unpenalized=True)[-1]
    opt = ProxAdamW(groups, lr=0.01, weight_decay=0.1)
    train(model, opt, steps=3)
    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert reg().dtype == torch.float64


# -- bad input --------------------------------------------------------------------------------
def test_errors_name_the_problem():
    model = mlp()
    with pytest.raises(ValueError, match="selects no parameter"):
        Regularizer(model, pz.L1(0.1), include="*.bias")  # biases are never weights
    with pytest.raises(ValueError, match="matches no parameter name"):
        Regularizer(model, pz.L1(0.1), include="encoder.*")
    with pytest.raises(ValueError, match="invalid regular expression"):
        Regularizer(model, pz.L1(0.1), include="re:[")
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        Regularizer(model, pz.L1(-0.1))
    with pytest.raises(TypeError, match="penalty must be a penalty object"):
        Regularizer(model, 0.1)
    with pytest.raises(TypeError, match=r"penalty\['0.weight'\] must be a penalty object"):
        Regularizer(model, {"0.weight": 1e-3})
    with pytest.raises(ValueError, match=r"penalty key\(s\) 're:\\d.bias' match no selected"):
        Regularizer(model, {"0.weight": pz.L1(0.1), "re:\\d.bias": pz.L1(0.1)})
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        Regularizer([1, 2], pz.L1(0.1))
    with pytest.raises(TypeError, match="include must be a name pattern"):
        Regularizer(model, pz.L1(0.1), include=3)
    with pytest.raises(ValueError, match="schedule\\(step\\) must return a finite number >= 0"):
        Regularizer(model, pz.L1(0.1), schedule=lambda s: -1.0)()
    counted = nn.Linear(2, 2)
    counted.count = nn.Parameter(torch.zeros(2, 2, dtype=torch.int64), requires_grad=False)
    assert [n for n, _ in Regularizer(counted, pz.L1(0.1)).named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match=r"floating-point tensors; got non-floating count \(torch.int64\)"):
        Regularizer(counted, pz.L1(0.1), include="*")
    with pytest.raises(TypeError, match="floating-point tensors"):
        ProxSGD([counted.count], lr=0.1)
    with pytest.raises(TypeError, match="penalty must be a penalty object"):
        ProxAdamW(model.parameters(), penalty=0.01)
    with pytest.raises(TypeError, match="penalty must be a penalty object"):
        ProxSGD([{"params": model.parameters(), "penalty": "l1"}], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        ProxAdamW(model.parameters(), lr=-1.0)
