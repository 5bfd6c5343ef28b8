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
