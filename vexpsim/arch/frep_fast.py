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

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import frep_replay

__all__ = ["ENABLED", "MIN_ITERATIONS", "run_frep"]

ENABLED = True  # tests flip it to compare with the per-instruction path
MIN_ITERATIONS = 64  # shorter loops are not worth the bookkeeping
_WARM_PERIODS = 4  # periods run on the per-instruction path before the first check
_MAX_TRIES = 6  # steady-state checks before giving up on a loop (at least ...)
_MAX_TRY_ITERATIONS = 64  # (... or this many iterations: pipelines and FIFOs must fill)
# with the separated path (frep_replay) at hand, a contended loop stops looking for a steady
# state after this many checks (each check costs a period on the per-instruction path, about
# 4x the replay's cost per instruction; softmax_vexp: most loops that reach a steady state
# do so within 3 checks)
SEPARATED_TRIES = 4


def _peek(ssr: Any, count: int) -> np.ndarray | None:
    """The next `count` memory accesses (element addresses, each element once) of a
    functional data mover, without consuming them (None if the stream ends earlier)."""
    from ..isa.semantics import SimError
    try:
        return np.asarray(ssr.peek_addresses(count, fetches=True), dtype=np.int64)
    except SimError:
        return None


def run_frep(h: Any, iters: int, run_iter: Callable[[int], None],
             run_plain: Callable[[int], None], period: int,
             vector: Callable[[int, int], bool] | None = None,
             separated: Callable[[int, int], bool] | None = None) -> None:
    """Execute iterations 0..iters-1 of an FREP loop on timed hart `h`. `run_iter(it)` runs
    iteration `it` with timing; `run_plain(it)` without (functional closures only);
    `vector(first, last)` runs iterations [first, last) vectorised (vexpsim.arch.fastfrep)
    and returns False, having changed nothing, when it cannot; `separated(first, last)`
    likewise with the functional part and the timing apart (vexpsim.arch.frep_replay), for
    loops too short for the steady state."""
    ct = h.tm.ct
    tc = ct.tcdm
    cnt = h.tm.counts
    streams = ct.streams
    it = 0
    if not (ENABLED and frep_replay.ENABLED):
        separated = None
    if not ENABLED or iters < MIN_ITERATIONS or tc is None:
        if separated is not None and iters > 1 and separated(0, iters):
            return
        for j in range(iters):
            run_iter(j)
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
                step, m, slots = plan
                if vector is None or not vector(it, it + m * period):
                    for j in range(it, it + m * period):
                        run_plain(j)
                it += m * period
                tc.reserve_slots(slots)
                state = [a + m * d for a, d in zip(snaps[-1], step, strict=True)]
                nfp = len(state) - len(cnt)
                ct.set_fp_state(state[:nfp])
                cnt[:] = state[nfp:]
                break
            tries += 1
            if tries >= _MAX_TRIES and tries * period >= _MAX_TRY_ITERATIONS or \
                    separated is not None and tries >= SEPARATED_TRIES:
                break
    finally:
        for st in streams:
            st.log = None
    # no steady state (e.g. other cores contend for the banks): the rest with the functional
    # part and the timing apart, when the body allows it
    if it < iters - 1 and separated is not None and separated(it, iters):
        return
    while it < iters:
        run_iter(it)
        it += 1


def _steady(snaps: list[list[int]], marks: list[list[int]], streams: list[Any], h: Any,
            left: int, tc: Any) -> tuple[list[int], int, list[np.ndarray]] | None:
    """The per-period step and the TCDM ring slots (TcdmBanks.reserve_slots) of the next
    `m` periods if the loop is in steady state and those slots are free; else None."""
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
    per: list[tuple[np.ndarray, np.ndarray]] = []  # per stream: last period's cycles, banks
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
        banks = _bank_rows(h.ssrs[s], m, n_last, tc)
        if banks is None:
            return None
        per.append((np.asarray(last, dtype=np.int64), banks))
    if not per:
        return step, m, []
    top = max(int(base.max()) for base, _ in per) + period_cycles * m
    if top - tc.lo >= tc.window:
        tc._grow(top)
    if min(int(base.min()) for base, _ in per) + period_cycles < tc.lo:
        return None
    # the first periods first: a loop that finds its slots taken (other cores' requests)
    # usually does so at once, and is then refused without building every slot set
    m0 = min(m, _PREFIX)
    j0 = period_cycles * np.arange(1, m0 + 1, dtype=np.int64)[:, None]
    for base, banks in per:
        r = banks.shape[0]
        head = tc.slot_set((base[None, :] + j0).reshape(-1),
                           np.tile(banks, (-(-m0 // r), 1))[:m0].reshape(-1))
        if not tc.slots_free(head):
            return None
    slots = _tile_slots(per, period_cycles, m, tc)
    if slots is None:
        slots = _request_slots(per, period_cycles, m, tc)
    return (step, m, slots) if slots else None


def _request_slots(per: list[tuple[np.ndarray, np.ndarray]], period: int, m: int, tc: Any
                   ) -> list[tuple]:
    """The ring slots of the extrapolated requests as strided ("rows") or index slot sets,
    [] when one is taken or two requests share a bank and cycle (see _tile_slots)."""
    slots = []
    for base, banks in per:
        r, e = banks.shape
        if r * e <= _STRIDED_MAX and m >= _STRIDED_MIN * r:
            # request (j, q) is at cycle base[q] + period * (j + 1) in bank banks[j % r, q]:
            # for each (j mod r, q) a strided set of ring slots, checked as NumPy slices
            for jr in range(r):
                for q in range(e):
                    part = ("rows", int(base[q]) + period * (jr + 1),
                            period * r, (m - jr + r - 1) // r, int(banks[jr, q]))
                    if not tc.slots_free(part):
                        return []
                    slots.append(part)
        else:  # ring slot (cycle mod window) * banks + bank of every request
            cyc = base[None, :] + period * np.arange(1, m + 1, dtype=np.int64)[:, None]
            part = tc.slot_set(cyc.reshape(-1), np.tile(banks, (-(-m // r), 1))[:m].reshape(-1))
            if not tc.slots_free(part):
                return []
            slots.append(part)
    if _collide(per, period, m):
        return []
    return slots


def _tile_slots(per: list[tuple[np.ndarray, np.ndarray]], period: int, m: int, tc: Any
                ) -> list[tuple] | None:
    """The ring slots of the extrapolated requests as "tile" slot sets (TcdmBanks._parts):
    [] when one is taken or two requests share a bank and cycle, None when the banks' joint
    period is too long for this (then the strided and index sets are built instead).

    Request (j, q) of a stream, j < m, is at cycle O + rel[q] + period * j (O the first
    request's cycle) in bank banks[j % r, q]. Between the offsets max(rel) and
    period * (m - 1) every cycle receives what the unbounded periodic extension gives it,
    which repeats every B = period * lcm(r) cycles: one (B, words) tile of bank masks,
    checked and reserved as 2-D views of the ring (a few dense passes instead of one
    strided pass per request column). The head and tail cycles outside that range are
    small tiles of their own, built request by request."""
    rr = 1
    for _, banks in per:
        rr = rr * banks.shape[0] // math.gcd(rr, banks.shape[0])
    blk = period * rr
    o = min(int(base.min()) for base, _ in per) + period
    rels = [base + period - o for base, _ in per]
    ia = max(int(rel.max()) for rel in rels)
    ib = period * (m - 1) + 1  # interior offsets [ia, ib)
    if ib - ia < max(4 * blk, _TILE_MIN):
        return None
    nw = tc.nw

    rel = np.concatenate(rels)
    bk_all = np.concatenate([np.tile(banks, (rr // banks.shape[0], 1)) for _, banks in per],
                            axis=1)  # (R, requests per period): bank of j mod R
    cols = np.arange(rel.size)[None, :]

    def tile(jlo: np.ndarray, jhi: np.ndarray, lo: int, size: int) -> np.ndarray | None:
        """Bank masks (size, nw) of offsets [lo, lo + size) (mod size) from requests
        (q, j), jlo[q] <= j < jhi[q]; None if two of them share a bank and cycle."""
        js = jlo[None, :] + np.arange(max(1, int((jhi - jlo).max())))[:, None]
        ok = js < jhi[None, :]
        off = ((rel[None, :] + period * js - lo) % size)[ok]
        bk = bk_all[js % rr, cols][ok]
        key = np.sort(off * (nw << 6) + bk)
        if key.size > 1 and (key[1:] == key[:-1]).any():
            return None
        t = np.zeros(size * nw, dtype=np.uint64)
        np.bitwise_or.at(t, off * nw + (bk >> 6), np.left_shift(
            np.uint64(1), (bk & 63).astype(np.uint64)))
        return t.reshape(size, nw)

    # interior: every request of R consecutive periods, by offset mod B (each residue of
    # the interior occurs there with all of its requests, the interior being >= B long)
    zero = np.zeros_like(rel)
    mid = tile(zero, zero + rr, ia, blk)
    if mid is None:
        return []
    parts = [("tile", o + ia, ib - ia, mid)]
    if ia:  # head [0, ia) and tail [ib, ib + ia): the requests whose offsets fall there
        head = tile(zero, np.maximum(0, -((rel - ia) // period)), 0, ia)
        tail = tile(np.maximum(0, -((rel - ib) // period)), zero + m, ib, ia)
        if head is None or tail is None:
            return []
        parts += [("tile", o, ia, head), ("tile", o + ib, ia, tail)]
    for part in parts:
        if not tc.slots_free(part):
            return []
    return parts


def _collide(per: list[tuple[np.ndarray, np.ndarray]], period: int, m: int) -> bool:
    """Whether two of the extrapolated requests take the same bank in the same cycle; few
    requests: sorted directly, else by their periodic structure (_collide_periodic)."""
    if m * sum(base.size for base, _ in per) > _DIRECT_MAX:
        return _collide_periodic(per, period, m)
    j = period * np.arange(1, m + 1, dtype=np.int64)[:, None]
    keys = []
    for base, banks in per:
        r, e = banks.shape
        cyc = base[None, :] + j
        bk = np.tile(banks, (-(-m // r), 1))[:m]
        keys.append((cyc * (1 << 16) + bk).ravel())  # banks < 2^16
    k = np.sort(np.concatenate(keys))
    return bool((k[1:] == k[:-1]).any())


_PREFIX = 16  # periods whose slots are checked before the others
_STRIDED_MAX = 1024  # (row residue, request) pairs per stream checked as strided slices
_STRIDED_MIN = 64  # ... each of at least this many slots (else one index array is cheaper)
_TILE_MIN = 1024  # interior cycles of a loop checked as tiles (_tile_slots), at least
_DIRECT_MAX = 1 << 12  # requests checked for collisions directly (sorted), else periodically


def _bank_rows(ssr: Any, m: int, e: int, tc: Any) -> np.ndarray | None:
    """Banks of a stream's next m * e fetches as an (r, e) array whose rows repeat: fetch
    j * e + q is in bank rows[j % r, q] (r = m when the banks have no short period,
    functional.Ssr.element_period); None when the stream cannot deliver them or leaves the
    TCDM."""
    n = m * e
    if ssr.addrs is None or n > ssr._remaining():
        return None
    span = tc.nb << tc.shift
    r = m
    if span & (span - 1) == 0:
        tb = ssr.element_period(span)
        if tb is not None:
            r = min(m, tb // math.gcd(tb, e))
    ta = ssr.element_period()
    addr = _peek(ssr, max(r * e, ta) if ta is not None and ta <= n else n)
    if addr is None:
        return None
    if int(addr.min()) < tc.base or int(addr.max()) >= tc.base + tc.size:
        return None
    banks = addr[:r * e] - tc.base
    banks >>= tc.shift
    if tc.nb & (tc.nb - 1):
        banks %= tc.nb
    else:
        banks &= tc.nb - 1
    return banks.reshape(r, e)


def _collide_periodic(per: list[tuple[np.ndarray, np.ndarray]], period: int, m: int
                      ) -> bool:
    """Whether two of the extrapolated requests take the same bank in the same cycle. Request
    (j, q) of a stream is at cycle base[q] + period * (j + 1), bank rows[j % r, q]: two
    requests can share a cycle only when their base cycles differ by a whole number d of
    periods, and then period j of one meets period j + d of the other (compared vectorised
    over j, one joint period of the two bank patterns). Within one stream the cycles
    strictly increase."""
    for a in range(len(per)):
        for b in range(a, len(per)):
            base_a, bank_a = per[a]
            base_b, bank_b = per[b]
            (ra, ea), (rb, eb) = bank_a.shape, bank_b.shape
            joint = ra * rb // math.gcd(ra, rb)
            for ka in range(ea):
                for kb in range(eb):
                    if a == b and kb <= ka:
                        continue
                    diff = int(base_a[ka] - base_b[kb])
                    if diff % period:
                        continue
                    d = diff // period  # period j of a meets period j + d of b
                    lo, hi = max(0, -d), min(m, m - d)
                    if lo >= hi:
                        continue
                    js = np.arange(lo, min(hi, lo + joint))
                    if np.any(bank_a[js % ra, ka] == bank_b[(js + d) % rb, kb]):
                        return True
    return False
