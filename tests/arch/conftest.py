"""Shared fixtures of the architecture tests."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest


@pytest.fixture
def kernel_fingerprint() -> Callable[[str, dict], tuple]:
    """f(kernel, params): what a fast path must leave unchanged in a paper-kernel run (8 cores
    and the DMA, seed 0): the record (cycles, stalls, events, energies, errors) and the
    per-hart results without the host-time `sim` entries, and the output bits."""
    from vexpsim.experiments.kernelrun import run_kernel

    def fingerprint(name: str, params: dict) -> tuple:
        run = run_kernel(name, params, dist="normal", seed=0)
        rec = dict(run.record)
        rec.pop("sim")
        harts = run.exec_result.to_json()
        harts.pop("sim")
        return json.dumps(rec, sort_keys=True, default=str), harts, run.output.tobytes()
    return fingerprint
