"""The seed of the fuzz tests: fixed in CI, so that every CI run searches the same inputs."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from hypothesis import seed

T = TypeVar("T", bound=Callable)

CI_SEED = 20261206


def fixed_seed_in_ci(test: T) -> T:
    """Seed `test` in CI (or with SPECGEN_HYPOTHESIS_SEED=N anywhere); random elsewhere.

    A per-test seed, not pytest's --hypothesis-seed: with that global option hypothesis skips
    the example database, and the saved examples in tests/hypothesis-db must still replay.
    """
    chosen = os.environ.get("SPECGEN_HYPOTHESIS_SEED") or (
        str(CI_SEED) if os.environ.get("CI") else ""
    )
    return seed(int(chosen))(test) if chosen else test
