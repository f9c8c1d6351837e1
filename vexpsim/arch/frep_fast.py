"""Fast path for long FREP loops in timed runs: steady-state timing extrapolation.

The per-instruction path runs every iteration through the timed closures. Here the first
iterations run that way too, and after each period (one pass over the stagger variants) the
FP-side timing state is captured as a vector (CoreTiming.fp_state: FPSS issue time, register
ready times, SSR request times and FIFO slots, stall and event counters). When three
consecutive periods change the vector by the same step, the loop is in steady state: the state
after m more periods is the last one plus m steps, exactly what the per-instruction path would
compute, PROVIDED no TCDM request of those periods finds its bank taken (the only outside
influence on the FP side during a loop). That is checked before anything is committed: the
streams' future element addresses give their banks, the cycles follow the last period's
reservations shifted by the period's length, and the fast path applies only if none of those
(cycle, bank) slots is taken and none is used twice. Otherwise the loop simply continues on the
per-instruction path. The functional part of the skipped iterations runs on the plain
functional closures (no timing wrappers).

tests/arch/test_frep_fast.py pins: same cycles, stalls, events and bit-identical outputs as the
per-instruction path, alone and with other cores contending for the same banks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ENABLED", "MIN_ITERATIONS", "run_frep"]

ENABLED = True  # tests flip it to compare with the per-instruction path
MIN_ITERATIONS = 64  # shorter loops are not worth the bookkeeping
_WARM_PERIODS = 4  # periods run on the per-instruction path before the first check
_MAX_TRIES = 6  # steady-state checks before giving up on a loop (at least ...)
_MAX_TRY_ITERATIONS = 64  # (... or this many iterations: pipelines and FIFOs must fill)


def _peek(ssr: Any, count: int) -> list[int] | None:
    """The next `count` element addresses of a functional data mover, without consuming
    them (None if the stream ends earlier)."""
    if ssr.addrs is None or ssr._ahead is None:
        return None
    out = [ssr._ahead]
    gen = ssr.addrs
    pulled = []
    for _ in range(count):  # one more than needed: the look-ahead after the last
        a = next(gen, None)
        if a is None:
            break
        pulled.append(a)
    import itertools
    ssr.addrs = itertools.chain(pulled, gen)
    out += pulled
    if len(out) < count:
        return None
    return out[:count]


def run_frep(h: Any, iters: int, run_iter: Callable[[int], None],
             run_plain: Callable[[int], None], period: int) -> None:
    """Execute iterations 0..iters-1 of an FREP loop on timed hart `h`. `run_iter(it)` runs
    iteration `it` with timing; `run_plain(it)` without (functional closures only)."""
    ct = h.tm.ct
    tc = ct.tcdm
    cnt = h.tm.counts
    streams = ct.streams
    it = 0
    if not ENABLED or iters < MIN_ITERATIONS or tc is None:
        for it in range(iters):
            run_iter(it)
        return
    for st in streams:
        st.log = []
    snaps: list[list[int]] = []
    marks: list[list[int]] = []
    try:
        tries = 0
        while True:
            for _ in range(period):
                run_iter(it)
                it += 1
            snaps.append(ct.fp_state() + cnt)
            marks.append([len(st.log) for st in streams] + [st.elements for st in streams])
            if len(snaps) < _WARM_PERIODS:
                continue
            left = (iters - it) // period
            if left < 2:
                break
            plan = _steady(snaps, marks, streams, h, left, tc)
            if plan is not None:
                step, m, cycles, banks = plan
                for j in range(it, it + m * period):
                    run_plain(j)
                it += m * period
                tc.reserve_block(cycles, banks)
                state = [a + m * d for a, d in zip(snaps[-1], step, strict=True)]
                nfp = len(state) - len(cnt)
                ct.set_fp_state(state[:nfp])
                cnt[:] = state[nfp:]
                break
            tries += 1
            if tries >= _MAX_TRIES and tries * period >= _MAX_TRY_ITERATIONS:
                break
    finally:
        for st in streams:
            st.log = None
    while it < iters:
        run_iter(it)
        it += 1


def _steady(snaps: list[list[int]], marks: list[list[int]], streams: list[Any], h: Any,
            left: int, tc: Any) -> tuple[list[int], int, np.ndarray, np.ndarray] | None:
    """The per-period step and the TCDM slots of the next `m` periods if the loop is in
    steady state and those slots are free; else None."""
    a, b, c = snaps[-3], snaps[-2], snaps[-1]
    if not len(a) == len(b) == len(c):
        return None
    step = [y - x for x, y in zip(b, c, strict=True)]
    if step != [y - x for x, y in zip(a, b, strict=True)]:
        return None
    period_cycles = step[0]  # FPSS issue time advances by the period's length
    if period_cycles <= 0:
        return None
    m = left
    all_cycles: list[np.ndarray] = []
    all_banks: list[np.ndarray] = []
    for s, st in enumerate(streams):
        n_prev = marks[-2][s] - marks[-3][s]
        n_last = marks[-1][s] - marks[-2][s]
        if n_prev != n_last:
            return None
        if n_last == 0:
            continue
        last = st.log[marks[-2][s]:marks[-1][s]]
        prev = st.log[marks[-3][s]:marks[-2][s]]
        if [x + period_cycles for x in prev] != last:
            return None
        k = len(streams) + s
        if marks[-1][k] - marks[-2][k] != n_last:  # some elements were not in the TCDM
            return None
        addrs = _peek(h.ssrs[s], m * n_last)
        if addrs is None:
            return None
        addr = np.asarray(addrs, dtype=np.int64)
        if np.any(addr < tc.base) or np.any(addr >= tc.base + tc.size):
            return None
        base = np.asarray(last, dtype=np.int64)
        cyc = (base[None, :] + period_cycles * np.arange(1, m + 1, dtype=np.int64)[:, None])
        all_cycles.append(cyc.ravel())
        all_banks.append(((addr - tc.base) >> tc.shift) % tc.nb)
    if not all_cycles:
        return step, m, np.zeros(0, np.int64), np.zeros(0, np.int64)
    cycles = np.concatenate(all_cycles)
    banks = np.concatenate(all_banks)
    top = int(cycles.max())
    if top - tc.lo >= tc.window:
        tc._grow(top)
    if int(cycles.min()) < tc.lo:
        return None
    idx = (cycles & tc.mask) * tc.nb + banks
    view = np.frombuffer(tc.occ, dtype=np.uint8)
    if view[idx].any() or np.unique(idx).size != idx.size:
        return None
    return step, m, cycles, banks
