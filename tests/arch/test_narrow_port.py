"""vexpsim.arch.narrow_port: the shared main-memory data port and the per-core CAQ."""

from __future__ import annotations

import random

import pytest

from vexpsim.arch.narrow_port import Caq, NarrowPort


def occupancy(port: NarrowPort, grants: list[tuple[int, int]]) -> dict[int, int]:
    occ: dict[int, int] = {}
    for s, hold in grants:
        for c in range(s, s + hold):
            occ[c] = occ.get(c, 0) + 1
    return occ


def test_free_port_grants_at_once():
    p = NarrowPort(2)
    assert p.grant(5, 9) == 5
    assert p.grant(5, 9) == 5  # second slot
    assert p.stall_cycles == 0 and p.requests == 2


def test_third_request_waits_for_the_first_response():
    p = NarrowPort(2)
    p.grant(0, 9)  # holds cycles 0..8
    p.grant(1, 9)  # holds 1..9
    assert p.grant(2, 9) == 9  # cycle 8 is the last full one for the first slot
    assert p.stall_cycles == 7


def test_gap_too_short_is_skipped():
    p = NarrowPort(1)
    p.grant(0, 3)  # 0..2
    p.grant(5, 3)  # 5..7
    assert p.grant(2, 3) == 8  # 3..4 is free but too short for 3 cycles
    assert p.grant(3, 2) == 3  # a 2-cycle access fits in the gap


def test_throughput_is_capacity_per_hold():
    # 8 cores x 8 loads, all requested at cycle 0, 9 cycles each, 2 slots: 32 rounds
    p = NarrowPort(2)
    last = max(p.grant(0, 9) for _ in range(64))
    assert last == 31 * 9
    assert p.stall_cycles == sum(9 * (i // 2) for i in range(64))


def test_never_more_than_capacity_outstanding_random_order():
    rng = random.Random(1)
    for cap in (1, 2, 3):
        p = NarrowPort(cap)
        grants = []
        for _ in range(300):
            t, hold = rng.randrange(0, 400), rng.randrange(1, 15)
            s = p.grant(t, hold)
            assert s >= t
            grants.append((s, hold))
        assert max(occupancy(p, grants).values()) <= cap
        assert p.requests == 300


def test_grant_is_earliest_possible():
    rng = random.Random(2)
    p = NarrowPort(2)
    grants = []
    for _ in range(200):
        t, hold = rng.randrange(0, 300), rng.randrange(1, 12)
        occ = occupancy(p, grants)
        s = p.grant(t, hold)
        # no earlier start in [t, s) would have fitted
        for e in range(t, s):
            assert any(occ.get(c, 0) >= 2 for c in range(e, e + hold)), (t, hold, e)
        grants.append((s, hold))


def test_advance_forgets_the_past_and_clamps():
    p = NarrowPort(1)
    p.grant(0, 10)
    p.advance(20)
    assert all(c >= 20 for c in p.occ)
    assert p.grant(3, 4) == 20  # nothing may be granted before the horizon
    p.advance(5)  # going back is a no-op
    assert p.lo == 20


def test_pruning_keeps_recent_reservations():
    p = NarrowPort(1)
    t = 0
    for _ in range(3000):
        t = p.grant(t, 3) + 3
    assert len(p.occ) <= 2 * NarrowPort._KEEP + 3
    assert p.grant(t - 3, 3) == t  # the latest reservation is still there


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_arguments(bad):
    with pytest.raises(ValueError, match="capacity"):
        NarrowPort(bad)
    with pytest.raises(ValueError, match="hold"):
        NarrowPort(2).grant(0, bad)
    with pytest.raises(ValueError):
        Caq(depth=bad)


# ---- CAQ -------------------------------------------------------------------------------------

def test_int_load_waits_for_fp_store_to_same_word():
    q = Caq()
    q.fp_access(0x1000_0208, done=121, store=True)  # fsd fa3, 8(sp)
    assert q.int_ready(0x1000_0208, store=False) == 122  # lw a2, 8(sp)
    assert q.int_ready(0x1000_020C, store=False) == 122  # same 64-bit word
    assert q.int_ready(0x1000_0210, store=False) < 0  # next word: no collision


def test_int_load_ignores_fp_loads_int_store_does_not():
    q = Caq()
    q.fp_access(0x100, done=50, store=False)
    assert q.int_ready(0x100, store=False) < 0  # load after load: no hazard
    assert q.int_ready(0x100, store=True) == 51  # store after load: waits


def test_latest_completion_wins():
    q = Caq()
    q.fp_access(0x100, done=40, store=True)
    q.fp_access(0x100, done=30, store=False)
    assert q.int_ready(0x100, store=False) == 41
    assert q.int_ready(0x100, store=True) == 41


def test_tags_alias_pessimistically():
    q = Caq(tag_bits=4)  # 16 words of tag: addresses 128 B apart collide
    q.fp_access(0x000, done=10, store=True)
    assert q.int_ready(0x080, store=False) == 11
    assert Caq(tag_bits=16).int_ready(0x080, store=False) < 0


def test_offload_waits_for_a_free_entry():
    q = Caq(depth=2)
    assert q.offload_ready(0) == 0
    q.fp_access(0x0, done=20, store=False)
    q.fp_access(0x8, done=30, store=False)
    assert q.offload_ready(5) == 21  # both entries busy until the first response
    assert q.offload_ready(25) == 25  # one popped at 20
    assert q.offload_ready(40) == 40


class _DictPort:
    """The per-cycle dict reference of NarrowPort (its first implementation): grants, the
    pruning horizon and the occupancy must match exactly."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.occ, self.lo = capacity, {}, 0

    def grant(self, t: int, hold: int) -> int:
        occ, cap = self.occ, self.capacity
        s = c = max(t, self.lo)
        while c < s + hold:
            if occ.get(c, 0) >= cap:
                s = c + 1
            c += 1
        for c in range(s, s + hold):
            occ[c] = occ.get(c, 0) + 1
        if len(occ) > 2 * NarrowPort._KEEP:
            self.advance(s - NarrowPort._KEEP)
        return s

    def advance(self, lo: int) -> None:
        if lo > self.lo:
            self.lo = lo
            self.occ = {c: n for c, n in self.occ.items() if c >= lo}


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_chunked_port_matches_the_dict_reference(cap):
    # requests out of time order (cores running ahead of each other), intervals across chunk
    # boundaries, sparse and dense phases, pruning and explicit horizons
    rng = random.Random(cap)
    p, ref = NarrowPort(cap), _DictPort(cap)
    t = 0
    for i in range(6000):
        t += rng.choice((0, 1, 2, 5, 40, 700)) if i % 1500 < 1200 else 3000
        req, hold = t - rng.randrange(0, 300), rng.randrange(1, 20)
        assert p.grant(req, hold) == ref.grant(req, hold)
        if i % 997 == 0:
            p.advance(t - 500)
            ref.advance(t - 500)
        assert p.lo == ref.lo
    assert p.occ == ref.occ and p._n == len(ref.occ)
