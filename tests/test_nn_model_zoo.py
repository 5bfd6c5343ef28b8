"""Real model zoos (torchvision, timm; untrained): coupled structures and prune either work — same
eval outputs, fewer multiply-adds — or raise a clear error naming the module and the reason.

The models come from ``benchmarks/nn_zoo_models.py`` (small images, 10 classes). torchvision's
PyPI build for this torch is a CUDA build whose compiled ops do not load; the zoo declares the
two op schemas its import needs (``import_torchvision``). The hand-written LSTM/GRU, tied-GPT and
ConvGRU cases are in ``tests/test_nn_zoo.py``.
"""

import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import nn_zoo  # noqa: E402
from benchmarks.nn_zoo_models import build, import_timm, import_torchvision  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import zoo_guard  # noqa: E402
from penalized.nn.prune_graph import PruneError  # noqa: E402
from penalized.nn.structures import trace  # noqa: E402

CLEAR = (ValueError, TypeError, NotImplementedError, PruneError)

needs_tv = pytest.mark.skipif(import_torchvision() is None, reason="torchvision is not installed")
needs_timm = pytest.mark.skipif(import_timm() is None, reason="timm is not installed")


def _check_model(name):
    """Regularizer + zeroing a third of the structures + prune: works, or a clear error naming a module."""
    model, x = build(name)
    module_names = {n for n, _ in model.named_modules() if n}
    try:
        reg = pz.nn.Regularizer(model, pz.GroupL1(1e-3), example_inputs=x)
    except CLEAR as exc:
        assert any(f"'{n}'" in str(exc) for n in module_names) or type(model).__name__ in str(exc), str(exc)
        return "error"
    assert reg.structures and len(reg.structures) == reg._coupled.groups.n_groups
    zeroed = nn_zoo.zero_some(reg)
    assert zeroed > 0
    assert int((reg._coupled.groups.norms() == 0).sum()) == zeroed  # exactly zero, as chosen
    try:
        small = pz.nn.prune(model, example_inputs=x)
    except CLEAR as exc:
        assert any(f"'{n}" in str(exc) for n in module_names), str(exc)
        return "prune error"
    with torch.no_grad():
        before, after = model.eval()(x), small.eval()(x)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5 * max(1.0, float(before.abs().max())))
    assert pz.nn.count_macs(small, x) < pz.nn.count_macs(model, x)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())
    return "works"


@needs_tv
def test_torchvision_imports_without_its_compiled_ops():
    tv = import_torchvision()
    assert import_torchvision() is tv  # a second import is the same module (the shim is declared once)
    net = tv.models.resnet18(weights=None, num_classes=3).eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 3)


@needs_tv
def test_resnet18_works():
    assert _check_model("tv_resnet18") == "works"


@needs_timm
@pytest.mark.slow
def test_timm_vit_fused_qkv_is_a_named_non_structure_and_the_mlp_prunes():
    model, x = build("timm_vit_tiny")
    graph = trace(model, x)
    packed = [cg for cg in graph.channel_groups if "qkv" in cg.root_name]
    assert packed and all(not cg.removable and "num_heads=3" in cg.reason and "'blocks." in cg.reason
                          for cg in packed)
    reg = pz.nn.Regularizer(model, pz.GroupL1(1e-3), example_inputs=x)
    kinds = {s.name.split("[")[0] for s in reg.structures}
    assert kinds == {f"blocks.{i}.mlp.fc1" for i in range(12)}  # one FFN width per block, no q/k/v rows
    assert _check_model("timm_vit_tiny") == "works"


@needs_timm
@pytest.mark.slow
def test_levit_is_a_clear_error_or_works():
    # LeViT: q/k/v of unequal sizes in one projection (mapped out of range by Torch-Pruning: named),
    # attention biases cached as non-leaf tensors (prune's copy detaches them)
    assert _check_model("timm_levit_128s") in ("works", "prune error")


@needs_timm
def test_no_weight_decay_names_are_left_out():
    model, _ = build("timm_vit_tiny")
    excluded = set(model.no_weight_decay())
    assert {"pos_embed", "cls_token"} <= excluded
    reg = pz.nn.Regularizer(model, pz.L1(1e-4))
    names = {n for n, _ in reg.named_parameters()}
    assert names and not names & excluded
    assert "blocks.0.attn.qkv.weight" in names


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tv_mobilenet_v3_small", "tv_efficientnet_b0", "tv_convnext_tiny", "tv_vit_b_16",
                                  "timm_resnet18", "timm_mobilenetv3_small_100", "timm_convnext_atto"])
def test_zoo_model_works(name):
    if build(name) is None:
        pytest.skip("package missing")
    assert _check_model(name) == "works"


def test_coupled_groups_match_a_per_unit_reference():
    """The width-by-width build gives, for every unit, the slices a mask ``root == r`` gives."""
    sys.path.insert(0, str(ROOT / "tests"))
    import _nn_models
    from penalized.nn.coupled import coupled_groups

    for name in _nn_models.MODELS:
        model, x = _nn_models.make(name)
        graph = trace(model, x)
        groups = coupled_groups(graph)
        units = [(cg, r) for cg in graph.channel_groups if cg.removable for r in range(cg.width)]
        assert len(units) + sum(hg.num_heads for hg in graph.head_groups) == groups.n_groups
        for gid, (cg, r) in enumerate(units):
            ref = [(s.name, s.dim, s.index[s.root == r].tolist())
                   for s in cg.producers + cg.members + [s for _, s in cg.consumers]]
            got = [(s.name, s.dim, s.index.tolist()) for s in groups.structures[gid].parts]
            assert got == ref and all(bool((s.root == gid).all()) for s in groups.structures[gid].parts)


def test_graph_budget_stops_a_runaway_on_memory_and_on_time(monkeypatch):
    def hog(model, example_inputs):
        blocks = []
        while True:
            blocks.append(bytearray(2**24))

    def spin(model, example_inputs):
        while True:
            pass

    monkeypatch.setattr(zoo_guard, "MAX_GRAPH_MEMORY", 2**28)
    monkeypatch.setattr(zoo_guard, "MAX_GRAPH_SECONDS", None)
    with pytest.raises(ValueError, match=r"tracing the coupled structures of Linear was stopped: its memory grew"):
        zoo_guard.graph_budget(hog)(torch.nn.Linear(2, 2), None)
    monkeypatch.setattr(zoo_guard, "MAX_GRAPH_MEMORY", None)
    monkeypatch.setattr(zoo_guard, "MAX_GRAPH_SECONDS", 0.3)
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"it ran for more than 0.3 s.*MAX_GRAPH_SECONDS"):
        zoo_guard.graph_budget(spin)(torch.nn.Linear(2, 2), None)
    assert time.perf_counter() - t < 30

    def swallow(model, example_inputs):  # a trace with its own `except Exception` does not hide the stop
        try:
            while True:
                pass
        except Exception:
            return "swallowed"

    with pytest.raises(ValueError, match=r"it ran for more than 0.3 s"):
        zoo_guard.graph_budget(swallow)(torch.nn.Linear(2, 2), None)
    # within budget: the result comes back and nothing fires later
    assert zoo_guard.graph_budget(lambda m, x: 7)(torch.nn.Linear(2, 2), None) == 7
    time.sleep(0.4)


class _Cached(torch.nn.Module):
    """A module that caches a tensor computed from a parameter in eval mode (as timm's LeViT)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(4, 6), torch.nn.Linear(6, 3)
        self.scale = torch.nn.Parameter(torch.ones(3))
        self.cache = {}

    def forward(self, x):
        if not self.training:
            self.cache["s"] = self.scale * 2.0
        s = self.cache["s"] if not self.training else self.scale * 2.0
        return self.fc2(torch.relu(self.fc1(x))) * s


def test_prune_copies_a_model_that_caches_non_leaf_tensors():
    torch.manual_seed(0)
    model, x = _Cached().eval(), torch.randn(5, 4)
    with torch.enable_grad():
        model(x)  # the cache now holds a tensor with a grad_fn: copy.deepcopy refuses it
    with torch.no_grad():
        model.fc1.weight[[1, 4]] = 0.0
        model.fc1.bias[[1, 4]] = 0.0
    small = pz.nn.prune(model, example_inputs=x)
    assert small.fc1.out_features == 4
    torch.testing.assert_close(small(x), model(x))


class _FixedView(torch.nn.Module):
    """A hidden width reshaped with hard-coded sizes (the dependency graph does not see them)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(4, 6), torch.nn.Linear(3, 2)

    def forward(self, x):
        h = torch.relu(self.fc1(x)).view(x.shape[0], 2, 3)
        return self.fc2(h).sum(1)


def test_a_width_mapped_out_of_a_tensor_is_a_named_non_structure():
    # Torch-Pruning maps fc1's 6 units to columns 0..5 of fc2, which has 3: before, an IndexError
    model, x = _FixedView().eval(), torch.randn(5, 4)
    named = r"'fc1': Torch-Pruning maps (its 6 units|it) to indices up to 5 of 'fc2.weight'"  # either wording
    with pytest.raises(ValueError, match=named):
        pz.nn.Regularizer(model, pz.GroupL1(1e-3), example_inputs=x)


def test_a_pruned_forward_that_fails_is_a_prune_error_naming_the_cut():
    from penalized.nn.prune_graph import check_same_outputs

    model, x = _FixedView().eval(), torch.randn(5, 4)
    broken = _FixedView().eval()
    broken.fc1 = torch.nn.Linear(4, 4)  # 6 → 4 units: the hard-coded view(…, 2, 3) fails
    with pytest.raises(PruneError, match=r"forward pass fails after cutting 'fc1' \(2 of 6\) \(RuntimeError"):
        check_same_outputs(model, broken, x, cut=["'fc1' (2 of 6)"])


@needs_timm
def test_zoo_benchmark_row_and_table():
    row = nn_zoo.run_model("timm_convnext_atto")
    assert row["status"] == "works" and row["same_outputs"]
    assert row["macs_after"] < row["macs_before"] and row["params_after"] < row["params"]
    assert row["structures"] > row["zeroed"] > 0 and row["tp_groups"] > 0 and row["ours_s"] > 0
    table = nn_zoo.markdown([row, {"model": "m", "status": "ValueError: x | y", "params": 10}], "cmd")
    assert "| timm_convnext_atto | works |" in table and "x \\| y" in table and "Command: `cmd`" in table
