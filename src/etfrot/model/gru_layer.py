"""The fused GRU encoder (GRU layers + attention pooling) with a hand-written backward, for CPU training.

Same maths and parameters as ``torch.nn.GRU`` (its documentation), per step t with input x_t, state h:

    r = σ(W_ir x_t + b_ir + W_hr h + b_hr)        z = σ(W_iz x_t + b_iz + W_hz h + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h = lerp(n, h, z)

and AGRU's pooling (seed 000 §2.1): a_t = softmax_t(v·tanh(W_a h_t + b_a)), pooled = Σ_t a_t h_t.
Backpropagation through time is written out (cf. the cuDNN RNN formulation). What makes it fast on
a CPU (each measured on this project's 2-core Xeon, benchmarks/results/agru.md):

* feature-major layout: states are (L, H + 1, B) — a step's state is an (H, B) block, the gate
  pre-activations of one step one (3H, B) GEMM whose r / z / n parts are contiguous row blocks, so
  every elementwise op runs on contiguous memory (strided gate slices of a (B, 3H) layout ran 2–3× slower);
* bias folding: row H of every state (and of the input) is 1 and the weights carry their bias as an
  extra column, so ``W [h; 1] = W h + b`` — no bias broadcast copies;
* per step and layer two GEMMs (the input projection W_i·[x_t; 1], computed right before its use, and
  W_h·[h; 1], whose r / z rows accumulate into it in place) and four elementwise ops forward; ten backward
  (``tanh_backward`` / ``sigmoid_backward`` kernels), weight gradients accumulated step by step while
  their operands are in cache;
* layers advance as a wavefront (step t of every layer, then t + 1; backward in reverse), so a layer's
  input is still in cache; inference saves nothing and pools with an online softmax — its working set is
  a few (3H, B) blocks, not (L, 3H, B) arrays (on this shared machine the latter fall out of cache);
* with more than one intra-op thread the batch is split over single-threaded workers, one join per call
  instead of an OpenMP team per elementwise op (on a loaded machine each team waits for descheduled threads);
* work buffers are reused across calls (:mod:`etfrot.model.cpu_work`): a fresh 61 MB buffer is page-faulted on first
  touch (measured 35 ms, more than the GEMM that fills it);
* ``mm_dtype=torch.bfloat16`` runs every GEMM on bf16 copies of its operands (AMX / AVX512-BF16, tensor
  cores) while gates, states, softmax and gradients stay float32. On this CPU a bf16 step GEMM is 2–3×
  faster but the conversions eat the gain: the whole step measured the same as float32 (agru.md).

Parameters live in the ``nn.GRU`` / ``nn.Linear`` modules (state dicts, initialisation and the
CUDA / cuDNN path are unchanged). ``tests/test_model_gru_layer.py`` checks states, pooled outputs and
every gradient against ``nn.GRU`` + autograd in float64.
"""

from __future__ import annotations

import torch

from etfrot.model.cpu_work import MIN_CHUNK, POOL, run_parallel

_tanh_bw = torch.ops.aten.tanh_backward.grad_input
_sigmoid_bw = torch.ops.aten.sigmoid_backward.grad_input


def _cast(t: torch.Tensor, mm) -> torch.Tensor:
    return t if mm is None or t.dtype == mm else t.to(mm)


def _mm(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, mm, acc: bool) -> None:
    """out (+)= a @ b, the product in ``mm`` (None: out's dtype)."""
    if mm is None:
        if acc:
            out.addmm_(a, b)
        else:
            torch.mm(a, b, out=out)
    else:
        p = torch.mm(_cast(a, mm), _cast(b, mm))
        out.add_(p) if acc else out.copy_(p)


def _cell(g, ghn, hp, hp_m, inp_m_t, out, wi_m, wh, wh_m, gh, mm) -> None:
    """One GRU step in place: g (3H, B) ← [r; z; n], ghn (H, B) ← W_hn h + b_hn, out (H, B) ← h_t. The input
    projection W_i· [x_t; 1] is computed here, right before its use (hot in cache)."""
    H = ghn.shape[0]
    _mm(g, wi_m, inp_m_t, mm, acc=False)
    rz, n = g[: 2 * H], g[2 * H:]
    if mm is None:  # accumulate W_h{r,z} [h; 1] into the input projection in place (no extra add pass)
        rz.addmm_(wh[: 2 * H], hp).sigmoid_()
        torch.mm(wh[2 * H:], hp, out=ghn)
    else:
        torch.mm(wh_m, hp_m, out=gh)
        rz.add_(gh[: 2 * H]).sigmoid_()
        ghn.copy_(gh[2 * H:])
    n.addcmul_(rz[:H], ghn).tanh_()
    torch.lerp(n, hp[:H], rz[H:], out=out)


def _h0(H: int, B: int, dt, dev) -> torch.Tensor:
    h0 = torch.zeros(H + 1, B, dtype=dt, device=dev)
    h0[H] = 1.0
    return h0


def _stream_fp(x, layers, att):
    """:func:`_stream` without GEMM casts, on one (F + 1 + layers·(H + 1), B) block Y = [x_t; 1; h¹; 1; h²; 1; …]:
    layer k's [input; 1; h^k; 1] is a contiguous slice, so its r / z pre-activations W_i·[in; 1] + W_h·[h; 1]
    are ONE GEMM on [W_i | W_h] (K = I + H + 2), no separate input projection pass."""
    B, L, F = x.shape
    dev, dt = x.device, x.dtype
    H = layers[0][1].shape[1] - 1
    X = x.permute(1, 2, 0).contiguous()
    Y = torch.zeros(F + 1 + len(layers) * (H + 1), B, dtype=dt, device=dev)
    st, lo = [], 0
    for wi, wh in layers:
        hi = lo + wi.shape[1]  # start of this layer's own [h; 1]
        Y[hi - 1] = 1.0
        st.append((lo, hi, torch.cat([wi[: 2 * H], wh[: 2 * H]], 1), wi[2 * H:], wh[2 * H:]))
        lo = hi
    Y[-1] = 1.0
    top_lo = lo  # the last layer's [h; 1]
    g, ghn = torch.empty(3 * H, B, dtype=dt, device=dev), torch.empty(H, B, dtype=dt, device=dev)
    if att is not None:
        wa, v = att
        u, sc, m, d, z = _pool_state(H, L, B, dt, dev)
    for t in range(L):
        Y[:F].copy_(X[t])
        for lo, hi, w_rz, w_in, w_hn in st:
            h = Y[hi:hi + H]
            torch.mm(w_rz, Y[lo:hi + H + 1], out=g[: 2 * H]).sigmoid_()
            torch.mm(w_in, Y[lo:hi], out=g[2 * H:])
            torch.mm(w_hn, Y[hi:hi + H + 1], out=ghn)
            g[2 * H:].addcmul_(g[:H], ghn).tanh_()
            torch.lerp(g[2 * H:], h, g[H:2 * H], out=h)
        if att is not None:
            top = Y[top_lo:top_lo + H + 1]
            torch.mm(wa, top, out=u).tanh_()
            m = _pool_step(u, v, sc[t], top[:H], m, d, z)
    if att is None:
        return Y[top_lo:top_lo + H].clone(), None
    return z.div_(d), torch.softmax(sc, 0)


def _pool_state(H: int, L: int, B: int, dt, dev):
    """The streaming pooling's buffers: u (tanh of the scores' projection), sc (scores per step), the running max m,
    the running denominator d and the running weighted sum z of :func:`_pool_step`."""
    return (torch.empty(H, B, dtype=dt, device=dev), torch.empty(L, B, dtype=dt, device=dev),
            torch.full((B,), -torch.inf, dtype=dt, device=dev), torch.zeros(B, dtype=dt, device=dev),
            torch.zeros(H, B, dtype=dt, device=dev))


def _pool_step(u, v, sc_t, h, m, d, z):
    """One step of the online-softmax attention pooling: s_t = v·tanh(W h_t) (``u`` holds the tanh), then
    z ← z·e^{m−m'} + e^{s_t−m'} h_t and d ← d·e^{m−m'} + e^{s_t−m'} in place; returns the new running max m'."""
    torch.mv(u.t(), v, out=sc_t)
    m_new = torch.maximum(m, sc_t)
    scale = torch.exp(m - m_new)
    w = torch.exp(sc_t - m_new)
    z.mul_(scale).addcmul_(h, w)
    d.mul_(scale).add_(w)
    return m_new


def _stream(x, layers, att, mm):
    """Inference without saving anything: all layers advance step by step (a wavefront), the attention
    pooling is an online softmax (running max m, weight sum d): z ← z·e^{m−m'} + e^{s_t−m'} h_t. Working set a
    few (3H, B) blocks instead of (L, 3H, B) arrays. Returns pooled (H, B) or h_L, and the (L, B) weights."""
    if mm is None:
        return _stream_fp(x, layers, att)
    B, L, F = x.shape
    dev, dt = x.device, x.dtype
    X = torch.empty(L, F + 1, B, dtype=dt, device=dev)
    X[:, :F].copy_(x.permute(1, 2, 0))
    X[:, F] = 1.0
    Xm = _cast(X, mm)
    st = []
    for wi, wh in layers:
        H3 = wi.shape[0]
        H = H3 // 3
        h = _h0(H, B, dt, dev)
        st.append({"wi_m": _cast(wi, mm), "wh": wh, "wh_m": _cast(wh, mm), "h": h,
                   "h_m": h.to(mm) if mm is not None else h, "g": torch.empty(H3, B, dtype=dt, device=dev),
                   "ghn": torch.empty(H, B, dtype=dt, device=dev),
                   "gh": torch.empty(H3, B, dtype=mm, device=dev) if mm is not None else None})
    if att is not None:
        wa_m, v = _cast(att[0], mm), att[1]
        u, sc, m, d, z = _pool_state(H, L, B, dt, dev)
    for t in range(L):
        inp_m = Xm[t]
        for c in st:
            _cell(c["g"], c["ghn"], c["h"], c["h_m"], inp_m, c["h"][:H], c["wi_m"], c["wh"], c["wh_m"], c["gh"], mm)
            if mm is not None:
                c["h_m"][:H].copy_(c["h"][:H])
            inp_m = c["h_m"] if mm is not None else c["h"]
        if att is not None:
            h = st[-1]["h"]
            _mm(u, wa_m, inp_m, mm, acc=False)
            u.tanh_()
            m = _pool_step(u, v, sc[t], h[:H], m, d, z)
    if att is None:
        return st[-1]["h"][:H].clone(), None
    return z.div_(d), torch.softmax(sc, 0)


def _run(x, layers, att, mode, mm, p_drop, training, pool):
    """Forward of the whole encoder, saving for backward (layers advance as a wavefront, step by step): per
    layer its input, states S (L, H + 1, B) (+ bf16 copy), gates G = [r; z; n] (L, 3H, B), GH = W_hn h + b_hn
    (L, H, B) and the dropout mask of its input. Returns the (H, B) pooled state (or (L, B, H) states), the
    (L, B) attention weights and that cache."""
    B, L, F = x.shape
    dev, dt = x.device, x.dtype
    X = pool.take((L, F + 1, B), dt, dev)
    X[:, :F].copy_(x.permute(1, 2, 0))
    X[:, F] = 1.0
    X16 = _cast(X, mm) if mm is not None else None
    cache, prev, prev_m = [], X, (X16 if mm is not None else X)
    for k, (wi, wh) in enumerate(layers):
        H3 = wi.shape[0]
        H = H3 // 3
        c = {"wi_m": _cast(wi, mm), "wh": wh, "wh_m": _cast(wh, mm), "mask": None, "owned": [],
             "G": pool.take((L, H3, B), dt, dev), "GH": pool.take((L, H, B), dt, dev),
             "S": pool.take((L, H + 1, B), dt, dev), "S16": None,
             "gh": torch.empty(H3, B, dtype=mm, device=dev) if mm is not None else None}
        c["S"][:, H] = 1.0
        if mm is not None:
            c["S16"] = pool.take((L, H + 1, B), mm, dev)
            c["S16"][:, H] = 1.0
        if k > 0 and p_drop > 0 and training:
            c["mask"] = torch.empty(L, H, B, dtype=dt, device=dev).bernoulli_(1 - p_drop).div_(1 - p_drop)
            D = pool.take((L, H + 1, B), dt, dev)
            D[:, H] = 1.0
            D16 = pool.take((L, H + 1, B), mm, dev) if mm is not None else None
            prev, prev_m = D, (D16 if mm is not None else D)
            c["owned"] += [D, D16]
        c["inp"], c["inp_m"] = prev, prev_m
        prev, prev_m = c["S"], (c["S16"] if mm is not None else c["S"])
        cache.append(c)
    cache[0]["owned"] += [X, X16]
    H = layers[0][1].shape[1] - 1
    h0 = _h0(H, B, dt, dev)
    h0_m = _cast(h0, mm)
    S, S_m = cache[-1]["S"], prev_m
    U = a = None
    if mode == "attention":
        wa_m, v = _cast(att[0], mm), att[1]
        U = pool.take((L, H, B), dt, dev)
        sc = torch.empty(L, B, dtype=dt, device=dev)
    for t in range(L):
        below = None
        for c in cache:
            if c["mask"] is not None:
                torch.mul(below[:H], c["mask"][t], out=c["inp"][t, :H])
                if mm is not None:
                    c["inp_m"][t].copy_(c["inp"][t])
            Sk, Sk_m = c["S"], (c["S16"] if mm is not None else c["S"])
            hp, hp_m = (Sk[t - 1], Sk_m[t - 1]) if t else (h0, h0_m)
            _cell(c["G"][t], c["GH"][t], hp, hp_m, c["inp_m"][t], Sk[t, :H], c["wi_m"], c["wh"], c["wh_m"], c["gh"], mm)
            if mm is not None:
                Sk_m[t, :H].copy_(Sk[t, :H])
            below = Sk[t]
        if mode == "attention":
            _mm(U[t], wa_m, S_m[t], mm, acc=False)
            U[t].tanh_()
            torch.mv(U[t].t(), v, out=sc[t])
    if mode == "attention":
        a = torch.softmax(sc, 0)  # (L, B)
        z = torch.zeros(H, B, dtype=dt, device=dev)
        for t in range(L):
            z.addcmul_(S[t, :H], a[t])
    elif mode == "last":
        z = S[L - 1, :H].clone()
    else:  # "states": (L, B, H) time-major
        z = S[:, :H].transpose(1, 2).clone()
    return z, a, (cache, {"U": U, "a": a, "S": S, "S_m": S_m})


def _release(state, pool) -> None:
    cache, top = state
    for c in cache:
        pool.give(c["S"], c["S16"], c["G"], c["GH"], *c["owned"])
    pool.give(top["U"])


def _cell_backward(c, b, t, h0, h0_m, mm) -> None:
    """One reverse step of one layer: from ∂h_t in b["dh"], accumulate ∂[W_ih | b_ih], ∂[W_hh | b_hh], write
    ∂input_t into b["dinp"] (if kept) and leave ∂h_{t−1} (the part through this layer's recurrence) in b["dh"]."""
    G, GH, S = c["G"], c["GH"], c["S"]
    S_m = c["S16"] if mm is not None else S
    H = GH.shape[1]
    dh, dhz, tmp, dGi, dGH = b["dh"], b["dhz"], b["tmp"], b["dGi"], b["dGH"]
    r, z, n = G[t, :H], G[t, H:2 * H], G[t, 2 * H:]
    hp, hp_m = (S[t - 1], S_m[t - 1]) if t else (h0, h0_m)
    torch.mul(dh, z, out=dhz)
    torch.sub(dh, dhz, out=tmp)  # ∂n = ∂h ⊙ (1 − z)
    _tanh_bw(tmp, n, grad_input=dGi[2 * H:])  # ∂a_n = ∂n ⊙ (1 − n²)
    torch.mul(dGi[2 * H:], r, out=dGH[2 * H:])  # ∂(W_hn h + b_hn) = r ⊙ ∂a_n
    torch.mul(dGi[2 * H:], GH[t], out=tmp)  # ∂r
    _sigmoid_bw(tmp, r, grad_input=dGi[:H])
    torch.sub(hp[:H], n, out=tmp).mul_(dh)  # ∂z = ∂h ⊙ (h − n)
    _sigmoid_bw(tmp, z, grad_input=dGi[H:2 * H])
    dGH[: 2 * H].copy_(dGi[: 2 * H])
    gh_m, gi_m = _cast(dGH, mm), _cast(dGi, mm)
    _mm(b["dwh"], gh_m, hp_m.t(), mm, acc=True)
    _mm(b["dwi"], gi_m, c["inp_m"][t].t(), mm, acc=True)
    if b["dinp"] is not None:
        _mm(b["dinp"][t] if b["dinp"].dim() == 3 else b["dinp"], b["wiT"], gi_m, mm, acc=False)
    _mm(dhz, b["whT"], gh_m, mm, acc=True)  # ∂h_{t−1} = ∂h ⊙ z + W_h·ᵀ ∂gh
    b["dh"], b["dhz"] = dhz, dh


def _backward(state, layers, att, mode, dz, need_dx, mm, pool):
    """Gradients of every layer's [W | b] (and of the attention's [W_a | b_a], v; and of x if ``need_dx``),
    the layers walked back as a wavefront (step t of every layer, top down, then step t − 1)."""
    cache, top = state
    S, S_m, U, a = top["S"], top["S_m"], top["U"], top["a"]
    L, H1, B = S.shape
    H = H1 - 1
    dev, dt = S.device, S.dtype
    bs = []
    for k, (wi, wh) in enumerate(layers):
        In = wi.shape[1] - 1
        dinp = None
        if k > 0:
            dinp = torch.empty(In, B, dtype=dt, device=dev)
        elif need_dx:
            dinp = torch.empty(L, In, B, dtype=dt, device=dev)
        bs.append({"dwi": torch.zeros_like(wi), "dwh": torch.zeros_like(wh), "dinp": dinp,
                   "whT": _cast(wh[:, :H].t().contiguous(), mm), "wiT": _cast(wi[:, :In].t().contiguous(), mm),
                   "dGi": torch.empty(3 * H, B, dtype=dt, device=dev), "dGH": torch.empty(3 * H, B, dtype=dt, device=dev),
                   **{n: torch.zeros(H, B, dtype=dt, device=dev) for n in ("dh", "dhz", "tmp")}})
    h0 = _h0(H, B, dt, dev)
    h0_m = _cast(h0, mm)
    att_grads = []
    if mode == "attention":
        wa, v = att
        dzT = dz.t()  # (H, B)
        da = torch.empty(L, B, dtype=dt, device=dev)
        tmp = torch.empty(H, B, dtype=dt, device=dev)
        for t in range(L):
            torch.sum(torch.mul(dzT, S[t, :H], out=tmp), 0, out=da[t])
        ds = a * (da - (a * da).sum(0, keepdim=True))  # softmax backward
        dwa, dv = torch.zeros_like(wa), torch.zeros_like(v)
        waT = _cast(wa[:, :H].t().contiguous(), mm)
        dU = torch.empty(H, B, dtype=dt, device=dev)
        vcol = v[:, None]
        att_grads = [dwa, dv]
    for t in range(L - 1, -1, -1):
        dh = bs[-1]["dh"]
        if mode == "attention":
            dh.addcmul_(dzT, a[t])
            torch.mul(vcol, ds[t], out=dU)
            _tanh_bw(dU, U[t], grad_input=dU)
            dv.addmv_(U[t], ds[t])
            du_m = _cast(dU, mm)
            _mm(dwa, du_m, S_m[t].t(), mm, acc=True)
            _mm(dh, waT, du_m, mm, acc=True)
        elif mode == "last":
            if t == L - 1:
                dh.add_(dz.t())
        else:
            dh.add_(dz[t].t())
        for k in range(len(layers) - 1, -1, -1):
            _cell_backward(cache[k], bs[k], t, h0, h0_m, mm)
            if k > 0:  # ∂ of the layer below's state h_t, through this layer's (masked) input
                mask = cache[k]["mask"]
                if mask is None:
                    bs[k - 1]["dh"].add_(bs[k]["dinp"])
                else:
                    bs[k - 1]["dh"].addcmul_(bs[k]["dinp"], mask[t])
    dx = bs[0]["dinp"].permute(2, 0, 1) if need_dx else None
    return dx, [g for b in bs for g in (b["dwi"], b["dwh"])] + att_grads


def _chunks(x: torch.Tensor, mode: str, p_drop: float, training: bool) -> int:
    """How many batch chunks to run in parallel threads: the intra-op thread count on CPU, if each chunk keeps
    ≥ MIN_CHUNK samples (not for the test-only "states" mode, nor with training dropout, whose masks would then
    depend on thread timing)."""
    if x.device.type != "cpu" or mode == "states" or (training and p_drop > 0):
        return 1
    return max(1, min(torch.get_num_threads(), x.shape[0] // MIN_CHUNK))


class _EncoderFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, mode, mm, p_drop, training, n_layers, *params):
        layers = [(params[2 * k], params[2 * k + 1]) for k in range(n_layers)]
        att = params[2 * n_layers:] or None
        n = _chunks(x, mode, p_drop, training)
        outs = run_parallel(n, lambda xc: _run(xc, layers, att, mode, mm, p_drop, training, POOL), list(x.chunk(n, 0)))
        ctx.state = [o[2] for o in outs]
        ctx.layers, ctx.att, ctx.mode, ctx.mm, ctx.n = layers, att, mode, mm, n
        ctx.x_grad = ctx.needs_input_grad[0]
        if mode == "states":
            z = outs[0][0]
        else:
            z = torch.cat([o[0] for o in outs], 1).t() if n > 1 else outs[0][0].t()
        a = torch.cat([o[1] for o in outs], 1).t() if mode == "attention" else x.new_zeros(0)
        ctx.mark_non_differentiable(a)
        return z, a

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dz, _da):
        if ctx.state is None:
            raise RuntimeError("the fused GRU encoder's buffers were released; backward runs once per forward")
        dz = dz.contiguous() if ctx.mode == "states" else dz
        dzs = [dz] if ctx.n == 1 else list(dz.split([st[1]["S"].shape[2] for st in ctx.state], 0))

        def back(item):
            st, d = item
            out = _backward(st, ctx.layers, ctx.att, ctx.mode, d, ctx.x_grad, ctx.mm, POOL)
            _release(st, POOL)
            return out

        outs = run_parallel(ctx.n, back, list(zip(ctx.state, dzs, strict=True)))
        ctx.state = None
        grads = outs[0][1]
        for _, g in outs[1:]:
            for acc, gk in zip(grads, g, strict=True):
                acc.add_(gk)
        dx = torch.cat([o[0] for o in outs], 0) if ctx.x_grad else None
        return (dx, None, None, None, None, None, *grads)


def _params(rnn: torch.nn.GRU, score: torch.nn.Sequential | None) -> list[torch.Tensor]:
    """[W_ih | b_ih], [W_hh | b_hh] per layer (+ [W_a | b_a], v): the bias as the last column."""
    if rnn.bidirectional or rnn.proj_size or not rnn.bias:
        raise ValueError("the fused GRU supports unidirectional GRUs with biases and no projection")
    ps = []
    for k in range(rnn.num_layers):
        for kind in ("ih", "hh"):
            ps.append(torch.cat([getattr(rnn, f"weight_{kind}_l{k}"), getattr(rnn, f"bias_{kind}_l{k}")[:, None]], 1))
    if score is not None:
        ps += [torch.cat([score[0].weight, score[0].bias[:, None]], 1), score[2].weight.reshape(-1)]
    return ps


def encode(x: torch.Tensor, rnn: torch.nn.GRU, score: torch.nn.Sequential | None = None, *, mode: str | None = None,
           mm_dtype: torch.dtype | None = None, dropout: float = 0.0, training: bool = False):
    """Batch-first x (B, L, I) → (pooled (B, H), attention (B, L)) with ``score`` = Sequential(Linear(H, H), Tanh,
    Linear(H, 1, bias=False)); without ``score`` → (h_L (B, H), None); ``mode="states"`` → all states (L, B, H)."""
    mode = mode or ("attention" if score is not None else "last")
    ps = _params(rnn, score if mode == "attention" else None)
    p = dropout if rnn.num_layers > 1 else 0.0
    if torch.is_grad_enabled() and (x.requires_grad or any(q.requires_grad for q in ps)):
        z, a = _EncoderFn.apply(x, mode, mm_dtype, p, training, rnn.num_layers, *ps)
        return z, (a if mode == "attention" else None)
    layers = [(ps[2 * k], ps[2 * k + 1]) for k in range(rnn.num_layers)]
    if mode != "states" and not (training and p > 0):
        n = _chunks(x, mode, p, training)
        outs = run_parallel(n, lambda xc: _stream(xc, layers, ps[2 * rnn.num_layers:] or None, mm_dtype), list(x.chunk(n)))
        z = torch.cat([o[0] for o in outs], 1) if n > 1 else outs[0][0]
        a = None if outs[0][1] is None else (torch.cat([o[1] for o in outs], 1) if n > 1 else outs[0][1])
        return z.t(), (a.t() if a is not None else None)
    z, a, state = _run(x, layers, ps[2 * rnn.num_layers:] or None, mode, mm_dtype, p, training, POOL)
    _release(state, POOL)
    return (z if mode == "states" else z.t()), (a.t() if a is not None else None)


def gru_forward(x: torch.Tensor, rnn: torch.nn.GRU, *, mm_dtype: torch.dtype | None = None,
                dropout: float = 0.0, training: bool = False) -> torch.Tensor:
    """All hidden states (L, B, H), time-major, of ``rnn`` (zero initial state) on the time-major input x (L, B, I)."""
    return encode(x.transpose(0, 1), rnn, mode="states", mm_dtype=mm_dtype, dropout=dropout, training=training)[0]
