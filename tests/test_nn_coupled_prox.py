"""The vectorized coupled prox (:mod:`penalized.nn.coupled_prox`) against the per-tensor reference.

The reference below is the per-tensor implementation the library had before the row blocks
(group sums and broadcasts tensor by tensor, through ``CoupledGroups.sums`` / ``expand``,
which hold the partition's semantics: producer rows, consumer columns, masks). Both solve
the same prox; the tests compare them on real coupled structures (ResNet-like, transformer,
tied GPT), on hand-made partitions that need the masks and row subsets, with held tensors,
and check that dead groups are exactly zero in every member tensor.
"""

import math
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, Regularizer  # noqa: E402
from penalized.nn.coupled import CoupledGroupL1, CoupledGroups, _Member  # noqa: E402
from penalized.nn.coupled_prox import RowBlocks, block_shrink_, diagonal_prox_, scale_groups_  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nn_models import make, make_zoo  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def reference_prox(grp, params, steps, lam, max_iter=200):
    """The per-tensor safeguarded Newton (slow, kept as the reference): ``steps[k]`` like member k."""
    like = params[0]
    info = torch.finfo(like.dtype)
    tiny, eps = info.tiny, info.eps
    lam_e = grp.expand(lam, 0.0)
    t = [s * le for s, le in zip(steps, lam_e, strict=True)]
    w2 = [p * p for p in params]
    sq = grp.sums(w2, like)
    norm = sq.sqrt()
    ratio = grp.sums([a / (b * b).clamp_min(tiny) for a, b in zip(w2, t, strict=True)], like)
    alive = (ratio > 1.0) & (norm > 0)
    lo, hi = torch.zeros_like(norm), norm.clone()
    r = 0.5 * norm
    for _ in range(max_iter):  # plain bisection + Newton to full precision
        r_e = grp.expand(r, 1.0)
        inv = [1.0 / (re + ti) for re, ti in zip(r_e, t, strict=True)]
        q = [a * v * v for a, v in zip(w2, inv, strict=True)]
        h = grp.sums(q, like).clamp_min(tiny)
        h3 = grp.sums([a * v for a, v in zip(q, inv, strict=True)], like)
        phi = h.rsqrt()
        lo = torch.where(phi < 1.0, r, lo)
        hi = torch.where(phi >= 1.0, r, hi)
        r_new = r - (phi - 1.0) / (h.pow(-1.5) * h3).clamp_min(tiny)
        r_new = torch.where((r_new >= lo) & (r_new <= hi), r_new, 0.5 * (lo + hi)).clamp_min(tiny)
        done = ((r_new - r).abs() <= 4 * eps * r) | ~alive
        r = r_new
        if bool(done.all()):
            break
    r = torch.where(alive, r, torch.zeros_like(r))
    out = []
    for p, re, ti in zip(params, grp.expand(r, math.inf), t, strict=True):
        factor = torch.where(torch.isinf(re), torch.ones_like(re), re / (re + ti).clamp_min(tiny))
        out.append(p * factor)
    return out, alive


def half_dead_lam(grp, params, steps):
    """A λ (c_g = 1) at which about half of the groups vanish: between the two middle ‖w_g/s_g‖
    (no group at the threshold itself)."""
    like = params[0]
    with torch.no_grad():
        ratio = grp.sums([(p / s) ** 2 for p, s in zip(params, steps, strict=True)], like).sqrt().sort().values
    mid = len(ratio) // 2
    return float(ratio[mid - 1:mid + 1].mean())


def dead_entries_are_exact_zeros(grp, params, alive):
    """Every entry of a dead group is exactly 0 in every member tensor, and live groups keep non-zeros."""
    like = params[0]
    dead_sum = grp.sums([p.abs() for p in params], like)
    assert bool((dead_sum[~alive] == 0).all())
    assert bool((dead_sum[alive] > 0).all())
    for p, mark in zip(params, grp.expand((~alive).to(like.dtype), 0.0), strict=True):
        mark = mark.expand_as(p) > 0
        assert bool((p[mark] == 0).all())


def coupled_penalty(arch, dtype):
    model, x = make(arch, seed=2) if arch != "gpt_tied" else make_zoo(arch, seed=2)
    model = model.to(dtype)
    x = x.to(dtype) if x.is_floating_point() else x
    reg = Regularizer(model, pz.GroupL1(1.0), example_inputs=x, group_weights="uniform")
    pen = reg.param_groups()[0]["penalty"]
    assert isinstance(pen, CoupledGroupL1)
    return pen


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("arch", ["resnet1d", "transformer", "gpt_tied", "cnn_bn"])
def test_vectorized_prox_equals_the_per_tensor_reference_on_coupled_structures(arch, dtype):
    pen = coupled_penalty(arch, dtype)
    grp = pen.groups
    params = grp.params
    torch.manual_seed(0)
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn_like(p))
    denoms = [torch.rand_like(p) * 3 + 0.2 for p in params]
    step = 0.3
    steps = [step / d for d in denoms]
    lam = half_dead_lam(grp, params, steps)
    pen.group.lam = lam
    lam_vec = torch.full((grp.n_groups,), lam, dtype=dtype)
    expected, alive = reference_prox(grp, [p.detach() for p in params], steps, lam_vec)
    assert 0 < int(alive.sum()) < grp.n_groups
    pen.prox_foreach_(params, step, denoms)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-6}
    for got, ref in zip(params, expected, strict=True):
        torch.testing.assert_close(got.detach(), ref, **tol)
    dead_entries_are_exact_zeros(grp, [p.detach() for p in params], alive)


def synthetic_groups(dtype):
    """Members that need masks and row subsets: partial producer rows, consumer columns of the
    rows no producer owns, a consumer-only tensor with unlabelled columns, a 4-D producer."""
    torch.manual_seed(1)

    def member(name, shape, **labels):
        m = _Member(name=name, param=torch.nn.Parameter(torch.randn(*shape, dtype=dtype)))
        for key, value in labels.items():
            setattr(m, key, torch.as_tensor(value) if isinstance(value, list) else value)
        return m

    members = [
        member("a", (5, 4), prod_dim=0, prod_lab=[0, 1, -1, 2, -1], cons_dim=1, cons_lab=[3, -1, 4, 3]),
        member("b", (4,), prod_dim=0, prod_lab=[0, 1, 2, 2]),
        member("c", (3, 6), cons_dim=1, cons_lab=[5, 5, -1, 0, 4, -1]),
        member("d", (6, 3, 2, 2), prod_dim=0, prod_lab=[3, 4, 5, 5, 1, 0]),
        member("e", (2, 5, 3), prod_dim=1, prod_lab=[-1, 2, -1, 1, 5]),
    ]
    return CoupledGroups(members, structures=[None] * 6)


def test_row_blocks_cover_every_labelled_entry_once_with_masks_and_subsets():
    grp = synthetic_groups(torch.float64)
    blocks = RowBlocks(grp)
    parts = [part for block in blocks.blocks for part in block.parts]
    assert any(p.mask is not None for p in parts) and any(p.rows is not None for p in parts)
    # the group sums of the blocks are those of the per-tensor partition
    like = grp.params[0]
    rows = [block.gather([p.detach() for p in grp.params], 0.0, like).sum(1) for block in blocks.blocks]
    torch.testing.assert_close(blocks.sums(rows, like), grp.sums([p.detach() for p in grp.params], like))
    ones = [torch.ones_like(p) for p in grp.params]
    sizes = blocks.sums([block.gather(ones, 0.0, like).sum(1) for block in blocks.blocks], like)
    torch.testing.assert_close(sizes, grp.sizes().to(like.dtype))


@pytest.mark.parametrize("case", ["denoms", "held_denoms", "held_scalar", "steps"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_vectorized_prox_equals_the_reference_with_masks_subsets_and_held_tensors(case, dtype):
    grp = synthetic_groups(dtype)
    params = grp.params
    before = [p.detach().clone() for p in params]
    torch.manual_seed(3)
    denoms = [torch.rand_like(p) * 3 + 0.2 for p in params]
    step = 0.5
    held = {1} if case.startswith("held") else set()  # b: groups 0-2 cannot vanish
    if case == "held_scalar":
        steps = [torch.zeros_like(p) if k in held else torch.full_like(p, step) for k, p in enumerate(params)]
    else:
        steps = [torch.zeros_like(p) if k in held else step / d for k, (p, d) in enumerate(zip(params, denoms,
                                                                                               strict=True))]
    lam_vec = torch.linspace(0.5, 1.5, grp.n_groups, dtype=dtype)
    lam_vec *= half_dead_lam(grp, before, [s.clamp_min(1e-3) for s in steps]) / 1.2
    expected, alive = reference_prox(grp, before, steps, lam_vec)
    assert 0 < int(alive.sum()) < grp.n_groups
    blocks = RowBlocks(grp)
    if case in ("denoms", "held_denoms"):
        diagonal_prox_(blocks, params, lam_vec, step=step,
                       denoms=[None if k in held else d for k, d in enumerate(denoms)])
    elif case == "held_scalar":
        diagonal_prox_(blocks, params, lam_vec, steps=[None if k in held else step for k in range(len(params))])
    else:
        diagonal_prox_(blocks, params, lam_vec, steps=steps)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-6}
    for got, ref in zip(params, expected, strict=True):
        torch.testing.assert_close(got.detach(), ref, **tol)
    for k in held:  # a held tensor keeps its values exactly
        assert torch.equal(params[k].detach(), before[k])
    # entries outside every group are untouched
    for p, old, inside in zip(params, before, grp.expand(torch.ones(grp.n_groups, dtype=dtype), 0.0), strict=True):
        outside = inside.expand_as(p) == 0
        assert torch.equal(p.detach()[outside], old[outside])
    dead_entries_are_exact_zeros(grp, [p.detach() for p in params], alive)


def test_proxadamw_training_steps_follow_the_reference_prox():
    """Twenty ProxAdamW steps on the ResNet-like net: the vectorized prox and the reference
    (patched in) give the same weights and the same exact zeros."""
    results = []
    for use_reference in (False, True):
        model, x = make("resnet1d", seed=4)
        model = model.double()
        torch.manual_seed(4)
        xs, y = torch.randn(32, *x.shape[1:], dtype=torch.float64), torch.randint(0, 3, (32,))
        reg = Regularizer(model, pz.GroupL1(0.005), example_inputs=x.double())
        pen = reg.param_groups()[0]["penalty"]
        if use_reference:
            def prox(ws, step, denoms=None, pen=pen):
                grp = pen.groups
                lam = pen._factors(ws[0])
                lam = lam if torch.is_tensor(lam) else torch.full((grp.n_groups,), lam, dtype=ws[0].dtype)
                out, _ = reference_prox(grp, [w.detach() for w in ws], [step / d for d in denoms], lam)
                for w, o in zip(ws, out, strict=True):
                    w.copy_(o)
                return ws
            pen.prox_foreach_ = prox
        opt = ProxAdamW(reg.param_groups(), lr=0.05)
        for _ in range(20):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xs), y).backward()
            opt.step()
        results.append(([p.detach().clone() for p in pen.groups.params], pen.groups.norms()))
    (got, norms), (ref, ref_norms) = results
    assert bool((ref_norms == 0).any()) and not bool((ref_norms == 0).all())
    assert torch.equal(norms == 0, ref_norms == 0)
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


def reference_block_shrink(grp, params, step, lam):
    """Block soft-thresholding tensor by tensor (the previous implementation, kept as the reference)."""
    like = params[0]
    norms = grp.sums([p * p for p in params], like).sqrt()
    shrink = (1.0 - step * lam / norms.clamp_min(torch.finfo(like.dtype).tiny)).clamp_min(0.0)
    return [p * f for p, f in zip(params, grp.expand(shrink, 1.0), strict=True)], shrink > 0


@pytest.mark.parametrize("source", ["synthetic", "resnet1d", "transformer"])
def test_block_soft_thresholding_equals_the_per_tensor_reference(source):
    """ProxSGD's prox (one scalar step) on the row parts, masks and subsets included."""
    if source == "synthetic":
        grp = synthetic_groups(torch.float64)
        blocks = RowBlocks(grp)
        apply = lambda step, lam: block_shrink_(blocks, grp.params, step, lam)  # noqa: E731
    else:
        pen = coupled_penalty(source, torch.float64)
        grp = pen.groups
        apply = lambda step, lam: (setattr(pen.group, "lam", lam), pen.prox_foreach_(grp.params, step))  # noqa: E731
    params = grp.params
    before = [p.detach().clone() for p in params]
    step = 0.4
    lam = half_dead_lam(grp, before, [torch.full_like(p, step) for p in params])
    expected, alive = reference_block_shrink(grp, before, step, lam)
    assert 0 < int(alive.sum()) < grp.n_groups
    apply(step, lam)
    for got, ref in zip(params, expected, strict=True):
        torch.testing.assert_close(got.detach(), ref, rtol=1e-12, atol=1e-14)
    dead_entries_are_exact_zeros(grp, [p.detach() for p in params], alive)


@pytest.mark.parametrize("source", ["synthetic", "resnet1d"])
def test_group_norms_and_group_scaling_on_the_row_parts_match_the_partition(source):
    """``CoupledGroups.norms`` and the budget's per-group scaling act on exactly each group's entries."""
    grp = synthetic_groups(torch.float64) if source == "synthetic" else coupled_penalty(source, torch.float64).groups
    params = grp.params
    before = [p.detach().clone() for p in params]
    torch.testing.assert_close(grp.norms(), grp.sums([p * p for p in before], before[0]).sqrt(), rtol=1e-13, atol=0)
    factor = torch.linspace(0.0, 2.0, grp.n_groups, dtype=torch.float64)
    scale_groups_(grp.row_blocks(), params, factor)
    for p, old, f in zip(params, before, grp.expand(factor, 1.0), strict=True):
        assert torch.equal(p.detach(), old * f)
