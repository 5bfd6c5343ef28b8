"""Size budgets: Regularizer(..., target=, total_steps=) reaches the share in exact zeros and holds it."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

import penalized as pz  # noqa: E402
from _nn_models import make  # noqa: E402
from penalized.nn import ProxAdamW, ProxSGD, Regularizer, prune  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _data(model, x, n=64, seed=1):
    """Inputs like ``x`` and labels from the untrained model's own argmax (a learnable task)."""
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn((n, *x.shape[1:]), generator=g)
    with torch.no_grad():
        y = model(xs).argmax(1)
    return xs, y


def _zero_share(reg):
    """Share of the budget's total in exactly-zero coupled groups, counted from the tensors."""
    return reg.budget.removed_share(reg.group_norms())


def _prunable(model, reg):
    """Entries of the parameters some coupled structure can remove (counted from the tensors)."""
    ids = {id(s.param) for st in reg.structures for s in st.parts}
    return sum(p.numel() for p in model.parameters() if id(p) in ids)


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def _train(name, opt_cls, lr, target, total=60, metric="params", seed=0, **opt_kw):
    model, x = make(name, seed)
    xs, y = _data(model, x)
    reg = Regularizer(model, pz.GroupL1(1e-3), example_inputs=x, target=target, total_steps=total,
                      target_metric=metric)
    opt = opt_cls(reg.param_groups(), lr=lr, **opt_kw)
    shares = []
    model.train()
    for t in range(total):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xs), y)
        loss.backward()
        opt.step()
        shares.append((t, _zero_share(reg)))
    model.eval()
    return model, reg, xs, shares


@pytest.mark.parametrize("name", ["mlp", "cnn_bn", "resnet1d", "transformer"])
@pytest.mark.parametrize("opt_cls,lr,kw", [(ProxSGD, 0.05, {"momentum": 0.9}), (ProxAdamW, 1e-2, {})])
def test_budget_reached_held_and_pruned(name, opt_cls, lr, kw):
    target = 0.4
    model, reg, xs, shares = _train(name, opt_cls, lr, target, **kw)
    b = reg.budget
    assert b.reach == 42 and b.start == 12  # 0.7·T and 0.2·T
    biggest = float(b.costs.max()) / b.account.total  # the last structure in may overshoot by its own size
    for t, share in shares:
        if t < b.start:
            assert share == 0.0  # dense phase: nothing removed
        if t >= b.reach - 1:  # the last ramp step zeroes the selection; held to the end
            assert target - 1e-9 <= share < target + biggest + 1e-9, (t, share)
    # the same groups stay zero in the hold phase
    zero = reg.group_norms() == 0
    assert torch.equal(zero.cpu(), b.selected.cpu())
    # one unit of every width survives
    fam = b.families
    for f in fam.unique():
        assert (~zero.cpu()[fam == f]).any()
    small = prune(model, example_inputs=xs)
    with torch.no_grad():
        torch.testing.assert_close(small(xs), model(xs), rtol=1e-4, atol=1e-5)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_budget_on_macs():
    target = 0.5
    model, reg, xs, shares = _train("cnn_bn", ProxSGD, 0.05, target, metric="macs", momentum=0.9)
    costs = pz.nn.structure_costs(model, xs[:7])
    torch.testing.assert_close(reg.budget.costs / reg.budget.costs.sum(),
                               torch.as_tensor(costs / costs.sum(), dtype=torch.float64))
    example = xs[:7]  # the MACs are counted on the regularizer's example_inputs
    before = pz.nn.count_macs(model, example)
    after = pz.nn.count_macs(prune(model, example_inputs=xs), example)
    saved = 1 - after / before
    # the controller's count is the network's
    assert reg.budget.removed_share(reg.group_norms()) == pytest.approx(saved, rel=1e-9)
    assert target <= saved < target + 0.25  # the network's MACs, not a sum of marginal costs


@pytest.mark.parametrize("name", ["cnn_bn", "resnet1d", "transformer"])
def test_mac_account_is_exact_for_any_set(name):
    """The MACs a set of removed structures saves = count_macs before − after pruning them."""
    from penalized.nn.budget_macs import MacAccount

    model, x = make(name)
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    account = MacAccount(reg.structures, model, x)
    assert account.total == pytest.approx(pz.nn.count_macs(model, x))
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        model2, _ = make(name)
        reg2 = Regularizer(model2, pz.GroupL1(0.1), example_inputs=x)
        sel = torch.rand(len(reg2.structures), generator=g) < 0.4
        fam = reg2._coupled.groups.families
        for f in fam.unique():  # keep one unit of every width
            sel[(fam == f).nonzero()[0]] = False
        with torch.no_grad():
            for st, s in zip(reg2.structures, sel.tolist(), strict=True):
                if s:
                    for sl in st.own:
                        sl.param.index_fill_(sl.dim, sl.index, 0.0)
        saved = pz.nn.count_macs(model2, x) - pz.nn.count_macs(prune(model2, example_inputs=x), x)
        assert account.removed(sel) == pytest.approx(saved, rel=1e-9, abs=1e-6)
        order = torch.arange(len(sel))
        prefix = account.prefix_removed(order, sel)
        assert float(prefix[-1]) == pytest.approx(saved, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("name", ["mlp", "cnn_bn", "resnet1d", "transformer"])
def test_param_account_is_exact_for_any_set(name):
    """The parameters a set of zeroed structures removes = the network's count before − after
    ``prune`` (own rows and the consumer columns they free, shared entries once)."""
    from penalized.nn.budget_params import ParamAccount

    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        model, x = make(name)
        reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
        account = ParamAccount(reg.structures)
        assert account.total <= _prunable(model, reg)
        sel = torch.rand(len(reg.structures), generator=g) < 0.4
        fam = reg._coupled.groups.families
        for f in fam.unique():  # keep one unit of every width
            sel[(fam == f).nonzero()[0]] = False
        with torch.no_grad():
            for st, s in zip(reg.structures, sel.tolist(), strict=True):
                if s:
                    for sl in st.own:
                        sl.param.index_fill_(sl.dim, sl.index, 0.0)
        saved = _n_params(model) - _n_params(prune(model, example_inputs=x))
        assert account.removed(sel) == pytest.approx(saved, rel=1e-9, abs=1e-6)
        assert float(account.prefix_removed(torch.arange(len(sel)), sel)[-1]) == pytest.approx(saved, rel=1e-9)
        singles = account.marginal()  # each structure alone: its parts' entries
        want = [sum(sl.index.numel() * sl.param.numel() // sl.param.shape[sl.dim] for sl in st.parts)
                for st in reg.structures]
        torch.testing.assert_close(singles, torch.as_tensor(want, dtype=torch.float64))


@pytest.mark.parametrize("name", ["cnn_bn", "resnet1d"])
@pytest.mark.parametrize("target", [0.3, 0.5])
def test_budget_share_is_what_prune_removes(name, target):
    """target = the share of the prunable parameters that prune takes out (a residual
    channel's columns in the inner convolutions counted once), not of a sum of group sizes."""
    model, reg, xs, _ = _train(name, ProxSGD, 0.05, target, momentum=0.9)
    before = _n_params(model)
    total = reg.budget.account.total
    small = prune(model, example_inputs=xs)
    removed = before - _n_params(small)
    assert reg.budget.removed_share(reg.group_norms()) == pytest.approx(removed / total, rel=1e-9)
    # reached, overshooting by less than the last structure taken (these test nets are tiny:
    # one structure holds up to 15 % of their prunable parameters)
    biggest = float(reg.budget.costs.max()) / total
    assert target - 1e-9 <= removed / total < target + biggest + 1e-9, removed / total
    with torch.no_grad():
        torch.testing.assert_close(small(xs), model(xs), rtol=1e-4, atol=1e-5)


def test_budget_window_and_state_round_trip():
    model, x = make("mlp")
    reg = Regularizer(model, pz.GroupL1(0.0), example_inputs=x, target=0.3, total_steps=100,
                      target_window=(0.0, 0.5))
    assert (reg.budget.start, reg.budget.reach) == (0, 50)
    opt = ProxSGD(reg.param_groups(), lr=0.1)
    xs, y = _data(model, x)
    for _ in range(10):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()
    state = opt.state_dict()
    model2, _ = make("mlp")
    model2.load_state_dict(model.state_dict())
    reg2 = Regularizer(model2, pz.GroupL1(0.0), example_inputs=x, target=0.3, total_steps=100,
                       target_window=(0.0, 0.5))
    opt2 = ProxSGD(reg2.param_groups(), lr=0.1)
    opt2.load_state_dict(state)
    assert reg2.budget.steps == 10
    assert torch.equal(reg2.budget.selected, reg.budget.selected)
    assert opt2.param_groups[0]["penalty"] is reg2._coupled  # the optimizer acts on the Regularizer's penalty


def test_without_target_unchanged():
    model, x = make("mlp")
    reg = Regularizer(model, pz.GroupL1(1e-2), example_inputs=x)
    assert reg.budget is None
    assert type(reg._coupled).__name__ == "CoupledGroupL1"


@pytest.mark.parametrize("kw,match", [
    ({"target": 1.0, "total_steps": 10}, "fraction in"),
    ({"target": 0.5}, "needs total_steps"),
    ({"target": 0.5, "total_steps": 10, "target_metric": "flops"}, "target_metric"),
    ({"target": 0.5, "total_steps": 10, "target_window": (0.7, 0.2)}, "start < reach"),
    ({"total_steps": 10}, "pass target"),
])
def test_bad_budget_arguments(kw, match):
    model, x = make("mlp")
    with pytest.raises(ValueError, match=match):
        Regularizer(model, pz.GroupL1(1e-2), example_inputs=x, **kw)


def test_budget_needs_example_inputs():
    model, _ = make("mlp")
    with pytest.raises(ValueError, match="example_inputs"):
        Regularizer(model, pz.GroupL1(1e-2), target=0.5, total_steps=10)


def _one_prox(model, x, lam, group_weights, step=1.0):
    reg = Regularizer(model, pz.GroupL1(lam), example_inputs=x, group_weights=group_weights)
    opt = ProxSGD(reg.param_groups(), lr=step)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    return reg


@pytest.mark.parametrize("group_weights,lam,expected", [
    ("sqrt_size", 0.099, "none"), ("sqrt_size", 0.101, "all"),   # one threshold on the RMS, any size
    ("uniform", 0.5, "small"),                                    # c_g = 1: only the small groups go
    ("size", 0.02, "big"), ("size", 0.005, "none"),            # c_g = n_g: the large ones first
])
def test_group_weight_normalization_across_sizes(group_weights, lam, expected):
    """Groups of 301 and 8 entries, every entry ±0.1 (the same RMS): with c_g = √n_g one λ
    removes both or neither; with c_g = 1 the small one goes first, with c_g = n_g the big one."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(300, 5), torch.nn.ReLU(), torch.nn.Linear(5, 5), torch.nn.ReLU(),
                                torch.nn.Linear(5, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.1 * torch.sign(torch.randn_like(p)))
    x = torch.randn(4, 300)
    reg = _one_prox(model, x, lam, group_weights)
    sizes, zero = reg.group_sizes(), reg.group_norms() == 0
    assert sorted(set(sizes.tolist())) == [8, 301]
    big, small = zero[sizes == 301], zero[sizes == 8]
    want_big, want_small = {"none": (False, False), "all": (True, True), "small": (False, True),
                            "big": (True, False)}[expected]
    assert bool(big.all()) == want_big and bool(big.any()) == want_big
    assert bool(small.all()) == want_small and bool(small.any()) == want_small


def test_bad_group_weights():
    model, x = make("mlp")
    with pytest.raises(ValueError, match="group_weights"):
        Regularizer(model, pz.GroupL1(1e-2), example_inputs=x, group_weights="sqrt")
