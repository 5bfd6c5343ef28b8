"""The collapse guard: the loss's moving average past a bound backs off λ (or holds a budget's ramp)."""

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

import penalized as pz  # noqa: E402
from _nn_models import make  # noqa: E402
from penalized.nn import ProxSGD, Regularizer  # noqa: E402
from penalized.nn.guard import CollapseGuard  # noqa: E402


def _ema_crossing(losses, a, bound, patience):
    """First 1-based observation where the bias-corrected EMA exceeds bound × its running minimum."""
    raw = weight = 0.0
    best = math.inf
    for i, v in enumerate(losses, 1):
        raw, weight = (1 - a) * raw + a * v, (1 - a) * weight + a
        ema = raw / weight
        if i >= patience and ema > bound * best:
            return i
        best = min(best, ema)
    return None


def test_guard_fires_where_the_moving_average_crosses_the_bound_then_waits():
    losses = [1.0] * 30 + [3.0] * 60
    guard = CollapseGuard(1.5, smoothing=0.1, patience=25)
    fired = [i for i, v in enumerate(losses, 1) if guard.observe(v)]
    first = _ema_crossing(losses, 0.1, 1.5, 25)
    assert first is not None and fired[0] == first
    assert all(b - a >= 25 for a, b in zip(fired, fired[1:], strict=False))  # patience between back-offs
    assert CollapseGuard(1.5, patience=1).observe(float("nan"))  # a non-finite loss backs off at once


def test_guard_input_checks():
    with pytest.raises(ValueError, match="bound > 1"):
        CollapseGuard(1.0)
    model, _ = make("mlp")
    with pytest.raises(ValueError, match="example_inputs"):
        Regularizer(model, pz.GroupL1(0.1), guard=1.5)


def test_fixed_lambda_is_halved_with_a_warning():
    model, x = make("mlp")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x, guard=1.5)
    before = float(reg().detach())
    for _ in range(30):
        reg.step(loss=1.0)
    assert reg.backoff == 1.0
    with pytest.warns(UserWarning, match=r"collapse guard at step \d+: .*λ is halved"):
        for _ in range(20):
            reg.step(loss=5.0)
    assert reg.backoff == 0.5
    assert float(reg().detach()) == pytest.approx(0.5 * before, rel=1e-6)  # the value and the prox use λ·backoff
    state = reg.state_dict()
    other = Regularizer(model, pz.GroupL1(0.1), example_inputs=x, guard=1.5)
    other.load_state_dict(state)
    assert other.backoff == 0.5 and other.guard.seen == reg.guard.seen


def test_budget_ramp_is_held_and_the_deadline_moves():
    model, x = make("mlp")
    reg = Regularizer(model, pz.GroupL1(0.0), example_inputs=x, target=0.3, total_steps=100,
                      target_window=(0.0, 0.5), guard=1.5)
    opt = ProxSGD(reg.param_groups(), lr=0.05)
    xs, y = torch.randn(32, 5), torch.randint(0, 3, (32,))

    def step(reported):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()
        reg.step(loss=reported)

    for _ in range(30):
        step(1.0)
    with pytest.warns(UserWarning, match="ramp is held for 25 steps"):
        while reg.guard.backoffs == 0:
            step(10.0)
    b = reg.budget
    norms = reg.group_norms().clone()
    held_from = b.steps
    for _ in range(25):
        step(1.0)
    assert b.paused == 25 and b.reach == 50 + 25
    assert b.steps == held_from + 25
    # no group was shrunk by the budget while held: the zero set did not grow
    assert int((reg.group_norms() == 0).sum()) == int((norms == 0).sum())
    for _ in range(100 - b.steps):
        step(1.0)
    assert b.removed_share(reg.group_norms()) >= 0.3  # still reached, later


def test_backoff_survives_an_optimizer_checkpoint_and_stays_the_regularizers():
    model, x = make("mlp")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x, guard=1.5)
    opt = ProxSGD(reg.param_groups(), lr=0.1)
    with pytest.warns(UserWarning, match="λ is halved"):
        for v in [1.0] * 30 + [5.0] * 20:
            reg.step(loss=v)
    state = opt.state_dict()
    assert state["param_groups"][0]["penalty"]["params"]["backoff"] == 0.5
    reg2 = Regularizer(model, pz.GroupL1(0.1), example_inputs=x, guard=1.5)
    opt2 = ProxSGD(reg2.param_groups(), lr=0.1)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["penalty"] is reg2._coupled and reg2.backoff == 0.5
