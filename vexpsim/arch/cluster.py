"""Shared state of one cluster for the timing model: TCDM banks, the DMA engine, the shared
integer multiplier/divider (IPU). Every core keeps its own clock (vexpsim.arch.timing); the
objects here are where the clocks meet.

TCDM banks (snitch_cluster.md §1): word-interleaved, bank = (address / bank_width) mod banks;
one access per bank per cycle; a request to a bank that is taken in its cycle retries the next
cycle (the round-robin arbiter grants one master per bank and cycle; which master wins within a
cycle is decided here by simulation order, a documented approximation). The occupancy is a
reservation table indexed by cycle (a ring of `window` cycles x banks, one byte each), so no
synchronisation is needed per access: cores run ahead of each other by at most the scheduling
quantum (sim.quantum), within which reservations may be mis-ordered (the temporal decoupling of
SystemC TLM-2.0's quantum keeper; design.md "Simulation strategy").

DMA (§1 "DMA / wide port", §4.3): one channel; a transfer starts `dma.setup_latency` cycles
after its dmcpy issues (after the previous transfer's last beat at the earliest), the first beat
of data from main memory comes `main_memory.latency` later, then one beat of `dma.width` bytes
per cycle (fewer when main memory is slower: main_memory.bandwidth). Each beat occupies the 8
banks of one superbank of the TCDM with priority over the cores. A transfer to main memory
completes when its write response returns, `main_memory.latency` after its last beat.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .narrow_port import Caq, NarrowPort

__all__ = ["TcdmBanks", "DmaEngine", "DmaTransfer", "SharedIpu", "ClusterState"]


class TcdmBanks:
    """Per-cycle bank reservations of the TCDM (see the module docstring). The ring holds one
    bit per bank and cycle, `nw` 64-bit words per cycle (bank b: word b >> 6, bit b & 63):
    a long FREP loop's reservations for all 32 banks of a cycle fit in one word, so checking
    and reserving them in bulk touches 8 bytes per cycle instead of 32."""

    def __init__(self, base: int, size: int, banks: int, bank_width: int,
                 superbank_width: int, window: int = 1 << 15) -> None:
        self.base, self.size, self.nb = base, size, banks
        self.shift = bank_width.bit_length() - 1
        self.sb_banks = max(1, superbank_width // bank_width)  # banks per superbank
        self.sb_width = superbank_width
        self.nw = -(-banks // 64)
        self.word = [b >> 6 for b in range(banks)]
        self.bit = [1 << (b & 63) for b in range(banks)]
        self.window = window
        self.mask = window - 1
        self.occ = array("Q", bytes(8 * window * self.nw))
        self._wv = np.frombuffer(self.occ, dtype=np.uint64)  # _words(), made once per ring
        self.lo = 0  # cycles below lo are free (cleared) and will not be reserved again
        self.reads = 0
        self.writes = 0
        self.conflicts = 0  # cycles lost by requests that found their bank taken

    def bank(self, addr: int) -> int:
        return ((addr - self.base) >> self.shift) % self.nb

    def taken(self, cycle: int, bank: int) -> bool:
        """Whether `bank` is reserved at `cycle` (within the window)."""
        return bool(self.occ[(cycle & self.mask) * self.nw + self.word[bank]] & self.bit[bank])

    def grant(self, cycle: int, bank: int) -> int:
        """Reserve `bank` at the first free cycle >= `cycle`; returns that cycle."""
        if cycle - self.lo >= self.window:
            self._grow(cycle)
        occ, nw, m = self.occ, self.nw, self.mask
        w, bit = self.word[bank], self.bit[bank]
        c = c0 = cycle if cycle >= self.lo else self.lo
        while occ[(c & m) * nw + w] & bit:
            c += 1
            if c - self.lo >= self.window:
                self._grow(c)
                occ, m = self.occ, self.mask
        occ[(c & m) * nw + w] |= bit
        if c == c0:
            return cycle
        self.conflicts += c - c0
        return c

    def free_at(self, cycle: int, bank: int) -> int:
        """First cycle >= `cycle` at which `bank` is free (no reservation made)."""
        occ, nw, m = self.occ, self.nw, self.mask
        w, bit = self.word[bank], self.bit[bank]
        c = c0 = cycle if cycle >= self.lo else self.lo
        while c - self.lo < self.window and occ[(c & m) * nw + w] & bit:
            c += 1
        return cycle if c == c0 else c

    def _words(self) -> np.ndarray:
        return self._wv

    def _word_bits(self, cycles: np.ndarray, banks: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Ring word index and bit of (cycle, bank) pairs (cycles within the window)."""
        banks = np.asarray(banks, dtype=np.int64)
        idx = (np.asarray(cycles, dtype=np.int64) & self.mask) * self.nw + (banks >> 6)
        return idx, np.left_shift(np.uint64(1), (banks & 63).astype(np.uint64))

    def reserve_block(self, cycles: np.ndarray, banks: np.ndarray) -> None:
        """Reserve (cycle, bank) pairs in bulk, unconditionally (the DMA has priority)."""
        if cycles.size == 0:
            return
        top = int(cycles.max())
        if top - self.lo >= self.window:
            self._grow(top)
        idx, bits = self._word_bits(np.maximum(cycles, self.lo), banks)
        np.bitwise_or.at(self._words(), idx, bits)  # several banks of one cycle: one word

    def slot_set(self, cycles: np.ndarray, banks: np.ndarray) -> tuple:
        """A slot set ("idx", words, bits) for slots_free / reserve_slots: (cycle, bank)
        pairs within the window, at most one per cycle."""
        return ("idx", *self._word_bits(cycles, banks))

    def _parts(self, part: tuple) -> list[tuple[Any, Any, Any]]:
        """(ring words, index, bits) pieces of a slot set: ("idx", word indices, bits),
        ("rows", first cycle, cycle step, count, bank) or ("tile", first cycle, count,
        masks) (_tile_parts), the latter two split where they wrap around the ring (their
        cycles span less than the window: at most once)."""
        words = self._words()
        if part[0] == "idx":
            return [(words, part[1], part[2])]
        if part[0] == "tile":
            return self._tile_parts(*part[1:])
        _, c0, step, count, bank = part
        rows = words.reshape(self.window, self.nw)
        col, bit = self.word[bank], np.uint64(self.bit[bank])
        first = c0 & self.mask
        n1 = min(count, (self.window - first + step - 1) // step)  # before the wrap
        out = [(rows, (slice(first, first + step * (n1 - 1) + 1, step), col), bit)]
        if count > n1:
            c = (c0 + step * n1) & self.mask
            out.append((rows, (slice(c, c + step * (count - n1 - 1) + 1, step), col), bit))
        return out

    def _tile_parts(self, c0: int, count: int, tile: np.ndarray
                    ) -> list[tuple[Any, Any, Any]]:
        """Pieces of ("tile", first cycle, count, masks): cycle c0 + i takes the bank masks
        tile[i % B] ((B, nw) words); 2-D views of the ring rows, whole tiles broadcast,
        split where the cycles wrap around the ring (at most once)."""
        rows = self._words().reshape(self.window, self.nw)
        blk = tile.shape[0]
        out: list[tuple[Any, Any, Any]] = []
        first = c0 & self.mask
        done = 0
        while done < count:
            start = (first + done) & self.mask
            n = min(count - done, self.window - start)
            seg = rows[start:start + n]
            t = tile
            if done % blk:
                t = np.roll(tile, -(done % blk), axis=0)
            whole = n // blk
            if whole:
                out.append((seg[:whole * blk].reshape(whole, blk, self.nw), Ellipsis, t))
            if n > whole * blk:
                out.append((seg[whole * blk:], Ellipsis, t[:n - whole * blk]))
            done += n
        return out

    def slots_free(self, part: tuple) -> bool:
        """Whether none of the slots of `part` (see _parts; within the window) is taken. Whole
        tiles: the ring words OR-ed over the tiles first (a word meets its tile mask iff the
        OR of the words at its phase does), one read pass without a temporary."""
        return not any((np.bitwise_or.reduce(w, axis=0) & b).any() if w.ndim == 3 else
                       (w[i] & b).any() for w, i, b in self._parts(part))

    def reserve_slots(self, parts: list[tuple]) -> None:
        """Reserve slot sets computed for the current window (frep_fast._steady, which
        checked that they are free; each set has at most one slot per ring word)."""
        for part in parts:
            for w, i, b in self._parts(part):
                w[i] |= b

    def advance(self, lo: int) -> None:
        """No reservation before cycle `lo` will be made again: clear those slots."""
        if lo <= self.lo:
            return
        n = lo - self.lo
        words = self._words()
        if n >= self.window:
            words[:] = 0
        else:
            a, b = self.lo & self.mask, lo & self.mask
            nw = self.nw
            if a < b:
                words[a * nw:b * nw] = 0
            else:
                words[a * nw:] = 0
                words[:b * nw] = 0
        self.lo = lo

    def _grow(self, cycle: int) -> None:
        """Double the ring until `cycle` fits (a core ran far ahead, e.g. a long FREP loop)."""
        old_w, old = self.window, self._words()
        w = old_w
        while cycle - self.lo >= w:
            w *= 2
        occ = array("Q", bytes(8 * w * self.nw))
        src = old.reshape(old_w, self.nw)
        dst = np.frombuffer(occ, dtype=np.uint64).reshape(w, self.nw)
        live = np.arange(self.lo, self.lo + old_w, dtype=np.int64)  # re-map the live cycles
        dst[live & (w - 1)] = src[live & (old_w - 1)]
        self.window, self.mask, self.occ = w, w - 1, occ
        self._wv = np.frombuffer(occ, dtype=np.uint64)


@dataclass
class DmaTransfer:
    tid: int
    issue: int
    start: int  # first beat
    end: int  # completion (dmstat reports it done from this cycle on)
    bytes: int
    src: int
    dst: int
    kind: str  # main_to_tcdm, tcdm_to_main, tcdm_to_tcdm, main_to_main


class DmaEngine:
    """Timing of the cluster DMA (module docstring). `issue()` is called by the functional
    model at each dmcpy with the DMA core's issue cycle."""

    def __init__(self, cluster: Any, tcdm: TcdmBanks) -> None:
        self.width = cluster.dma.width
        self.setup = cluster.dma.setup_latency
        self.queue_depth = cluster.dma.queue_depth
        self.mem_lat = cluster.main_memory.latency
        self.mem_bw = cluster.main_memory.bandwidth
        self.tcdm = tcdm
        self.free = 0  # first cycle the engine can start the next transfer's beats
        self.transfers: list[DmaTransfer] = []
        self.bytes: dict[str, int] = {}

    def _in_tcdm(self, a: int) -> bool:
        return self.tcdm.base <= a < self.tcdm.base + self.tcdm.size

    def issue(self, t: int, tid: int, src: int, dst: int, size: int, rows: int,
              src_stride: int, dst_stride: int) -> int:
        """A transfer of `rows` x `size` bytes issued at cycle t; returns the cycle the DMA
        core may issue its next instruction (later than t + 1 when the queue is full)."""
        core_next = t + 1
        pending = [x.end for x in self.transfers if x.end > t]
        if len(pending) >= self.queue_depth:  # dmcpy blocks until a queue slot frees
            core_next = max(core_next, sorted(pending)[-self.queue_depth] + 1)
        s_tcdm, d_tcdm = self._in_tcdm(src), self._in_tcdm(dst)
        kind = ("tcdm" if s_tcdm else "main") + "_to_" + ("tcdm" if d_tcdm else "main")
        main = not (s_tcdm and d_tcdm)
        rate = min(self.width, self.mem_bw) if main else self.width  # bytes per cycle
        per_beat = -(-self.width // rate)  # cycles per beat
        start = max(core_next - 1 + self.setup + (self.mem_lat if not s_tcdm else 0),
                    self.free)
        cyc: list[int] = []
        sb_addrs: list[int] = []
        c = start
        sbw = self.tcdm.sb_width
        for r in range(max(rows, 0)):
            s = src + r * src_stride
            d = dst + r * dst_stride
            ta = d if d_tcdm else s  # the TCDM side decides the beats
            first = ta - ta % sbw
            first_s = s - s % sbw
            nbeats = -(-(ta + size - first) // sbw) if size > 0 else 0
            for k in range(nbeats):
                cyc.append(c)
                sb_addrs.append(first + k * sbw)
                if s_tcdm and d_tcdm:  # both sides in the TCDM: the read side's banks too
                    cyc.append(c)
                    sb_addrs.append(first_s + k * sbw)
                c += per_beat
        last = c
        tc = self.tcdm
        if cyc and (s_tcdm or d_tcdm):
            sb = (np.asarray(sb_addrs, dtype=np.int64) - tc.base) // sbw
            nsb = max(1, tc.nb // tc.sb_banks)
            b0 = (sb % nsb) * tc.sb_banks
            banks = (b0[:, None] + np.arange(tc.sb_banks)[None, :]).ravel()
            cycles = np.repeat(np.asarray(cyc, dtype=np.int64), tc.sb_banks)
            tc.reserve_block(cycles, banks)
        words = -(-size * max(rows, 0) // (1 << tc.shift))  # 64-bit bank accesses per side
        if d_tcdm:
            tc.writes += words
        if s_tcdm:
            tc.reads += words
        end = last + (self.mem_lat if not d_tcdm else 0)
        self.free = last
        nbytes = size * max(rows, 0)
        self.bytes[kind] = self.bytes.get(kind, 0) + nbytes
        self.transfers.append(DmaTransfer(tid, t, start, end, nbytes, src, dst, kind))
        return core_next

    def completed(self, now: int) -> int:
        """Id of the last transfer complete at cycle `now` (transfers complete in order)."""
        done = 0
        for x in self.transfers:
            if x.end <= now:
                done = x.tid
            else:
                break
        return done

    def busy(self, now: int) -> bool:
        return bool(self.transfers) and self.transfers[-1].end > now

    def would_block(self, now: int) -> bool:
        return sum(1 for x in self.transfers if x.end > now) >= self.queue_depth


class SharedIpu:
    """The integer MUL/DIV unit (IPU): one per hive, shared by all cores by default
    (core.shared_ipu; snitch_cluster.md §1, §2). The multiplier accepts one operation per
    cycle (pipelined); the serial divider one operation at a time."""

    def __init__(self) -> None:
        self.mul_busy: set[int] = set()
        self.div_free = 0

    def mul_grant(self, t: int) -> int:
        busy = self.mul_busy
        while t in busy:
            t += 1
        busy.add(t)
        if len(busy) > 4096:  # keep it small: only recent cycles can still be asked for
            lo = t - 1024
            self.mul_busy = {c for c in busy if c >= lo}
        return t


@dataclass
class ClusterState:
    """What the harts of one simulated cluster share."""

    tcdm: TcdmBanks
    dma: DmaEngine
    ipu: SharedIpu | None  # None: each core has a private IPU
    barrier_latency: int
    quantum: int
    barrier_waits: list[int] = field(default_factory=list)
    # main-memory data accesses of all cores share one port (vexpsim.arch.narrow_port)
    port: NarrowPort | None = None
    caq_depth: int = 8
    caq_tag_width: int = 16

    def new_caq(self) -> Caq:
        """A fresh CAQ for one core (fpss.caq_depth, fpss.caq_tag_width)."""
        return Caq(self.caq_depth, self.caq_tag_width)

    @classmethod
    def from_config(cls, cluster: Any) -> ClusterState:
        t = cluster.tcdm
        tcdm = TcdmBanks(t.base, t.size, t.banks, t.bank_width, t.superbank_width)
        return cls(tcdm=tcdm, dma=DmaEngine(cluster, tcdm),
                   ipu=SharedIpu() if cluster.core.shared_ipu else None,
                   barrier_latency=cluster.barrier.latency, quantum=cluster.sim.quantum,
                   port=NarrowPort(cluster.main_memory.core_port_outstanding),
                   caq_depth=cluster.fpss.caq_depth, caq_tag_width=cluster.fpss.caq_tag_width)

    def events(self, ssr_elements: int = 0) -> dict[str, int]:
        """Cluster-level event counts (energy model keys; counts of 64-bit bank accesses)."""
        out = {"tcdm_read": self.tcdm.reads, "tcdm_write": self.tcdm.writes,
               "tcdm_conflict": self.tcdm.conflicts, "ssr_elements": ssr_elements,
               "barrier_wait_cycles": sum(self.barrier_waits)}
        for kind in ("main_to_tcdm", "tcdm_to_main", "tcdm_to_tcdm"):
            out[f"dma_bytes_{kind}"] = self.dma.bytes.get(kind, 0)
        # the cores' own loads/stores outside the TCDM: one 64-bit beat each on the narrow
        # AXI port (snitch_cluster.md §1: 64-bit narrow network)
        out["narrow_main_bytes"] = 8 * self.port.requests if self.port is not None else 0
        return out
