"""The optional data libraries for the library-level adapter tests (tests/test_adapters_*.py).

``need(name)`` imports a library or skips the calling test module with a message saying how to install
it; with ``ETFROT_ADAPTER_TESTS=1`` (the adapter job of ``.ci/run``) a missing library is an error, so
that job can never pass by skipping.
"""

from __future__ import annotations

import importlib
import os

import pytest

STRICT_ENV = "ETFROT_ADAPTER_TESTS"
INSTALL = 'pip install -e ".[data,adapters-test]" -c .ci/adapters-constraints.txt'


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip() == "1"


def need(name: str):
    """Import ``name`` or skip the module (error when ETFROT_ADAPTER_TESTS=1)."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        if strict():
            raise ImportError(f"{STRICT_ENV}=1 but the library {name!r} is not installed ({e}); install it: {INSTALL}") from e
        pytest.skip(f"library-level adapter tests need {name!r} (not installed): {INSTALL}", allow_module_level=True)
