"""ProxAdamW's whole update for one tensor as one function, compiled by ``torch.compile``.

The multi-tensor path runs about a dozen elementwise passes over every weight (Adam's
moments, the denominator, the capped metric, the step, the prox); on a GPU a large model's
step is bound by memory traffic, so each pass costs. :func:`adam_prox_step_` writes the
same arithmetic as one function of the tensors and 0-d scalar tensors; compiled (on CUDA
by default, see ``ProxAdamW(fused=...)``) it becomes one or two kernels that read the
weight, the gradient and the moments once. Uncompiled it is an ordinary eager function,
which the tests compare with the multi-tensor path.

Scope: no penalty, a penalty of the L1/L2/L1L2 family without per-feature factors, or the
group lasso on coupled structures (:class:`penalized.nn.coupled.CoupledGroupL1`: the Adam
update here writes ``D``, then the group prox runs on the fused block functions of
:mod:`penalized.nn.coupled_fused`), without amsgrad; everything else takes the
multi-tensor path.
"""

from __future__ import annotations

import warnings

import torch

__all__ = ["adam_prox_step_", "compiled_step", "supports"]


def adam_prox_step_(ps, gs, ms, vs, lr, c, bc1, l1, l2, wd, *, beta1, beta2, eps, capped, has_l1, has_l2,
                    decay, ds=None):
    """One ProxAdamW step on the tensors ``ps`` in place (moments ``ms``, ``vs`` in place).

    ``lr, c, bc1, l1, l2, wd`` are 0-d CPU tensors (tensors, not floats, so that a compiled
    graph is not specialized to their values; on the CPU, so that passing them to CUDA
    kernels needs no host-to-device copy, which would wait for the GPU): ``c = sqrt(1 − β₂ᵗ)``,
    ``bc1 = 1 − β₁ᵗ``, ``l1``/``l2`` the penalty's strengths times the schedule factor. The
    flags are Python constants (one graph per combination). The arithmetic is that of the
    multi-tensor path, in the scaled variable ``D = c·δ``. ``ds`` (optional, like ``ps``)
    receive ``D``, for a prox that runs afterwards (the coupled group prox, which needs every
    tensor of a group at once).
    """
    step = lr * c / bc1
    for k, (p, g, m, v) in enumerate(zip(ps, gs, ms, vs, strict=True)):
        m.lerp_(g, 1.0 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
        if decay:
            p.mul_(1.0 - lr * wd)
        tiny = torch.finfo(p.dtype).tiny  # float16: eps·c and l1·c would round to 0 (0/0 = NaN)
        big_d = v.sqrt() + (eps * c).clamp_min(tiny)
        if capped:
            big_d = torch.minimum(torch.maximum(m.abs() * (c / bc1), (l1 * c).clamp_min(tiny)), big_d)
        p.sub_(m / big_d * step)
        if ds is not None:
            ds[k].copy_(big_d)
        if has_l1 or has_l2:
            y = p * big_d
            if has_l1:
                # soft-thresholding with its zeros written out: a compiler may recompute y in each
                # use (and contract it into FMAs differently), so y − clamp(y, −a, a) need not be 0
                a = lr * c * l1
                y = torch.where(y > a, y - a, torch.where(y < -a, y + a, torch.zeros_like(y)))
            p.copy_(y / (big_d + 2.0 * lr * c * l2) if has_l2 else y / big_d)


_COMPILED = {}


def compiled_step():
    """``torch.compile(adam_prox_step_)`` (dynamic shapes), built once per process; None if
    this torch cannot compile."""
    if "fn" not in _COMPILED:
        fn = None
        if hasattr(torch, "compile"):
            try:
                fn = torch.compile(adam_prox_step_, dynamic=True, fullgraph=True)
            except Exception as exc:  # pragma: no cover - depends on the installation
                warnings.warn(f"ProxAdamW(fused=True): torch.compile is not usable ({exc}); using the "
                              "multi-tensor update.", RuntimeWarning, stacklevel=3)
        _COMPILED["fn"] = fn
    return _COMPILED["fn"]


#: below this many elements a group's multi-tensor update is faster than the compiled call on a GPU
#: (measured on an H200: 0.09 M parameters, fused 2.2x AdamW's opt.step() against 1.4x; 25 M: 1.1x
#: against 1.6x); ``fused=True`` ignores it
AUTO_MIN_NUMEL = 1 << 20


def supports(group, penalty):
    """Whether a parameter group can take the fused update."""
    from ..penalties import ElasticNetFamily

    if group["amsgrad"]:
        return False
    if is_coupled(penalty):  # the group lasso on coupled structures (no element-wise L1/L2 part)
        return not (penalty.l1 or penalty.l2)
    return penalty is None or (isinstance(penalty, ElasticNetFamily) and penalty.weights is None)


def is_coupled(penalty):
    return getattr(penalty, "couples_tensors", False) and hasattr(penalty, "groups")
