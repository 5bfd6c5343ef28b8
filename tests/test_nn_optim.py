"""ProxAdamW's capped metric: the step it takes, the problem it solves, what it keeps from AdamW."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import LambdaSchedule, ProxAdamW, Regularizer  # noqa: E402

torch.set_num_threads(1)


def mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)


def batch(seed=1, n=32, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def reference_steps(w0, grads, penalty, lr, steps, betas=(0.9, 0.999), eps=1e-8, wd=0.0, metric="capped",
                    factors=None):
    """NumPy ProxAdamW written from its docstring; ``grads(w) -> g``, one weight array."""
    b1, b2 = betas
    w = w0.copy()
    m, v = np.zeros_like(w), np.zeros_like(w)
    params = penalty.get_params()
    l1 = {"L1": params.get("lam"), "L1L2": params.get("l1")}.get(type(penalty).__name__, 0.0)
    c = params.get("weights")
    c = np.ones(w.shape[0]) if c is None else np.asarray(c)
    for t in range(1, steps + 1):
        factor = 1.0 if factors is None else factors[t - 1]
        g = grads(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w * (1 - lr * wd)
        m_hat, d = m / (1 - b1**t), np.sqrt(v / (1 - b2**t)) + eps
        lam_i = l1 * factor * c.reshape((-1,) + (1,) * (w.ndim - 1)) * np.ones_like(w)
        delta = d
        if metric == "capped":
            delta = np.where(lam_i > 0, np.minimum(d, np.maximum(lam_i, np.abs(m_hat))), d)
        w = w - lr * m_hat / delta
        w = np.asarray(penalty.scaled(factor).prox(w, lr / delta)) if factor else w
    return w


PENALTIES = [pz.L1(0.05), pz.L1L2(l1=0.05, l2=0.2), pz.L1(0.05, weights=np.r_[np.zeros(4), np.linspace(0.5, 2, 8)]),
             pz.L2(0.3), pz.GroupL1(0.3)]


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("metric", ["capped", "adam"])
def test_step_is_the_exact_prox_in_the_documented_metric(penalty, foreach, metric):
    """Data step and prox in diag(δ)/lr, δ = min(d, max(λ_i, |m̂|)) on L1 weights (d elsewhere)."""
    x, y = batch()
    model = mlp()
    w0 = model[0].weight.detach().numpy().copy()
    opt = ProxAdamW([{"params": [model[0].weight], "penalty": penalty}], lr=0.02, weight_decay=0.01,
                    foreach=foreach, metric=metric)
    seen = []
    for _ in range(6):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        seen.append(model[0].weight.grad.numpy().copy())
        opt.step()
    # replay the same gradients through the NumPy reference (gradients depend on w: replay them)
    grads = iter(seen)
    expect = reference_steps(w0, lambda w: next(grads), penalty, lr=0.02, steps=6, wd=0.01, metric=metric)
    got = model[0].weight.detach().numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-12)
    assert np.array_equal(got == 0, expect == 0)


def test_capped_metric_differs_from_adams_only_where_it_should():
    """Rows with factor c_j = 0, L2 and GroupL1 keep Adam's metric: fed the same gradients, they take
    the same steps under both metrics; the L1 rows do not."""
    g = torch.Generator().manual_seed(0)
    grads = [[torch.randn(shape, generator=g, dtype=torch.float64) for shape in ((12, 6), (8, 12), (3, 8))]
             for _ in range(6)]
    weights = {}
    for metric in ("capped", "adam"):
        model = mlp()
        groups = [{"params": [model[0].weight], "penalty": pz.L1(0.05, weights=np.r_[np.zeros(4), np.ones(8)])},
                  {"params": [model[2].weight], "penalty": pz.GroupL1(0.3)},
                  {"params": [model[4].weight], "penalty": pz.L2(0.3)}]
        params = [model[0].weight, model[2].weight, model[4].weight]
        opt = ProxAdamW(groups, lr=0.02, metric=metric)
        for step in grads:  # the same gradient sequence for both metrics (a noisy one: sign changes)
            for p, gr in zip(params, step, strict=True):
                p.grad = gr.clone()
            opt.step()
        weights[metric] = [p.detach().clone() for p in params]
    a, b = weights["capped"], weights["adam"]
    torch.testing.assert_close(a[0][:4], b[0][:4])  # rows with c_j = 0
    assert not torch.allclose(a[0][4:], b[0][4:])  # L1 rows: capped
    torch.testing.assert_close(a[1], b[1])  # GroupL1
    torch.testing.assert_close(a[2], b[2])  # L2


@pytest.mark.parametrize("metric", ["capped", "adam"])
@pytest.mark.parametrize("foreach", [False, True])
def test_zero_strength_or_zero_factor_is_adamw(metric, foreach):
    models = [mlp(), mlp(), mlp()]
    opts = [ProxAdamW(models[0].parameters(), lr=0.01, weight_decay=0.01, penalty=pz.L1(0.0), metric=metric,
                      foreach=foreach),
            ProxAdamW(models[1].parameters(), lr=0.01, weight_decay=0.01, penalty=pz.L1(0.5), metric=metric,
                      foreach=foreach, schedule=LambdaSchedule(warmup_steps=100)),
            torch.optim.AdamW(models[2].parameters(), lr=0.01, weight_decay=0.01)]
    x, y = batch()
    for _ in range(6):
        for model, opt in zip(models, opts, strict=True):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    for pa, pb, pc in zip(*(m.parameters() for m in models), strict=True):
        torch.testing.assert_close(pa, pc)
        torch.testing.assert_close(pb, pc)


@pytest.mark.parametrize("metric", ["capped", "adam"])
def test_fixed_points_are_the_lasso_solution_in_both_metrics(metric):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 10))
    y = X @ np.r_[1.5, -2.0, 0, 0, 0.8, np.zeros(5)] + 0.3 * rng.normal(size=50)
    ref = pz.LinearRegression(pz.L1(0.4), fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_
    Xt, yt = torch.tensor(X), torch.tensor(y)
    w = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    opt = ProxAdamW([w], lr=0.05, penalty=pz.L1(0.4), metric=metric)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.993)
    for _ in range(1500):
        opt.zero_grad()
        ((yt - Xt @ w) ** 2).mean().backward()
        opt.step()
        sched.step()
    np.testing.assert_allclose(w.detach().numpy(), ref, atol=1e-5)
    assert np.array_equal(w.detach().numpy() == 0, ref == 0)


def _penalized_objective_and_zeros(metric, seed):
    """An MLP on a noisy synthetic problem, L1 by ProxAdamW at lr 1e-3, 300 minibatch steps."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(512, 20, generator=g)
    y = (X[:, :3].sum(1) + 0.5 * torch.randn(512, generator=g) > 0).long()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
    reg = Regularizer(model, pz.L1(3e-3))
    opt = ProxAdamW(reg.param_groups(), lr=1e-3, metric=metric)
    for _ in range(300):
        idx = torch.randint(0, 512, (32,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
    with torch.no_grad():
        objective = float(nn.functional.cross_entropy(model(X), y) + reg())
    zeros = sum(int((p == 0).sum()) for p in reg.parameters()) / sum(p.numel() for p in reg.parameters())
    return objective, zeros


@pytest.mark.parametrize("seed", [0, 1])
def test_capped_metric_sparsifies_faster_and_reaches_a_lower_objective(seed):
    """The reason for the capped metric: same λ, lr and steps, more exact zeros, lower L_data + R."""
    capped, adam = _penalized_objective_and_zeros("capped", seed), _penalized_objective_and_zeros("adam", seed)
    assert capped[0] < 0.95 * adam[0]  # measured: 10-14 % lower over seeds 0-3
    assert capped[1] > adam[1] + 0.02  # measured: +3 to +6 points of exact zeros


def test_metric_is_a_checked_per_group_option_kept_in_state_dicts():
    model = mlp()
    with pytest.raises(ValueError, match="metric must be one of 'capped', 'adam'; got 'euclid'"):
        ProxAdamW(model.parameters(), metric="euclid")
    with pytest.raises(ValueError, match="metric must be one of"):
        ProxAdamW([{"params": model.parameters(), "metric": "diag"}])
    opt = ProxAdamW([{"params": [model[0].weight], "metric": "adam"}, {"params": [model[2].weight]}],
                    penalty=pz.L1(0.01))
    assert [g["metric"] for g in opt.param_groups] == ["adam", "capped"]
    other = ProxAdamW([{"params": [model[0].weight]}, {"params": [model[2].weight]}], penalty=pz.L1(0.01))
    other.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert [g["metric"] for g in other.param_groups] == ["adam", "capped"]
    adamw = torch.optim.AdamW([model[0].weight, model[2].weight], lr=0.01)  # no metric in its groups
    keep = ProxAdamW([model[0].weight, model[2].weight], lr=0.01, penalty=pz.L1(0.01), metric="adam")
    keep.load_state_dict(copy.deepcopy(adamw.state_dict()))
    assert keep.param_groups[0]["metric"] == "adam"


# -- the fused update (compiled on CUDA by default; its function is checked eagerly here) --------
FUSED_CASES = [(None, "capped", 0.0), (pz.L1(0.02), "capped", 0.01), (pz.L1(0.02), "adam", 0.0),
               (pz.L1L2(l1=0.02, l2=0.1), "capped", 0.01), (pz.L2(0.1), "capped", 0.0)]


def _train_pair(penalty, metric, wd, fused_fn, maximize=False, dtype=torch.float64, steps=6):
    from penalized.nn import _fused

    out = []
    x, y = batch(dtype=dtype)
    for fused in (False, True):
        model = mlp(dtype=dtype)
        reg = Regularizer(model, penalty) if penalty is not None else None
        groups = reg.param_groups() if reg is not None else [{"params": list(model.parameters())}]
        opt = ProxAdamW(groups, lr=0.02, weight_decay=wd, metric=metric, fused=fused, maximize=maximize,
                        schedule=LambdaSchedule(2, 2))
        if fused:
            opt._fused_fn = fused_fn or _fused.adam_prox_step_
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            (-loss if maximize else loss).backward()
            opt.step()
        out.append((model, opt))
    return out


@pytest.mark.parametrize(("penalty", "metric", "wd"), FUSED_CASES, ids=repr)
def test_fused_step_function_equals_the_multi_tensor_step(penalty, metric, wd):
    (a, opt_a), (b, opt_b) = _train_pair(penalty, metric, wd, None)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-14)
        assert torch.equal(pa == 0, pb == 0)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(opt_a.state[pa][key], opt_b.state[pb][key], rtol=1e-12, atol=1e-14)
    if penalty is not None and metric == "capped" and isinstance(penalty, (pz.L1, pz.L1L2)):
        assert any(bool((p == 0).any()) for p in b.parameters())


def test_fused_maximize_and_unsupported_groups():
    (a, _), (b, _) = _train_pair(pz.L1(0.02), "capped", 0.0, None, maximize=True)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-14)
    model = mlp()
    with pytest.raises(ValueError, match=r"ProxAdamW\(fused=True\) supports no penalty, L1/L2/L1L2"):
        opt = ProxAdamW(model.parameters(), penalty=pz.GroupL1(0.1), fused=True)
        x, y = batch()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    with pytest.raises(ValueError, match="fused=True and foreach=True cannot be used together"):
        ProxAdamW(model.parameters(), fused=True, foreach=True)
    # automatic: CPU tensors take the multi-tensor path (nothing is compiled)
    opt = ProxAdamW(model.parameters(), penalty=pz.L1(0.01))
    assert opt.param_groups[0]["fused"] is None and not opt._fused_ok(opt.param_groups[0], list(model.parameters()))


@pytest.mark.slow
def test_compiled_fused_step_on_cpu_equals_the_multi_tensor_step():
    """torch.compile of the fused function (inductor's C++ backend on the CPU), float32."""
    from penalized.nn import _fused

    fn = _fused.compiled_step()
    if fn is None:
        pytest.skip("torch.compile is not available")
    try:
        (a, _), (b, _) = _train_pair(pz.L1(0.02), "capped", 0.01, fn, dtype=torch.float32, steps=4)
    except Exception as exc:  # no working C++ toolchain for inductor
        pytest.skip(f"torch.compile cannot build on this machine: {type(exc).__name__}")
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["none", "l1", "coupled", "l1-adam-metric"])
def test_float16_steps_stay_finite_and_follow_float32(kind):
    """In float16 ``eps·c`` (≈ 3e-10) rounds to 0: without a floor the coordinates that get no
    gradient (a zero input column here) divide 0 by 0 on the first step (torch's AdamW too). The
    floored steps are finite, leave those coordinates alone, and follow the same steps taken in
    float32 (within float16's resolution; the loss is scaled so that ``(1 − β₂)·g²`` does not
    underflow in float16, as a loss scaler would)."""
    import warnings

    results = {}
    for dtype in (torch.float16, torch.float32):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).to(dtype)
        g = torch.Generator().manual_seed(3)
        x = torch.randn(32, 6, generator=g).to(dtype)
        x[:, 0] = 0.0  # the first layer's column 0 never gets a gradient: m = v = 0 there
        y = torch.randint(0, 3, (32,), generator=g)
        first_column = net[0].weight[:, 0].detach().clone()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if kind == "none":
                groups = net.parameters()
            elif kind == "coupled":
                groups = Regularizer(net, pz.GroupL1(1e-3), example_inputs=x[:2]).param_groups()
            else:
                groups = Regularizer(net, pz.L1(1e-3)).param_groups()
        opt = ProxAdamW(groups, lr=1e-2, metric="adam" if kind == "l1-adam-metric" else "capped")
        for _ in range(3):
            opt.zero_grad()
            (64.0 * nn.functional.cross_entropy(net(x).float(), y)).backward()
            opt.step()
            assert all(bool(torch.isfinite(p).all()) for p in net.parameters()), dtype
        if kind == "none":  # no gradient, no step (L1 and the group prox may still shrink them)
            assert bool((net[0].weight[:, 0] == first_column).all())
        # column 0 is left out: there float32's d = eps·c gives the prox a step of about 1e8·lr
        # (its L1 zeroes those weights at once), float16's floor one of about 1e-4
        results[dtype] = [p.detach().float() for p in (net[0].weight[:, 1:], net[0].bias, net[2].weight, net[2].bias)]
    for half, single in zip(results[torch.float16], results[torch.float32], strict=True):
        torch.testing.assert_close(half, single, atol=3e-3, rtol=1e-2)
