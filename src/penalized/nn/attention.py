"""Multi-head attention with fewer heads than its embedding width allows.

``nn.MultiheadAttention`` ties its inner width to the embedding width (``num_heads ·
head_dim = embed_dim``), so removing a head needs another module: :class:`PrunedAttention`
keeps the embedding width, the head size and the calling convention, with ``num_heads``
heads of ``head_dim`` each (the q/k/v projection ``in_proj_weight`` is
``3·num_heads·head_dim × embed_dim``, ``out_proj`` is ``Linear(num_heads·head_dim,
embed_dim)``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["PrunedAttention", "from_multihead"]


class PrunedAttention(nn.Module):
    """Self/cross attention with ``num_heads`` heads of ``head_dim``, called like ``nn.MultiheadAttention``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights or None)``.
    ``kept_heads`` are the indices of the original heads, used to select a per-head
    ``attn_mask`` of shape ``(batch·original_heads, L, S)``. The returned attention weights
    cover the kept heads only. ``_qkv_same_embed_dim`` is False so that
    ``nn.TransformerEncoderLayer`` takes its Python path (its fused kernel assumes the
    original layout).
    """

    _qkv_same_embed_dim = False

    def __init__(self, embed_dim, num_heads, head_dim, kept_heads, original_heads, *, bias=True, dropout=0.0,
                 batch_first=False, device=None, dtype=None):
        super().__init__()
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, head_dim
        self.kdim = self.vdim = embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.original_heads = original_heads
        self.register_buffer("kept_heads", torch.as_tensor(kept_heads, dtype=torch.long), persistent=False)
        inner = num_heads * head_dim
        kw = {"device": device, "dtype": dtype}
        self.in_proj_weight = nn.Parameter(torch.empty(3 * inner, embed_dim, **kw))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * inner, **kw)) if bias else None
        self.out_proj = nn.Linear(inner, embed_dim, bias=bias, **kw)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, head_dim={self.head_dim}"

    def _mask(self, attn_mask, key_padding_mask, n, length, source, dtype):
        mask = None
        if attn_mask is not None:
            mask = attn_mask
            if mask.dtype == torch.bool:
                mask = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, -math.inf)
            if mask.dim() == 3:  # (batch·heads, L, S): keep the rows of the kept heads
                mask = mask.reshape(n, self.original_heads, length, source)[:, self.kept_heads]
            else:
                mask = mask.reshape(1, 1, length, source)
        if key_padding_mask is not None:
            pad = key_padding_mask
            if pad.dtype == torch.bool:
                pad = torch.zeros(pad.shape, dtype=dtype, device=pad.device).masked_fill(pad, -math.inf)
            pad = pad.reshape(n, 1, 1, source).to(dtype)
            mask = pad if mask is None else mask + pad
        return mask

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        batched = query.dim() == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if self.batch_first or not batched:
            if batched:
                query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        # (L, N, E) from here on
        length, n, _ = query.shape
        source = key.shape[0]
        inner = self.num_heads * self.head_dim
        w_q, w_k, w_v = self.in_proj_weight.split(inner)
        b_q = b_k = b_v = None
        if self.in_proj_bias is not None:
            b_q, b_k, b_v = self.in_proj_bias.split(inner)

        def heads(x, w, b, size):
            return F.linear(x, w, b).reshape(size, n, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        q, k, v = heads(query, w_q, b_q, length), heads(key, w_k, b_k, source), heads(value, w_v, b_v, source)
        mask = self._mask(attn_mask, key_padding_mask, n, length, source, q.dtype)
        dropout = self.dropout if self.training else 0.0
        causal = is_causal and mask is None
        if need_weights:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
            if causal:
                scores = scores.masked_fill(torch.ones(length, source, dtype=torch.bool, device=q.device)
                                            .triu(1), -math.inf)
            if mask is not None:
                scores = scores + mask
            weights = scores.softmax(-1)
            out = F.dropout(weights, dropout, self.training) @ v
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=causal)
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(length, n, inner))
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if weights is not None:
            if average_attn_weights:
                weights = weights.mean(1)
            if not batched:
                weights = weights.squeeze(0)
        return out, weights


def from_multihead(mha, keep):
    """A :class:`PrunedAttention` with the heads ``keep`` (indices) of ``mha``, same weights."""
    keep = sorted(int(h) for h in keep)
    e, d, h_all = mha.embed_dim, mha.head_dim, mha.num_heads
    ref = mha.in_proj_weight
    new = PrunedAttention(e, len(keep), d, keep, h_all, bias=mha.in_proj_bias is not None, dropout=mha.dropout,
                          batch_first=mha.batch_first, device=ref.device, dtype=ref.dtype)
    cols = torch.cat([torch.arange(h * d, (h + 1) * d) for h in keep]).to(ref.device)
    rows = torch.cat([cols + k * e for k in range(3)])
    with torch.no_grad():
        new.in_proj_weight.copy_(mha.in_proj_weight[rows])
        if mha.in_proj_bias is not None:
            new.in_proj_bias.copy_(mha.in_proj_bias[rows])
        new.out_proj.weight.copy_(mha.out_proj.weight[:, cols])
        if mha.out_proj.bias is not None:
            new.out_proj.bias.copy_(mha.out_proj.bias)
    new.in_proj_weight.requires_grad_(mha.in_proj_weight.requires_grad)
    new.train(mha.training)
    return new
