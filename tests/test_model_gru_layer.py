"""The hand-written GRU layer computes what torch.nn.GRU computes: states and every gradient (float64)."""

import pytest
import torch

from etfrot.model.agru import AGRU, GRU
from etfrot.model.gru_layer import gru_forward


@pytest.mark.parametrize("layers", [1, 2])
def test_fused_gru_matches_nn_gru_outputs_and_gradients(layers):
    torch.manual_seed(0)
    rnn = torch.nn.GRU(6, 16, num_layers=layers, batch_first=True).double()
    x = torch.randn(5, 7, 6, dtype=torch.float64, requires_grad=True)
    ref, _ = rnn(x)
    g = torch.randn_like(ref)
    (ref * g).sum().backward()
    want = [p.grad.clone() for p in rnn.parameters()] + [x.grad.clone()]
    rnn.zero_grad()
    x.grad = None
    out = gru_forward(x.transpose(0, 1), rnn).transpose(0, 1)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    (out * g).sum().backward()
    got = [p.grad for p in rnn.parameters()] + [x.grad]
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    with torch.no_grad():  # the inference path (no saved buffers) gives the same states
        torch.testing.assert_close(gru_forward(x.transpose(0, 1), rnn).transpose(0, 1), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", [AGRU, GRU])
def test_fused_and_torch_implementations_give_the_same_model(make):
    """impl="fused" and impl="torch" share parameters and state dict; predictions and gradients agree."""
    torch.manual_seed(1)
    a = make(hidden_size=12, num_layers=2).double()
    b = make(hidden_size=12, num_layers=2, impl="torch").double()
    b.load_state_dict(a.state_dict())
    a.impl = "fused"
    x = torch.randn(9, 11, 6, dtype=torch.float64)
    pa, pb = a(x), b(x)
    torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-12)
    pa.square().sum().backward()
    pb.square().sum().backward()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-9, atol=1e-12)
