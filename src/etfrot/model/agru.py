"""AGRU and the plain GRU baseline on one code path (seed 000 §2.1, figure "模型结构"; SPEC §4).

    h_1..h_L = GRU(x_1..x_L)                                   (num_layers stacked, batch_first)
    AGRU:  a_k = softmax_k( w·tanh(W h_k + b) ),  z = Σ_k a_k h_k,   ŷ = v·z + c
    GRU :  z = h_L,                                                  ŷ = v·z + c

The attention scores every time step's hidden state and the weighted sum of *all* steps feeds the
linear head (seed 000: "不在每个时间步上利用实际预测标签进行时序编码，而是直接结合多步GRU后得到最终预测结果").
Unlike qlib's ALSTM (which concatenates the last hidden state with the attention sum and puts an
input projection in front), the head sees the attention sum alone, as the seed describes.

Execution (same maths, same parameters and state dict as ``nn.GRU``): ``impl="auto"`` runs CPU
inference (no grad) through :mod:`etfrot.model.gru_layer` (fused gates, preallocated time-major buffers)
and training, and everything on CUDA (cuDNN), through ``nn.GRU`` — on this project's 2-core Xeon the
hand-written backward measured slower than autograd's, its forward faster (benchmarks/results/agru.md).
``impl`` forces one ("fused" | "torch"). ``mm_dtype = torch.bfloat16`` runs every matmul in bf16 (gates, softmax,
states and gradients stay float32); ``tests/test_model_precision.py`` bounds what that changes.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from etfrot.errors import ConfigError
from etfrot.model.gru_layer import gru_forward

MODELS = ("agru", "gru")
IMPLS = ("auto", "fused", "torch")


class RecurrentRegressor(nn.Module):
    """GRU encoder → (attention pooling | last hidden state) → linear head; ``attention`` picks which."""

    def __init__(self, n_features: int = 6, *, hidden_size: int = 64, num_layers: int = 2, dropout: float = 0.0,
                 attention: bool = True, impl: str = "auto", mm_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if hidden_size < 1 or num_layers < 1 or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"bad model size: hidden_size={hidden_size}, num_layers={num_layers}, dropout={dropout}; "
                              "use hidden_size ≥ 1, num_layers ≥ 1, 0 ≤ dropout < 1")
        if impl not in IMPLS:
            raise ConfigError(f"unknown GRU implementation {impl!r}; use one of {IMPLS}")
        if mm_dtype not in (None, torch.float32, torch.bfloat16):
            raise ConfigError(f"mm_dtype={mm_dtype}; use None (float32) or torch.bfloat16")
        self.attention = bool(attention)
        self.impl, self.mm_dtype = impl, (None if mm_dtype == torch.float32 else mm_dtype)
        self.dropout_p = float(dropout)
        self.rnn = nn.GRU(n_features, hidden_size, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.score = nn.Sequential(nn.Linear(hidden_size, hidden_size), nn.Tanh(),
                                   nn.Linear(hidden_size, 1, bias=False)) if self.attention else None
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, 1)

    def _states(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, F) → hidden states (L, B, H), time-major."""
        fused = self.impl == "fused" or (self.impl == "auto" and x.device.type == "cpu" and not torch.is_grad_enabled())
        if fused:
            return gru_forward(x.transpose(0, 1), self.rnn, mm_dtype=self.mm_dtype, dropout=self.dropout_p,
                               training=self.training)
        with self._autocast(x):
            return self.rnn(x)[0].to(x.dtype).transpose(0, 1)

    def _autocast(self, x: torch.Tensor):
        return torch.autocast(x.device.type, dtype=self.mm_dtype) if self.mm_dtype is not None else nullcontext()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, L, F) → pooled state (B, H) and attention weights (B, L) (None for the GRU baseline)."""
        out = self._states(x)  # (L, B, H)
        if not self.attention:
            return out[-1], None
        with self._autocast(x):
            s = self.score(out).squeeze(-1).to(out.dtype)  # (L, B)
        a = torch.softmax(s, dim=0)  # sums to 1 over time steps
        return (a.unsqueeze(-1) * out).sum(0), a.t()  # (measured faster on CPU than einsum / bmm over B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, _ = self.encode(x)
        return self.head(self.drop(z)).squeeze(-1)

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) attention weights over time steps (AGRU only)."""
        if not self.attention:
            raise ConfigError("the GRU baseline has no attention weights; build the model with attention=True (agru)")
        return self.encode(x)[1]


def AGRU(n_features: int = 6, **kw) -> RecurrentRegressor:
    """The attention GRU of seed 000 §2.1."""
    return RecurrentRegressor(n_features, attention=True, **kw)


def GRU(n_features: int = 6, **kw) -> RecurrentRegressor:
    """The plain GRU baseline (last hidden state → linear head), same code as AGRU."""
    return RecurrentRegressor(n_features, attention=False, **kw)


def build_model(name: str, n_features: int = 6, **kw) -> RecurrentRegressor:
    """``name`` ∈ {"agru", "gru"}."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; use one of {MODELS}")
    return AGRU(n_features, **kw) if name == "agru" else GRU(n_features, **kw)
