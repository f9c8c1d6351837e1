"""Functional instruction-set simulator (ISS) of the cluster's harts.

Untimed by default: `cycles` is then the retired-instruction count of the longest-running
hart. `run_program(..., timing=True)` wraps every closure with the cycle-approximate core
model of vexpsim.arch.timed (one clock per hart; functional results are unchanged).

Scheduling: the harts run in lock-step round-robin, `quantum` instructions each (default 1:
one instruction each, so barriers and polling loops terminate deterministically). A hart that
reads the barrier CSR (0x7c2) blocks until every hart has reached a barrier; a barrier that
can never release (a hart has ended) is reported as a deadlock.

Pre-decoding: a program is compiled once per hart into a list of closures (see
vexpsim.isa.semantics); the hot loop is `i = code[i]()`. Memory is one bytearray per region
(TCDM, main memory) with struct-based fast paths.

Retired counts every executed instruction, FREP repetitions included; untimed, `mcycle`/`cycle`
read the same count as `minstret`; timed, they read the hart's cycle.
"""

from __future__ import annotations

import copy
import math
import mmap
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import chain, islice
from typing import Any

from ..asm import Program, assemble
from ..errors import UserError
from ..isa.semantics import (
    M32,
    BarrierWait,
    CounterRead,
    HartExit,
    SimError,
)
from .hostmem import tune_allocator

__all__ = ["Memory", "Hart", "HartResult", "ExecResult", "run_program", "run_source",
           "format_trace", "perfetto_trace",
           "StepLimitExceeded", "IssConfig", "iss_config"]

M64 = (1 << 64) - 1


class StepLimitExceeded(UserError):
    """A hart did not end within the step limit; `.result` holds the state at the stop."""

    def __init__(self, problems: str | list[str], result: ExecResult) -> None:
        super().__init__(problems)
        self.result = result


# ---- configuration -----------------------------------------------------------------------------

# Simulated part of main memory, from its base: a simulator limit, not a hardware constant
# (the memory is a lazily zeroed mmap, so only touched pages cost anything).
MAIN_WINDOW = 64 * 1024 * 1024


@dataclass(frozen=True)
class IssConfig:
    """What the functional ISS needs from the cluster configuration. Build it with
    `iss_config()`: every value comes from the cluster config (vexpsim/arch/configs)."""

    harts: int
    tcdm_base: int
    tcdm_size: int
    main_base: int
    main_window: int
    has_divsqrt: bool
    has_exp: bool
    ssr_count: int
    frep_buffer: int
    frep_max_iterations: int
    cluster: Any = field(default=None, compare=False, repr=False)  # for the timing model


def iss_config(cluster: Any = None, **overrides: Any) -> IssConfig:
    """IssConfig from a ClusterConfig (vexpsim.arch.config; None: the default preset),
    with optional field overrides (e.g. harts=1, has_exp=False)."""
    if cluster is None:
        cluster = _default_cluster()
    cfg = IssConfig(
        harts=cluster.harts, tcdm_base=cluster.tcdm.base, tcdm_size=cluster.tcdm.size,
        main_base=cluster.main_memory.base,
        main_window=min(cluster.main_memory.size, MAIN_WINDOW),
        has_divsqrt=cluster.fpu.divsqrt.enabled, has_exp=cluster.fpu.exp.enabled,
        ssr_count=cluster.ssr.count, frep_buffer=cluster.frep.buffer,
        frep_max_iterations=cluster.frep.max_iterations, cluster=cluster)
    return replace(cfg, **overrides) if overrides else cfg


@lru_cache(maxsize=1)
def _default_cluster() -> Any:
    from .config import load_cluster_config
    return load_cluster_config()


# ---- memory ------------------------------------------------------------------------------------

_FMT = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}


class Memory:
    """TCDM and (a window of) main memory, little-endian, byte-addressed."""

    def __init__(self, cfg: IssConfig) -> None:
        # Anonymous mmaps: zero pages are allocated lazily, so a large window costs nothing
        # until it is touched.
        self.regions: list[tuple[str, int, int, Any]] = [
            ("TCDM", cfg.tcdm_base, cfg.tcdm_size, mmap.mmap(-1, cfg.tcdm_size)),
            ("main memory", cfg.main_base, cfg.main_window, mmap.mmap(-1, cfg.main_window)),
        ]

    def _locate(self, addr: int, n: int) -> tuple[bytearray, int]:
        for _, base, size, buf in self.regions:
            off = addr - base
            if 0 <= off and off + n <= size:
                return buf, off
        names = ", ".join(f"{nm} {b:#010x}-{b + s - 1:#010x}" for nm, b, s, _ in self.regions)
        raise SimError(f"access of {n} byte{'s' if n > 1 else ''} at {addr:#010x} outside "
                       f"simulated memory ({names})")

    def read(self, addr: int, n: int) -> bytes:
        buf, off = self._locate(addr, n)
        return bytes(buf[off:off + n])

    def write(self, addr: int, data: bytes) -> None:
        buf, off = self._locate(addr, len(data))
        buf[off:off + len(data)] = data

    def loader(self, size: int) -> Callable[[int], int]:
        """Fast unsigned load of `size` bytes: an alignment check and two region checks
        inline, then struct. Snitch raises a load-address-misaligned exception for any access
        not aligned to its size (snitch.sv `ls_misaligned`, integer and FP loads)."""
        unpack = struct.Struct(_FMT[size]).unpack_from
        (_, b0, s0, m0), (_, b1, s1, m1) = self.regions
        e0, e1 = s0 - size, s1 - size
        locate = self._locate
        am = size - 1

        def ld(addr: int) -> int:
            if addr & am:
                raise SimError(_misaligned("load", size, addr))
            off = addr - b0
            if 0 <= off <= e0:
                return unpack(m0, off)[0]
            off = addr - b1
            if 0 <= off <= e1:
                return unpack(m1, off)[0]
            buf, off = locate(addr, size)
            return unpack(buf, off)[0]
        return ld

    def storer(self, size: int) -> Callable[[int, int], None]:
        pack = struct.Struct(_FMT[size]).pack_into
        (_, b0, s0, m0), (_, b1, s1, m1) = self.regions
        e0, e1, mask = s0 - size, s1 - size, (1 << (8 * size)) - 1
        locate = self._locate
        am = size - 1

        def st(addr: int, v: int) -> None:
            if addr & am:
                raise SimError(_misaligned("store", size, addr))
            off = addr - b0
            if 0 <= off <= e0:
                pack(m0, off, v & mask)
                return
            off = addr - b1
            if 0 <= off <= e1:
                pack(m1, off, v & mask)
                return
            buf, off = locate(addr, size)
            pack(buf, off, v & mask)
        return st


def _misaligned(what: str, size: int, addr: int) -> str:
    return (f"misaligned {what} of {size} bytes at {addr:#010x}: Snitch raises a "
            f"{what}-address-misaligned exception (snitch.sv ls_misaligned); align the "
            f"address to {size} bytes")


# ---- SSR, DMA ----------------------------------------------------------------------------------

def _np() -> Any:
    import numpy  # only the vectorised SSR access (fastfrep) needs it
    return numpy


class Ssr:
    """One stream semantic register data mover (snitch_cluster.md §4.1), functional: each
    pop reads and each push writes one 64-bit word at the next generated address."""

    def __init__(self, index: int, mem: Memory) -> None:
        self.index = index
        self.mem = mem
        self._ld8 = mem.loader(8)  # stream addresses are word aligned: no misaligned case
        self.repeat = 0
        self.bounds = [0, 0, 0, 0]
        self.strides = [0, 0, 0, 0]
        self.regs: dict[int, int] = {}
        self.addrs: Any = None
        self.write = False
        self.done = True
        self.ptr = 0
        self.dims = 0
        self._rep_left = 0
        self._cur = 0
        self._cur_addr = 0
        self._ahead: int | None = None
        self._next_e = 0  # element index of `_ahead` in the stream
        self._geo: tuple[int, int, list[int], list[int]] = (0, 0, [], [])
        self._addr_cache: Any = None  # (key, addresses) of the last _elements call

    def configure(self, reg: int, value: int) -> None:
        if reg == 1:
            self.repeat = value
        elif 2 <= reg <= 5:
            self.bounds[reg - 2] = value
        elif 6 <= reg <= 9:
            self.strides[reg - 6] = value
        elif 24 <= reg <= 31:
            self.start(value, (reg - 24) % 4 + 1, reg >= 28)
        elif reg in (0, 10, 11, 16):
            self.regs[reg] = value  # status / indirection: stored, not modelled
        else:
            raise SimError(f"SSR{self.index}: no configuration register {reg}")

    def read_reg(self, reg: int) -> int:
        if reg == 0:
            return (int(self.done) << 31) | (int(self.write) << 30) | \
                ((self.dims - 1) % 4) << 28 | (self.ptr & 0x0FFFFFFF)
        if reg == 1:
            return self.repeat
        if 2 <= reg <= 5:
            return self.bounds[reg - 2]
        if 6 <= reg <= 9:
            return self.strides[reg - 6]
        return self.regs.get(reg, 0)

    def start(self, ptr: int, dims: int, write: bool) -> None:
        self.ptr, self.dims, self.write = ptr, dims, write
        self._geo = (ptr, dims, list(self.bounds), list(self.strides))
        self.addrs = self._gen(*self._geo)
        self._ahead = next(self.addrs)  # one address of look-ahead, so `done` is exact
        self._next_e = 0
        self.done = False
        self._rep_left = 0

    @staticmethod
    def _gen(ptr: int, dims: int, bounds: list[int], strides: list[int], start: int = 0):
        # Relative strides: on each step add the stride of the innermost dimension that
        # increments (snitch_ssr_addr_gen.sv); addresses are 8-byte word aligned (WordAddrMask).
        # `start`: resume at that element (advance()).
        idx = [0] * dims
        addr = ptr
        if start:  # the index and address after `start` steps (see _unmasked)
            period = 1
            for d in range(dims):
                nxt = period * (bounds[d] + 1)
                idx[d] = (start // period) % (bounds[d] + 1)
                addr += (start // period - (start // nxt if d < dims - 1 else 0)) * strides[d]
                period = nxt
            addr &= M32
        while True:
            yield addr & 0xFFFFFFF8
            for d in range(dims):
                if idx[d] < bounds[d]:
                    idx[d] += 1
                    addr = (addr + strides[d]) & M32
                    break
                idx[d] = 0
            else:
                return

    def _next_addr(self, what: str) -> int:
        if self.addrs is None:
            raise SimError(f"SSR{self.index}: {what} but no stream was started")
        if self._ahead is None:
            raise SimError(f"SSR{self.index}: {what} after the stream ended (the program "
                           "consumes more elements than the stream was configured for)")
        addr = self._ahead
        self._ahead = next(self.addrs, None)
        self._next_e += 1
        return addr

    def pop(self) -> int:
        rep = self._rep_left
        if rep:  # the buffered element again (only read streams buffer one: start() clears)
            rep -= 1
            self._rep_left = rep
            if not rep:
                self.done = self._ahead is None
            return self._cur
        if self.write:
            raise SimError(f"SSR{self.index} is a write stream but an instruction reads "
                           f"ft{self.index}")
        addr = self._ahead
        if addr is None or self.addrs is None:
            addr = self._next_addr("read")  # raises
        else:  # _next_addr inlined (the per-instruction path)
            self._ahead = next(self.addrs, None)
            self._next_e += 1
        self._cur_addr = addr
        self._cur = v = self._ld8(addr)
        rep = self._rep_left = self.repeat
        self.done = rep == 0 and self._ahead is None
        return v

    def push(self, value: int) -> None:
        if not self.write:
            raise SimError(f"SSR{self.index} is a read stream but an instruction writes "
                           f"ft{self.index}")
        self.mem.write(self._next_addr("write"), (value & M64).to_bytes(8, "little"))
        self.done = self._ahead is None

    # -- vectorised access (vexpsim.arch.fastfrep): same addresses and end state as pops/pushes
    @staticmethod
    def _unmasked(e: Any, ptr: int, dims: int, bounds: list[int], strides: list[int]) -> Any:
        """Generator address (before word masking) of stream elements `e`: dimension d has
        incremented e // P_d - e // P_(d+1) times (P_d: product of the inner extents)."""
        np = _np()
        addr = np.full(e.shape, ptr, dtype=np.int64)
        period = 1
        for d in range(dims):  # int64 products may wrap: only the value mod 2^32 matters
            nxt = period * (bounds[d] + 1)
            if strides[d] and period < 1 << 62:
                steps = e if period == 1 else e // period
                if d < dims - 1 and nxt < 1 << 62:
                    steps = steps - e // nxt
                addr += steps * strides[d]
            period = nxt
        return addr & M32

    @staticmethod
    def _span(e0: int, n: int, ptr: int, dims: int, bounds: list[int], strides: list[int]
              ) -> Any:
        """Word addresses of elements e0 .. e0+n-1, as _unmasked(...) & ~7 but without
        divisions: with P_d the product of the inner extents and t_0 = s_0, t_k = s_k - s_(k-1),
        _unmasked's sum ptr + s_0 e + sum_(k>=1) t_k (e // P_k) is affine in the loop indices
        (e // P_k = sum_(d>=k) i_d P_d / P_k): address = ptr + sum_d c_d i_d with
        c_d = sum_(k<=d) t_k P_d / P_k, built by broadcasting over the outer index range
        the window touches (wrapping int64 arithmetic is exact mod 2^32). None when that
        range would generate far more elements than asked for (the caller divides)."""
        np = _np()
        ext = [bounds[d] + 1 for d in range(dims)]
        per = [1] * dims
        for d in range(1, dims):
            per[d] = per[d - 1] * ext[d - 1]
        outer = per[-1]
        lo, hi = e0 // outer, (e0 + n - 1) // outer
        if (hi - lo + 1) * outer > 2 * n + 4096:
            return None
        coef = []
        for d in range(dims):
            c = sum((strides[k] - (strides[k - 1] if k else 0)) * (per[d] // per[k])
                    for k in range(d + 1))
            coef.append(c & M32)
        addr = np.arange(lo, hi + 1, dtype=np.int64) * coef[-1] + (ptr & M32)
        for d in range(dims - 2, -1, -1):  # outermost first: row-major = element order
            addr = (addr[:, None] + np.arange(ext[d], dtype=np.int64) * coef[d]).ravel()
        off = e0 - lo * outer
        return addr[off:off + n] & 0xFFFFFFF8

    def element_period(self, modulus: int = 1 << 32) -> int | None:
        """A period T of the stream's word addresses modulo `modulus` (a power of two from 8
        to 2^32; 2^32: the addresses themselves, nb * bank_width: the TCDM banks): element
        e + T has the address of element e (mod `modulus`) wherever both exist. None when no
        period shorter than the stream is found. With the affine form of _span, dimensions
        k.. whose coefficients are 0 mod `modulus` do not change the address, so T = P_k;
        when only dimension 0 matters and its extent is a multiple of the period of
        c_0 * i_0 mod `modulus`, that shorter period."""
        ptr, dims, bounds, strides = self._geo
        if self.addrs is None or not dims:
            return None
        ext = [bounds[d] + 1 for d in range(dims)]
        per = [1] * (dims + 1)
        for d in range(dims):
            per[d + 1] = per[d] * ext[d]
        k = dims
        while k > 0:
            c = sum((strides[j] - (strides[j - 1] if j else 0)) * (per[k - 1] // per[j])
                    for j in range(k))
            if c % modulus:
                break
            k -= 1
        if k == dims:
            return None
        t = per[k]
        if k == 1:
            c0 = strides[0] % modulus
            t0 = modulus // math.gcd(c0, modulus)
            if ext[0] % t0 == 0:
                t = t0
        return t if t < per[dims] else None

    def _elements(self, e0: int, n: int) -> Any:
        """Word addresses of stream elements e0 .. e0+n-1 (read-only array). The last result
        is kept: the FREP fast path asks for the same window twice (timing check, then the
        functional run)."""
        key = (self._geo, e0, n)
        c = self._addr_cache
        if c is not None and c[0][0] is key[0] and c[0][1:] == key[1:]:
            return c[1]
        np = _np()
        a = self._span(e0, n, *self._geo)
        if a is None:
            a = self._unmasked(e0 + np.arange(n, dtype=np.int64), *self._geo) & 0xFFFFFFF8
        a.flags.writeable = False
        self._addr_cache = (key, a)
        return a

    def _remaining(self) -> int:
        """Elements the address generator can still deliver, `_ahead` included."""
        if self._ahead is None:
            return 0
        _, dims, bounds, _ = self._geo
        total = 1
        for d in range(dims):
            total *= bounds[d] + 1
        return total - self._next_e

    def _plan(self, count: int, what: str) -> tuple[int, int]:
        """(pops served from the buffered element, new elements needed) for `count` pops."""
        if self.addrs is None:
            raise SimError(f"SSR{self.index}: {what} but no stream was started")
        if self.write:
            buffered, per = 0, 1
        else:
            buffered, per = min(count, self._rep_left), self.repeat + 1
        new = -(-(count - buffered) // per)
        if new > self._remaining():
            raise SimError(f"SSR{self.index}: {what} after the stream ended (the program "
                           "consumes more elements than the stream was configured for)")
        return buffered, new

    def take_addresses(self, count: int) -> list[int]:
        """Word addresses of the next `count` elements, the look-ahead first (at most as
        many as the stream has), as the address generator delivers them. The generator is
        re-seated on the same sequence: the pops or pushes that follow take those addresses
        from the list (cheaper than generator steps; vexpsim.arch.frep_replay)."""
        if self.addrs is None or self._ahead is None:
            return []
        geo, left = self._geo, self._remaining()
        n = min(count + 1, left)
        addrs = self._address_list(*geo, self._next_e, n)
        self.addrs = chain(addrs[1:], self._gen(*geo, start=self._next_e + n)) if n < left \
            else iter(addrs[1:])
        return addrs[:count]

    @staticmethod
    def _address_list(ptr: int, dims: int, bounds: list[int], strides: list[int], start: int,
                      count: int) -> list[int]:
        """_gen's `count` addresses from element `start` (the stream has them) as a list,
        a run of the innermost dimension at a time (a range when it neither wraps nor
        needs the word mask)."""
        idx = [0] * dims
        addr = ptr
        period = 1
        for d in range(dims):  # _gen's start
            nxt = period * (bounds[d] + 1)
            idx[d] = (start // period) % (bounds[d] + 1)
            addr += (start // period - (start // nxt if d < dims - 1 else 0)) * strides[d]
            period = nxt
        addr &= M32
        out: list[int] = []
        s0, b0 = strides[0], bounds[0]
        # whole blocks of the two inner dimensions (e.g. GEMM's 8 B rows x the words of a
        # chunk): element (j, i) of a block at addr + j * r1 + i * s0, with the strides as
        # signed 32-bit steps and r1 the step from one inner run to the next
        block = (b0 + 1) * (bounds[1] + 1) if dims > 1 else 0
        if block:
            sg0 = (s0 + (1 << 31)) % (1 << 32) - (1 << 31)
            r1 = (b0 * s0 + strides[1] + (1 << 31)) % (1 << 32) - (1 << 31)
            b1 = bounds[1]
            offs = tuple(range(0, (b0 + 1) * sg0, sg0)) if sg0 else ()
        while True:
            whole = False
            if block and not idx[0] and not idx[1] and count - len(out) >= block and sg0 \
                    and r1 and not (addr | sg0 | r1) & 7:
                end = addr + b1 * r1
                whole = 0 <= end <= M32 and 0 <= addr + b0 * sg0 <= M32 and \
                    0 <= end + b0 * sg0 <= M32  # no wrap: the corners in range
            if whole:
                out += [a + o for a in range(addr, end + (1 if r1 > 0 else -1), r1)
                        for o in offs]
                idx[0], idx[1] = b0, b1
                addr = end + b0 * sg0
            else:
                run = min(b0 - idx[0] + 1, count - len(out))
                last = addr + (run - 1) * s0
                if s0 and not (addr | s0) & 7 and 0 <= last <= M32:
                    out += range(addr, last + (1 if s0 > 0 else -1), s0)
                else:
                    out += [((addr + j * s0) & M32) & 0xFFFFFFF8 for j in range(run)]
                idx[0] += run - 1
                addr = last & M32
            if len(out) >= count:
                return out
            for d in range(dims):  # _gen's step to the next element
                if idx[d] < bounds[d]:
                    idx[d] += 1
                    addr = (addr + strides[d]) & M32
                    break
                idx[d] = 0

    def peek_addresses(self, count: int, fetches: bool = False) -> Any:
        """Word addresses (int64) of the next `count` pops (read stream, each element repeated
        `repeat` + 1 times; the pops still served from the buffered element give its address)
        or pushes (write stream). `fetches=True`: the next `count` memory accesses instead
        (each element once, the buffered one excluded). Raises SimError if the stream cannot
        deliver them."""
        np = _np()
        if fetches:
            if self.addrs is None or count > self._remaining():
                raise SimError(f"SSR{self.index}: fewer than {count} elements left")
            return self._elements(self._next_e, count)
        buffered, new = self._plan(count, "write" if self.write else "read")
        addrs = self._elements(self._next_e, new)
        if not self.write and self.repeat:
            addrs = np.repeat(addrs, self.repeat + 1)
        if buffered:
            addrs = np.concatenate([np.full(buffered, self._cur_addr, dtype=np.int64), addrs])
        return addrs[:count]

    def advance_taken(self, count: int, last_addr: int, last_value: int) -> None:
        """advance(count, last_value) for a read stream, the iterator stepped past the
        elements fetched instead of re-seated (cheap after take_addresses, whose list it
        then walks). `last_addr`: the last fetched element's address."""
        buffered, new = self._plan(count, "read")
        if not new:
            self.advance(count)
            return
        self._addr_cache = None
        self._cur_addr, self._cur = last_addr, last_value
        self._rep_left = new * (self.repeat + 1) - (count - buffered)
        self._next_e += new
        self._ahead = next(islice(self.addrs, new - 1, None), None)
        self.done = self._ahead is None and self._rep_left == 0

    def advance(self, count: int, last_value: int | None = None) -> None:
        """Skip `count` pops/pushes: the same end state as performing them (`done`, look-ahead,
        repeat counter). A read stream's buffered element becomes the last one fetched:
        `last_value` is its data (as read by the last pop), else it is read from memory now."""
        if count <= 0:
            return
        self._addr_cache = None  # a window starting here is never asked for again
        buffered, new = self._plan(count, "write" if self.write else "read")
        if new:
            left = self._remaining() - new
            last = self._next_e + new - 1
            if not self.write:
                self._cur_addr = next(self._gen(*self._geo, start=last))
                self._cur = last_value if last_value is not None else \
                    int.from_bytes(self.mem.read(self._cur_addr, 8), "little")
                self._rep_left = new * (self.repeat + 1) - (count - buffered)
            self._next_e = last + 1
            if left:
                self.addrs = self._gen(*self._geo, start=self._next_e)
                self._ahead = next(self.addrs)
            else:
                self.addrs = iter(())
                self._ahead = None
        else:
            self._rep_left -= count
        self.done = self._ahead is None and (self.write or self._rep_left == 0)


class Dma:
    """Xdma: the data copy happens at once (functional); with the timing model, `engine`
    (vexpsim.arch.cluster.DmaEngine) decides when each transfer completes, and dmstat reports
    completion, busy and would-block at the DMA core's current cycle."""

    def __init__(self) -> None:
        self.src = self.dst = self.src_stride = self.dst_stride = 0
        self.reps = 0
        self.next_id = 1
        self.completed = 0
        self.engine: Any = None  # DmaEngine when timed
        self.ct: Any = None  # the DMA core's CoreTiming when timed
        self._busy_since: int | None = None

    def copy(self, mem: Memory, size: int, cfg: int) -> int:
        two_d = bool(cfg & 2)  # config[1]: 2-D transfer
        reps = max(self.reps, 0) if two_d else 1
        for r in range(reps):
            s = (self.src + r * self.src_stride) & M32 if two_d else self.src
            d = (self.dst + r * self.dst_stride) & M32 if two_d else self.dst
            mem.write(d, mem.read(s, size))
        tid = self.next_id
        self.next_id += 1
        self.completed = tid
        if self.engine is not None:
            ct = self.ct
            t = ct.cycle - 1  # issue cycle of this dmcpy (the core model ran first)
            nxt = self.engine.issue(t, tid, self.src, self.dst, size, reps,
                                    self.src_stride if two_d else 0,
                                    self.dst_stride if two_d else 0)
            if nxt > ct.cycle:  # the transfer queue was full
                ct.stalls.dma_wait += nxt - ct.cycle
                ct.cycle = nxt
        return tid

    def status(self, which: int) -> int:
        # dmstat: 0 completed id, 1 next id, 2 busy, 3 would block (snitch_cluster.md §4.3)
        which &= 3
        if self.engine is None:
            return {0: self.completed, 1: self.next_id, 2: 0, 3: 0}[which]
        now = self.ct.cycle - 1
        eng = self.engine
        if which == 1:
            return self.next_id
        if which == 0:
            v = eng.completed(now)
        elif which == 2:
            v = int(eng.busy(now))
        else:
            v = int(eng.would_block(now))
        # polling while the engine is busy: counted as DMA wait from the first busy poll
        if which == 2 or which == 3:
            if v:
                if self._busy_since is None:
                    self._busy_since = now
            elif self._busy_since is not None:
                self.ct.stalls.dma_wait += now - self._busy_since
                self._busy_since = None
        return v


# ---- harts -------------------------------------------------------------------------------------

@dataclass
class HartResult:
    hart: int
    exit_code: int | None
    retired: int
    x: list[int]
    f: list[int]
    fflags: int
    frm: int
    fmode: int
    timing: dict | None = None  # vexpsim.arch.timed.HartTiming.to_json (timed runs only)

    def to_json(self) -> dict:
        out = {"hart": self.hart, "exit_code": self.exit_code, "retired": self.retired,
               "x": list(self.x), "f": list(self.f), "fflags": self.fflags, "frm": self.frm,
               "fmode": self.fmode}
        if self.timing is not None:
            out["timing"] = self.timing
        return out


@dataclass
class ExecResult:
    harts: list[HartResult]
    memory: Memory
    program: Program
    host_seconds: float = 0.0
    symbols: dict[str, int] = field(default_factory=dict)
    cluster: dict | None = None  # timed runs: cluster-level events and DMA transfers

    @property
    def instructions(self) -> int:
        return sum(h.retired for h in self.harts)

    @property
    def timed(self) -> bool:
        return any(h.timing is not None for h in self.harts)

    @property
    def cycles(self) -> int:
        """Cycles of the slowest hart from the timing model; without timing, the retired
        instructions of the longest hart."""
        if self.timed:
            return max((h.timing["cycles"] for h in self.harts if h.timing), default=0)
        return max((h.retired for h in self.harts), default=0)

    def to_json(self) -> dict:
        secs = self.host_seconds
        note = ("cycle-approximate cluster model: per-hart core timing (snitch_cluster.md "
                "§2-§4, §8), TCDM bank conflicts, DMA transfers, shared MUL/DIV, barrier "
                "(vexpsim.arch.cluster)"
                if self.timed else
                "retired instructions of the longest hart (functional simulation, no timing "
                "model)")
        out = {"cycles": self.cycles, "cycles_note": note}
        if self.cluster is not None:
            out["cluster_events"] = dict(self.cluster["events"])
            out["dma_transfers"] = list(self.cluster["dma_transfers"])
        return out | {
                "harts": [h.to_json() for h in self.harts],
                "sim": {"instructions": self.instructions, "host_seconds": secs,
                        "instructions_per_second": self.instructions / secs if secs else 0.0}}


class Hart:
    """Architectural state of one hart plus its pre-decoded code."""

    COUNTER_CSRS = frozenset({0xC00, 0xC01, 0xC02, 0xC80, 0xC81, 0xC82, 0xB00, 0xB02, 0xB80,
                              0xB82})
    BARRIER_CSR = 0x7C2

    def __init__(self, hartid: int, program: Program, mem: Memory, cfg: IssConfig,
                 nharts: int, trace: list | None = None, timing: Any = None) -> None:
        self.hartid = hartid
        self.tm = timing  # vexpsim.arch.timed.HartTiming, or None for functional runs
        self.trace = trace
        self.x = [0] * 32
        self.f = [0] * 32
        self.mem = mem
        self.cfg = cfg
        self.fflags = 0
        self.frm = 0
        self.fmode = 0
        self.csrs = {0x300: 0, 0x340: 0, 0x7C1: 0, 0x7C3: 0}
        self.has_divsqrt = cfg.has_divsqrt
        self.has_exp = cfg.has_exp
        self.retired = 0
        self.exit_code: int | None = None
        self.waiting = False
        self.arrival = 0  # timed: issue cycle of the last barrier csrr
        self.program = program
        self.base = program.text_base
        self.ssr_enabled = False
        self.ssrs = [Ssr(i, mem) for i in range(cfg.ssr_count)]
        self.dma = Dma()
        self.nharts = nharts
        n = (program.text_size + 3) // 4
        self.n = n
        by_index: list[Any] = [None] * n
        for ins in program.instructions:
            by_index[(ins.pc - self.base) >> 2] = ins
        self.by_index = by_index
        self.code: list[Callable[[], int]] = [self._trap_data(i) for i in range(n)]
        self.code.append(self._trap_end())
        dma_core = nharts - 1  # the last hart (design.md 'The DSL')
        for i, ins in enumerate(by_index):
            if ins is None:
                continue
            if ins.defn.unit == "dma" and nharts > 1 and hartid != dma_core:
                self.code[i] = self._not_here(ins, dma_core)
            else:
                self.code[i] = self._closure(ins, ins.defn.builder(ins, self, i + 1))
        self.idx = self.target(program.entry)
        # timed runs: straight-line blocks (vexpsim.arch.blocks), set once the cluster state
        # is attached; None: per instruction
        self.blocks: list[Callable[[], int]] | None = None
        self.block_len: list[int] | None = None
        self.block_part: list[Callable[[int], int] | None] | None = None

    def _closure(self, ins: Any, fn: Callable[[], int], seq: bool = False
                 ) -> Callable[[], int]:
        """The executed closure of `ins`: functional, wrapped by the timing model when timed
        (`seq`: an FREP body pass issued by the sequencer), then by the tracer."""
        if self.tm is not None:
            fn = self.tm.wrap(self, ins, fn, seq)
        return self._traced(ins, fn)

    def _traced(self, ins: Any, fn: Callable[[], int]) -> Callable[[], int]:
        """Tracing is a second closure set: a wrapper that logs (hart, instruction) first."""
        if self.trace is None:
            return fn
        log, hid = self.trace.append, self.hartid
        if self.tm is None:
            def traced() -> int:
                log((hid, ins))
                return fn()
            return traced
        # timed: [hart, instruction, issue cycle, value written], filled in after the step
        # (the FPSS issue cycle for FP-side instructions, the core's for the others)
        from .timed import FP_SIDE_UNITS
        ct = self.tm.ct
        d = ins.defn
        fp_side = d.unit in FP_SIDE_UNITS
        regs = self.x if "xd" in d.operands else self.f if "fd" in d.operands else None
        rd = ins.rd if regs is not None and (ins.rd or regs is self.f) else None

        def traced_timed() -> int:
            entry: list = [hid, ins, 0, None]
            log(entry)
            try:
                return fn()
            finally:
                entry[2] = ct.fp_last if fp_side else ct.cycle - 1
                if rd is not None:
                    entry[3] = regs[rd]
        return traced_timed

    def _not_here(self, ins: Any, dma_core: int) -> Callable[[], int]:
        """Xdma on a compute core: only the DMA core has it (snitch_cluster.md §1 'Compute-core
        extensions'); with a single hart, that hart has every extension (debug runs)."""
        msg = (f"illegal instruction {ins.mnemonic} on hart {self.hartid}: only the DMA core "
               f"(hart {dma_core}, the last hart) has the Xdma extension; branch on mhartid")

        def f() -> int:
            raise SimError(msg)
        return f

    # -- control flow helpers
    def _trap_data(self, i: int) -> Callable[[], int]:
        pc = self.base + 4 * i

        def f() -> int:
            raise SimError(f"no instruction at pc {pc:#010x} (data in the text section?)")
        return f

    def _trap_end(self) -> Callable[[], int]:
        end = self.base + 4 * self.n

        def f() -> int:
            raise SimError(f"execution ran past the end of the text section ({end:#010x}); "
                           "end each hart with ecall")
        return f

    def target(self, addr: int) -> int:
        """Code index of a jump target (raises on targets outside the text)."""
        i = (addr - self.base) >> 2
        if addr & 3 or not 0 <= i < self.n:
            raise SimError(f"jump to {addr:#010x}, outside the program text or misaligned")
        return i

    def static_target(self, ins: Any, addr: int) -> int:
        i = (addr - self.base) >> 2
        if addr & 3 or not 0 <= i <= self.n:
            pc = addr

            def bad() -> int:
                raise SimError(f"jump to {pc:#010x}, outside the program text")
            self.code.append(bad)
            return len(self.code) - 1
        return i

    # -- FP
    def dyn_rm(self) -> str:
        if self.frm > 4:
            raise SimError(f"illegal instruction: dynamic rounding mode with invalid frm = "
                           f"{self.frm}")
        return ("rne", "rtz", "rdn", "rup", "rmm")[self.frm]

    def freader(self, r: int) -> Callable[[], int]:
        f = self.f
        if r < len(self.ssrs):
            ssr = self.ssrs[r]
            return lambda: ssr.pop() if self.ssr_enabled else f[r]
        return lambda: f[r]

    def freaders(self, regs: list[int]) -> Callable[[], list[int]]:
        """Read several FP operands of one instruction. With streaming on, each SSR lane pops
        once per instruction even when several operands name it: every port reading a lane
        gets the same element (snitch_ssr_switch.sv: one lane_ready per lane)."""
        f = self.f
        regs = list(regs)
        n = len(self.ssrs)
        if not any(r < n for r in regs):
            return lambda: [f[r] for r in regs]
        ssrs = self.ssrs
        if len(set(regs)) == len(regs):  # distinct registers: each lane pops at most once
            if len(regs) <= 3:
                return self._read_fixed(regs)
            lanes = [(r < n, ssrs[r] if r < n else None, r) for r in regs]

            def read_distinct() -> list[int]:
                if not self.ssr_enabled:
                    return [f[r] for r in regs]
                return [s.pop() if is_ssr else f[r] for is_ssr, s, r in lanes]
            return read_distinct

        def read() -> list[int]:
            if not self.ssr_enabled:
                return [f[r] for r in regs]
            popped: dict[int, int] = {}
            out = []
            for r in regs:
                if r < n:
                    if r not in popped:
                        popped[r] = ssrs[r].pop()
                    out.append(popped[r])
                else:
                    out.append(f[r])
            return out
        return read

    def _read_fixed(self, regs: list[int]) -> Callable[[], tuple[int, ...]]:
        """freaders for 1-3 distinct registers, at least one of them a stream register: one
        getter per operand (a stream's pop, or the register file) called in operand order,
        no per-operand test (the FP instructions fed by SSRs: the kernels' hot path)."""
        f, n = self.f, len(self.ssrs)
        gets = [self.ssrs[r].pop if r < n else (lambda r=r: f[r]) for r in regs]
        g0, g1, g2 = (*gets, None, None)[:3]
        if len(regs) == 1:
            r0 = regs[0]
            return lambda: (g0(),) if self.ssr_enabled else (f[r0],)
        if len(regs) == 2:
            r0, r1 = regs
            return lambda: (g0(), g1()) if self.ssr_enabled else (f[r0], f[r1])
        r0, r1, r2 = regs
        if regs[2] >= n:  # the third operand a plain register (vfdotpex's accumulator)
            return lambda: (g0(), g1(), f[r2]) if self.ssr_enabled else (f[r0], f[r1], f[r2])
        return lambda: (g0(), g1(), g2()) if self.ssr_enabled else (f[r0], f[r1], f[r2])

    def fwriter(self, r: int) -> Callable[[int], None]:
        f = self.f
        if r < len(self.ssrs):
            ssr = self.ssrs[r]

            def w_ssr(v: int) -> None:
                if self.ssr_enabled:
                    ssr.push(v)
                else:
                    f[r] = v
            return w_ssr

        def w(v: int) -> None:
            f[r] = v
        return w

    # -- CSRs
    def csr_access(self, csr: int, writes: bool) -> Callable[[int | None], int]:
        """A function reading (arg None) or writing a CSR; raises for unknown CSRs."""
        if csr == 0x001:
            return lambda v: self.fflags if v is None else setattr(self, "fflags", v & 0x1F)
        if csr == 0x002:
            return lambda v: self.frm if v is None else setattr(self, "frm", v & 7)
        if csr == 0x800:
            return lambda v: self.fmode if v is None else setattr(self, "fmode", v & 3)
        if csr == 0x003:
            # The standard 8-bit fcsr (frm, fflags). Snitch's RTL also maps fmode to fcsr[9:8];
            # vexpsim keeps fmode in its own CSR only, so RV32IMAFD programs behave as on QEMU.
            def fcsr(v: int | None) -> int:
                if v is None:
                    return self.frm << 5 | self.fflags
                self.fflags, self.frm = v & 0x1F, (v >> 5) & 7
                return 0
            return fcsr
        if csr == 0x7C0:
            def ssr(v: int | None) -> int:
                if v is None:
                    return int(self.ssr_enabled)
                self.ssr_enabled = bool(v & 1)
                return 0
            return ssr
        if csr in (0xF14, 0x301):
            value = self.hartid if csr == 0xF14 else (1 << 30) | 0x1129  # RV32 IMAFD (+X)
            name = "mhartid" if csr == 0xF14 else "misa"

            def ro(v: int | None) -> int:
                if v is None:
                    return value
                raise SimError(f"illegal instruction: write to read-only CSR {name}")
            return ro
        if csr in self.csrs:
            def rw(v: int | None) -> int:
                if v is None:
                    return self.csrs[csr]
                self.csrs[csr] = v
                return 0
            return rw

        def unknown(v: int | None) -> int:
            raise SimError(f"illegal instruction: CSR {csr:#05x} is not implemented")
        return unknown

    # -- SSR
    def _ssr_targets(self, addr: int) -> list[Ssr]:
        dm = addr & 31
        if dm == 31:
            return self.ssrs
        if dm >= len(self.ssrs):
            raise SimError(f"SSR configuration of data mover {dm}: this core has "
                           f"{len(self.ssrs)} SSRs")
        return [self.ssrs[dm]]

    def ssr_write(self, addr: int, value: int) -> None:
        for s in self._ssr_targets(addr):
            s.configure(addr >> 5, value & M32)

    def ssr_read(self, addr: int) -> int:
        return self._ssr_targets(addr)[0].read_reg(addr >> 5)

    # -- FREP
    def build_frep(self, ins: Any, nxt: int) -> Callable[[], int]:
        n_inst = ins.imm
        smax, smask = ins.extra if len(ins.extra) == 2 else (0, 0)
        start = nxt
        end = start + n_inst
        problems = []
        if n_inst < 1:
            problems.append("the body must have at least 1 instruction")
        if n_inst > self.cfg.frep_buffer:
            problems.append(f"body of {n_inst} instructions exceeds the sequencer buffer "
                            f"({self.cfg.frep_buffer}, frep.buffer)")
        body = self.by_index[start:end]
        if len(body) < n_inst or any(b is None for b in body):
            problems.append(f"the {n_inst} instructions after it are not all in the program")
        else:
            for b in body:
                if not b.defn.is_fp or "xd" in b.defn.operands or b.defn.unit == "csr":
                    problems.append(
                        f"body instruction {b.mnemonic} at {b.loc} is not an FP instruction "
                        "the sequencer can repeat (integer, FP->int and CSR instructions "
                        "are not allowed; snitch_cluster.md §4.2)")
        if problems:
            msg = f"{ins.mnemonic}: " + "; ".join(problems)

            def bad() -> int:
                raise SimError(msg)
            return bad
        # One closure list per stagger step: the register fields selected by the mask are
        # incremented by the stagger counter (0..smax), which advances every iteration.
        # With timing, the first pass is offloaded by the core and the others are issued by
        # the sequencer: a second closure set (snitch_cluster.md §4.2).
        variants = []
        replays = []
        plain = []
        for k in range(smax + 1):
            codes = []
            again = []
            raw = []
            for j, b in enumerate(body):
                bb = b
                if k and smask:
                    bb = _stagger(b, k, smask)
                fn = bb.defn.builder(bb, self, start + j + 1)
                raw.append(fn)
                codes.append(self._closure(bb, fn))
                again.append(self._closure(bb, fn, seq=True) if self.tm is not None
                             else codes[-1])
            variants.append(codes)
            replays.append(again)
            plain.append(raw)
        x, rs1, maxit = self.x, ins.rs1, self.cfg.frep_max_iterations
        nvar = smax + 1

        def run_iter(it: int) -> None:
            codes = (replays if it else variants)[it % nvar]
            j = start
            while j < end:
                j = codes[j - start]()

        def run_plain(it: int) -> None:
            codes = plain[it % nvar]
            j = start
            while j < end:
                j = codes[j - start]()

        # the timing fast path extrapolates stream requests only: a body with its own loads or
        # stores (TCDM bank, main-memory port, CAQ) always runs per instruction
        fast = (self.tm is not None and self.trace is None
                and not any(b.defn.unit == "fp_lsu" for b in body))
        # vectorised functional execution of whole iteration ranges (vexpsim.arch.fastfrep),
        # planned once per FREP site; None: this body runs per instruction
        plan = None
        if self.trace is None:
            from .fastfrep import plan_frep, stagger_variants
            plan = plan_frep(self, body, stagger_variants(ins, body))
        vector_min = VECTOR_MIN_INSTRUCTIONS if plan is None or plan.costly_chains else \
            VECTOR_MIN_MAPS

        def vector(first: int, last: int) -> bool:
            """Run iterations [first, last) vectorised; False (nothing changed) if it cannot."""
            if plan is None or (last - first) * n_inst < vector_min:
                return False
            from .fastfrep import CannotVectorise, run_frep_vectorised
            try:
                run_frep_vectorised(self, plan, last, first)
            except CannotVectorise:
                return False
            return True

        # the static timing facts of the sequencer-issued body (frep_replay): None unless
        # every instruction of every stagger step is a buffered FP compute instruction
        facts = [[getattr(c, "fp_facts", None) for c in again] for again in replays]
        if not fast or any(fa is None for body_facts in facts for fa in body_facts):
            facts = None

        # a body of BF16 dot products into accumulators (GEMM, FA-2): the separated path's
        # functional part in one call (vexpsim.arch.frep_dotp)
        dotp = None
        if facts is not None and DOTP_RUNNER:
            from .frep_dotp import plan_dotp
            dotp = plan_dotp(self, body, nvar)

        def separated(first: int, last: int) -> bool:
            """Iterations [first, last) with the functional part and the timing apart
            (vexpsim.arch.frep_replay); False (nothing changed) if it cannot."""
            if facts is None:
                return False
            from .frep_replay import run_separated

            def functional(a: int, b: int, addrs: list) -> None:
                if dotp is not None and dotp.run(b - a, addrs):
                    return
                if not vector(a, b):  # run_plain's closures: FP instructions, no branch
                    for it in range(a, b):
                        for fn in plain[it % nvar]:
                            fn()
            return run_separated(self, facts, first, last, functional)

        def f() -> int:
            iters = x[rs1] + 1
            if iters > maxit:
                raise SimError(f"{ins.mnemonic}: {iters} iterations exceed the sequencer "
                               f"limit ({maxit})")
            if fast:
                from .frep_fast import run_frep
                run_frep(self, iters, run_iter, run_plain, nvar, vector, separated)
            elif self.tm is not None or not vector(0, iters):
                for it in range(iters):
                    run_iter(it)
            self.retired += iters * n_inst
            return end
        return f


# below this many body executions an FREP runs per instruction: the vectorised path has a fixed
# cost of about 0.35 ms per call (benchmarks/fastfrep.py)
VECTOR_MIN_INSTRUCTIONS = 256
VECTOR_MIN_MAPS = 32
DOTP_RUNNER = True  # tests flip it to compare vexpsim.arch.frep_dotp with the closures


def _stagger(ins: Any, k: int, mask: int) -> Any:
    b = copy.copy(ins)
    for bit, name in enumerate(("rd", "rs1", "rs2", "rs3")):
        if mask >> bit & 1 and getattr(b, name) is not None:
            setattr(b, name, (getattr(b, name) + k) % 32)
    return b


# ---- running -----------------------------------------------------------------------------------

def _where(h: Hart, i: int, msg: str) -> str:
    """`file:line:col: hart N: msg` with the source line, or the pc when there is none."""
    ins = h.by_index[i] if 0 <= i < len(h.by_index) else None
    if ins is None:
        return f"{h.program.filename}: hart {h.hartid}: pc {h.base + 4 * i:#010x}: {msg}"
    return ins.loc.render(f"hart {h.hartid}: {msg}")


def _counter_value(h: Hart, ev: CounterRead) -> int:
    v = h.retired
    if h.tm is not None and ev.csr in (0xC00, 0xB00, 0xC80, 0xB80):
        v = h.tm.last_cycle_read  # issue cycle of this csrr (timing model)
        if ev.csr in (0xC00, 0xB00):
            h.tm.marks.append(h.tm.snapshot(v, h.retired))
    return (v >> 32) & M32 if ev.csr in (0xC80, 0xC81, 0xC82, 0xB80, 0xB82) else v & M32


def run_program(program: Program, *, harts: int | None = None, max_steps: int = 10**7,
                config: IssConfig | Any = None, quantum: int | None = None,
                trace: list | None = None, timing: bool = False) -> ExecResult:
    """Run `program` on `harts` harts (default: the cluster's) until every hart executes
    ecall. Raises StepLimitExceeded when a hart retires `max_steps` instructions without
    ending, UserError for run-time errors (illegal instruction, bad access, deadlock).
    `trace`: a list that receives (hartid, Instruction) for every executed instruction, in
    execution order (see format_trace). `timing`: run the cycle-approximate core model
    (vexpsim.arch.timed); `cycles` and each hart's `timing` then come from it, and the
    functional results are bit-identical to an untimed run."""
    cfg = config if isinstance(config, IssConfig) else iss_config(config)
    nh = harts if harts is not None else cfg.harts
    if nh < 1:
        raise UserError(f"--harts must be at least 1, got {nh}")
    tune_allocator()  # host speed of the vectorised paths (hostmem.py)
    mem = Memory(cfg)
    for addr, data in program.segments.items():
        try:
            mem.write(addr, data)
        except SimError as e:
            raise UserError(f"{program.filename}: section at {addr:#010x}: {e}") from None
    tms: list[Any] = [None] * nh
    state = None
    if timing:
        from ..isa import default_isa
        from .cluster import ClusterState
        from .timed import HartTiming, timing_params_for
        cluster = cfg.cluster if cfg.cluster is not None else _default_cluster()
        params = timing_params_for(cluster, list(default_isa().instructions.values()))
        tcdm = (cfg.tcdm_base, cfg.tcdm_base + cfg.tcdm_size)
        tms = [HartTiming(params, tcdm, cluster.tcdm.bank_width, cluster.tcdm.banks)
               for _ in range(nh)]
        state = ClusterState.from_config(cluster)
    hs = [Hart(i, program, mem, cfg, nh, trace, tms[i]) for i in range(nh)]
    block_sources: dict = {}  # generated block sources, shared by the harts of this run
    for h in hs:
        h.x[2] = 0  # sp: no stack is set up; programs that need one set it themselves
        if state is not None:
            h.tm.ct.attach(state.tcdm, state.ipu, h.ssrs, state.port, state.new_caq())
            h.dma.engine, h.dma.ct = state.dma, h.tm.ct
            if trace is None and h.tm.BLOCKS and h.tm.INLINE_ALU:
                from .blocks import build_blocks
                build_blocks(h, block_sources)
    t0 = time.perf_counter()

    def limit(h: Hart) -> StepLimitExceeded:
        return StepLimitExceeded(
            _where(h, h.idx, f"did not end within {max_steps} instructions (--max-cycles); "
                   "stopped here"), _result(hs, mem, program, time.perf_counter() - t0, state))

    if state is not None:
        _run_timed(hs, state, quantum if quantum is not None else state.quantum, max_steps,
                   limit)
        return _result(hs, mem, program, time.perf_counter() - t0, state)

    q = quantum if quantum is not None else (1 if nh > 1 else 4096)
    live = list(hs)
    while live:
        runnable = [h for h in live if not h.waiting]
        for h in runnable:
            if h.retired >= max_steps:
                raise limit(h)
        if q == 1 and len(runnable) > 1:
            _lockstep(runnable, min(max_steps - h.retired for h in runnable))
        else:
            for h in runnable:
                _run_hart(h, min(q, max_steps - h.retired))
        if any(h.exit_code is not None for h in live):
            live = [h for h in live if h.exit_code is None]
        if live and all(h.waiting for h in live):
            if len(live) == nh:
                for h in live:
                    h.waiting = False
            else:
                raise _deadlock(hs, live)
    return _result(hs, mem, program, time.perf_counter() - t0)


def _deadlock(hs: list[Hart], live: list[Hart]) -> UserError:
    done = [h.hartid for h in hs if h.exit_code is not None]
    return UserError(f"deadlock: harts {[h.hartid for h in live]} wait at the barrier but "
                     f"harts {done} have ended and will never arrive")


def _run_timed(hs: list[Hart], state: Any, quantum: int, max_steps: int,
               limit: Callable[[Hart], Exception]) -> None:
    """Clock-ordered scheduling of timed harts: the hart furthest behind in time runs until it
    is `quantum` cycles ahead of the next one (every instruction advances its core clock by at
    least one cycle, so an instruction budget bounds the run-ahead without a clock check per
    instruction). Shared state (TCDM banks, DMA, IPU) is thus touched in time order up to one
    quantum; the barrier releases when every hart has arrived."""
    live = [(h, h.tm.ct) for h in hs]
    tcdm = state.tcdm
    nh = len(hs)
    while live:
        # the first runnable hart with the earliest clock runs; nxt: the next runnable clock
        h = None
        t = nxt = 0
        for g, ct in live:
            if g.waiting:
                continue
            c = ct.cycle
            if h is None:
                h, t, nxt = g, c, None
            elif c < t:
                if nxt is None or t < nxt:
                    nxt = t
                h, t = g, c
            elif nxt is None or c < nxt:
                nxt = c
        if h is not None:
            if h.retired >= max_steps:
                raise limit(h)
            budget = (nxt + quantum - t) if nxt is not None else 1 << 16
            (_run_hart if h.blocks is None else _run_blocks)(
                h, max(1, min(budget, max_steps - h.retired)))
            if h.exit_code is not None:
                live = [p for p in live if p[0] is not h]
            if live:
                m = live[0][1].cycle
                for _, ct in live:
                    if ct.cycle < m:
                        m = ct.cycle
                tcdm.advance(m)
        if live and all(g.waiting for g, _ in live):
            if len(live) != nh:
                raise _deadlock(hs, [g for g, _ in live])
            _release_barrier([g for g, _ in live], state)


def _release_barrier(hs: list[Hart], state: Any) -> None:
    """Every hart has issued its barrier csrr (at cycle `arrival`): all resume together,
    `barrier.latency` cycles after the last arrival (snitch_cluster.md §1 'HW barrier', §8)."""
    last = max(h.arrival for h in hs)
    for h in hs:
        ct = h.tm.ct
        resume = max(h.arrival + 1, last + state.barrier_latency)
        wait = resume - (h.arrival + 1)
        ct.stalls.barrier += wait
        state.barrier_waits.append(wait)
        if resume > ct.cycle:
            ct.cycle = resume
        h.waiting = False


def _handle(h: Hart, ev: Exception) -> None:
    """A rare event raised by the instruction at h.idx; h.retired counts the instructions
    before it."""
    i = h.idx
    if isinstance(ev, CounterRead):
        if ev.op != "r":
            raise UserError(_where(h, i, "illegal instruction: the cycle/instret counters are "
                                   "read-only in vexpsim")) from None
        if ev.rd:
            h.x[ev.rd] = _counter_value(h, ev)
        h.retired += 1
        h.idx = ev.nxt
    elif isinstance(ev, BarrierWait):
        h.retired += 1
        h.idx = ev.nxt
        h.waiting = True
        if h.tm is not None:
            h.arrival = h.tm.ct.cycle - 1  # issue cycle of the barrier csrr
    elif isinstance(ev, HartExit):
        h.retired += 1
        h.exit_code = h.x[10] - ((h.x[10] & 0x80000000) << 1)
    elif isinstance(ev, SimError):
        raise UserError(_where(h, i, str(ev))) from None
    else:  # pragma: no cover - a bug in a semantics function
        raise ev


_EVENTS = (CounterRead, BarrierWait, HartExit, SimError)


def _run_hart(h: Hart, budget: int) -> None:
    """Run one hart for up to `budget` instructions, stopping early at an event."""
    code = h.code
    i = h.idx
    k = -1
    try:
        for k in range(budget):  # noqa: B007 - k is read in the handler
            i = code[i]()
    except _EVENTS as ev:
        h.retired += k
        h.idx = i
        _handle(h, ev)
        return
    h.retired += budget
    h.idx = i


def _run_blocks(h: Hart, budget: int) -> None:
    """_run_hart with straight-line blocks (vexpsim.arch.blocks): a block runs as one call when
    the budget covers all of it, else its partial variant runs the instructions the budget
    leaves, so the hart stops after exactly `budget` instructions (or at an event) as
    _run_hart does."""
    blocks, lens, parts = h.blocks, h.block_len, h.block_part
    i = h.idx
    left = budget
    try:
        while left:
            n = lens[i]
            if n <= left:
                i = blocks[i]()
                left -= n
            else:  # the first `left` instructions of the block
                i = parts[i](left)
                left = 0
    except _EVENTS as ev:  # raised by the instruction at i, or inside the block starting there
        from .blocks import block_offset
        off = block_offset(ev)
        h.retired += budget - left + off
        h.idx = i + off
        _handle(h, ev)
        return
    h.retired += budget
    h.idx = i


def _lockstep(runnable: list[Hart], max_rounds: int) -> None:
    """Lock-step round-robin, one instruction per hart per round, until an event (or
    `max_rounds`, at most 2^16 per call). The harts after the one that raised an event then
    finish their round, so the interleaving is exactly one instruction each."""
    codes = [h.code for h in runnable]
    idxs = [h.idx for h in runnable]
    n = len(runnable)
    rounds = 0
    j = n
    event: Exception | None = None
    cap = min(max_rounds, 1 << 16)
    try:
        while rounds < cap:
            for j in range(n):  # noqa: B007 - j is read after the handler
                idxs[j] = codes[j][idxs[j]]()
            rounds += 1
    except _EVENTS as ev:
        event = ev
    for m, h in enumerate(runnable):
        h.idx = idxs[m]
        h.retired += rounds + (1 if event is not None and m < j else 0)
    if event is None:
        return
    _handle(runnable[j], event)
    for h in runnable[j + 1:]:
        _run_hart(h, 1)


def format_trace(trace: list) -> str:
    """One line per executed instruction: hart, pc, machine word, source text, location;
    a timed run's trace starts each line with the issue cycle and adds the register written
    (`x10=0x0000002a`, `f3=0x3ff0000000000000`), grouped by hart in program order, as
    Snitch writes one trace per hart (the timed simulator runs harts ahead of each other by
    up to a quantum, so the host order of a timed run means nothing)."""
    from ..isa.encoding import encode
    lines = []
    if trace and len(trace[0]) > 2:
        trace = sorted(trace, key=lambda e: e[0])
    for e in trace:
        hid, ins = e[0], e[1]
        text = f"{hid:2d} {ins.pc:#010x} {encode(ins):08x}  {ins.loc.text.strip():40s} "
        if len(e) > 2:
            w = ""
            if e[3] is not None:
                fd = "fd" in ins.defn.operands
                w = f"{'f' if fd else 'x'}{ins.rd}={e[3]:#0{18 if fd else 10}x}"
            text = f"{e[2]:8d} {text}{w:29s} "
        lines.append(f"{text}# {ins.loc}")
    return "\n".join(lines) + ("\n" if lines else "")


def perfetto_trace(trace: list, dma_transfers: list[dict] | None = None) -> dict:
    """Chrome/Perfetto trace-event JSON of a timed trace: one 1-cycle slice per instruction
    issue, one process per hart with an integer-core and an FP-subsystem track, and a DMA
    process with one slice per transfer from its first beat to its completion (from
    ExecResult.cluster["dma_transfers"]); 1 microsecond on the time axis = 1 cycle."""
    from .timed import FP_SIDE_UNITS
    events: list[dict] = []
    harts = sorted({e[0] for e in trace})
    for h in harts:
        events.append({"ph": "M", "name": "process_name", "pid": h, "tid": 0,
                       "args": {"name": f"hart {h}"}})
        for tid, name in ((0, "core"), (1, "FPSS")):
            events.append({"ph": "M", "name": "thread_name", "pid": h, "tid": tid,
                           "args": {"name": name}})
    for e in trace:
        if len(e) < 3:
            raise UserError("a Perfetto trace needs a timed run (drop --no-timing)")
        hid, ins, cyc = e[0], e[1], e[2]
        events.append({"ph": "X", "name": ins.mnemonic, "cat": ins.defn.unit, "ts": cyc,
                       "dur": 1, "pid": hid,
                       "tid": 1 if ins.defn.unit in FP_SIDE_UNITS else 0,
                       "args": {"pc": f"{ins.pc:#010x}", "src": ins.loc.text.strip()}})
    if dma_transfers:
        pid = max(harts, default=-1) + 1
        events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                       "args": {"name": "DMA engine"}})
        for x in dma_transfers:
            events.append({"ph": "X", "name": f"dma #{x['id']} {x['kind']}", "cat": "dma",
                           "ts": x["start_cycle"], "dur": max(1, x["end_cycle"] - x["start_cycle"]),
                           "pid": pid, "tid": 0,
                           "args": {"bytes": x["bytes"], "issue_cycle": x["issue_cycle"],
                                    "src": f"{x['src']:#010x}", "dst": f"{x['dst']:#010x}"}})
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"time_unit": "1 us = 1 cycle"}}


def _result(hs: list[Hart], mem: Memory, program: Program, secs: float,
            state: Any = None) -> ExecResult:
    cluster = None
    if state is not None:
        ssr = sum(st.elements for h in hs for st in h.tm.ct.streams)
        cluster = {"events": state.events(ssr),
                   "dma_transfers": [{"id": x.tid, "issue_cycle": x.issue,
                                      "start_cycle": x.start, "end_cycle": x.end,
                                      "bytes": x.bytes, "kind": x.kind,
                                      "src": x.src, "dst": x.dst}
                                     for x in state.dma.transfers]}
    return ExecResult([HartResult(h.hartid, h.exit_code, h.retired, list(h.x), list(h.f),
                                  h.fflags, h.frm, h.fmode,
                                  h.tm.to_json(h.retired) if h.tm is not None else None)
                       for h in hs],
                      mem, program, secs, dict(program.symbols), cluster)


def run_source(source: str, *, filename: str = "<string>", harts: int = 1,
               defines: dict[str, int] | None = None, max_steps: int = 10**7,
               config: IssConfig | Any = None, quantum: int | None = None,
               timing: bool = False) -> ExecResult:
    """Assemble and run `source` (see run_program)."""
    cfg = config if isinstance(config, IssConfig) else iss_config(config)
    program = assemble(source, filename=filename, defines=defines,
                       tcdm_base=cfg.tcdm_base, text_base=cfg.main_base)
    return run_program(program, harts=harts, max_steps=max_steps, config=cfg, quantum=quantum,
                       timing=timing)
