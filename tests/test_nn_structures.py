"""Coupled structures: the groups of GroupL1 with example_inputs, their prox, prune of any model."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, ProxSGD, PruneError, Regularizer, prune, sparsity_report  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nn_models import ResNet1d, TransformerBlock, calibrate, make  # noqa: E402

torch.set_num_threads(1)
ARCHS = ["mlp", "cnn_bn", "resnet1d", "transformer"]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def slices_of(reg):
    """``{structure name: [(param name, dim, indices)]}``."""
    return {st.name: st.slices() for st in reg.structures}


def owned(reg, model):
    """Per structure, the flat vector of all its entries (read directly from the model)."""
    params = dict(model.named_parameters())
    out = []
    for st in reg.structures:
        parts = [params[name].detach().index_select(dim, torch.as_tensor(idx)).flatten()
                 for name, dim, idx in st.slices()]
        out.append(torch.cat(parts))
    return out


def assert_same_outputs(model, pruned, x):
    model.eval()
    pruned.eval()
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-5, atol=1e-5)


# -- the groups ------------------------------------------------------------------------------
def test_mlp_groups_are_rows_biases_and_the_classifier_columns():
    model, x = make("mlp")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    groups = slices_of(reg)
    assert len(groups) == 6 + 4  # hidden units of layers 0 and 2; the output layer is no structure
    assert groups["0[3]"] == [("0.weight", 0, [3]), ("0.bias", 0, [3])]  # its column in "2" belongs to 2's units
    assert groups["2[1]"] == [("2.weight", 0, [1]), ("2.bias", 0, [1]), ("4.weight", 1, [1])]
    assert {st.kind for st in reg.structures} == {"unit"}


def test_cnn_groups_hold_batchnorm_entries_and_flattened_columns():
    model, x = make("cnn_bn")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    groups = slices_of(reg)
    assert groups["0[2]"] == [("0.weight", 0, [2]), ("0.bias", 0, [2]), ("1.weight", 0, [2]), ("1.bias", 0, [2])]
    assert groups["4[1]"] == [("4.weight", 0, [1]), ("4.bias", 0, [1]), ("5.weight", 0, [1]), ("5.bias", 0, [1]),
                              ("8.weight", 1, [3, 4, 5])]  # Flatten: 3 positions per channel
    assert len(groups) == 6 + 5


def test_resnet_residual_channel_spans_every_writer_and_reader():
    model, x = make("resnet1d")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    residual = [st for st in reg.structures if st.kind == "residual channel"]
    assert len(residual) == 4
    names = {name for name, _, idx in residual[2].slices() if idx == [2]}
    assert names == {"stem.weight", "stem.bias", "bn.weight", "bn.bias", "blocks.0.c2.weight", "blocks.0.c2.bias",
                     "blocks.0.b2.weight", "blocks.0.b2.bias", "blocks.1.c2.weight", "blocks.1.c2.bias",
                     "blocks.1.b2.weight", "blocks.1.b2.bias", "head.weight"}
    inner = [st for st in reg.structures if st.kind == "channel"]
    assert len(inner) == 2 * 6
    assert {name for name, _, _ in inner[0].slices()} <= {"blocks.0.c1.weight", "blocks.0.c1.bias",
                                                            "blocks.0.b1.weight", "blocks.0.b1.bias",
                                                            "blocks.1.c1.weight", "blocks.1.c1.bias",
                                                            "blocks.1.b1.weight", "blocks.1.b1.bias"}


def test_transformer_heads_and_ffn_units():
    model, x = make("transformer")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    groups = slices_of(reg)
    heads = [n for n in groups if ".head[" in n]
    assert heads == ["attn.head[0]", "attn.head[1]"]
    rows = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]  # head 1 of 2 (head_dim 4): q, k and v rows
    assert groups["attn.head[1]"] == [("attn.in_proj_weight", 0, rows), ("attn.in_proj_bias", 0, rows),
                                      ("attn.out_proj.weight", 1, [4, 5, 6, 7])]
    assert groups["ff1[7]"] == [("ff1.weight", 0, [7]), ("ff1.bias", 0, [7]), ("ff2.weight", 1, [7])]
    assert len(groups) == 2 + 12  # the residual stream passes through LayerNorm: not a structure
    assert not any(name in ("pos", "embed.weight") for st in reg.structures for name, _, _ in st.slices())


@pytest.mark.parametrize("arch", ARCHS)
def test_groups_partition_the_entries_and_value_is_the_formula(arch):
    model, x = make(arch)
    lam = 0.3
    weights = np.linspace(0.5, 2.0, len(Regularizer(model, pz.GroupL1(lam), example_inputs=x).structures))
    reg = Regularizer(model, pz.GroupL1(lam, weights=weights), example_inputs=x)
    params = dict(model.named_parameters())
    count = {name: torch.zeros_like(p) for name, p in params.items()}
    for st in reg.structures:
        for name, dim, idx in st.slices():
            count[name].index_add_(dim, torch.as_tensor(idx), torch.ones_like(count[name]).index_select(
                dim, torch.as_tensor(idx)))
    assert max(float(c.max()) for c in count.values()) == 1.0  # every entry in at most one group
    expected = lam * sum(c * float(v.norm()) for c, v in zip(weights, owned(reg, model), strict=True))
    assert float(reg().detach()) == pytest.approx(expected, rel=1e-5)


def test_selection_chooses_structures():
    model, x = make("resnet1d")
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x, exclude="blocks.*")
    assert {st.kind for st in reg.structures} == {"residual channel"}  # the stem computes them
    reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x, include="blocks.1.*")
    assert {st.name.split("[")[0] for st in reg.structures} == {"blocks.1.c2", "blocks.1.c1"}


# -- the prox ----------------------------------------------------------------------------------
def test_scalar_prox_is_block_soft_thresholding_of_the_whole_group():
    model, x = make("resnet1d")
    reg = Regularizer(model, pz.GroupL1(1.0), example_inputs=x)  # default factors c_g = √(entries of g)
    before = owned(reg, model)
    norms = torch.stack([v.norm() for v in before])
    sizes = torch.tensor([v.numel() for v in before], dtype=norms.dtype)
    assert len(set(sizes.tolist())) > 1  # residual and inner channels: groups of different sizes
    torch.testing.assert_close(reg.group_sizes().to(sizes.dtype), sizes)
    torch.testing.assert_close(reg.group_norms(), norms)
    rms = norms / sizes.sqrt()
    step = float(rms.median())  # about half of the groups vanish: those with RMS ≤ step·λ
    opt = ProxSGD(reg.param_groups(), lr=step)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    after = owned(reg, model)
    zero = 0
    for v0, v1, n, size in zip(before, after, norms, sizes, strict=True):
        expected = v0 * max(0.0, 1.0 - step * float(size.sqrt()) / float(n))
        torch.testing.assert_close(v1, expected, rtol=1e-5, atol=1e-7)
        zero += int(bool((v1 == 0).all()))
    assert 0 < zero < len(before)


def test_diagonal_prox_matches_group_l1_on_one_tensor_and_meets_the_optimality_conditions():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    x = torch.randn(3, 4)
    reg = Regularizer(model, pz.GroupL1(1.0), example_inputs=x, group_weights="uniform")
    params = list(reg.parameters())
    assert [n for n, _ in reg.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    w0 = [p.detach().clone() for p in params]
    denoms = [torch.rand_like(p) * 3 + 0.2 for p in params]
    step = 0.4

    def rows(ts):  # unit j: [W0[j, :], b0[j], W2[:, j]] as one row
        return torch.cat([ts[0], ts[1][:, None], ts[2].T], 1).double()

    lam = float((rows(w0) * rows(denoms) / step).norm(dim=1).median())  # about half of the units vanish
    pen = Regularizer(model, pz.GroupL1(lam), example_inputs=x, group_weights="uniform").param_groups()[0]["penalty"]
    pen.prox_foreach_(params, step, denoms)

    def rows(ts):  # unit j: [W0[j, :], b0[j], W2[:, j]] as one row
        return torch.cat([ts[0], ts[1][:, None], ts[2].T], 1).double()

    # reference: GroupL1's diagonal prox, one group per row
    joined, s = rows(w0), rows([step / d for d in denoms])
    ref = pz.GroupL1(lam).prox(joined, s)
    got = rows([p.detach() for p in params])
    torch.testing.assert_close(got, ref.to(got.dtype), rtol=1e-5, atol=1e-6)
    assert bool((ref == 0).all(1).any()) and not bool((ref == 0).all())
    # optimality: (z − w)·d/step + lam·z/‖z‖ = 0 on live groups; ‖w·d/step‖ ≤ lam on dead ones
    d = rows(denoms)
    for z, w, dd in zip(got, joined, d, strict=True):
        if bool((z == 0).all()):
            assert float((w * dd / step).norm()) <= lam * (1 + 1e-6)
        else:
            torch.testing.assert_close((z - w) * dd / step + lam * z / z.norm(), torch.zeros_like(z),
                                       atol=1e-5, rtol=0)


@pytest.mark.parametrize(("arch", "lam"), [("mlp", 0.01), ("cnn_bn", 0.05), ("resnet1d", 0.05),
                                           ("transformer", 0.005)])
def test_proximal_training_zeroes_whole_groups_and_prune_removes_exactly_them(arch, lam):
    model, x = make(arch, seed=1)
    torch.manual_seed(1)
    xs = torch.randn(64, *x.shape[1:])
    out = model(xs[:2])
    y = torch.randint(0, out.shape[-1], (64,))
    reg = Regularizer(model, pz.GroupL1(lam), example_inputs=x, group_weights="uniform")  # λ set for c_g = 1
    opt = ProxAdamW(reg.param_groups(), lr=0.02)
    model.train()
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()
    vectors = owned(reg, model)
    zero = [bool((v == 0).all()) for v in vectors]
    assert any(zero) and not all(zero)
    for v, z in zip(vectors, zero, strict=True):  # a group is zero as a whole, or it is not
        assert z or bool((v != 0).any())
    model.eval()
    pruned = prune(model, example_inputs=xs)
    assert_same_outputs(model, pruned, xs)
    assert n_params(pruned) < n_params(model)
    removed_heads = 0
    if arch == "transformer":
        removed_heads = model.attn.num_heads - pruned.attn.num_heads
    # widths: every zero structure is gone, every other one stays
    widths_before = _widths(model)
    widths_after = _widths(pruned)
    zero_by_layer = {}
    for st, z in zip(reg.structures, zero, strict=True):
        key = st.name.split("[")[0]
        zero_by_layer[key] = zero_by_layer.get(key, 0) + int(z)
    for layer, n_zero in zero_by_layer.items():
        if layer.endswith(".head"):
            assert removed_heads == n_zero
        else:
            assert widths_before[layer] - widths_after[layer] == n_zero, layer


def _widths(model):
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            out[name] = m.out_features
        elif isinstance(m, nn.modules.conv._ConvNd):
            out[name] = m.out_channels
    return out


def test_proxsgd_and_proxadamw_paths_agree_with_the_penalty():
    """foreach and for-loop ProxAdamW take the same joint prox (also with mismatched step counts)."""
    results = []
    for foreach in (True, False):
        model, x = make("cnn_bn", seed=2)
        reg = Regularizer(model, pz.GroupL1(0.05), example_inputs=x)
        opt = ProxAdamW(reg.param_groups(), lr=0.05, foreach=foreach)
        torch.manual_seed(0)
        xs, y = torch.randn(16, *x.shape[1:]), torch.randint(0, 3, (16,))
        for i in range(6):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xs), y)
            if i == 2:  # one step where the last layer gets no gradient: its state lags one step
                loss = loss + 0 * sum(p.sum() for n, p in model.named_parameters() if not n.startswith("8"))
                loss.backward()
                model[8].weight.grad = None
            else:
                loss.backward()
            opt.step()
        results.append([p.detach().clone() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


# -- prune ----------------------------------------------------------------------------------------
def test_prune_folds_constant_units_and_keeps_border_sensitive_ones():
    model, x = make("resnet1d")
    with torch.no_grad():
        for conv in (model.stem, model.blocks[0].c2, model.blocks[1].c2):  # residual channel 1: writers zero
            conv.weight[1] = 0
            conv.bias[1] = 0
        for bn in (model.bn, model.blocks[0].b2, model.blocks[1].b2):
            bn.weight[1] = 0
            bn.bias[1] = 0  # constant 0 everywhere: removable despite zero padding
        model.blocks[0].c1.weight[2] = 0  # inner channel 2: constant relu(β) ≠ 0 before a zero-padded conv
        model.blocks[0].b1.bias[2] = 0.7
    pruned = prune(model, example_inputs=x)
    assert pruned.stem.out_channels == 3 and pruned.head.in_features == 3
    assert pruned.blocks[0].c1.out_channels == 6  # kept: the padded border would see 0 instead of 0.7
    assert_same_outputs(model, pruned, x)
    assert model.stem.out_channels == 4  # the original is untouched

    mlp, xm = make("mlp")
    with torch.no_grad():
        mlp[0].weight[[1, 4]] = 0
        mlp[0].bias[[1, 4]] = torch.tensor([0.8, -0.3])  # relu(0.8) folded into the next bias
    small = prune(mlp, example_inputs=xm)
    assert small[0].out_features == 4
    assert_same_outputs(mlp, small, torch.randn(20, 5))


def test_prune_removes_heads_and_ffn_units():
    model, x = make("transformer")
    with torch.no_grad():
        model.attn.out_proj.weight[:, 0:4] = 0  # head 0 feeds nothing
        model.ff1.weight[[1, 5, 6]] = 0
        model.ff1.bias[[1, 5, 6]] = 0
    pruned = prune(model, example_inputs=x)
    assert pruned.attn.num_heads == 1 and pruned.ff1.out_features == 9
    assert_same_outputs(model, pruned, torch.randn(11, 5, 3))
    out, weights = pruned.attn(torch.randn(2, 5, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 8))
    assert out.shape == (2, 5, 8) and weights.shape == (2, 5, 5)


def test_prune_in_transformer_encoder_layer_with_masks():
    torch.manual_seed(3)
    enc = nn.TransformerEncoderLayer(8, 4, dim_feedforward=16, batch_first=True, dropout=0.0)
    with torch.no_grad():
        enc.self_attn.in_proj_weight[16 + 2:16 + 4] = 0  # value rows of head 1
        enc.self_attn.in_proj_bias[16 + 2:16 + 4] = 0
        enc.linear1.weight[:5] = 0
        enc.linear1.bias[:5] = -1.0  # relu(-1) = 0
    x = torch.randn(3, 6, 8)
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[0, -2:] = True
    pruned = prune(enc, example_inputs=x)
    assert pruned.self_attn.num_heads == 3 and pruned.linear1.out_features == 11
    enc.eval()
    pruned.eval()
    with torch.no_grad():
        causal = nn.Transformer.generate_square_subsequent_mask(6)
        for kwargs in ({}, {"src_key_padding_mask": mask}, {"src_mask": causal}):
            torch.testing.assert_close(pruned(x, **kwargs), enc(x, **kwargs), rtol=1e-5, atol=1e-5)


def test_sequential_of_residual_blocks():
    """The issue's case: an nn.Sequential that wraps residual blocks."""
    torch.manual_seed(0)
    from _nn_models import Block

    model = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), Block(4, 6), Block(4, 6), nn.AdaptiveAvgPool1d(1),
                          nn.Flatten(), nn.Linear(4, 3))
    x = torch.randn(5, 1, 10)
    calibrate(model, x)
    with torch.no_grad():
        model[1].c1.weight[[0, 3]] = 0
        model[1].c1.bias[[0, 3]] = 0
        model[1].b1.weight[[0, 3]] = 0
        model[1].b1.bias[[0, 3]] = 0
    with pytest.raises(TypeError, match="nested module.*example_inputs"):
        prune(model)
    pruned = prune(model, example_inputs=x)
    assert pruned[1].c1.out_channels == 4
    assert_same_outputs(model, pruned, x)


def test_round_to():
    model, x = make("cnn_bn")
    with torch.no_grad():
        model[0].weight[[0, 1, 2]] = 0
        model[0].bias[[0, 1, 2]] = 0
        model[1].bias[[0, 1, 2]] = -5.0  # relu(BN(0)) = 0: removable before the unpadded conv too
    assert prune(model, example_inputs=x)[0].out_channels == 3
    for round_to, width in ((2, 4), (4, 4), (8, 6)):
        pruned = prune(model, example_inputs=x, round_to=round_to)
        assert pruned[0].out_channels == width
        assert_same_outputs(model, pruned, x)
    legacy = prune(model, round_to=2)  # the Sequential path rounds too
    assert legacy[0].out_channels == 4


# -- bad input -------------------------------------------------------------------------------------
def test_bad_example_inputs():
    model, x = make("cnn_bn")
    with pytest.raises(ValueError, match="example_inputs: the model's forward pass failed"):
        Regularizer(model, pz.GroupL1(0.1), example_inputs=torch.randn(3, 5))
    with pytest.raises(ValueError, match="example_inputs"):
        prune(model, example_inputs=torch.randn(3, 2, 8, 8))
    with pytest.raises(TypeError, match="NumPy"):
        prune(model, example_inputs=x.numpy())
    with pytest.raises(TypeError, match="example_inputs must be"):
        Regularizer(model, pz.GroupL1(0.1), example_inputs="x")
    with pytest.raises(TypeError, match="without any tensor"):
        prune(model, example_inputs=[1.0, 2.0])
    with pytest.raises(TypeError, match="GroupL1"):
        Regularizer(model, pz.L1(0.1), example_inputs=x)
    with pytest.raises(ValueError, match="weights has 2 entries"):
        Regularizer(model, pz.GroupL1(0.1, weights=[1.0, 1.0]), example_inputs=x)


def test_untraceable_models():
    class ArgMax(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 4)

        def forward(self, x):
            return self.lin(x).argmax(1)

    with pytest.raises(ValueError, match="could not trace"):
        prune(ArgMax(), example_inputs=torch.randn(2, 3))
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="LayerNorm"):
        Regularizer(model, pz.GroupL1(0.1), example_inputs=torch.randn(2, 3), include="0.weight")


def test_prune_refuses_a_model_whose_outputs_would_differ():
    class ChannelMean(nn.Module):  # mixes channels with an op the graph takes for element-wise
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 6), nn.Linear(6, 2)

        def forward(self, x):
            h = torch.relu(self.a(x))
            return self.b(h - h.mean(1, keepdim=True))

    model = ChannelMean()
    with torch.no_grad():
        model.b.weight[:, 0] = 0  # unit 0 is read by nobody, but it counts in the mean
    with pytest.raises(PruneError, match="differ"):
        prune(model, example_inputs=torch.randn(4, 3))


def test_every_unit_removed_and_round_to_errors():
    model, x = make("mlp")
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.zero_()
    with pytest.raises(ValueError, match="every unit of '2'"):
        prune(model, example_inputs=x)
    for bad, err in ((0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(err, match="round_to"):
            prune(model, example_inputs=x, round_to=bad)


# -- defaults, warnings, report -------------------------------------------------------------------
def test_default_selection_on_a_transformer_and_no_weight_decay():
    model, _ = make("transformer")
    reg = Regularizer(model, pz.L1(1e-3))
    assert [n for n, _ in reg.named_parameters()] == ["embed.weight", "attn.in_proj_weight",
                                                       "attn.out_proj.weight", "ff1.weight", "ff2.weight",
                                                       "head.weight"]

    class ViTish(TransformerBlock):
        def __init__(self):
            super().__init__()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, 8))
            self.tok = nn.Embedding(10, 8)
            self.table = nn.Parameter(torch.zeros(8, 8))

        def no_weight_decay(self):
            return {"head", "table"}

    names = [n for n, _ in Regularizer(ViTish(), pz.L1(1e-3)).named_parameters()]
    assert names == ["embed.weight", "attn.in_proj_weight", "attn.out_proj.weight", "ff1.weight", "ff2.weight"]
    names = [n for n, _ in Regularizer(ViTish(), pz.L1(1e-3), weights_only=False,
                                       include="re:.*(table|cls_token)").named_parameters()]
    assert names == ["cls_token", "table"]  # an explicit choice overrides the defaults


def test_scale_invariance_warning():
    model, x = make("cnn_bn")
    with pytest.warns(UserWarning, match="BatchNorm1d '1'.*only shrinks"):
        Regularizer(model, pz.GroupL1(0.1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Regularizer(model, pz.GroupL1(0.1), example_inputs=x)  # the group holds the BN scale and shift
        Regularizer(model, pz.L1(0.1))
        Regularizer(ResNet1d(), pz.GroupL1(0.1), example_inputs=torch.randn(2, 1, 8))


def test_sparsity_report_covers_every_parameter_kind_and_structures():
    model, x = make("transformer")
    with torch.no_grad():
        model.ff1.weight[[0, 1]] = 0
        model.ff1.bias[[0, 1]] = 0
        model.ff2.weight[:, [0, 1]] = 0
    report = sparsity_report(model, example_inputs=x)
    names = [row.name for row in report.layers]
    assert {"pos", "attn.in_proj_weight", "ln1", "ff1", "embed", "attn.out_proj"} <= set(names)
    ff1 = next(r for r in report.layers if r.name == "ff1")
    assert ff1.zeroed_units == 2 and ff1.params_after == 10 * 8 + 10
    kinds = {row.kind: (row.structures, row.zero) for row in report.structures}
    assert kinds == {"unit": (12, 2), "head": (2, 0)}
    assert report.total_params_after == n_params(prune(model, example_inputs=x))
    assert "2/12 units zero" in str(report)
    bn = sparsity_report(make("cnn_bn")[0])
    row = next(r for r in bn.layers if r.name == "1")
    assert row.kind == "BatchNorm1d" and row.units == 6 and row.shape == (6,)
