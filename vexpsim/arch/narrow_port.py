"""Two timing resources of the Snitch core complex: the cluster's shared data port to main
memory, and each core's consistency address queue (CAQ). docs/baseline_expf.md §6 explains why
they matter (the paper's baseline `expf` keeps its tables in main memory); CoreTiming
(vexpsim.arch.timing) uses them for every load and store.

NarrowPort: every core's loads and stores outside the TCDM leave through one request/response
multiplexer, `i_reqrsp_mux_core` in snitch_cluster.sv (pulp-platform/snitch_cluster 2fa38482,
`.RespDepth (2)`). generic_reqrsp_mux.sv masks all requests while its response FIFO of that
depth is full, so at most `capacity` main-memory data accesses are outstanding for the whole
cluster. An access requested at cycle t holds a slot from its grant until its response; it is
granted at the first cycle s >= t at which a slot is free for its whole duration, and the
requesting unit (core LSU or FP LSU) stalls until then. Reservations are kept per cycle, like
the TCDM banks (vexpsim.arch.cluster), so cores that run ahead of each other by a scheduling
quantum need no synchronisation per access.

Caq: snitch_lsu.sv `gen_caq`. Each load or store offloaded to the FP subsystem pushes a tag (the
low `tag_bits` bits of its 64-bit word address) at offload and pops it at its memory response.
An integer load that matches an outstanding FP store, or an integer store that matches any
outstanding FP access, stalls the core until that access has completed. The offload itself
waits for a free entry (`depth`).
"""

from __future__ import annotations

import bisect
import re

__all__ = ["NarrowPort", "Caq"]

_NEVER = -(1 << 60)


# NarrowPort keeps its per-cycle counts in chunks of _CH cycles (bytearrays), so that checking
# and reserving the cycles of one access are C-level slice operations (rfind, translate) rather
# than a Python loop over a dict; only chunks that were touched exist.
_SH = 8
_CH = 1 << _SH
_MASK = _CH - 1
_INC = bytes(range(1, 256)) + b"\xff"  # translate table: every count + 1


class NarrowPort:
    """Cluster-wide slots for main-memory data accesses of the cores (module docstring)."""

    _KEEP = 4096  # cycles kept behind the latest grant when pruning (>> any quantum)

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"NarrowPort capacity must be at least 1, got {capacity}")
        if capacity > 255:  # the counts are bytes
            raise ValueError(f"NarrowPort capacity must be at most 255, got {capacity}")
        self.capacity = capacity
        self._chunks: dict[int, bytearray] = {}  # cycle >> _SH -> accesses outstanding
        self._n = 0  # cycles >= lo with an access outstanding (the pruning rule counts them)
        self.lo = 0  # no request before this cycle will come again
        self.requests = 0
        self.stall_cycles = 0
        self._patterns: dict[int, re.Pattern[bytes]] = {}

    @property
    def occ(self) -> dict[int, int]:
        """cycle -> accesses outstanding in it (cycles with none left out; for inspection)."""
        return {(ci << _SH) + j: n for ci, ch in sorted(self._chunks.items())
                for j, n in enumerate(ch) if n}

    def _runs(self, hold: int) -> re.Pattern[bytes]:
        """Regular expression of `hold` consecutive non-full cycles (counts below capacity)."""
        pat = self._patterns.get(hold)
        if pat is None:
            top = re.escape(bytes([self.capacity - 1]))
            pat = self._patterns[hold] = re.compile(b"[\\x00-" + top + b"]{%d}" % hold)
        return pat

    def _count(self, c: int) -> int:
        ch = self._chunks.get(c >> _SH)
        return ch[c & _MASK] if ch is not None else 0

    def grant(self, t: int, hold: int) -> int:
        """Reserve a slot for `hold` cycles from the first cycle >= t at which one is free
        throughout; returns that cycle."""
        if hold < 1:
            raise ValueError(f"hold must be at least 1 cycle, got {hold}")
        chunks = self._chunks
        s = t if t > self.lo else self.lo
        pat = self._patterns.get(hold) or self._runs(hold)
        while True:  # the first s whose interval [s, s + hold) has no full cycle
            off = s & _MASK
            if off + hold <= _CH:
                ch = chunks.get(s >> _SH)
                if ch is None:
                    ch = chunks[s >> _SH] = bytearray(_CH)
                    break
                # the first run of `hold` non-full cycles from off that ends in this chunk
                m = pat.search(ch, off)
                if m is not None:
                    s += m.start() - off
                    off = m.start()
                    break
                s += _CH - hold + 1 - off  # only an interval reaching the next chunk is left
            else:  # the interval spans chunks: move past its last full cycle, per cycle
                for c in range(s + hold - 1, s - 1, -1):
                    if self._count(c) >= self.capacity:
                        s = c + 1
                        break
                else:
                    ch = None
                    break
        if ch is not None:  # [s, s + hold) lies in chunk ch from off
            seg = ch[off:off + hold]
            self._n += seg.count(0)
            ch[off:off + hold] = seg.translate(_INC)
        else:
            for c in range(s, s + hold):
                ch = chunks.get(c >> _SH)
                if ch is None:
                    ch = chunks[c >> _SH] = bytearray(_CH)
                if not ch[c & _MASK]:
                    self._n += 1
                ch[c & _MASK] += 1
        self.requests += 1
        self.stall_cycles += s - t
        if self._n > 2 * self._KEEP:
            self.advance(s - self._KEEP)
        return s

    def advance(self, lo: int) -> None:
        """No request before cycle `lo` will come again: forget the reservations before it."""
        if lo <= self.lo:
            return
        self.lo = lo
        top, cut = lo >> _SH, lo & (_CH - 1)
        for ci in [ci for ci in self._chunks if ci <= top]:
            ch = self._chunks[ci]
            if ci < top:
                self._n -= _CH - ch.count(0)
                del self._chunks[ci]
            elif cut:
                self._n -= cut - ch.count(0, 0, cut)
                ch[:cut] = bytes(cut)


class Caq:
    """The consistency address queue of one core (module docstring)."""

    def __init__(self, depth: int = 8, tag_bits: int = 16, word_bytes: int = 8) -> None:
        if depth < 1 or tag_bits < 1 or word_bytes < 1 or word_bytes & (word_bytes - 1):
            raise ValueError("Caq: depth and tag_bits must be >= 1, word_bytes a power of two")
        self.depth = depth
        self.shift = word_bytes.bit_length() - 1
        self.mask = (1 << tag_bits) - 1
        self.store_done: dict[int, int] = {}  # tag -> last completion of an FP store to it
        self.any_done: dict[int, int] = {}  # tag -> last completion of any FP access to it
        self.pending: list[int] = []  # completion cycles of the entries, sorted

    def tag(self, addr: int) -> int:
        return (addr >> self.shift) & self.mask

    def offload_ready(self, t: int) -> int:
        """First cycle >= t at which an FP load/store can be offloaded (a free entry)."""
        p = self.pending
        del p[:bisect.bisect_right(p, t)]  # popped by their responses before or at t
        if len(p) < self.depth:
            return t
        return max(t, p[len(p) - self.depth] + 1)

    def fp_access(self, addr: int, done: int, store: bool) -> None:
        """Record an offloaded FP load/store to `addr` whose memory response comes at `done`."""
        g = self.tag(addr)
        if done > self.any_done.get(g, _NEVER):
            self.any_done[g] = done
        if store and done > self.store_done.get(g, _NEVER):
            self.store_done[g] = done
        bisect.insort(self.pending, done)

    def int_ready(self, addr: int, store: bool) -> int:
        """Earliest issue cycle of an integer load (store=False) or store to `addr`: one cycle
        after the last colliding FP access has completed (a very negative number if none)."""
        done = (self.any_done if store else self.store_done).get(self.tag(addr), _NEVER)
        return done + 1 if done != _NEVER else _NEVER
