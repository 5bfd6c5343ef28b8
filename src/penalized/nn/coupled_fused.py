"""The coupled diagonal-metric group prox with one fused pass per phase and row block.

:func:`penalized.nn.coupled_prox.diagonal_prox_` solves, for every live group, the root
``r`` of ``Σ_i w_i²/(r + t_i)² = 1`` with ``t_i = S_g/d_i`` (``S_g = step·lam_g``, ``d_i``
the coordinate's denominator). Eagerly each Newton step costs five or six whole-array
passes (``r + t``, ``w/(r + t)``, its squared row sums, ``w/(r + t)²``, a product and a
sum), plus four to set up and three to apply: on a large network the prox costs several
AdamW steps. Written as three small functions of one ``(R, L)`` block,

- :func:`setup`: the row sums ``Σ w²`` and ``Σ (w·d)²`` (the group norm and the zero test
  ``Σ (w_i/t_i)² ≤ 1``, the same formula as the eager path);
- :func:`evaluate`: ``Σ w²/(r + t)²`` and ``Σ w²/(r + t)³`` at the current ``r``;
- :func:`factor`: the shrink factor ``r/(r + t_i)`` (0 on dead groups, written as
  ``keep·d/(base·d + S)``), or :func:`shrink_`, the same applied in place where the block
  is a view of one parameter,

a compiler (``torch.compile``: C++ on the CPU, Triton on CUDA) turns each into one kernel
that reads ``w`` and ``d`` once, so a prox costs about ``2 + k`` reads of the weights (``k``
Newton steps, typically 2). ``t`` is never stored: ``w/(r + t) = w·d/(r·d + S)``. The
functions take the row parts of every member tensor as lists (``*_all``: one compiled call
per phase for the whole network, and no concatenation: a part that is a view of its
parameter is read and scaled where it lies).

Used by :class:`penalized.nn.ProxAdamW` on its fused path (``fused=True``, or ``None`` on
CUDA with at least ``2**20`` elements); the same functions run eagerly in the tests, which
compare them with the eager prox.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings

import torch

__all__ = ["setup", "evaluate", "factor", "shrink_", "EAGER", "compiled_kernels", "use_kernels", "active_kernels"]


def setup(w, d):
    """Row sums ``Σ w²`` and ``Σ (w·d)²`` of a block."""
    wd = w * d
    return (w * w).sum(1), (wd * wd).sum(1)


def evaluate(w, d, r, s):
    """Row sums ``Σ w²/(r + t)²`` and ``Σ w²/(r + t)³`` with ``t = s/d`` (``r``, ``s``: ``(R, 1)``)."""
    den = r * d + s  # (r + t)·d
    v = w * d / den  # w/(r + t)
    v2 = v * v
    return v2.sum(1), (v2 * d / den).sum(1)


def factor(d, keep, base, s):
    """``keep/(base + t)`` with ``t = s/d``: ``r/(r + t)`` on live groups, 0 on dead ones."""
    return keep * d / (base * d + s)


def shrink_(w, d, keep, base, s):
    """``w ← w·keep/(base + t)`` in place (``w`` a view of the parameter: no factor array)."""
    w.mul_(keep * d / (base * d + s))


def setup_all(ws, ds):
    """:func:`setup` of every part (one compiled call for all of them)."""
    return [setup(w, d) for w, d in zip(ws, ds, strict=True)]


def evaluate_all(ws, ds, rs, ss):
    return [evaluate(w, d, r, s) for w, d, r, s in zip(ws, ds, rs, ss, strict=True)]


def factor_all(ds, keeps, bases, ss):
    return [factor(d, k, b, s) for d, k, b, s in zip(ds, keeps, bases, ss, strict=True)]


def shrink_all_(ws, ds, keeps, bases, ss):
    for w, d, k, b, s in zip(ws, ds, keeps, bases, ss, strict=True):
        shrink_(w, d, k, b, s)


class Kernels:
    """The block functions (eager or compiled)."""

    def __init__(self, setup_fn, evaluate_fn, factor_fn, shrink_fn):
        self.setup, self.evaluate, self.factor, self.shrink_ = setup_fn, evaluate_fn, factor_fn, shrink_fn


#: the uncompiled functions (tests; and the fallback when torch cannot compile)
EAGER = Kernels(setup_all, evaluate_all, factor_all, shrink_all_)

_COMPILED = {}


#: graphs per block function: inductor specializes on ranges of the row length (a ResNet-18 has ten
#: block shapes), beyond torch's default limit of 8
RECOMPILE_LIMIT = 64


class _Compiled:
    """``torch.compile(fn)`` called under a higher recompile limit; on a compiler failure, a
    warning and ``fn`` eagerly from then on (same results, more passes)."""

    def __init__(self, fn):
        self.fn = fn
        self.compiled = torch.compile(fn, dynamic=True, fullgraph=True)

    def __call__(self, *args):
        if self.compiled is not None:
            try:
                with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT):
                    return self.compiled(*args)
            except Exception as exc:  # e.g. no C++ toolchain, or the limit reached
                warnings.warn(f"the compiled coupled prox failed ({type(exc).__name__}: {str(exc)[:200]}); "
                              f"{self.fn.__name__} runs eagerly from now on.", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self.fn(*args)


def compiled_kernels():
    """The block functions compiled by ``torch.compile`` (dynamic shapes), once per process;
    None if this torch cannot compile."""
    if "k" not in _COMPILED:
        kernels = None
        try:
            kernels = Kernels(*(_Compiled(f) for f in (setup_all, evaluate_all, factor_all, shrink_all_)))
        except Exception as exc:  # pragma: no cover - depends on the installation
            warnings.warn(f"ProxAdamW(fused=True): torch.compile is not usable ({exc}); the coupled prox "
                          "runs eagerly.", RuntimeWarning, stacklevel=3)
        _COMPILED["k"] = kernels
    return _COMPILED["k"]


_ACTIVE = contextvars.ContextVar("penalized_nn_coupled_kernels", default=None)


def active_kernels():
    """The kernels :func:`use_kernels` set for the current context (None: the eager prox)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def use_kernels(kernels):
    """Within the block, the coupled diagonal prox runs on ``kernels`` (None: eagerly)."""
    token = _ACTIVE.set(kernels)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
