"""The hand-written GRU layer computes what torch.nn.GRU computes: states and every gradient (float64)."""

import pytest
import torch

from etfrot.model import gru_layer
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
    with torch.no_grad():  # the streaming inference path (wavefront over layers, online softmax)
        za, aa = a.encode(x)
        zb, ab = b.encode(x)
        torch.testing.assert_close(za, zb, rtol=1e-12, atol=1e-12)
        if ab is not None:
            torch.testing.assert_close(aa, ab, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(a(x), pb, rtol=1e-12, atol=1e-12)
    pa.square().sum().backward()
    pb.square().sum().backward()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-9, atol=1e-12)


def test_fused_encoder_gradients_with_dropout_match_finite_differences():
    """Between-layer dropout (the same mask on every call via the seed): ⟨∇f, d⟩ from the hand-written backward
    equals the central difference (f(θ + εd) − f(θ − εd)) / 2ε along random directions d (float64)."""
    torch.manual_seed(2)
    net = AGRU(hidden_size=5, num_layers=2, dropout=0.3, impl="fused").double().train()
    x = torch.randn(4, 6, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, dtype=torch.float64)
    params = [x, *net.parameters()]

    def f():
        torch.manual_seed(7)
        return (net(x) * w).sum()

    f().backward()
    grads = [p.grad.clone() for p in params]
    eps = 1e-6
    for k in range(3):
        torch.manual_seed(100 + k)
        ds = [torch.randn_like(p) for p in params]
        with torch.no_grad():
            for p, d in zip(params, ds, strict=True):
                p.add_(eps * d)
            up = f()
            for p, d in zip(params, ds, strict=True):
                p.sub_(2 * eps * d)
            down = f()
            for p, d in zip(params, ds, strict=True):
                p.add_(eps * d)
        analytic = sum((g * d).sum() for g, d in zip(grads, ds, strict=True))
        torch.testing.assert_close((up - down) / (2 * eps), analytic, rtol=1e-6, atol=1e-8)
    torch.manual_seed(7)
    train_out = net(x)
    net.eval()
    assert not torch.allclose(train_out, net(x))  # the mask really applied in training, not in eval


def test_reused_work_buffers_do_not_leak_between_calls():
    """Alternating training steps and inference (the buffer pool's reuse) gives what the nn.GRU path gives."""
    torch.manual_seed(3)
    a = AGRU(hidden_size=8, num_layers=2)
    b = AGRU(hidden_size=8, num_layers=2, impl="torch")
    b.load_state_dict(a.state_dict())
    xs = [torch.randn(700, 12, 6) for _ in range(3)]  # buffers ≥ 1 MiB, so they are pooled
    for x in xs + xs[::-1]:
        pa, pb = a(x), b(x)
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
        pa.square().mean().backward()
        pb.square().mean().backward()
        with torch.inference_mode():
            torch.testing.assert_close(a(x), b(x), rtol=1e-4, atol=1e-5)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-3, atol=1e-5)


def test_batch_split_over_threads_gives_the_single_thread_results():
    """With 2 intra-op threads the fused encoder splits the batch over 2 single-threaded workers; predictions,
    attention weights and gradients equal the 1-thread run (float64; summation order only)."""
    torch.manual_seed(4)
    net = AGRU(hidden_size=8, num_layers=2).double()
    x = torch.randn(600, 10, 6, dtype=torch.float64)
    prev = torch.get_num_threads()
    out = {}
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            assert gru_layer._chunks(x, "attention", 0.0, True) == n  # 600 samples → n chunks of ≥ 256
            net.zero_grad()
            p = net(x)
            p.square().mean().backward()
            with torch.inference_mode():
                out[n] = (p.detach(), net.attention_weights(x), [q.grad.clone() for q in net.parameters()])
    finally:
        torch.set_num_threads(prev)
    torch.testing.assert_close(out[2][0], out[1][0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out[2][1], out[1][1], rtol=1e-12, atol=1e-12)
    for a, b in zip(out[2][2], out[1][2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
