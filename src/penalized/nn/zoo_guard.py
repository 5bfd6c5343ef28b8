"""Guards for real model zoos: a memory and time budget on the dependency-graph trace, and
widths that a reshape splits into heads.

- :func:`graph_budget` wraps :func:`penalized.nn.structures.trace`. Torch-Pruning's group
  search can run away on some graphs (on torchvision's ``swin_t`` it grew past 7 GB before
  finishing). A watchdog thread measures the process's resident memory and the elapsed
  time; past :data:`MAX_GRAPH_MEMORY` bytes of growth or :data:`MAX_GRAPH_SECONDS` seconds it
  stops the trace (an exception raised asynchronously in the tracing thread, caught at the
  next Python instruction) and a ValueError names the model and the budget. Both budgets
  can be changed through the module attributes; ``None`` turns one off.
- :func:`mark_packed_heads` makes a width non-removable when the closest module that holds
  its producers and one of its consumers is an attention module with ``num_heads`` (timm's
  ``Attention``, ``WindowAttention``, LeViT's): there one Linear packs the queries, keys and
  values of every head and a reshape splits its output into ``(3, num_heads, head_dim)``, so
  removing single rows breaks the reshape. The heads of ``nn.MultiheadAttention`` are structures of their own.
- :func:`mark_out_of_range` makes a width non-removable when Torch-Pruning maps it to indices
  a tensor does not have (LeViT's attention splits its packed projection into keys, queries
  and values of different sizes): the ``IndexError`` that followed becomes a named reason.

:func:`mark_unsupported` applies both to the widths of one trace.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import time

__all__ = ["MAX_GRAPH_MEMORY", "MAX_GRAPH_SECONDS", "GraphBudgetExceeded", "graph_budget", "mark_unsupported",
           "mark_packed_heads", "mark_out_of_range"]

#: growth of the resident memory (bytes) allowed while tracing one model, or 4 times the
#: model's parameter bytes if that is more (tracing vit_b_16, 86 M parameters, grew by 0.34 GiB)
MAX_GRAPH_MEMORY = 3 * 2**30
#: seconds allowed for tracing one model
MAX_GRAPH_SECONDS = 600.0


class GraphBudgetExceeded(BaseException):
    """Raised asynchronously in the tracing thread by the watchdog (turned into a ValueError); a
    BaseException, so that the trace's own ``except Exception`` clauses let it through."""


def _rss():
    """Resident memory of this process in bytes, or None where /proc is not available."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class _Watchdog(threading.Thread):
    def __init__(self, target_ident, max_memory, max_seconds, interval=0.05):
        super().__init__(daemon=True)
        self.target_ident = target_ident
        self.max_memory, self.max_seconds, self.interval = max_memory, max_seconds, interval
        self.start_rss = _rss()
        self.start_time = time.perf_counter()
        self.stop_event = threading.Event()
        self.fired = None  # what was exceeded, in words
        self.lock = threading.Lock()
        self.target_pending = False

    def run(self):
        while not self.stop_event.wait(self.interval):
            rss = _rss()
            if self.max_memory is not None and rss is not None and self.start_rss is not None \
                    and rss - self.start_rss > self.max_memory:
                self.fired = f"its memory grew by {(rss - self.start_rss) / 2**30:.1f} GiB"
            elif self.max_seconds is not None and time.perf_counter() - self.start_time > self.max_seconds:
                self.fired = f"it ran for more than {self.max_seconds:g} s"
            with self.lock:
                if self.fired and not self.stop_event.is_set():
                    self.target_pending = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target_ident),
                                                               ctypes.py_object(GraphBudgetExceeded))
                    return
                self.fired = None

    def stop(self):
        """Stop watching (idempotent); what fired, if anything. Called from the traced thread."""
        with self.lock:
            self.stop_event.set()
            if self.target_pending:  # not delivered yet: withdraw it
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target_ident), None)
                self.target_pending = False
        if self.is_alive() and threading.get_ident() != self.ident:
            self.join()
        return self.fired


def graph_budget(trace):
    """``trace(model, example_inputs)`` under the memory and time budget (see the module doc)."""

    @functools.wraps(trace)
    def guarded(model, example_inputs):
        if MAX_GRAPH_MEMORY is None and MAX_GRAPH_SECONDS is None:
            return trace(model, example_inputs)
        memory = MAX_GRAPH_MEMORY
        if memory is not None:
            memory = max(memory, 4 * sum(p.numel() * p.element_size() for p in model.parameters()))
        dog = _Watchdog(threading.get_ident(), memory, MAX_GRAPH_SECONDS)
        dog.start()
        try:
            try:
                result = trace(model, example_inputs)
            finally:
                fired = dog.stop()
        except GraphBudgetExceeded:
            fired = dog.stop()
        if fired:
            raise ValueError(
                f"tracing the coupled structures of {type(model).__name__} was stopped: {fired} "
                f"(budget: {_budget(memory)}). Torch-Pruning's dependency graph runs away on this architecture "
                "(its group search keeps growing, as on torchvision's swin_t); drop example_inputs for "
                "per-row groups, or raise penalized.nn.zoo_guard.MAX_GRAPH_MEMORY / MAX_GRAPH_SECONDS.")
        return result

    return guarded


def _budget(memory):
    parts = []
    if memory is not None:
        parts.append(f"{memory / 2**30:.3g} GiB of memory growth")
    if MAX_GRAPH_SECONDS is not None:
        parts.append(f"{MAX_GRAPH_SECONDS:g} s")
    return ", ".join(parts)


def _prefix(name):
    return name.rsplit(".", 1)[0] if "." in name else ""


def _common_module(names):
    """The dotted name of the closest module that contains every module of ``names``."""
    parts = [n.split(".") if n else [] for n in names]
    k = 0
    while all(len(p) > k for p in parts) and len({p[k] for p in parts}) == 1:
        k += 1
    return ".".join(parts[0][:k])


def mark_packed_heads(model, groups):
    """Mark the channel groups inside a packed multi-head attention as non-removable (see the module doc)."""
    from torch import nn

    attention = {name: m for name, m in model.named_modules()
                 if isinstance(getattr(m, "num_heads", None), int) and m.num_heads > 1
                 and not isinstance(m, nn.MultiheadAttention)}
    if not attention:
        return groups
    for cg in groups:
        if not cg.removable:
            continue
        makers = {_prefix(s.name) for s in cg.producers if not s.bias}
        readers = {_prefix(s.name) for _, s in cg.consumers}
        if not makers:
            continue
        for reader in sorted(readers):
            home = _common_module(sorted(makers) + [reader])  # the closest module holding them all
            if home in attention:
                module = attention[home]
                cg.removable = False
                cg.reason = (f"'{home}' ({type(module).__name__}, num_heads={module.num_heads}) packs its heads in "
                             f"'{sorted(makers)[0]}' and splits them with a reshape, so single units cannot go (the "
                             "heads of such packed projections are not structures; nn.MultiheadAttention's are)")
                break
    return groups


def mark_out_of_range(groups):
    """Mark the channel groups whose index mapping leaves a tensor's shape as non-removable."""
    for cg in groups:
        if not cg.removable:
            continue
        for _, s in [(None, s) for s in cg.producers + cg.members] + list(cg.consumers):
            size = s.param.shape[s.dim] if s.param.ndim > s.dim else 0
            if s.index.numel() and (int(s.index.min()) < 0 or int(s.index.max()) >= size):
                cg.removable = False
                cg.reason = (f"Torch-Pruning maps its {cg.width} units to indices up to {int(s.index.max())} of "
                             f"'{s.name}' (size {size} along dim {s.dim}): a split, reshape or shared weight it "
                             "does not follow")
                break
    return groups


def mark_unsupported(model, groups):
    """:func:`mark_out_of_range` then :func:`mark_packed_heads` on the widths of one trace."""
    return mark_packed_heads(model, mark_out_of_range(groups))
