"""A reimplementation of qlib's ``ALSTMModel(rnn_type="GRU")`` and its training step, for timing only.

qlib (``qlib/contrib/model/pytorch_alstm_ts.py``, MIT) defines the attention model as

    u_t   = tanh(W_in x_t + b_in)                         (input projection d_feat → H)
    h_t   = GRU(u_1..u_t)                                 (num_layers stacked, batch_first, hidden H)
    a_t   = softmax_t( w·tanh(W_a h_t + b_a) )            (W_a: H → H/2, dropout before tanh, w: H/2 → 1, no bias)
    ŷ     = v·[h_L ; Σ_t a_t h_t] + c                     (fc_out on the concatenation, 2H → 1)

and trains it with the masked MSE, ``clip_grad_value_(3.0)`` and Adam (``ALSTM.train_epoch``). This file
writes that down again with the same module names (so a state dict moves between the two) and the same
parameter count (52,609 at d_feat 6, H 64, 2 layers); no qlib code is copied. ``bench_agru.py`` uses
qlib's own class when ``pyqlib`` is importable and this one otherwise, and checks they agree when both exist.
"""

from __future__ import annotations

import torch
from torch import nn


class QlibALSTM(nn.Module):
    """qlib's ALSTMModel: fc_in + tanh → nn.GRU → attention (H → H/2 → 1, softmax over time) → fc_out([h_L, Σ a h])."""

    def __init__(self, d_feat: int = 6, hidden_size: int = 64, num_layers: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        h = hidden_size
        self.net = nn.Sequential()
        self.net.add_module("fc_in", nn.Linear(d_feat, h))
        self.net.add_module("act", nn.Tanh())
        self.rnn = nn.GRU(h, h, num_layers=num_layers, batch_first=True, dropout=dropout)
        self.fc_out = nn.Linear(2 * h, 1)
        self.att_net = nn.Sequential()
        self.att_net.add_module("att_fc_in", nn.Linear(h, h // 2))
        self.att_net.add_module("att_dropout", nn.Dropout(dropout))
        self.att_net.add_module("att_act", nn.Tanh())
        self.att_net.add_module("att_fc_out", nn.Linear(h // 2, 1, bias=False))
        self.att_net.add_module("att_softmax", nn.Softmax(dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.net(x))  # (B, L, H)
        a = self.att_net(out)  # (B, L, 1), softmax over L
        pooled = (out * a).sum(dim=1)
        return self.fc_out(torch.cat((out[:, -1, :], pooled), dim=1))[..., 0]


def qlib_train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One step of qlib's ``ALSTM.train_epoch``: masked MSE on finite labels, backward, clip_grad_value_(3), Adam."""
    model.train()
    pred = model(x.float())
    mask = ~torch.isnan(y)
    loss = torch.mean((pred[mask] - y[mask]) ** 2)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), 3.0)
    opt.step()
    return loss
