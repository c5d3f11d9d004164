"""A GRU layer with a hand-written backward for CPU training (same maths and parameters as ``torch.nn.GRU``).

PyTorch's GRU (``torch.nn.GRU`` documentation), per step t with input x_t and previous state h:

    r = σ(W_ir x_t + b_ir + W_hr h + b_hr)        z = σ(W_iz x_t + b_iz + W_hz h + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h

On CPU, ``nn.GRU`` runs this as a generic cell under autograd: ~20 small ops per step forward and more
backward, each allocating, plus a per-step weight-gradient matmul and the stacking of 40 outputs. This
layer does the same computation with fewer, larger operations (backpropagation through time written out,
cf. the cuDNN RNN formulation):

* the input projection W_i· x_t + b_i· of all L steps is one (L·B × I) @ (I × 3H) matmul;
* the recurrence writes gates and states into preallocated time-major buffers (no stacking), one
  ``addmm`` and five fused elementwise ops per step (add → σ in place, addcmul → tanh in place, lerp);
* backward walks the steps in reverse with one (B × 3H) @ (3H × H) matmul per step for ∂h and
  computes the weight gradients of all steps at the end as two large matmuls (L·B rows each);
* ``mm_dtype=torch.bfloat16`` runs the matmuls in bf16 (AMX / AVX512-BF16 on recent Xeons, tensor cores
  on GPUs) while gates, states and gradients stay float32.

Parameters live in an ``nn.GRU`` (so state dicts, initialisation and the CUDA/cuDNN path are unchanged);
:func:`gru_forward` takes its weights. ``tests/test_model_gru_layer.py`` checks outputs and gradients
against ``nn.GRU``.
"""

from __future__ import annotations

import torch


def _mm_weights(w: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    return w if dtype is None or w.dtype == dtype else w.to(dtype)


def _recurrence(gi: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, mm_dtype, save: bool):
    """Run the L steps given the input projections gi (L, B, 3H); returns states (L, B, H) and, if ``save``,
    the buffers backward needs: σ gates [r, z] (L, B, 2H), candidate n (L, B, H), W_h· h + b_h· (L, B, 3H)."""
    L, B, H3 = gi.shape
    H = H3 // 3
    out = gi.new_empty(L, B, H)
    rz = gi.new_empty(L, B, 2 * H) if save else gi.new_empty(B, 2 * H)
    nb = gi.new_empty(L, B, H) if save else None
    w_t = _mm_weights(w_hh, mm_dtype).t()
    b = _mm_weights(b_hh, mm_dtype)
    gh_all = gi.new_empty(L, B, H3, dtype=mm_dtype or gi.dtype) if save else None
    gh_one = gi.new_empty(B, H3, dtype=mm_dtype or gi.dtype)
    h = gi.new_zeros(B, H)
    for t in range(L):
        gh = gh_all[t] if save else gh_one
        torch.addmm(b, h if mm_dtype is None else h.to(mm_dtype), w_t, out=gh)
        g = rz[t] if save else rz
        torch.add(gi[t, :, : 2 * H], gh[:, : 2 * H], out=g).sigmoid_()
        n = nb[t] if save else out[t]
        torch.addcmul(gi[t, :, 2 * H:], g[:, :H], gh[:, 2 * H:], out=n).tanh_()
        h = torch.lerp(n, h, g[:, H:], out=out[t]) if save else n.lerp_(h, g[:, H:])
    return out, rz, nb, gh_all


class _GRULayerFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, mm_dtype):
        L, B, I = x.shape
        x2 = x.reshape(L * B, I)
        gi = torch.addmm(_mm_weights(b_ih, mm_dtype), _mm_weights(x2, mm_dtype), _mm_weights(w_ih, mm_dtype).t())
        gi = gi.to(x.dtype).view(L, B, -1)
        out, rz, nb, gh = _recurrence(gi, w_hh, b_hh, mm_dtype, save=True)
        ctx.save_for_backward(x, w_ih, w_hh, out, rz, nb, gh)
        ctx.mm_dtype = mm_dtype
        return out

    @staticmethod
    def backward(ctx, dout):
        x, w_ih, w_hh, out, rz, nb, gh = ctx.saved_tensors
        mm = ctx.mm_dtype
        L, B, H = out.shape
        dout = dout.contiguous()
        dgh = out.new_empty(L, B, 3 * H)  # ∂ / ∂(W_h· h + b_h·) = [∂a_r, ∂a_z, r ⊙ ∂a_n]
        dan = out.new_empty(L, B, H)  # ∂ / ∂(W_in x + b_in) = ∂a_n
        dh = torch.zeros_like(out[0])
        zero = torch.zeros_like(out[0])
        w = _mm_weights(w_hh, mm)
        buf = out.new_empty(B, 2 * H)
        for t in range(L - 1, -1, -1):
            dh = dh + dout[t]
            g = rz[t]
            r, z, n = g[:, :H], g[:, H:], nb[t]
            hp = out[t - 1] if t > 0 else zero
            dn = torch.addcmul(dh, dh, z, value=-1.0)  # ∂n = ∂h ⊙ (1 − z)
            torch.addcmul(dn, dn * n, n, value=-1.0, out=dan[t])  # ∂a_n = ∂n ⊙ (1 − n²)
            torch.mul(dan[t], r, out=dgh[t, :, 2 * H:])
            torch.mul(dan[t], gh[t, :, 2 * H:], out=buf[:, :H])  # ∂r
            torch.mul(dh, hp - n, out=buf[:, H:])  # ∂z
            torch.mul(buf, torch.addcmul(g, g, g, value=-1.0), out=dgh[t, :, : 2 * H])  # ⊙ σ'(a) = g (1 − g)
            if mm is None:
                dh = torch.addmm(dh * z, dgh[t], w)
            else:
                dh = (dh * z).add_(dgh[t].to(mm).mm(w))
        x2 = x.reshape(L * B, -1)
        grz = dgh[..., : 2 * H].reshape(L * B, 2 * H)
        gn = dan.reshape(L * B, H)

        def m(a, b):
            return a.mm(b) if mm is None else a.to(mm).mm(b.to(mm)).to(out.dtype)

        d_wih = torch.cat([m(grz.t(), x2), m(gn.t(), x2)])
        d_bih = torch.cat([grz.sum(0), gn.sum(0)])
        d_whh = m(dgh[1:].reshape(-1, 3 * H).t(), out[:-1].reshape(-1, H)) if L > 1 else torch.zeros_like(w_hh)
        d_bhh = dgh.sum((0, 1))
        dx = None
        if ctx.needs_input_grad[0]:
            dx = (m(grz, w_ih[: 2 * H]) + m(gn, w_ih[2 * H:])).view(L, B, -1)
        return dx, d_wih.to(w_ih.dtype), d_whh.to(w_hh.dtype), d_bih.to(w_ih.dtype), d_bhh.to(w_hh.dtype), None


def gru_forward(x: torch.Tensor, rnn: torch.nn.GRU, *, mm_dtype: torch.dtype | None = None,
                dropout: float = 0.0, training: bool = False) -> torch.Tensor:
    """All hidden states (L, B, H), time-major, of ``rnn`` (an ``nn.GRU``, zero initial state) on the time-major
    input x (L, B, I); dropout between layers as in ``nn.GRU``. No autograd graph when grad is off."""
    if rnn.bidirectional or rnn.proj_size or not rnn.bias:
        raise ValueError("gru_forward supports unidirectional GRUs with biases and no projection")
    grad = torch.is_grad_enabled()
    h = x
    for k in range(rnn.num_layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
        b_ih, b_hh = getattr(rnn, f"bias_ih_l{k}"), getattr(rnn, f"bias_hh_l{k}")
        if k > 0 and dropout > 0 and training:
            h = torch.nn.functional.dropout(h, dropout, training=True)
        if grad and (h.requires_grad or w_ih.requires_grad):
            h = _GRULayerFn.apply(h, w_ih, w_hh, b_ih, b_hh, mm_dtype)
        else:
            L, B, I = h.shape
            gi = torch.addmm(_mm_weights(b_ih, mm_dtype), _mm_weights(h.reshape(L * B, I), mm_dtype),
                             _mm_weights(w_ih, mm_dtype).t()).to(x.dtype).view(L, B, -1)
            h = _recurrence(gi, w_hh, b_hh, mm_dtype, save=False)[0]
    return h
