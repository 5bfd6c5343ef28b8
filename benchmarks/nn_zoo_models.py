"""Untrained real architectures for the ``penalized.nn`` zoo tests and benchmark (no weights downloaded).

torchvision's and timm's own model code, built with random weights and 10 classes; every
builder returns ``(model, example_inputs)`` at a small image size (the cost of a trace is the
graph's, not the image's). The small hand-written nets (LSTM, GRU, a GPT-like model with tied
embeddings, a ConvGRU) are in ``tests/_nn_models.py``.

torchvision from PyPI for torch 2.13 is a CUDA build whose compiled ops do not load with the
CPU torch; its import then fails in ``torchvision/_meta_registrations.py`` ("operator
torchvision::nms does not exist"). Only the detection ops (nms, roi_align, ...) are compiled:
:func:`import_torchvision` declares the two op schemas that import registers fakes for and
imports the pure-Python rest (the architectures), which is all the zoo needs. timm imports
torchvision at import time, so it goes through the same function.
"""

from __future__ import annotations

import importlib
import sys

import torch

__all__ = ["import_torchvision", "import_timm", "ZOO", "build"]

_SHIM = []  # keeps the torch.library.Library alive (its definitions go with it)


def import_torchvision():
    """``torchvision``, or ``None`` when it is not installed (see the module docstring)."""
    try:
        return importlib.import_module("torchvision")
    except ImportError:
        return None
    except RuntimeError as exc:
        if "torchvision::" not in str(exc) or _SHIM:
            raise
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    lib = torch.library.Library("torchvision", "DEF")  # noqa: TOR901 - the ops' C++ library did not load
    for op in ("nms", "qnms"):
        lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _SHIM.append(lib)
    return importlib.import_module("torchvision")


def import_timm():
    """``timm``, or ``None`` when it (or torchvision, which it imports) is not installed."""
    if import_torchvision() is None:
        return None
    try:
        return importlib.import_module("timm")
    except ImportError:
        return None


# -- the zoo ------------------------------------------------------------------------------------

def _image(size, batch=2):
    return torch.randn(batch, 3, size, size)


def _tv(name, size, **kwargs):
    def make():
        tv = import_torchvision()
        return getattr(tv.models, name)(weights=None, num_classes=10, **kwargs), _image(size)
    return make, "torchvision"


def _timm(name, size, **kwargs):
    def make():
        return import_timm().create_model(name, pretrained=False, num_classes=10, **kwargs), _image(size)
    return make, "timm"


#: name -> (builder, package it needs or None). Input sizes are small: the trace's cost is the graph's.
ZOO = {
    "tv_resnet18": _tv("resnet18", 32),
    "tv_mobilenet_v3_small": _tv("mobilenet_v3_small", 32),
    "tv_efficientnet_b0": _tv("efficientnet_b0", 32),
    "tv_convnext_tiny": _tv("convnext_tiny", 32),
    "tv_vit_b_16": _tv("vit_b_16", 32, image_size=32),
    "tv_swin_t": _tv("swin_t", 32),
    "timm_resnet18": _timm("resnet18", 32),
    "timm_mobilenetv3_small_100": _timm("mobilenetv3_small_100", 32),
    "timm_convnext_atto": _timm("convnext_atto", 32),
    "timm_vit_tiny": _timm("vit_tiny_patch16_224", 32, img_size=32),
    "timm_levit_128s": _timm("levit_128s", 64, img_size=64),
}


def build(name, seed=0):
    """``(model in eval mode, example_inputs)`` of zoo entry ``name``; ``None`` if its package is missing."""
    make, package = ZOO[name]
    if package == "torchvision" and import_torchvision() is None:
        return None
    if package == "timm" and import_timm() is None:
        return None
    torch.manual_seed(seed)
    model, x = make()
    return model.eval(), x
