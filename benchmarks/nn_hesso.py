"""HESSO (Only-Train-Once, ``pip install only-train-once``) on the torch of this project.

only-train-once 3.0.1 imports ``torch.onnx._globals`` and calls ``torch.onnx._optimize_graph``,
which newer torch moved to ``torch.onnx._internal.torchscript_exporter`` (``_globals``,
``utils._optimize_graph``); :func:`import_oto` points the old names at the new ones before
importing it (in this process only; nothing is installed or edited), and returns ``None``
when the package is not installed.

OTO's dependency graph does not give HESSO any group of the MNIST-1D CNN: the ``Flatten``
before the classifier makes the whole convolution stack one non-prunable node group (0
prunable groups; the same with a mean over positions, and on the 1-D ResNet), so its own
``oto.hesso()`` would train a dense net. :func:`hesso_optimizer` therefore gives HESSO's
optimizer the zero-invariant groups OTO builds for ``Conv → BatchNorm`` layers (per output
channel: the convolution's row and bias, the BatchNorm weight and bias — a zero group makes
the channel output exactly 0), in OTO's own param-group format; the subnet is then cut by
:func:`penalized.nn.prune` (exact; OTO's ``construct_subnet`` needs its graph). HESSO's
``identify_redundant_groups`` allocates a mask with ``.cuda()``; on a machine without CUDA
that call runs with ``Tensor.cuda`` returning the tensor itself (scoped to the call).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys

import torch

__all__ = ["import_oto", "hesso_optimizer", "conv_bn_groups"]


def import_oto():
    """``only_train_once``, or ``None`` when it is not installed."""
    try:
        importlib.import_module("torch.onnx._globals")
    except ImportError:
        try:
            sys.modules["torch.onnx._globals"] = importlib.import_module(
                "torch.onnx._internal.torchscript_exporter._globals")
        except ImportError:
            return None
    if not hasattr(torch.onnx, "_optimize_graph"):
        try:
            utils = importlib.import_module("torch.onnx._internal.torchscript_exporter.utils")
        except ImportError:
            return None
        torch.onnx._optimize_graph = utils._optimize_graph
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints as it builds
            return importlib.import_module("only_train_once")
    except ImportError:
        return None


def conv_bn_groups(model):
    """OTO-format param groups of an ``nn.Sequential`` of ``Conv → BatchNorm`` pairs (prunable, per
    output channel) and the other parameters (one non-prunable group)."""
    if import_oto() is None:
        raise ImportError("HESSO needs only-train-once: pip install only-train-once")
    from only_train_once.transform import TensorTransform

    named = dict(model.named_parameters())
    modules = list(model.named_children())
    groups, used = [], set()
    for (name, conv), (bn_name, bn) in zip(modules, modules[1:], strict=False):
        if isinstance(conv, torch.nn.modules.conv._ConvNd) and isinstance(bn, torch.nn.modules.batchnorm._BatchNorm):
            names = [f"{name}.weight", f"{name}.bias", f"{bn_name}.weight", f"{bn_name}.bias"]
            groups.append({"id": f"conv_bn_{name}", "num_groups": conv.out_channels, "is_prunable": True,
                           "is_auxiliary": False, "p_names": names, "params": [named[n] for n in names],
                           "op_names": ["conv", "conv", "batchnorm", "batchnorm"],
                           "p_transform": [TensorTransform.BASIC] * 4, "auxiliary_ngs": []})
            used.update(names)
    rest = [n for n in named if n not in used]
    groups.append({"id": "rest", "num_groups": 1, "is_prunable": False, "is_auxiliary": False, "p_names": rest,
                   "params": [named[n] for n in rest], "op_names": ["other"] * len(rest),
                   "p_transform": [TensorTransform.NO_PRUNE] * len(rest), "auxiliary_ngs": []})
    return groups


@contextlib.contextmanager
def _cuda_as_identity():
    if torch.cuda.is_available():
        yield
        return
    original = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.cuda = original


def hesso_optimizer(model, *, lr, momentum, target_group_sparsity, start_pruning_step, pruning_steps,
                    pruning_periods):
    """HESSO (variant ``"sgd"``, no weight decay) on :func:`conv_bn_groups` of ``model``."""
    oto = import_oto()
    if oto is None:
        raise ImportError("HESSO needs only-train-once: pip install only-train-once")
    from only_train_once.optimizer import HESSO

    with contextlib.redirect_stdout(io.StringIO()):
        opt = HESSO(conv_bn_groups(model), variant="sgd", lr=lr, first_momentum=momentum, weight_decay=0.0,
                    target_group_sparsity=target_group_sparsity, start_pruning_step=start_pruning_step,
                    pruning_steps=pruning_steps, pruning_periods=pruning_periods)
    identify = opt.identify_redundant_groups

    def identify_on_cpu():
        with _cuda_as_identity():
            return identify()

    opt.identify_redundant_groups = identify_on_cpu
    return opt
