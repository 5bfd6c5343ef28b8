"""Small architectures shared by the coupled-structure tests (an MLP, a CNN with BatchNorm,
a 1-D ResNet with residual additions, a transformer block with heads and an FFN)."""

import torch
from torch import nn


def mlp():
    return nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 3))


def cnn_bn():
    return nn.Sequential(nn.Conv1d(2, 6, 3), nn.BatchNorm1d(6), nn.ReLU(), nn.MaxPool1d(2),
                         nn.Conv1d(6, 5, 3, padding=1), nn.BatchNorm1d(5), nn.ReLU(), nn.Flatten(),
                         nn.Linear(5 * 3, 3))


class Block(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.c1, self.b1 = nn.Conv1d(channels, hidden, 3, padding=1), nn.BatchNorm1d(hidden)
        self.c2, self.b2 = nn.Conv1d(hidden, channels, 3, padding=1), nn.BatchNorm1d(channels)

    def forward(self, x):
        return torch.relu(x + self.b2(self.c2(torch.relu(self.b1(self.c1(x))))))


class ResNet1d(nn.Module):
    def __init__(self, channels=4, hidden=6, classes=3):
        super().__init__()
        self.stem, self.bn = nn.Conv1d(1, channels, 3, padding=1), nn.BatchNorm1d(channels)
        self.blocks = nn.Sequential(Block(channels, hidden), Block(channels, hidden))
        self.head = nn.Linear(channels, classes)

    def forward(self, x):
        x = self.blocks(torch.relu(self.bn(self.stem(x))))
        return self.head(x.mean(-1))


class TransformerBlock(nn.Module):
    """Pre-norm block: tokens of 3 features, learned positional parameter, 2 heads, FFN, mean pooling."""

    def __init__(self, dim=8, heads=2, ffn=12, tokens=5, classes=4):
        super().__init__()
        self.embed = nn.Linear(3, dim)
        self.pos = nn.Parameter(0.1 * torch.randn(1, tokens, dim))
        self.ln1, self.attn = nn.LayerNorm(dim), nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2, self.ff1, self.ff2 = nn.LayerNorm(dim), nn.Linear(dim, ffn), nn.Linear(ffn, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        h = self.embed(x) + self.pos
        a = self.ln1(h)
        h = h + self.attn(a, a, a, need_weights=False)[0]
        h = h + self.ff2(torch.relu(self.ff1(self.ln2(h))))
        return self.head(h.mean(1))


def calibrate(model, x, seed=0):
    """Non-trivial BatchNorm statistics and affine parameters (so that constants are not 0)."""
    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        model(x)
    model.eval()
    return model


MODELS = {
    "mlp": (mlp, (7, 5)),
    "cnn_bn": (cnn_bn, (7, 2, 8)),
    "resnet1d": (ResNet1d, (7, 1, 10)),
    "transformer": (TransformerBlock, (7, 5, 3)),
}


def make(name, seed=0):
    factory, shape = MODELS[name]
    torch.manual_seed(seed)
    model = factory()
    x = torch.randn(*shape)
    return calibrate(model, x, seed), x


class Recurrent(nn.Module):
    """A linear input layer, an LSTM or a GRU, a hidden ReLU layer on the last step, a classifier."""

    def __init__(self, cell="lstm", features=3, hidden=8, ffn=10, classes=3):
        super().__init__()
        self.inp = nn.Linear(features, hidden)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(hidden, hidden, batch_first=True)
        self.ff = nn.Linear(hidden, ffn)
        self.out = nn.Linear(ffn, classes)

    def forward(self, x):
        h = self.rnn(torch.relu(self.inp(x)))[0][:, -1]
        return self.out(torch.relu(self.ff(h)))


class GPTBlock(nn.Module):
    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(dim), nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2, self.fc, self.proj = nn.LayerNorm(dim), nn.Linear(dim, ffn), nn.Linear(ffn, dim)

    def forward(self, x, mask):
        a = self.ln1(x)
        x = x + self.attn(a, a, a, attn_mask=mask, need_weights=False)[0]
        return x + self.proj(torch.nn.functional.gelu(self.fc(self.ln2(x))))


class TinyGPT(nn.Module):
    """A causal transformer whose output layer is the token embedding (tied weights, as nanoGPT)."""

    def __init__(self, vocab=11, dim=8, heads=2, ffn=12, layers=2, context=6):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(0.02 * torch.randn(1, context, dim))
        self.blocks = nn.ModuleList(GPTBlock(dim, heads, ffn) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.tok.weight  # tied

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos[:, :t]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=idx.device), 1)
        for block in self.blocks:
            x = block(x, mask)
        return self.lm_head(self.ln(x))


class ConvGRU(nn.Module):
    """A convolutional GRU over a sequence of 1-D maps, then a conv head and a classifier."""

    def __init__(self, channels=2, hidden=5, classes=3):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv1d(channels + hidden, 2 * hidden, 3, padding=1)
        self.cand = nn.Conv1d(channels + hidden, hidden, 3, padding=1)
        self.head = nn.Conv1d(hidden, 6, 1)
        self.fc = nn.Linear(6, classes)

    def forward(self, x):  # x: (batch, time, channels, length)
        h = x.new_zeros(x.shape[0], self.hidden, x.shape[-1])
        for t in range(x.shape[1]):
            xt = x[:, t]
            z, r = torch.sigmoid(self.gates(torch.cat([xt, h], 1))).chunk(2, 1)
            c = torch.tanh(self.cand(torch.cat([xt, r * h], 1)))
            h = (1 - z) * h + z * c
        return self.fc(torch.relu(self.head(h)).mean(-1))


class NanoAttention(nn.Module):
    """nanoGPT's attention: one fused q/k/v Linear, split into heads, scaled_dot_product_attention."""

    def __init__(self, dim, heads):
        super().__init__()
        self.c_attn, self.c_proj, self.heads = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim), heads

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in self.c_attn(x).split(c, dim=2))
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))


class NanoBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(dim), NanoAttention(dim, heads)
        self.ln_2, self.c_fc, self.c_proj = nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(torch.nn.functional.gelu(self.c_fc(self.ln_2(x))))


class NanoGPT(nn.Module):
    """nanoGPT's layout (token and position embeddings, fused attention) with tied wte / lm_head."""

    def __init__(self, vocab=13, context=8, dim=8, heads=2, layers=2):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.h = nn.ModuleList(NanoBlock(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # tied, as nanoGPT

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


ZOO = {
    "lstm": (lambda: Recurrent("lstm"), lambda: torch.randn(4, 5, 3)),
    "gru": (lambda: Recurrent("gru"), lambda: torch.randn(4, 5, 3)),
    "gpt_tied": (TinyGPT, lambda: torch.randint(0, 11, (3, 6))),
    "convgru": (ConvGRU, lambda: torch.randn(3, 4, 2, 7)),
    "nanogpt_tied": (NanoGPT, lambda: torch.randint(0, 13, (2, 8))),
}


def make_zoo(name, seed=0):
    factory, inputs = ZOO[name]
    torch.manual_seed(seed)
    model = factory().eval()
    return model, inputs()
