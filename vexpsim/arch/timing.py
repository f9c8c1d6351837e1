"""Reference timing rules of one Snitch core complex: integer core + FP subsystem + SSRs.

Functional-first: the instruction-set simulator executes each instruction and then asks this
model *when* it issued, from the static class of the instruction (unit, latency key) and its
registers. No event is scheduled per instruction; every rule is a closed-form max() over the
times at which resources become free (the Banshee-style rule `issue = max(prev + 1, ready of
every source)`, tools_survey.md, extended with the FP queue, the sequencer and the SSR FIFOs).

Time unit: cycles. "ready" times are the first cycle at which a consumer may issue.
Rules and their sources (snitch_cluster.md):
- integer core single-issue, in order, scoreboard on RAW and WAW (§2);
- ALU result usable next cycle; load writeback `lat_load` after issue, dependent at +1 (§8);
- MUL: 3 to writeback, dependent at +4; DIV serial, not pipelined (§2, §8);
- FP instructions offloaded through a queue (`fpq_depth` 32, `lat_offload` 2), the FPSS
  issues at most one per cycle, in order, when operands are ready; no forwarding:
  dependent issue = writeback + 1; FPU op groups fully pipelined (§3.1, §3.2);
- direct-path instructions (FP->int, int->FP, FP CSR) issue only when the FP queue is empty
  (§3.1 item 3);
- FREP: the core hands the body over once, the sequencer replays it (§4.2);
- SSR: one 64-bit element per cycle per stream, `ssr_fifo_depth` credits (§4.1).
Approximations (documented, tested): FP register-file write-port conflicts and integer
write-port arbitration are not modelled; L0 instruction-cache hits are assumed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["TimingParams", "CoreTiming", "StallCounters"]


@dataclass(frozen=True)
class TimingParams:
    """Core timing constants (defaults: snitch_cluster.md §8 cheat sheet)."""

    lat_offload: int = 2  # core issue -> FPSS issue (§3.1 item 5, trace)
    fpq_depth: int = 32  # sequencer ring buffer = FP queue (§3.1 item 3)
    lat_load_tcdm: int = 3  # integer load issue -> writeback (§8, est)
    lat_load_main: int = 10  # from main memory (§2, trace)
    lat_fp_load_tcdm: int = 2  # FP LSU issue -> writeback (§3.3, est 2-3)
    lat_fp_load_main: int = 10  # FP load from main memory (§3.3, trace)
    lat_mul: int = 3  # issue -> writeback (§2 trace)
    div_extra: int = 3  # serial divider: quotient bits + 3 (§2 est)
    lat_f2i_resp: int = 1  # FP -> int response cut (register_offload_rsp, §3.1 item 8)
    ssr_fifo_depth: int = 4  # data credits (§4.1)
    lat_ssr: int = 1  # TCDM SRAM latency for a stream element (§1)
    # FPU op-group latencies (issue -> writeback), merged-FMA rule already applied (§3.2)
    lat_fpu: dict[str, int] = field(
        default_factory=lambda: {
            "addmul": 3, "noncomp": 1, "conv": 2, "dotp": 3, "exp": 2, "divsqrt": 11,
        }
    )
    pipelined: dict[str, bool] = field(
        default_factory=lambda: {
            "addmul": True, "noncomp": True, "conv": True, "dotp": True, "exp": True,
            "divsqrt": False,
        }
    )


@dataclass
class StallCounters:
    raw: int = 0  # integer-core RAW/WAW waits
    fp_raw: int = 0  # FPSS waits for FP operands
    fpq_full: int = 0  # core waits for a free FP queue slot
    drain: int = 0  # direct-path waits for the FP queue to empty
    ssr_empty: int = 0  # FPSS waits for stream data
    ssr_full: int = 0  # FPSS waits for write-stream space
    unit_busy: int = 0  # non-pipelined unit (DIV, DIVSQRT) busy
    tcdm: int = 0  # a core or FP load/store waited for its TCDM bank (conflict)
    ipu: int = 0  # the shared integer multiplier was taken by another core
    barrier: int = 0  # waiting at the cluster barrier for the other harts
    dma_wait: int = 0  # DMA core: dmcpy blocked on a full queue, or dmstat polls while busy
    mem_port: int = 0  # a main-memory access waited for the cluster's shared core port
    caq: int = 0  # an integer access waited for an offloaded FP access to its word (CAQ)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class _Stream:
    """Timing of one SSR data mover: element k is requested one cycle after element k-1 at
    the earliest, and only when a FIFO credit is free (the element k - depth was consumed).
    With a shared TCDM (`tcdm`), a request waits for its bank; the element's address is the
    functional data mover's next address (`ssr`, vexpsim.arch.functional.Ssr)."""

    __slots__ = ("depth", "lat", "last_req", "consumed", "repeat", "rep_left", "avail",
                 "tcdm", "ssr", "elements", "log")

    def __init__(self, depth: int, lat: int) -> None:
        self.depth = depth
        self.lat = lat
        self.last_req = -(1 << 60)
        self.consumed: deque[int] = deque()
        self.repeat = 0
        self.rep_left = 0
        self.avail = 0
        self.tcdm = None
        self.ssr = None
        self.elements = 0  # TCDM words moved (for the energy model)
        self.log = None  # list: record the cycle of every TCDM reservation (FREP fast path)

    def start(self, t: int, repeat: int = 0) -> None:
        self.last_req = t - 1
        self.consumed.clear()
        self.repeat = repeat
        self.rep_left = 0

    def _bank(self) -> int:
        """TCDM bank of the next element, -1 outside the TCDM or without a shared TCDM."""
        tc = self.tcdm
        if tc is None:
            return -1
        a = self.ssr._ahead
        if a is None or not tc.base <= a < tc.base + tc.size:
            return -1
        return ((a - tc.base) >> tc.shift) % tc.nb

    def _request(self) -> int:
        """Earliest request cycle of the next element: one per cycle, with a FIFO credit."""
        req = self.last_req + 1
        if len(self.consumed) >= self.depth:
            req = max(req, self.consumed[-self.depth] + 1)
        return req

    def read_ready(self) -> int:
        """Cycle at which the next element can be consumed."""
        if self.rep_left:
            return self.avail
        # _request and _bank inlined (the per-instruction path)
        req = self.last_req + 1
        c = self.consumed
        if len(c) >= self.depth and c[-self.depth] >= req:
            req = c[-self.depth] + 1
        tc = self.tcdm
        if tc is not None:
            a = self.ssr._ahead
            if a is not None and tc.base <= a < tc.base + tc.size:
                req = tc.free_at(req, ((a - tc.base) >> tc.shift) % tc.nb)
        return req + self.lat

    def pop(self, t: int) -> None:
        if self.rep_left:
            self.rep_left -= 1
            return
        req = self.last_req + 1
        c, d = self.consumed, self.depth
        n = len(c)
        if n >= d and c[-d] >= req:
            req = c[-d] + 1
        tc = self.tcdm
        if tc is not None:
            a = self.ssr._ahead
            if a is not None and tc.base <= a < tc.base + tc.size:
                # = read_ready() - lat; counts the conflict
                req = tc.grant(req, ((a - tc.base) >> tc.shift) % tc.nb)
                tc.reads += 1
                if self.log is not None:
                    self.log.append(req)
        self.elements += 1
        self.last_req = req
        self.avail = req + self.lat
        self.rep_left = self.repeat
        c.append(t)
        if n >= 2 * d:  # the length is now above 2 * depth
            c.popleft()

    def write_ready(self, lat: int) -> int:
        """Earliest issue cycle of an instruction whose result (written `lat` cycles after
        issue) finds space in the write FIFO: element k - depth must have drained by then."""
        if len(self.consumed) >= self.depth:
            return self.consumed[-self.depth] - lat
        return -(1 << 60)

    def push(self, t: int) -> None:
        # the write FIFO drains one element per cycle into the TCDM, from the cycle after
        # the result arrives (and when its bank is free)
        drain = max(t + 1, self.last_req + 1)
        if self.tcdm is not None:
            b = self._bank()
            if b >= 0:
                drain = self.tcdm.grant(drain, b)
                self.tcdm.writes += 1
                if self.log is not None:
                    self.log.append(drain)
        self.elements += 1
        self.last_req = drain
        self.consumed.append(drain)
        if len(self.consumed) > 2 * self.depth:
            self.consumed.popleft()


class CoreTiming:
    """Issue-time bookkeeping for one hart. Each method takes the registers of one retired
    instruction and returns its issue cycle (core issue for integer instructions, FPSS issue
    for FP instructions)."""

    def __init__(self, params: TimingParams | None = None) -> None:
        p = params or TimingParams()
        self.p = p
        self.cycle = 0  # next free integer-core issue slot
        self.xready = [0] * 32
        self.fready = [0] * 32
        self.fp_last = -1  # last FPSS issue cycle
        self.fpq: deque[int] = deque()  # FPSS issue cycles of the last fpq_depth offloads
        self.unit_free: dict[str, int] = {}
        self.div_free = 0
        self.stalls = StallCounters()
        self.retired = 0
        self.fp_issued = 0
        self.streams = [_Stream(p.ssr_fifo_depth, p.lat_ssr) for _ in range(3)]
        self.ssr_enabled = False
        self.seq_busy_until = -1  # sequencer replaying an FREP body
        self.last_fp_done = 0  # last FP writeback (for end-of-program accounting)
        # shared with the other cores of the cluster (vexpsim.arch.cluster), None when the
        # core is modelled alone: TCDM bank reservations and the shared MUL/DIV unit
        self.tcdm = None
        self.ipu = None
        # the cluster's shared port for main-memory data accesses and this core's consistency
        # address queue (vexpsim.arch.narrow_port), None when not modelled
        self.port = None
        self.caq = None

    def attach(self, tcdm, ipu, ssrs, port=None, caq=None) -> None:
        """Share the cluster's TCDM banks, IPU and main-memory port; `ssrs` are the
        functional data movers (their next addresses select the banks of the stream requests);
        `caq` is this core's CAQ."""
        self.tcdm = tcdm
        self.ipu = ipu
        self.port = port
        self.caq = caq
        for st, ssr in zip(self.streams, ssrs, strict=False):
            st.tcdm, st.ssr = tcdm, ssr

    def _tcdm_access(self, t: int, bank: int, write: bool) -> int:
        """A request reaching bank `bank` at cycle t: the cycle it is granted (the requester
        stalls until then; snitch_cluster.md §1 'Narrow interconnect')."""
        tc = self.tcdm
        g = tc.grant(t, bank)
        if write:
            tc.writes += 1
        else:
            tc.reads += 1
        if g != t:
            self.stalls.tcdm += g - t
        return g

    # ---- integer core -----------------------------------------------------------------
    def _int_issue(self, srcs: tuple[int, ...], rd: int) -> int:
        t = self.cycle
        need = t
        for r in srcs:
            if self.xready[r] > need:
                need = self.xready[r]
        if rd and self.xready[rd] > need:
            need = self.xready[rd]
        self.stalls.raw += need - t
        self.cycle = need + 1
        self.retired += 1
        return need

    def alu(self, rd: int, *srcs: int) -> int:
        t = self._int_issue(srcs, rd)
        if rd:
            self.xready[rd] = t + 1
        return t

    def _caq_wait(self, t: int, addr: int, store: bool) -> int:
        """An integer access issued at t that collides with an outstanding offloaded FP access
        in the CAQ stalls the core until that access has completed."""
        r = self.caq.int_ready(addr, store)
        if r > t:
            self.stalls.caq += r - t
            self.cycle = r + 1
            return r
        return t

    def _port_grant(self, t: int, lat: int) -> int:
        """A main-memory access issued at t requests the shared port at t + 1 and holds a slot
        until its response (t + lat); the issuing unit stalls until the request is accepted.
        Returns the (possibly later) issue cycle."""
        g = self.port.grant(t + 1, max(1, lat - 1))
        if g != t + 1:
            self.stalls.mem_port += g - (t + 1)
        return g - 1

    def load(self, rd: int, rs1: int, main_memory: bool = False, bank: int = -1,
             addr: int = -1) -> int:
        t = self._int_issue((rs1,), rd)
        if self.caq is not None and addr >= 0:
            t = self._caq_wait(t, addr, False)
        if main_memory and self.port is not None:
            g = self._port_grant(t, self.p.lat_load_main)
            if g != t:
                t, self.cycle = g, g + 1
        if bank >= 0 and self.tcdm is not None:
            # the request reaches the bank the cycle after issue (request cut); the core's
            # LSU handshake holds the core until the request is granted
            g = self._tcdm_access(t + 1, bank, False)
            if g != t + 1:
                t = g - 1
                self.cycle = g
        if rd:
            lat = self.p.lat_load_main if main_memory else self.p.lat_load_tcdm
            self.xready[rd] = t + lat + 1
        return t

    def store(self, rs1: int, rs2: int, bank: int = -1, addr: int = -1,
              main_memory: bool = False) -> int:
        t = self._int_issue((rs1, rs2), 0)
        if self.caq is not None and addr >= 0:
            t = self._caq_wait(t, addr, True)
        if main_memory and self.port is not None:  # held until the write response
            g = self._port_grant(t, self.p.lat_load_main)
            if g != t:
                t, self.cycle = g, g + 1
        if bank >= 0 and self.tcdm is not None:
            g = self._tcdm_access(t + 1, bank, True)
            if g != t + 1:
                t = g - 1
                self.cycle = g
        return t

    def mul(self, rd: int, rs1: int, rs2: int) -> int:
        t = self._int_issue((rs1, rs2), rd)
        if self.ipu is not None:  # shared multiplier: one operation per cycle, cluster-wide
            g = self.ipu.mul_grant(t)
            if g != t:
                self.stalls.ipu += g - t
                t = g
                self.cycle = g + 1
        if rd:
            self.xready[rd] = t + self.p.lat_mul + 1
        return t

    def div(self, rd: int, rs1: int, rs2: int, quotient_bits: int) -> int:
        t = self._int_issue((rs1, rs2), rd)
        owner = self.ipu if self.ipu is not None else self  # shared serial divider
        start = max(t, owner.div_free)
        self.stalls.unit_busy += start - t
        done = start + quotient_bits + self.p.div_extra
        owner.div_free = done
        if rd:
            self.xready[rd] = done + 1
        return t

    # ---- FP subsystem -----------------------------------------------------------------
    def _offload(self, int_srcs: tuple[int, ...]) -> int:
        """Core-side issue of an instruction entering the FP queue: returns its arrival
        cycle at the FPSS."""
        t = self.cycle
        need = t
        for r in int_srcs:
            if self.xready[r] > need:
                need = self.xready[r]
        self.stalls.raw += need - t
        if len(self.fpq) >= self.p.fpq_depth:
            free = self.fpq[-self.p.fpq_depth] + 1
            if free > need:
                self.stalls.fpq_full += free - need
                need = free
        self.cycle = need + 1
        self.retired += 1
        return need + self.p.lat_offload

    def _fp_issue(self, arrive: int, srcs: tuple[int, ...], rd: int, group: str,
                  rd_is_fp: bool = True) -> int:
        need = max(arrive, self.fp_last + 1)
        base = need
        fready = self.fready
        for r in srcs:
            if fready[r] > need:
                need = fready[r]
        if rd_is_fp and rd >= 0 and fready[rd] > need:
            need = fready[rd]
        self.stalls.fp_raw += need - base
        if self.ssr_enabled:
            for r in srcs:
                if r < 3:
                    ready = self.streams[r].read_ready()
                    if ready > need:
                        self.stalls.ssr_empty += ready - need
                        need = ready
            if rd_is_fp and 0 <= rd < 3:
                ready = self.streams[rd].write_ready(self.p.lat_fpu.get(group, 1))
                if ready > need:
                    self.stalls.ssr_full += ready - need
                    need = ready
        if not self.p.pipelined.get(group, True):
            free = self.unit_free.get(group, 0)
            if free > need:
                self.stalls.unit_busy += free - need
                need = free
            self.unit_free[group] = need + self.p.lat_fpu[group]
        if self.ssr_enabled:
            for r in srcs:
                if r < 3:
                    self.streams[r].pop(need)
        self.fp_last = need
        self.fp_issued += 1
        return need

    def fp(self, group: str, rd: int, *srcs: int, int_srcs: tuple[int, ...] = (),
           from_sequencer: bool = False) -> int:
        """A buffered FP compute instruction of op group `group` writing FP register rd."""
        arrive = self.fp_last + 1 if from_sequencer else self._offload(int_srcs)
        t = self._fp_issue(arrive, srcs, rd, group)
        lat = self.p.lat_fpu[group]
        self._write_f(rd, t + lat)
        if not from_sequencer:
            self.fpq.append(t)
            if len(self.fpq) > 2 * self.p.fpq_depth:
                self.fpq.popleft()
        return t

    def _write_f(self, rd: int, wb: int) -> None:
        if self.ssr_enabled and rd < 3:
            self.streams[rd].push(wb)
        else:
            self.fready[rd] = wb + 1
        if wb > self.last_fp_done:
            self.last_fp_done = wb

    def _caq_offload(self) -> None:
        """Offloading an FP load/store needs a free CAQ entry."""
        r = self.caq.offload_ready(self.cycle)
        if r > self.cycle:
            self.stalls.caq += r - self.cycle
            self.cycle = r

    def fp_load(self, rd: int, rs1: int, main_memory: bool = False,
                from_sequencer: bool = False, bank: int = -1, addr: int = -1) -> int:
        caq = self.caq if addr >= 0 and not from_sequencer else None
        if caq is not None:
            self._caq_offload()
        arrive = self.fp_last + 1 if from_sequencer else self._offload((rs1,))
        t = self._fp_issue(arrive, (), rd, "lsu")
        lat = self.p.lat_fp_load_main if main_memory else self.p.lat_fp_load_tcdm
        if main_memory and self.port is not None:
            t = self.fp_last = self._port_grant(t, lat)
        if bank >= 0 and self.tcdm is not None:
            g = self._tcdm_access(t + 1, bank, False)
            if g != t + 1:  # the FP LSU holds the FPSS until its request is granted
                t = self.fp_last = g - 1
        if caq is not None:
            caq.fp_access(addr, t + lat, False)
        self._write_f(rd, t + lat)
        if not from_sequencer:
            self.fpq.append(t)
            if len(self.fpq) > 2 * self.p.fpq_depth:  # only the last fpq_depth are read
                self.fpq.popleft()
        return t

    def fp_store(self, rs2: int, rs1: int, from_sequencer: bool = False,
                 bank: int = -1, addr: int = -1, main_memory: bool = False) -> int:
        caq = self.caq if addr >= 0 and not from_sequencer else None
        if caq is not None:
            self._caq_offload()
        arrive = self.fp_last + 1 if from_sequencer else self._offload((rs1,))
        t = self._fp_issue(arrive, (rs2,), -1, "lsu", rd_is_fp=False)
        # the store's response (which pops its CAQ entry) comes as a load's data would
        lat = self.p.lat_fp_load_main if main_memory else self.p.lat_fp_load_tcdm
        if main_memory and self.port is not None:
            t = self.fp_last = self._port_grant(t, lat)
        if bank >= 0 and self.tcdm is not None:
            g = self._tcdm_access(t + 1, bank, True)
            if g != t + 1:
                t = self.fp_last = g - 1
        if caq is not None:
            caq.fp_access(addr, t + lat, True)
        if not from_sequencer:
            self.fpq.append(t)
            if len(self.fpq) > 2 * self.p.fpq_depth:  # only the last fpq_depth are read
                self.fpq.popleft()
        return t

    def _drain(self, t_core: int) -> int:
        """A direct-path instruction issued by the core at `t_core` reaches the FPSS after the
        offload latency and may issue only once the FP queue is empty, i.e. every earlier FP
        instruction has issued. Returns that FPSS cycle."""
        arrive = t_core + self.p.lat_offload
        empty = max(self.fp_last + 1, self.seq_busy_until + 1)
        if empty > arrive:
            # The sequencer accepts a direct-path request only with an empty queue, and the
            # core's offload handshake waits for that acceptance (snitch_cluster.md §3.1 item 3):
            # the integer core cannot issue past it until then.
            wait = empty - arrive
            self.stalls.drain += wait
            if t_core + 1 + wait > self.cycle:
                self.cycle = t_core + 1 + wait
            return empty
        return arrive

    def fp_to_int(self, rd: int, *fsrcs: int, group: str = "noncomp") -> int:
        """fmv.x.*, feq/flt/fle, fclass, fcvt.w.*: direct path, result to an int register."""
        fp_t = self._drain(self._int_issue((), rd))
        streaming = self.ssr_enabled
        for r in fsrcs:
            if streaming and r < 3:  # reads a stream: waits for its data and pops it (§4.1)
                ready = self.streams[r].read_ready()
                if ready > fp_t:
                    self.stalls.ssr_empty += ready - fp_t
                    fp_t = ready
            else:
                fp_t = max(fp_t, self.fready[r])
        if streaming:
            for r in fsrcs:
                if r < 3:
                    self.streams[r].pop(fp_t)
        self.fp_last = fp_t
        self.fp_issued += 1
        if rd:
            self.xready[rd] = fp_t + self.p.lat_fpu[group] + self.p.lat_f2i_resp + 1
        return fp_t

    def int_to_fp(self, rd: int, rs1: int, group: str = "noncomp") -> int:
        """fmv.w.x, fcvt.s.w: direct path from an int register to an FP register."""
        fp_t = max(self._drain(self._int_issue((rs1,), 0)), self.fready[rd])
        self.fp_last = fp_t
        self.fp_issued += 1
        self._write_f(rd, fp_t + self.p.lat_fpu[group])
        return fp_t

    def fp_csr(self, rd: int = 0) -> int:
        """FP CSR access (fsflags, csrsi ssr, ...): direct path, waits for the drain."""
        fp_t = self._drain(self._int_issue((), rd))
        self.fp_last = fp_t
        if rd:
            self.xready[rd] = fp_t + self.p.lat_f2i_resp + 1
        return fp_t

    # ---- SSR and FREP -------------------------------------------------------------------
    def ssr_enable(self, on: bool) -> int:
        t = self.fp_csr()
        self.ssr_enabled = on
        if on:
            for s in self.streams:
                s.start(t + 1, s.repeat)
        return t

    def ssr_config(self, stream: int, repeat: int = 0) -> int:
        """An scfgwi write: one core issue slot; the stream restarts with its new shape."""
        t = self._int_issue((), 0)
        self.streams[stream].repeat = repeat
        self.streams[stream].start(t + 1, repeat)
        return t

    def frep(self, rs1: int) -> int:
        """The frep instruction itself: one core cycle (its body follows as FP instructions,
        the first pass offloaded by the core, the others with from_sequencer=True)."""
        t = self.cycle
        need = max(t, self.xready[rs1])
        self.stalls.raw += need - t
        self.cycle = need + 1
        self.retired += 1
        return need

    # ---- FREP fast path: the FP-side state as a vector (vexpsim.arch.frep_fast) -------------
    def fp_state(self) -> list[int]:
        """Every value a sequencer-issued instruction can change, flattened: times (FPSS issue,
        register ready, stream requests and FIFO slots, unit busy) and counters. Between two
        iterations of a loop in steady state the vector changes by a constant step."""
        v = [self.fp_last, self.last_fp_done, self.fp_issued, *self.fready]
        v += [len(self.unit_free), *self.unit_free.values()]
        v += self.stalls.__dict__.values()
        for st in self.streams:
            v += [st.last_req, st.rep_left, st.avail, st.elements, len(st.consumed),
                  *st.consumed]
        tc = self.tcdm
        if tc is not None:
            v += [tc.reads, tc.writes, tc.conflicts]
        return v

    def set_fp_state(self, v: list[int]) -> None:
        """Inverse of fp_state (same shape: same unit_free keys and FIFO lengths)."""
        self.fp_last, self.last_fp_done, self.fp_issued = v[0], v[1], v[2]
        self.fready[:] = v[3:35]
        i = 35
        n = v[i]
        for key, val in zip(list(self.unit_free), v[i + 1:i + 1 + n], strict=True):
            self.unit_free[key] = val
        i += 1 + n
        for key in self.stalls.__dict__:
            setattr(self.stalls, key, v[i])
            i += 1
        for st in self.streams:
            st.last_req, st.rep_left, st.avail, st.elements, n = v[i:i + 5]
            st.consumed = deque(v[i + 5:i + 5 + n])
            i += 5 + n
        tc = self.tcdm
        if tc is not None:
            tc.reads, tc.writes, tc.conflicts = v[i:i + 3]

    # ---- results ------------------------------------------------------------------------
    def end_cycle(self) -> int:
        """Cycle at which everything issued so far has completed."""
        last_int = max([self.cycle - 1, *self.xready]) if self.retired else 0
        return max(last_int, self.last_fp_done)
