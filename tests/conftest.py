"""Shared fixtures: small synthetic bundles (built once per test session) and the real-data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory):
    """A `small` synthetic market with planted signals (signal=1, seed=0)."""
    from etfrot.data.synthetic import build_synthetic

    return build_synthetic(tmp_path_factory.mktemp("bundles") / "small_s1", size="small", seed=0, signal=1.0)


@pytest.fixture(scope="session")
def null_bundle(tmp_path_factory):
    """A `small` synthetic market with nothing predictable (signal=0, seed=0)."""
    from etfrot.data.synthetic import build_synthetic

    return build_synthetic(tmp_path_factory.mktemp("bundles") / "small_s0", size="small", seed=0, signal=0.0)


@pytest.fixture(scope="session")
def null_bundles(null_bundle, tmp_path_factory):
    """Three independent `small` signal=0 markets (seeds 0, 1, 2; seed 0 is ``null_bundle``) for the strategy-level
    null tests: a look-ahead leak shows as excess on every seed, a fluke on one seed does not repeat."""
    from etfrot.data.synthetic import build_synthetic

    root = tmp_path_factory.mktemp("null_bundles")
    return [null_bundle] + [build_synthetic(root / f"small_s0_seed{s}", size="small", seed=s, signal=0.0) for s in (1, 2)]


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real A-share data folder beside the repository (../shared/data/real), or skip."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not found at {REAL_DATA} (it lives in ../shared/data/real beside the repository)")
    return REAL_DATA
