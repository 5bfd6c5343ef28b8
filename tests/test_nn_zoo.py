"""Architectures beyond the plain stacks: a GPT with tied input/output embeddings, an LSTM and a GRU
model, a ConvGRU. Regularizer(example_inputs=) and prune work on each, or raise a clear ValueError
that names the layer and the reason (never an IndexError from inside Torch-Pruning)."""

import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

import penalized as pz  # noqa: E402
from _nn_models import make_zoo  # noqa: E402
from penalized.nn import ProxAdamW, Regularizer, prune  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _n(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", ["lstm", "gru", "gpt_tied", "nanogpt_tied"])
def test_structures_prune_to_the_same_outputs(name):
    model, x = make_zoo(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    assert len(reg.structures) > 0
    with torch.no_grad():
        for s in reg.structures[:2]:  # zero two structures: what the prox would leave
            for sl in s.own:
                sl.param.index_fill_(sl.dim, sl.index, 0.0)
        small = prune(model, example_inputs=x)
        torch.testing.assert_close(small(x), model(x), rtol=1e-4, atol=1e-5)
    assert _n(small) < _n(model)


def test_tied_embeddings_stay_tied_and_whole():
    model, x = make_zoo("gpt_tied")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    kinds = {s.kind for s in reg.structures}
    assert kinds <= {"unit", "head", "channel"} and "head" in kinds
    # the embedding width is the residual stream (LayerNorms): never a structure; the table is not penalized
    assert "tok.weight" not in [n for n, _ in reg.named_parameters()]
    small = prune(model, example_inputs=x)
    assert small.lm_head.weight is small.tok.weight


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_weights_left_out_are_named(cell):
    model, x = make_zoo(cell)
    with pytest.warns(UserWarning, match=r"unpenalized: .*'rnn\.weight_hh_l0' \(.*(LSTM|GRU)"):
        Regularizer(model, pz.GroupL1(0.1), example_inputs=x)


def test_gru_width_that_torch_pruning_cannot_follow_is_a_named_non_structure():
    from penalized.nn.structures import trace

    model, x = make_zoo("gru")
    graph = trace(model, x)
    stuck = [cg for cg in graph.channel_groups if not cg.removable and "cannot follow" in cg.reason]
    assert [cg.root_name for cg in stuck] == ["inp"]
    assert "'inp' (Linear)" in stuck[0].reason


def test_fused_qkv_width_is_a_named_non_structure():
    """nanoGPT's packed q/k/v Linear split into heads: Torch-Pruning maps its width to indices past
    the out-projection's columns (the IndexError of issue 21); it is left out, with the reason."""
    from penalized.nn.structures import trace

    model, x = make_zoo("nanogpt_tied")
    reasons = {cg.root_name: cg.reason for cg in trace(model, x).channel_groups if not cg.removable}
    assert "cannot follow" in reasons["h.0.attn.c_attn"] and "'h.0.attn.c_proj.weight'" in reasons["h.0.attn.c_attn"]
    with pytest.warns(UserWarning, match=r"'h\.0\.attn\.c_attn\.weight' \(Torch-Pruning maps it"):
        reg = Regularizer(model, pz.GroupL1(0.1), example_inputs=x)
    assert {s.name.rsplit("[", 1)[0] for s in reg.structures} == {"h.0.c_fc", "h.1.c_fc"}


def test_convgru_is_a_clear_error_naming_the_layer():
    model, x = make_zoo("convgru")
    for call in (lambda: Regularizer(model, pz.GroupL1(0.1), example_inputs=x),
                 lambda: prune(model, example_inputs=x)):
        with pytest.raises(ValueError, match=r"torch\.cat feeding '(gates|cand)'.*initial state"):
            call()
    Regularizer(model, pz.GroupL1(0.1))  # without example_inputs: per-row groups, no trace


@pytest.mark.parametrize("name", ["gpt_tied", "lstm"])
def test_budget_on_a_gpt_and_an_lstm(name):
    model, x = make_zoo(name)
    total, target = 30, 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = Regularizer(model, pz.GroupL1(1e-3), example_inputs=x, target=target, total_steps=total)
    opt = ProxAdamW(reg.param_groups(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    if name == "gpt_tied":
        xs = torch.randint(0, 11, (16, 6), generator=g)

        def loss_fn():
            logits = model(xs[:, :-1])
            return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), xs[:, 1:].reshape(-1))
    else:
        xs, y = torch.randn(16, 5, 3, generator=g), torch.randint(0, 3, (16,), generator=g)

        def loss_fn():
            return torch.nn.functional.cross_entropy(model(xs), y)
    model.train()
    for _ in range(total):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    model.eval()
    b = reg.budget
    assert b.removed_share(reg.group_norms()) >= target
    with torch.no_grad():
        small = prune(model, example_inputs=x)
        torch.testing.assert_close(small(x), model(x), rtol=1e-4, atol=1e-5)
    assert _n(small) < _n(model)
