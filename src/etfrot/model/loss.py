"""Decile-weighted MSE per date (seed 000 §2.2 "损失函数权重调整"; SPEC §4).

    decile_i = ⌊ 10 · rank_i / n_d ⌋        rank_i ∈ {0..n_d−1}: ordinal rank of y_i among the n_d samples of its date d
    w_i      = extreme_weight  if decile_i ∈ {0, 9}  else  base_weight          (seed 000: 2 and 1)
    loss     = Σ_i w_i (ŷ_i − y_i)² / Σ_i w_i

Weights 1/1 give exactly the plain MSE. The deciles are cut per date (per cross-section), so a batch
may hold several dates: ``group`` says which date each sample belongs to.
"""

from __future__ import annotations

import torch

from etfrot.errors import ConfigError


def group_ranks(values: torch.Tensor, group: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ordinal rank (0-based, ties by position) of each value within its group, and its group's size."""
    order = torch.sort(values, stable=True).indices
    order = order[torch.sort(group[order], stable=True).indices]  # by group, then value
    g = group[order]
    counts = torch.bincount(g)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=values.device) - starts[g]
    return rank, counts[group]


def decile_weights(label: torch.Tensor, group: torch.Tensor | None = None, *, extreme_weight: float = 2.0,
                   base_weight: float = 1.0, n_bins: int = 10) -> torch.Tensor:
    """Per-sample weights: ``extreme_weight`` in the top and bottom of ``n_bins`` label bins of its date."""
    if n_bins < 2 or extreme_weight < 0 or base_weight < 0 or extreme_weight + base_weight == 0:
        raise ConfigError(f"bad loss weights: n_bins={n_bins}, extreme_weight={extreme_weight}, "
                          f"base_weight={base_weight}; use n_bins ≥ 2 and non-negative weights, not both 0")
    if group is None:
        group = torch.zeros_like(label, dtype=torch.long)
    group = torch.unique(group, return_inverse=True)[1]
    rank, n = group_ranks(label.detach(), group)
    b = torch.div(rank * n_bins, n, rounding_mode="floor")
    extreme = (b == 0) | (b == n_bins - 1)
    return torch.where(extreme, torch.full_like(label, extreme_weight), torch.full_like(label, base_weight))


def weighted_mse(pred: torch.Tensor, label: torch.Tensor, group: torch.Tensor | None = None, *,
                 extreme_weight: float = 2.0, base_weight: float = 1.0, n_bins: int = 10) -> torch.Tensor:
    """Σ w (ŷ − y)² / Σ w with the per-date decile weights of :func:`decile_weights`."""
    w = decile_weights(label, group, extreme_weight=extreme_weight, base_weight=base_weight, n_bins=n_bins)
    return torch.sum(w * (pred - label) ** 2) / torch.sum(w)
