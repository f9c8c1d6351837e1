"""Timing for the functional ISS: each pre-decoded closure also advances its hart's clock.

The rules are those of the reference model vexpsim.arch.timing.CoreTiming (reused, not
re-implemented): at build time every instruction is classified once from its ISA row (unit,
latency key, operand kinds) and its register fields, and a wrapper closure is bound that calls
the matching CoreTiming method with those static facts before (or, for state-changing CSR and
SSR configuration writes, after) the functional closure. Nothing is looked up per instruction
beyond the dynamic facts the rules need (load address region, divider operands).

FP latencies come from each row's `latency` key in the cluster configuration, with the
merged-FMA rule applied to the ADDMUL group (config.effective_fpu_latency,
snitch_cluster.md §3.2). FREP: the first pass of the body is offloaded by the core, the other
passes are issued by the sequencer (a second wrapper set, no flag check; §4.2).

Counters: mcycle/cycle reads return the issue cycle of the csrr; minstret returns the functional
retired count (FREP repetitions included). Each cycle-counter read closes a region (region i is
between the i-th and (i+1)-th read), as Snitch's trace tools split a run.

Not modelled here (next step): contention between harts (TCDM banks, shared MUL/DIV), DMA
timing; barriers align the clocks of the harts that meet at them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .timing import CoreTiming, TimingParams

__all__ = ["HartTiming", "timing_params_for", "row_latency"]

_FPU_GROUPS = frozenset({"addmul", "noncomp", "conv", "sdotp", "divsqrt", "exp"})
FP_SIDE_UNITS = _FPU_GROUPS | {"fp_lsu"}  # issued by the FPSS (trace: FPSS issue cycle)
CYCLE_CSRS = frozenset({0xC00, 0xB00})  # cycle, mcycle (low halves: the region splitters)
_CYCLE_CSRS_ALL = frozenset({0xC00, 0xB00, 0xC80, 0xB80})
_FP_CSRS = frozenset({0x001, 0x002, 0x003, 0x800, 0x7C1, 0x7C3})  # go to the FPSS (§2, §3.1)
SSR_CSR = 0x7C0


def _is_sqrt(defn: Any) -> bool:
    return defn.unit == "divsqrt" and "sqrt" in defn.semantics


def lat_key(defn: Any) -> str:
    """Key of the row in the timing tables: its latency key (square roots apart, as they
    take `fpu.divsqrt.sqrt_extra` more than a division of the same format)."""
    return defn.latency + "+sqrt" if _is_sqrt(defn) else defn.latency


def row_latency(cluster: Any, defn: Any) -> int:
    """Issue-to-writeback cycles of an FPU row from its `latency` key (a dotted cluster
    config path); the ADDMUL group takes the merged-slice latency (snitch_cluster.md §3.2),
    DIVSQRT the per-format latency plus sqrt_extra for a square root."""
    key = defn.latency
    from .config import effective_fpu_latency
    if defn.unit == "addmul" and key.startswith("fpu.lat_comp_"):
        return effective_fpu_latency(cluster, "addmul", key.removeprefix("fpu.lat_comp_"))
    if defn.unit == "divsqrt" and key.startswith("fpu.divsqrt.lat_"):
        return effective_fpu_latency(cluster, "sqrt" if _is_sqrt(defn) else "divsqrt",
                                     key.removeprefix("fpu.divsqrt.lat_"))
    obj = cluster
    for part in key.split("."):
        obj = getattr(obj, part)
    return int(obj)


def timing_params_for(cluster: Any, rows: list[Any]) -> TimingParams:
    """TimingParams of `cluster` whose FPU latency table is keyed by the rows' latency keys."""
    from ..errors import UserError
    from .config import fpu_unit_pipelined, timing_params
    base = timing_params(cluster)
    lat = dict(base.lat_fpu)
    piped = dict(base.pipelined)
    for d in rows:
        key = lat_key(d)
        if d.unit in _FPU_GROUPS and key not in lat:
            try:
                lat[key] = row_latency(cluster, d)
            except UserError:  # group or format absent from this config: the row is an
                continue       # illegal instruction (the functional model raises first)
            piped[key] = fpu_unit_pipelined(cluster, d.unit)
    # lat_fpu/pipelined are plain dicts inside a frozen dataclass: rebuild it
    from dataclasses import replace
    return replace(base, lat_fpu=lat, pipelined=piped)


class HartTiming:
    """Timing state of one hart: a CoreTiming plus event counts and region snapshots."""

    INLINE_ALU = True  # False: every ALU-class instruction calls CoreTiming.alu (reference)
    INLINE_FP = True  # False: every buffered FP compute instruction calls CoreTiming.fp
    BLOCKS = True  # False: no straight-line blocks (vexpsim.arch.blocks), per instruction

    def __init__(self, params: TimingParams, tcdm: tuple[int, int], bank_width: int = 8,
                 banks: int = 32) -> None:
        self.ct = CoreTiming(params)
        self.tcdm_lo, self.tcdm_hi = tcdm
        self.bank_shift = bank_width.bit_length() - 1
        self.banks = banks
        self.event_keys: list[tuple[str, str]] = []  # (energy key, unit) per counter
        self._key_ids: dict[tuple[str, str], int] = {}
        self.counts: list[int] = []
        self.fpu_keys: set[int] = set()
        self.last_cycle_read = 0
        self.marks: list[dict] = []  # one snapshot per cycle-counter read

    def _event(self, key: tuple[str, str]) -> int:
        k = self._key_ids.get(key)
        if k is None:
            k = self._key_ids[key] = len(self.event_keys)
            self.event_keys.append(key)
            self.counts.append(0)
        return k

    # ---- results --------------------------------------------------------------------------
    def total_cycles(self) -> int:
        """Cycles until everything issued has written back (the first idle cycle)."""
        ct = self.ct
        if not ct.retired:
            return 0
        return max(ct.cycle, max(ct.xready), ct.last_fp_done + 1)

    def events(self, by: int = 0) -> dict[str, int]:
        """Executed instructions by energy-table event (by=0) or by unit (by=1)."""
        out: dict[str, int] = {}
        for i, key in enumerate(self.event_keys):
            if self.counts[i]:
                out[key[by]] = out.get(key[by], 0) + self.counts[i]
        return dict(sorted(out.items()))

    def fpu_issued(self) -> int:
        return sum(self.counts[i] for i in self.fpu_keys)

    def snapshot(self, cycle: int, retired: int) -> dict:
        return {"cycle": cycle, "retired": retired, "stalls": self.ct.stalls.as_dict(),
                "fpu_issued": self.fpu_issued(), "events": self.events()}

    def regions(self) -> list[dict]:
        """Metrics between consecutive cycle-counter reads."""
        out = []
        for a, b in zip(self.marks, self.marks[1:], strict=False):
            cyc = b["cycle"] - a["cycle"]
            ret = b["retired"] - a["retired"]
            fpu = b["fpu_issued"] - a["fpu_issued"]
            out.append({
                "cycles": cyc, "retired": ret, "ipc": ret / cyc if cyc else 0.0,
                "fpu_issued": fpu, "fpu_utilisation": fpu / cyc if cyc else 0.0,
                "stalls": {k: b["stalls"][k] - a["stalls"][k] for k in a["stalls"]},
                "events": {k: n - a["events"].get(k, 0) for k, n in b["events"].items()
                           if n - a["events"].get(k, 0)},
            })
        return out

    def to_json(self, retired: int) -> dict:
        cyc = self.total_cycles()
        fpu = self.fpu_issued()
        return {"cycles": cyc, "retired": retired, "ipc": retired / cyc if cyc else 0.0,
                "core_issued": self.ct.retired, "fpss_issued": self.ct.fp_issued,
                "fpu_busy_cycles": fpu, "fpu_utilisation": fpu / cyc if cyc else 0.0,
                "stalls": self.ct.stalls.as_dict(), "events": self.events(),
                "units": self.events(by=1),
                "regions": self.regions()}

    # ---- closure building -----------------------------------------------------------------
    def wrap(self, h: Any, ins: Any, fn: Callable[[], int], seq: bool = False
             ) -> Callable[[], int]:
        """The timed closure of `ins` around its functional closure `fn`. `seq`: issued by
        the FREP sequencer (a replayed body pass) rather than offloaded by the core."""
        d = ins.defn
        ct = self.ct
        cnt = self.counts
        k = self._event((d.energy, d.unit))
        ops = d.operands
        unit = d.unit
        rd = ins.rd if ins.rd is not None else 0
        fs, xs = _sources(ins)
        x = h.x

        if unit in _FPU_GROUPS:
            self.fpu_keys.add(k)
            key = lat_key(d)
            if key not in ct.p.lat_fpu:
                return _untimeable(ins, fn)
            if "xd" in ops:
                fp_to_int = ct.fp_to_int

                def f_f2i() -> int:
                    cnt[k] += 1
                    fp_to_int(rd, *fs, group=key)
                    return fn()
                return f_f2i
            if xs:
                int_to_fp, rs1 = ct.int_to_fp, xs[0]

                def f_i2f() -> int:
                    cnt[k] += 1
                    int_to_fp(rd, rs1, group=key)
                    return fn()
                return f_i2f
            if not self.INLINE_FP:
                fp = ct.fp

                def f_fp() -> int:
                    cnt[k] += 1
                    fp(key, rd, *fs, from_sequencer=seq)
                    return fn()
                return f_fp
            return self._inline_fp(key, rd, fs, fn, k, seq)

        if unit in ("fp_lsu", "lsu"):
            return self._wrap_mem(ins, fn, k, x, rd, unit == "fp_lsu", seq)

        if unit == "mul":
            mul, rs1, rs2 = ct.mul, ins.rs1, ins.rs2

            def f_mul() -> int:
                cnt[k] += 1
                mul(rd, rs1, rs2)
                return fn()
            return f_mul

        if unit == "div":
            div, rs1, rs2 = ct.div, ins.rs1, ins.rs2
            signed = d.args.get("op") in ("div", "rem")

            def f_div() -> int:
                cnt[k] += 1
                a, b = x[rs1], x[rs2]
                if signed:
                    a = abs(a - ((a & 0x80000000) << 1))
                    b = abs(b - ((b & 0x80000000) << 1))
                # serial divider: one iteration per quotient bit, lzc(b) - lzc(a) (§2)
                div(rd, rs1, rs2, max(0, a.bit_length() - b.bit_length()))
                return fn()
            return f_div

        if unit == "sequencer":
            frep, rs1 = ct.frep, ins.rs1

            def f_frep() -> int:
                cnt[k] += 1
                frep(rs1)
                return fn()
            return f_frep

        if unit == "ssr_cfg" and "xd" not in ops:
            return self._wrap_scfgw(h, ins, fn, k)

        if unit == "csr":
            csr = ins.csr
            if csr in _CYCLE_CSRS_ALL or csr in h.COUNTER_CSRS:
                alu = ct.alu

                def f_cnt() -> int:
                    cnt[k] += 1
                    self.last_cycle_read = alu(rd)
                    return fn()  # raises CounterRead; the runner reads last_cycle_read
                return f_cnt
            if csr == SSR_CSR:
                ssr_enable = ct.ssr_enable

                def f_ssr() -> int:
                    cnt[k] += 1
                    _wait_x(ct, xs)
                    nxt = fn()
                    ssr_enable(h.ssr_enabled)
                    return nxt
                return f_ssr
            if csr in _FP_CSRS:
                fp_csr = ct.fp_csr

                def f_fcsr() -> int:
                    cnt[k] += 1
                    _wait_x(ct, xs)
                    fp_csr(rd)
                    return fn()
                return f_fcsr

        # everything else: one integer-core issue slot with a next-cycle result (§2, §8):
        # ALU, branches and jumps (L0 hits), plain CSRs, SSR config reads, DMA, ecall
        if self.INLINE_ALU and len(xs) <= 2:
            return self._inline_alu(rd, xs, fn, k)
        alu = ct.alu

        def f_alu() -> int:
            cnt[k] += 1
            alu(rd, *xs)
            return fn()
        return f_alu

    def _wrap_mem(self, ins: Any, fn: Callable[[], int], k: int, x: list[int], rd: int,
                  fp: bool, seq: bool) -> Callable[[], int]:
        """Integer and FP loads/stores: the effective address selects main memory (longer
        latency) or a TCDM bank (reserved per cycle in the cluster's TCDM, when shared)."""
        ct, cnt = self.ct, self.counts
        lo, hi, rs1, imm = self.tcdm_lo, self.tcdm_hi, ins.rs1, ins.imm or 0
        shift, nb = self.bank_shift, self.banks
        is_load = "fd" in ins.defn.operands or "xd" in ins.defn.operands
        if fp and is_load:
            fp_load = ct.fp_load

            def f_fld() -> int:
                cnt[k] += 1
                a = (x[rs1] + imm) & 0xFFFFFFFF
                if lo <= a < hi:
                    fp_load(rd, rs1, False, seq, ((a - lo) >> shift) % nb, a)
                else:
                    fp_load(rd, rs1, True, seq, -1, a)
                return fn()
            return f_fld
        if fp:
            fp_store, rs2 = ct.fp_store, ins.rs2

            def f_fsd() -> int:
                cnt[k] += 1
                a = (x[rs1] + imm) & 0xFFFFFFFF
                if lo <= a < hi:
                    fp_store(rs2, rs1, seq, ((a - lo) >> shift) % nb, a)
                else:
                    fp_store(rs2, rs1, seq, -1, a, True)
                return fn()
            return f_fsd
        if is_load:
            load = ct.load

            def f_ld() -> int:
                cnt[k] += 1
                a = (x[rs1] + imm) & 0xFFFFFFFF
                if lo <= a < hi:
                    load(rd, rs1, False, ((a - lo) >> shift) % nb, a)
                else:
                    load(rd, rs1, True, -1, a)
                return fn()
            return f_ld
        store, rs2 = ct.store, ins.rs2

        def f_st() -> int:
            cnt[k] += 1
            a = (x[rs1] + imm) & 0xFFFFFFFF
            if lo <= a < hi:
                store(rs1, rs2, ((a - lo) >> shift) % nb, a)
            else:
                store(rs1, rs2, -1, a, True)
            return fn()
        return f_st

    def _inline_fp(self, key: str, rd: int, fs: tuple[int, ...], fn: Callable[[], int],
                   k: int, seq: bool) -> Callable[[], int]:
        """CoreTiming.fp (with _offload, _fp_issue and _write_f) inlined for one buffered FP
        compute instruction: the same rules in the same order, with the static facts (sources,
        latency, pipelining, offload or sequencer) bound once. The hot path of the paper
        kernels, whose short or contended FREP loops run per instruction. Pinned against
        CoreTiming.fp by tests/arch (INLINE_FP off vs on)."""
        ct, cnt = self.ct, self.counts
        p = ct.p
        fready, stalls, streams, fpq = ct.fready, ct.stalls, ct.streams, ct.fpq
        lat = p.lat_fpu[key]
        wlat = p.lat_fpu.get(key, 1)  # the write-FIFO check's latency (_fp_issue)
        piped = p.pipelined.get(key, True)
        unit_free = ct.unit_free
        depth, depth2, lat_off = p.fpq_depth, 2 * p.fpq_depth, p.lat_offload
        ssr_in = tuple(streams[r] for r in fs if r < 3)  # ct.streams is never rebound
        rd_ssr = rd < 3
        out = streams[rd] if rd_ssr else None

        def f_fp() -> int:
            cnt[k] += 1
            if seq:
                need = ct.fp_last + 1
            else:  # _offload with no integer sources
                t = ct.cycle
                if len(fpq) >= depth:
                    free = fpq[-depth] + 1
                    if free > t:
                        stalls.fpq_full += free - t
                        t = free
                ct.cycle = t + 1
                ct.retired += 1
                need = t + lat_off
                if ct.fp_last + 1 > need:
                    need = ct.fp_last + 1
            base = need
            for r in fs:
                if fready[r] > need:
                    need = fready[r]
            if fready[rd] > need:
                need = fready[rd]
            if need != base:
                stalls.fp_raw += need - base
            ssr = ct.ssr_enabled
            if ssr:
                for st in ssr_in:
                    ready = st.read_ready()
                    if ready > need:
                        stalls.ssr_empty += ready - need
                        need = ready
                if rd_ssr:
                    ready = out.write_ready(wlat)
                    if ready > need:
                        stalls.ssr_full += ready - need
                        need = ready
            if not piped:
                free = unit_free.get(key, 0)
                if free > need:
                    stalls.unit_busy += free - need
                    need = free
                unit_free[key] = need + lat
            if ssr:
                for st in ssr_in:
                    st.pop(need)
            ct.fp_last = need
            ct.fp_issued += 1
            wb = need + lat
            if ssr and rd_ssr:
                out.push(wb)
            else:
                fready[rd] = wb + 1
            if wb > ct.last_fp_done:
                ct.last_fp_done = wb
            if not seq:
                fpq.append(need)
                if len(fpq) > depth2:
                    fpq.popleft()
            return fn()
        # the static facts, for the separated timing replay of short FREPs (frep_replay)
        f_fp.fp_facts = (k, key, lat, wlat, piped, fs, rd, tuple(r for r in fs if r < 3),
                         rd if rd_ssr else -1)
        return f_fp

    def _inline_alu(self, rd: int, xs: tuple[int, ...], fn: Callable[[], int], k: int
                    ) -> Callable[[], int]:
        """CoreTiming.alu inlined (the hot path of scalar code): the same rule, issue =
        max(next slot, ready of the sources and of rd), rd ready one cycle later. Missing
        sources read x0, whose ready time stays 0. Pinned against CoreTiming.alu by
        tests/arch/test_core_timing.py (INLINE_ALU off vs on)."""
        ct, cnt = self.ct, self.counts
        xr, stalls = ct.xready, ct.stalls
        a, b = (*xs, 0, 0)[:2]

        if rd:
            def f_alu_rd() -> int:
                cnt[k] += 1
                t = need = ct.cycle
                if xr[a] > need:
                    need = xr[a]
                if xr[b] > need:
                    need = xr[b]
                if xr[rd] > need:
                    need = xr[rd]
                if need != t:
                    stalls.raw += need - t
                ct.cycle = xr[rd] = need + 1
                ct.retired += 1
                return fn()
            return f_alu_rd

        def f_alu_x0() -> int:
            cnt[k] += 1
            t = need = ct.cycle
            if xr[a] > need:
                need = xr[a]
            if xr[b] > need:
                need = xr[b]
            if need != t:
                stalls.raw += need - t
            ct.cycle = need + 1
            ct.retired += 1
            return fn()
        return f_alu_x0

    def _wrap_scfgw(self, h: Any, ins: Any, fn: Callable[[], int], k: int
                    ) -> Callable[[], int]:
        """scfgw/scfgwi: one core issue slot; every targeted stream restarts with its shape
        (as CoreTiming.ssr_config, once per instruction even for a broadcast)."""
        ct, cnt, x = self.ct, self.counts, h.x
        xs = tuple(r for r in (ins.rs1, ins.rs2) if r is not None)
        rs2 = ins.rs2 if "xs2" in ins.defn.operands else None
        imm = ins.imm
        n = len(h.ssrs)

        def f_cfg() -> int:
            cnt[k] += 1
            nxt = fn()
            t = ct._int_issue(xs, 0)
            addr = x[rs2] if rs2 is not None else imm
            dm = addr & 31
            for s in (range(n) if dm == 31 else (dm,)):
                rep = h.ssrs[s].repeat
                st = ct.streams[s]
                st.repeat = rep
                st.start(t + 1, rep)
            return nxt
        return f_cfg


def _sources(ins: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(FP source registers without repeats, integer source registers) of `ins`."""
    ops = ins.defn.operands
    fsrcs: list[int] = []
    xsrcs: list[int] = []
    for kind, r in (("1", ins.rs1), ("2", ins.rs2), ("3", ins.rs3)):
        if r is None:
            continue
        if f"fs{kind}" in ops and r not in fsrcs:
            fsrcs.append(r)
        elif f"xs{kind}" in ops or (kind == "1" and "mem" in ops):
            xsrcs.append(r)
    return tuple(fsrcs), tuple(xsrcs)


def x_sources(ins: Any) -> tuple[int, ...]:
    """The integer source registers of `ins`, as the timing rules see them."""
    return _sources(ins)[1]


def _untimeable(ins: Any, fn: Callable[[], int]) -> Callable[[], int]:
    """A row whose op group or format is absent from the configuration: the functional
    closure normally raises the illegal-instruction error; if it does not, say why."""
    from ..isa.semantics import SimError

    def f() -> int:
        fn()
        raise SimError(f"illegal instruction {ins.mnemonic}: its FPU op group or format "
                       f"({ins.defn.latency}) is not in this cluster configuration")
    return f


def _wait_x(ct: CoreTiming, xs: tuple[int, ...]) -> None:
    """RAW wait of the core on the integer sources of a CSR instruction sent to the FPSS
    (CoreTiming.fp_csr/ssr_enable take no sources)."""
    for r in xs:
        ready = ct.xready[r]
        if ready > ct.cycle:
            ct.stalls.raw += ready - ct.cycle
            ct.cycle = ready
