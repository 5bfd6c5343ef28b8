"""Save and load pruned networks (``pz.nn.save_pruned`` / ``load_pruned``, the state-dict pair)."""

import io
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import (  # noqa: E402
    ProxAdamW,
    Regularizer,
    load_pruned,
    load_pruned_state_dict,
    prune,
    pruned_state_dict,
    save_pruned,
)
from penalized.nn.attention import PrunedAttention  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nn_models import make  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.nn_zoo_models import build, import_timm, import_torchvision  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def zero_structures(model, x, every=3):
    """Zero every ``every``-th coupled structure (all its slices) of ``model``; returns their count."""
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    params = dict(model.named_parameters())
    chosen = reg.structures[::every]
    with torch.no_grad():
        for st in chosen:
            for name, dim, idx in st.slices():
                params[name].index_fill_(dim, torch.as_tensor(idx), 0.0)
    return len(chosen)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("arch", ["mlp", "cnn_bn", "resnet1d", "transformer"])
def test_a_saved_pruned_model_loads_into_a_fresh_model_with_the_same_outputs(arch, tmp_path):
    model, x = make(arch, seed=1)
    model.eval()
    assert zero_structures(model, x) > 0
    small = prune(model, example_inputs=x)
    assert n_params(small) < n_params(model)
    path = tmp_path / "small.pt"
    save_pruned(small, path)
    fresh_seed = 7
    loaded = load_pruned(lambda: make(arch, seed=fresh_seed)[0], path)  # other weights, the original shapes
    loaded.eval()
    xs = torch.randn(5, *x.shape[1:])
    with torch.no_grad():
        torch.testing.assert_close(loaded(xs), small(xs), rtol=0, atol=0)
    assert {k: v.shape for k, v in loaded.state_dict().items()} == {k: v.shape for k, v in small.state_dict().items()}
    assert n_params(loaded) == n_params(small)
    if arch == "transformer":  # heads were removed: the attention module is put in place
        assert any(isinstance(m, PrunedAttention) for m in loaded.modules())
    # size attributes follow the tensors (a module's repr and later pruning rely on them)
    for m in loaded.modules():
        if isinstance(m, nn.Linear):
            assert m.weight.shape == (m.out_features, m.in_features)
        if isinstance(m, nn.modules.conv._ConvNd):
            assert m.weight.shape[:2] == (m.out_channels, m.in_channels // m.groups)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            assert m.running_mean.shape == (m.num_features,)


def test_a_folded_bias_that_the_fresh_model_lacks_is_created():
    torch.manual_seed(0)

    def build():
        return nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3, bias=False))

    model = build()
    with torch.no_grad():
        model[0].weight[[1, 4]] = 0.0  # units 1 and 4 compute the constant relu(b): folded into a new bias
        model[0].bias[[1, 4]] = 0.7
    x = torch.randn(8, 5)
    small = prune(model, example_inputs=x)
    assert small[2].bias is not None and small[0].out_features == 4
    state = pruned_state_dict(small)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = load_pruned_state_dict(build(), torch.load(buffer, weights_only=True))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=1e-6, atol=1e-6)
    assert loaded[2].bias.requires_grad and loaded[0].out_features == 4 and loaded[2].in_features == 4


def test_wrong_inputs_give_clear_errors(tmp_path):
    model, x = make("cnn_bn", seed=1)
    model.eval()
    zero_structures(model, x)
    small = prune(model, example_inputs=x)
    plain = tmp_path / "plain.pt"
    torch.save(small.state_dict(), plain)
    with pytest.raises(ValueError, match="not a pruned checkpoint"):
        load_pruned(make("cnn_bn")[0], plain)
    path = tmp_path / "small.pt"
    save_pruned(small, path)
    with pytest.raises(ValueError, match="module '.*'"):
        load_pruned(make("mlp")[0], path)
    with pytest.raises(TypeError, match="callable"):
        load_pruned("cnn_bn", path)
    with pytest.raises(TypeError, match="factory returned"):
        load_pruned(lambda: None, path)


def test_a_coupled_optimizer_checkpoint_does_not_load_into_the_pruned_models_optimizers(tmp_path):
    """The optimizer of the unpruned run cannot be resumed on the pruned model: penalized's own message."""
    model, x = make("cnn_bn", seed=2)
    reg = Regularizer(model, pz.GroupL1(0.05), example_inputs=x)
    opt = ProxAdamW(reg.param_groups(), lr=0.01)
    model(torch.randn(4, *x.shape[1:])).sum().backward()
    opt.step()
    state = opt.state_dict()
    model.eval()
    zero_structures(model, x)
    path = tmp_path / "small.pt"
    save_pruned(prune(model, example_inputs=x), path)
    small = load_pruned(make("cnn_bn")[0], path)
    uncoupled = ProxAdamW([{"params": list(small.parameters())[:2], "penalty": pz.L1(1e-3)},
                           {"params": list(small.parameters())[2:], "penalty": None}], lr=0.01)
    with pytest.raises(ValueError, match="coupled structures"):
        uncoupled.load_state_dict(state)
    groups = Regularizer(small, pz.GroupL1(0.05), example_inputs=x).param_groups()
    coupled = ProxAdamW(groups, lr=0.01)
    with pytest.raises(ValueError, match="differ"):
        coupled.load_state_dict({**state, "state": {}, "param_groups": [
            dict(saved, params=mine["params"]) for saved, mine in zip(state["param_groups"],
                                                                      coupled.state_dict()["param_groups"],
                                                                      strict=True)]})


@pytest.mark.parametrize("name", ["tv_mobilenet_v3_small", "tv_resnet18", "timm_vit_tiny"])
def test_pruned_zoo_models_load_onto_fresh_ones(name, tmp_path):
    """Depthwise convolutions (groups change with the width), residual stages, a fused-qkv ViT."""
    needs = import_timm if name.startswith("timm") else import_torchvision
    if needs() is None:
        pytest.skip("torchvision / timm is not installed")
    model, x = build(name)
    assert zero_structures(model, x, every=4) > 0
    small = prune(model, example_inputs=x)
    assert n_params(small) < n_params(model)
    path = tmp_path / "small.pt"
    save_pruned(small, path)
    loaded = load_pruned(lambda: build(name, seed=5)[0], path).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), small(x), rtol=0, atol=0)
    assert n_params(loaded) == n_params(small)
