"""The regularization lab: every claim of the theory as a measured number and a figure.

One module per claim; each exposes ``run(quick: bool, rng) -> SectionResult``:

================= ==================================================================
``overfitting``   overfitting and its three causes (complexity, too little data, noise)
``training_time`` training too long: test error against epochs, a penalty, early stopping
``knob``          λ is the knob: the validation curve's U shape, λ chosen by CV
``l1_vs_l2``      L1 selects (exact zeros, precision/recall), L2 only shrinks
``geometry``      why L1 makes zeros: subgradients, the diamond and the disc
``deep``          an MLP on digits: no penalty, L2, L1 by subgradient, L1 by prox
``pruning``       zeroing weights reduces computation: latency of the pruned MLP vs the dense one
``real_data``     prostate (lasso, CV) and singh2002 (sparse logistic regression)
================= ==================================================================

Sections ``deep`` and ``pruning`` need PyTorch, an optional dependency (``pip install 'penalized[nn]'``);
without it the section says so in ``SectionResult.pending`` and measures nothing. It never
reports numbers it did not measure. :func:`run_tour` runs them all,
:func:`penalized.report.write_report` turns the results into ``report.html``.

Figures are plain :class:`matplotlib.figure.Figure` objects drawn with
:mod:`penalized.plots` (no pyplot, no global backend change): they render with Agg when
saved and display in notebooks.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from importlib import import_module

import numpy as np

__all__ = ["SECTIONS", "SectionResult", "run_section", "run_tour"]

#: The sections of the tour, in order: (key = module name in penalized.lab, title).
SECTIONS = (
    ("overfitting", "Overfitting and its three causes"),
    ("training_time", "Training too long"),
    ("knob", "λ is the knob"),
    ("l1_vs_l2", "L1 against L2"),
    ("geometry", "Why L1 makes zeros"),
    ("deep", "Deep learning: penalties on an MLP"),
    ("pruning", "Zeroing weights reduces computation"),
    ("real_data", "Real data: prostate and singh2002"),
)


@dataclass
class SectionResult:
    """What one section of the lab measured.

    ``numbers`` holds every number the report shows (JSON-able scalars, short lists or
    nested dicts of them); ``verdicts`` maps each claim to whether the measurement
    agrees with it; ``pending`` says, in plain words, why a section did not run (a
    missing optional dependency); ``data`` holds the curves behind the
    figures (written to ``results.json``, not shown as text).
    """

    key: str
    title: str
    claim: str
    numbers: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    verdicts: dict = field(default_factory=dict)
    text: str = ""
    pending: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    @property
    def status(self):
        """``"failed"``, ``"pending"`` (did not run: nothing measured) or ``"complete"``."""
        if self.error:
            return "failed"
        return "pending" if self.pending else "complete"


def _keys():
    return [key for key, _ in SECTIONS]


def _titles():
    return dict(SECTIONS)


def section_rng(seed, key):
    """The section's own generator: its numbers do not depend on which others ran."""
    return np.random.default_rng([int(seed), _keys().index(key)])


def run_section(key, quick=False, seed=0):
    """Run one section; a crash becomes ``status == "failed"`` with the error message."""
    if key not in _keys():
        raise ValueError(f"unknown section {key!r}; the sections are: {', '.join(_keys())}.")
    start = time.perf_counter()
    try:
        module = import_module(f".{key}", __name__)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes of tiny fits are not the lesson
            result = module.run(quick, section_rng(seed, key))
    except Exception as exc:
        result = SectionResult(key=key, title=_titles()[key], claim="",
                               error=f"{type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - start
    return result


def run_tour(quick=False, seed=0, sections=None, on_start=None, on_done=None):
    """Run the sections (all by default) in order; callbacks get ``(key, title)`` / the result."""
    keys = _keys() if sections is None else list(sections)
    for key in keys:
        if key not in _keys():
            raise ValueError(f"unknown section {key!r}; the sections are: {', '.join(_keys())}.")
    results = []
    for key in keys:
        if on_start is not None:
            on_start(key, _titles()[key])
        result = run_section(key, quick=quick, seed=seed)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results
