"""The fused coupled prox (:mod:`penalized.nn.coupled_fused`) and the row-block prox against a
per-group reference, and ProxAdamW's fused path with a coupled GroupL1.

The reference solves every group on its own, in float64, with a bracketing root finder
(``scipy.optimize.brentq``) on ``Σ_i w_i²/(r + t_i)² = 1`` over the group's entries gathered
from all member tensors: no row blocks, no Newton, no shared code with the library's prox.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")
optimize = pytest.importorskip("scipy.optimize")

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, Regularizer, _fused  # noqa: E402
from penalized.nn.coupled import CoupledGroupL1, CoupledGroups, _Member  # noqa: E402
from penalized.nn.coupled_fused import EAGER, use_kernels  # noqa: E402
from penalized.nn.coupled_prox import RowBlocks, diagonal_prox_  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nn_models import make  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def group_masks(grp, like):
    """Per group, a boolean mask of its entries in every member tensor."""
    out = []
    for g in range(grp.n_groups):
        onehot = torch.zeros(grp.n_groups, dtype=like.dtype)
        onehot[g] = 1.0
        out.append([(e.expand_as(p) > 0) for e, p in zip(grp.expand(onehot, 0.0), grp.params, strict=True)])
    return out


def per_group_reference(grp, params, steps, lam):
    """``argmin_z Σ_i (z_i − w_i)²/(2·s_i) + Σ_g lam_g·‖z_g‖`` group by group, in float64.

    ``steps[k]`` is like member ``k``. Returns the new tensors (float64) and the live groups."""
    like = params[0]
    new = [p.detach().double().clone() for p in params]
    alive = np.zeros(grp.n_groups, dtype=bool)
    for g, masks in enumerate(group_masks(grp, like)):
        w = np.concatenate([p.detach().double()[m].numpy() for p, m in zip(params, masks, strict=True)])
        t = np.concatenate([(s.double() * float(lam[g])).expand_as(p)[m].numpy()
                            for p, s, m in zip(params, steps, masks, strict=True)])
        norm = float(np.linalg.norm(w))
        with np.errstate(divide="ignore"):
            live = norm > 0 and (bool(np.any((t == 0) & (w != 0))) or float(np.sum((w / t)[t > 0] ** 2)) > 1.0)
        alive[g] = live
        if not live:
            z = np.zeros_like(w)
        else:
            r = optimize.brentq(lambda r, w=w, t=t: float(np.sum(w**2 / (r + t) ** 2)) - 1.0, 1e-300, norm,
                                xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
            z = w * r / (r + t)
        start = 0
        for k, m in enumerate(masks):
            count = int(m.sum())
            new[k][m] = torch.from_numpy(z[start:start + count])
            start += count
    return new, alive


def sized_groups(dtype):
    """Groups of 1 to ~1,900 entries across producer rows, biases and consumer columns."""
    torch.manual_seed(5)

    def member(name, shape, **labels):
        m = _Member(name=name, param=torch.nn.Parameter(torch.randn(*shape, dtype=dtype) * 0.3))
        for key, value in labels.items():
            setattr(m, key, torch.as_tensor(value) if isinstance(value, list) else value)
        return m

    members = [
        member("bias", (6,), prod_dim=0, prod_lab=[0, 1, 2, 3, 4, 5]),  # groups 0, 4, 5: one entry each
        member("w1", (4, 50), prod_dim=0, prod_lab=[1, 2, 6, 7]),
        member("w2", (3, 2, 300), prod_dim=0, prod_lab=[8, 9, 3]),
        member("w3", (5, 8), cons_dim=1, cons_lab=[6, 7, 8, 9, 10, 10, -1, 2]),
        member("w4", (700, 3), cons_dim=1, cons_lab=[11, 11, 9]),
    ]
    return CoupledGroups(members, structures=[None] * 12)


def threshold_between(grp, params, steps):
    """A λ (c_g = 1) between the two middle ‖w_g/s_g‖: about half of the groups vanish."""
    like = params[0]
    with torch.no_grad():
        ratio = grp.sums([(p / s) ** 2 for p, s in zip(params, steps, strict=True)], like).sqrt().sort().values
    mid = len(ratio) // 2
    return float(ratio[mid - 1:mid + 1].mean())


def check_against_reference(grp, params, expected, alive, dtype):
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 3e-5, "atol": 1e-6}
    for got, ref in zip(params, expected, strict=True):
        torch.testing.assert_close(got.detach().double(), ref, **tol)
    like = params[0]
    sums = grp.sums([p.detach().abs() for p in params], like)
    alive = torch.as_tensor(alive)
    assert bool((sums[~alive] == 0).all()), "a dead group kept a non-zero entry"
    assert bool((sums[alive] > 0).all())


@pytest.mark.parametrize("path", ["row_blocks", "fused"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_coupled_prox_equals_a_per_group_reference_across_group_sizes(path, dtype):
    grp = sized_groups(dtype)
    sizes = grp.sizes()
    assert int(sizes.min()) == 1 and int(sizes.max()) > 1000
    params = grp.params
    torch.manual_seed(6)
    denoms = [torch.rand_like(p) * 3 + 0.2 for p in params]
    step = 0.4
    steps = [step / d for d in denoms]
    lam_vec = torch.linspace(0.7, 1.3, grp.n_groups, dtype=dtype) * threshold_between(grp, params, steps)
    expected, alive = per_group_reference(grp, params, steps, lam_vec)
    assert 0 < alive.sum() < grp.n_groups
    blocks = RowBlocks(grp)
    with use_kernels(EAGER if path == "fused" else None):
        diagonal_prox_(blocks, params, lam_vec, step=step, denoms=denoms)
    check_against_reference(grp, params, expected, alive, dtype)


def coupled_penalty(arch, dtype, lam=1.0):
    model, x = make(arch, seed=2)
    model = model.to(dtype)
    reg = Regularizer(model, pz.GroupL1(lam), example_inputs=x.to(dtype), group_weights="uniform")
    pen = reg.param_groups()[0]["penalty"]
    assert isinstance(pen, CoupledGroupL1)
    return pen


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("arch", ["resnet1d", "transformer", "cnn_bn"])
def test_fused_prox_equals_the_row_block_prox_on_coupled_structures(arch, dtype):
    """Same exact zeros, same values within rounding, on real coupled structures (masks,
    row subsets, consumer columns, heads)."""
    pen = coupled_penalty(arch, dtype)
    params = pen.groups.params
    torch.manual_seed(0)
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn_like(p))
    denoms = [torch.rand_like(p) * 3 + 0.2 for p in params]
    step = 0.3
    pen.group.lam = threshold_between(pen.groups, params, [step / d for d in denoms])
    before = [p.detach().clone() for p in params]
    pen.prox_foreach_(params, step, denoms)
    eager = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, b in zip(params, before, strict=True):
            p.copy_(b)
    with use_kernels(EAGER):
        pen.prox_foreach_(params, step, denoms)
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-6}
    dead = 0
    for got, ref in zip(params, eager, strict=True):
        assert torch.equal(got.detach() == 0, ref == 0)
        torch.testing.assert_close(got.detach(), ref, **tol)
        dead += int((ref == 0).sum())
    assert dead > 0


def train(fused, *, target=None, dtype=torch.float64, kernels=EAGER, fn=None, steps=20):
    model, x = make("resnet1d", seed=4)
    model = model.to(dtype)
    torch.manual_seed(4)
    xs, y = torch.randn(32, *x.shape[1:], dtype=dtype), torch.randint(0, 3, (32,))
    options = {"target": target, "total_steps": steps} if target else {}
    reg = Regularizer(model, pz.GroupL1(0.005), example_inputs=x.to(dtype), **options)
    opt = ProxAdamW(reg.param_groups(), lr=0.05, fused=fused)
    if fused:
        opt._fused_fn = fn or _fused.adam_prox_step_
        opt._coupled_kernels = kernels
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()
    return model, opt, opt.param_groups[0]["penalty"].groups.norms()


@pytest.mark.parametrize("target", [None, 0.5])
def test_proxadamw_fused_path_with_coupled_groups_equals_the_multi_tensor_path(target):
    """Twenty steps, plain coupled GroupL1 and a size budget: same weights, same exact zeros,
    same Adam state."""
    (a, opt_a, norms_a), (b, opt_b, norms_b) = train(False, target=target), train(True, target=target)
    assert bool((norms_a == 0).any())
    assert torch.equal(norms_a == 0, norms_b == 0)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-10, atol=1e-12)
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(opt_a.state[pa][key], opt_b.state[pb][key], rtol=1e-10, atol=1e-12)


def test_fused_path_falls_back_where_a_member_has_no_gradient_or_an_elementwise_term():
    model, x = make("resnet1d", seed=1)
    reg = Regularizer(model, pz.GroupL1(0.01), example_inputs=x)
    opt = ProxAdamW(reg.param_groups(), fused=True)
    group = opt.param_groups[0]
    params = list(group["params"])
    assert opt._fused_ok(group, params) or _fused.compiled_step() is None
    assert not opt._fused_ok(group, params[1:])  # a tensor held fixed: the multi-tensor path
    sparse = Regularizer(model, pz.L1(0.01) + pz.GroupL1(0.01), example_inputs=x)
    opt = ProxAdamW(sparse.param_groups(), fused=True)
    with pytest.raises(ValueError, match="GroupL1 on coupled structures"):
        opt._fused_ok(opt.param_groups[0], list(opt.param_groups[0]["params"]))


@pytest.mark.slow
def test_compiled_coupled_prox_on_cpu_equals_the_eager_path():
    """torch.compile of the block functions and of the Adam step (inductor's C++ backend), float32."""
    from penalized.nn.coupled_fused import compiled_kernels

    kernels, fn = compiled_kernels(), _fused.compiled_step()
    if kernels is None or fn is None:
        pytest.skip("torch.compile is not available")
    try:
        _, _, norms_b = train(True, dtype=torch.float32, kernels=kernels, fn=fn, steps=8)
    except Exception as exc:  # no working C++ toolchain for inductor
        pytest.skip(f"torch.compile cannot build on this machine: {type(exc).__name__}")
    a, _, norms_a = train(False, dtype=torch.float32, steps=8)
    b, _, _ = train(True, dtype=torch.float32, kernels=kernels, fn=fn, steps=8)
    assert torch.equal(norms_a == 0, norms_b == 0)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_a_failing_compiled_block_function_warns_and_runs_eagerly(monkeypatch):
    from penalized.nn import coupled_fused

    def broken(fn, **kwargs):
        def call(*args):
            raise RuntimeError("no C++ compiler")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    wrapped = coupled_fused._Compiled(coupled_fused.setup)
    w, d = torch.randn(3, 4, dtype=torch.float64), torch.rand(3, 4, dtype=torch.float64) + 0.5
    with pytest.warns(RuntimeWarning, match="setup runs eagerly"):
        got = wrapped(w, d)
    for a, b in zip(got, coupled_fused.setup(w, d), strict=True):
        assert torch.equal(a, b)
    assert wrapped.compiled is None  # no second try
