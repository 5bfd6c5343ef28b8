"""penalized.nn.LambdaSchedule: dense steps first, then λ ramped in."""

import math
import pickle

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import LambdaSchedule, ProxAdamW, ProxSGD, Regularizer  # noqa: E402


def test_factor_is_zero_then_a_linear_ramp_then_one():
    s = LambdaSchedule(warmup_steps=3, ramp_steps=4)
    assert [s(t) for t in range(9)] == [0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert s.full_at == 6 and s(s.full_at) == 1.0 and s(s.full_at - 1) < 1.0
    assert [LambdaSchedule(2)(t) for t in range(4)] == [0.0, 0.0, 1.0, 1.0]  # no ramp: a switch
    assert [LambdaSchedule(0, 2)(t) for t in range(3)] == [0.5, 1.0, 1.0]  # a plain warm-up ramp
    assert LambdaSchedule(0)(0) == 1.0 and LambdaSchedule(0).full_at == 0


def test_cosine_ramp_has_the_same_end_points_and_is_monotone():
    lin, cos = LambdaSchedule(5, 10), LambdaSchedule(5, 10, shape="cosine")
    values = [cos(t) for t in range(20)]
    assert values[:5] == [0.0] * 5 and values[14:] == [1.0] * 6
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    for t in range(5, 14):  # (1 − cos(π r)) / 2 with the linear ramp's r
        assert cos(t) == pytest.approx(0.5 * (1 - math.cos(math.pi * lin(t))))


def test_schedule_drives_the_optimizers_and_the_regularizer_alike():
    """The prox of step t uses factor(t)·λ: zero-gradient steps show the shrink per step."""
    sched = LambdaSchedule(2, 2)
    for make, step in ((lambda p: ProxSGD(p, lr=0.1, penalty=pz.L1(1.0), schedule=sched), 0.1),
                       (lambda p: ProxAdamW(p, lr=0.1, penalty=pz.L1(1.0), schedule=sched), None)):
        w = nn.Parameter(torch.tensor([1.0, -1.0]))
        opt = make([w])
        shrink = []
        for _ in range(5):
            before = w.detach().clone()
            opt.zero_grad()
            (0.0 * w.sum()).backward()  # no data gradient: the step is the prox alone
            opt.step()
            shrink.append(float(before[0] - w.detach()[0]))
        if step is not None:
            assert shrink == pytest.approx([0.0, 0.0, 0.05, 0.1, 0.1])
        else:  # Adam with a zero gradient: d = eps, the prox zeroes the weight at the first penalized step
            assert shrink[:2] == [0.0, 0.0] and float(w.detach()[0]) == 0.0
        assert opt.param_groups[0]["penalty_step"] == 5
    model = nn.Linear(3, 2)
    reg, full = Regularizer(model, pz.L1(0.1), schedule=sched), Regularizer(model, pz.L1(0.1))()
    values = []
    for _ in range(5):
        values.append(float(reg().detach()))
        reg.step()
    assert values == pytest.approx([0.0, 0.0, 0.5 * float(full), float(full), float(full)])


def test_state_dict_resume_keeps_the_schedule_position():
    sched = LambdaSchedule(3, 3)
    a = nn.Linear(4, 2)
    opt = ProxSGD(a.parameters(), lr=0.1, penalty=pz.L1(0.01), schedule=sched)
    x = torch.randn(8, 4)
    for _ in range(4):
        opt.zero_grad()
        a(x).square().mean().backward()
        opt.step()
    b = nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    opt_b = ProxSGD(b.parameters(), lr=0.1, penalty=pz.L1(0.01), schedule=pickle.loads(pickle.dumps(sched)))
    opt_b.load_state_dict(opt.state_dict())
    assert opt_b.schedule == sched and opt_b.param_groups[0]["penalty_step"] == 4
    for model, o in ((a, opt), (b, opt_b)):
        for _ in range(3):
            o.zero_grad()
            model(x).square().mean().backward()
            o.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_bad_arguments_name_the_problem():
    with pytest.raises(TypeError, match="warmup_steps must be an integer"):
        LambdaSchedule(2.5)
    with pytest.raises(TypeError, match="ramp_steps must be an integer"):
        LambdaSchedule(2, True)
    with pytest.raises(ValueError, match="warmup_steps must be >= 0"):
        LambdaSchedule(-1)
    with pytest.raises(ValueError, match="ramp_steps must be >= 0"):
        LambdaSchedule(0, -5)
    with pytest.raises(ValueError, match="shape must be one of 'linear', 'cosine'"):
        LambdaSchedule(0, 5, shape="exp")
    with pytest.raises(TypeError, match="step must be a number"):
        LambdaSchedule(1, 1)("3")
    assert repr(LambdaSchedule(4, 8, shape="cosine")) == "LambdaSchedule(warmup_steps=4, ramp_steps=8, shape='cosine')"
