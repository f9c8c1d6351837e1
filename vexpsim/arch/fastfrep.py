"""Vectorised functional execution of FREP loops (design.md, "Simulation strategy").

An FREP body replayed instruction by instruction costs microseconds per instruction; here a
whole FREP (iterations `first..iters-1`) runs as NumPy over all iterations, bit-identical to
the per-instruction path: the same SSR pops and pushes (addresses, repeat, end state), FP
registers, memory and fflags. The kernels are in vexpsim.arch.fastvec.

Static conditions (`plan_frep` returns None otherwise; the caller keeps the slow path):
- every body instruction is one of: scalar fadd/fsub/fmul, fmadd/fmsub/fnmsub/fnmadd,
  fmin/fmax, fsgnj/fsgnjn/fsgnjx in FP64, FP32 or FP16/BF16 (.h, .ah); packed
  vfadd/vfsub/vfmul/vfmin/vfmax/vfsgnj[n|x] (and `.r`), vfmac/vfmre (and `.r`) on FP32, FP16
  or BF16 lanes; vfexp/fexp (VEXP); vf[n]dotpex.s.{h,ah} and vf[n]sumex.s.{h,ah} (FP16/BF16
  into FP32, FPnew's DOTP datapath: vectorised where it is provably exact, fastvec.k_dotp).
  No FP8, division, square root, conversions, compares, vfsum, the `.r` DOTP forms, loads
  or stores;
- every non-stream FP register is either read-only in the body (a constant), written before
  it is read in each iteration (a per-iteration temporary), or a loop-carried ACCUMULATOR:
  touched by exactly one body instruction that reads it once and writes it, as the addend
  of fadd/vfadd/fsub (minuend)/fmadd/fnmsub/vfmac/vfmre/vfdotpex/vfsumex or an operand of
  fmin/fmax/vfmin/vfmax; any other loop-carried register (e.g. a chain through two
  instructions) is refused;
- stagger: the body is unrolled over the stagger steps (whole periods vectorised, a final
  partial period as a second part; any `first`);
- the hart is not tracing (a trace must list every instruction).

Run-time conditions (`run_frep_vectorised` raises CannotVectorise BEFORE changing any state):
a stream register is used with SSRs enabled only if each SSR is only read or only written by
the body and its stream direction matches; every stream has enough elements and lies in
simulated memory; no stream element is read after a write stream wrote its address during the
FREP (in-place maps, read and written at the same instruction, are fine); rounding modes are
valid (add and fused accumulation chains outside round-to-nearest-even are stepped
exactly and only up to _EXACT_MAX iterations); VEXP is used in BF16 mode with the EXP unit
present; accumulation chains converge (below).

Accumulation chains round at every step in order. They are evaluated speculatively: a
candidate sequence (min/max: an exact running reduction on an order-preserving integer key;
add and fused chains in round-to-nearest: np.add.accumulate in the format's own dtype, with
the products rounded first for fused chains) is checked in ONE vectorised pass of the exact
kernel over all steps (each step recomputed from the candidate previous value); from the first
mismatch the chain restarts with the exact value, so the result is exact whatever the
candidate. Flags come from the exact pass. A candidate that fails early is replaced by a
costlier one that is right far more often (FP64 fused chains: a Python-float loop, TwoSum
plus the product's error term; narrow fused and DOTP chains: one NumPy step per iteration
over all lanes). Min/max chains and round-to-nearest add chains without infinities or NaNs
need no verification (see `_trusted`). All the chains of one kind in a body run side by side.
The last candidate steps the exact kernel one iteration at a time (any rounding mode: the
only one for add and fused chains outside round-to-nearest), for at most _EXACT_MAX
iterations. Chains that converge slowly give up after _MAX_ROUNDS windows: the caller then
runs the slow path.

Chains over operands that repeat every q iterations (streams rewinding a buffer) have cheaper
exact forms, tried first: a closed-form sum when every step is exact (`_periodic`); FP64
fused chains in round-to-nearest walk binade by binade, whole periods at a time
(`_binade_walk`); BF16/FP16 add and fused chains stop at a fixed point, when every
accumulator is back at its value of one period before (`_fixed_point`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..isa.semantics import FMODE_DST, FMODE_SRC, SimError
from ..numerics import fparith as fpa
from . import fastvec as fv

__all__ = ["FrepPlan", "CannotVectorise", "plan_frep", "run_frep_vectorised",
           "stagger_variants"]

U64 = np.uint64
_RM = ("rne", "rtz", "rdn", "rup", "rmm")
_SCALAR_FMT = {"fp64": "fp64", "fp32": "fp32", "h": None, "ah": "bf16"}
_SIMD_FMT = {"fp32": "fp32", "h": None, "ah": "bf16"}
_BINOPS = {"add", "sub", "mul", "min", "max", "sgnj", "sgnjn", "sgnjx"}
_NATIVE = {"fp64": np.float64, "fp32": np.float32, "fp16": np.float16}
_UINT = {8: np.uint64, 4: np.uint32, 2: np.uint16}
_MAX_ROUNDS = 200  # chain repair rounds before giving up (then the slow path runs)
_BLOCK = 8192  # elements per kernel call (cache-sized temporaries)
_CHEAP_GAIN = 64  # steps per window below which the cheapest chain candidate is dropped
_CHEAP_WARM = 64  # ... counted from this step on (from n / 16 in shorter chains)
_FIRST_WINDOW = 1024  # rows of a chain's first verification window (then x4 per success)
_EXACT_MAX = 4096  # longest chain rest stepped one iteration at a time (else the slow path)


class CannotVectorise(Exception):
    """A run-time condition of the fast path is not met; no state was changed."""


@dataclass(frozen=True)
class _Step:
    ins: Any
    kind: str  # "binop", "fma", "dotp", "vexp"
    op: str  # binop: add/sub/mul/min/max/sgnj/sgnjn/sgnjx; fma: "fma"; vexp: "exp"
    simd: bool
    spec: str  # format spec of the ISA row ("fp64", "fp32", "h", "ah")
    srcs: tuple[tuple[str, int], ...]  # ("s", ssr) stream, ("t", reg) temporary,
    #                                    ("c", reg) constant, ("a", reg) accumulator
    dst: tuple[str, int]  # ("s", ssr) push, ("t", reg) or ("a", reg)
    pops: tuple[int, ...]  # SSR lanes popped (once each per instruction)
    negate_product: bool = False
    negate_addend: bool = False
    replicate: bool = False
    alias: bool = False  # vexp on '.ah': BF16 whatever fmode says
    acc_pos: int | None = None  # index in srcs of the accumulator ("a"), if any


@dataclass(frozen=True)
class _Flow:
    """The dataflow of the (unrolled) body for one SSR setting."""

    steps: tuple[_Step, ...]
    reads: dict[int, tuple[int, ...]]  # ssr -> steps popping it, in body order
    writes: dict[int, tuple[int, ...]]  # ssr -> steps pushing it
    written: tuple[int, ...]  # non-stream registers written (temporaries, accumulators)


@dataclass(frozen=True)
class FrepPlan:
    """How to vectorise one FREP site: the body dataflow with streaming on and off (for a
    staggered body, the nvar stagger steps unrolled; other rotations and partial periods
    are analysed on first use and cached)."""

    body: tuple[Any, ...]  # the unrolled body (nvar stagger steps)
    nvar: int
    streaming: _Flow | None
    plain: _Flow | None
    variants: tuple[tuple[Any, ...], ...] = ()
    nssr: int = 0
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def costly_chains(self) -> bool:
        """Whether the body accumulates through a fused or DOTP chain: those are verified
        step by step (_evaluate), a fixed cost that only longer loops repay."""
        return any(st.acc_pos is not None and st.kind in ("fma", "dotp")
                   for fl in (self.streaming, self.plain) if fl is not None
                   for st in fl.steps)

    def flow(self, streaming: bool, start: int = 0, count: int | None = None) -> _Flow | None:
        """Dataflow of stagger steps start, start+1, ... (count of them, mod nvar)."""
        count = self.nvar if count is None else count
        if start == 0 and count == self.nvar:
            return self.streaming if streaming else self.plain
        key = (streaming, start, count)
        if key not in self.cache:
            body = [b for i in range(count) for b in self.variants[(start + i) % self.nvar]]
            self.cache[key] = _flow(body, self.nssr if streaming else 0)
        return self.cache[key]


# ---- planning --------------------------------------------------------------------------------

def _describe(ins: Any) -> tuple[str, str, bool, str, list[int], dict] | None:
    """(kind, op, simd, spec, source registers in read order, extras) or None."""
    d = ins.defn
    a = d.args
    sem = d.semantics
    if sem == "fp_arith" and a["op"] in ("add", "sub", "mul") and a["fmt"] in _SCALAR_FMT:
        return "binop", a["op"], False, a["fmt"], [ins.rs1, ins.rs2], {}
    if sem == "fp_minmax" and a["fmt"] in _SCALAR_FMT:
        return "binop", a["op"], False, a["fmt"], [ins.rs1, ins.rs2], {}
    if sem == "fp_sgnj" and a["fmt"] in _SCALAR_FMT:
        op = {"j": "sgnj", "n": "sgnjn", "x": "sgnjx"}[a["mode"]]
        return "binop", op, False, a["fmt"], [ins.rs1, ins.rs2], {}
    if sem == "fp_fma" and a["fmt"] in _SCALAR_FMT:
        return "fma", "fma", False, a["fmt"], [ins.rs1, ins.rs2, ins.rs3], {
            "negate_product": a["negate_product"], "negate_addend": a["negate_addend"]}
    if sem == "simd_binop" and a["op"] in _BINOPS and a["fmt"] in _SIMD_FMT:
        return "binop", a["op"], True, a["fmt"], [ins.rs1, ins.rs2], {
            "replicate": a["replicate"]}
    if sem == "simd_mac" and a["fmt"] in _SIMD_FMT:
        return "fma", "fma", True, a["fmt"], [ins.rs1, ins.rs2, ins.rd], {
            "negate_product": a["negate"], "replicate": a["replicate"]}
    if sem in ("simd_dotpex", "simd_sumex") and a["dst"] == "fp32" and \
            a["src"] in ("h", "ah") and not a.get("replicate", False):
        dot = sem == "simd_dotpex"
        return "dotp", "dotp" if dot else "sumex", True, a["src"], \
            [ins.rs1, ins.rs2, ins.rd] if dot else [ins.rs1, ins.rd], \
            {"negate_product": a["negate"]}
    if sem == "vexp" and a["fmt"] in ("h", "ah"):
        return "vexp", "exp", a["simd"], "ah" if a["fmt"] == "ah" else "h", [ins.rs1], {
            "alias": a["fmt"] == "ah"}
    return None


def _acc_ok(kind: str, op: str, pos: int, extra: dict) -> bool:
    """Can source position `pos` of this instruction be a loop-carried accumulator?"""
    if extra.get("replicate") and pos == 1:
        return False  # `.r`: the accumulator's lane 0 would be broadcast every step
    if kind == "dotp":
        return pos == (2 if op == "dotp" else 1)
    if kind == "binop":
        return op in ("add", "min", "max") or (op == "sub" and pos == 0)
    if kind == "fma":
        return pos == 2 and not extra.get("negate_addend", False)
    return False


def _flow(body: list[Any], nssr: int) -> _Flow | None:
    descs = [_describe(b) for b in body]
    if any(d is None for d in descs):
        return None
    written = {b.rd for b in body if b.rd >= nssr}
    stream_r: dict[int, list[int]] = {}
    stream_w: dict[int, list[int]] = {}
    touch: dict[int, int] = {}  # register -> number of instructions touching it
    for b, (_, _, _, _, srcs, _) in zip(body, descs, strict=True):
        for r in {*srcs, b.rd}:
            touch[r] = touch.get(r, 0) + 1
    steps = []
    have: set[int] = set()  # registers written earlier in this iteration
    for j, (b, (kind, op, simd, spec, srcs, extra)) in enumerate(zip(body, descs, strict=True)):
        ops = []
        pops: list[int] = []
        for pos, r in enumerate(srcs):
            if r < nssr:
                ops.append(("s", r))
                if r not in pops:
                    pops.append(r)
            elif r in have or r not in written:
                ops.append(("t" if r in have else "c", r))
            else:  # loop-carried: only the single-instruction accumulator pattern
                if r != b.rd or touch[r] != 1 or srcs.count(r) != 1 or \
                        not _acc_ok(kind, op, pos, extra):
                    return None
                ops.append(("a", r))
        for r in pops:
            stream_r.setdefault(r, []).append(j)
        if b.rd < nssr:
            dst = ("s", b.rd)
            stream_w.setdefault(b.rd, []).append(j)
        else:
            dst = ("a" if ("a", b.rd) in ops else "t", b.rd)
            have.add(b.rd)
        acc = next((i for i, (k, _) in enumerate(ops) if k == "a"), None)
        steps.append(_Step(b, kind, op, simd, spec, tuple(ops), dst, tuple(pops), **extra,
                           acc_pos=acc))
    if set(stream_r) & set(stream_w):
        return None  # one SSR both read and written: the slow path reports the error
    return _Flow(tuple(steps), {k: tuple(v) for k, v in stream_r.items()},
                 {k: tuple(v) for k, v in stream_w.items()}, tuple(sorted(written)))


def stagger_variants(frep: Any, body: list[Any]) -> list[list[Any]]:
    """The body's instructions for each stagger step of FREP instruction `frep` (its register
    fields incremented as build_frep does), for plan_frep's `variants`."""
    from .functional import _stagger
    smax, smask = frep.extra if len(frep.extra) == 2 else (0, 0)
    return [[_stagger(b, k, smask) if k and smask else b for b in body]
            for k in range(smax + 1)]


def plan_frep(hart: Any, body: list[Any], variants: Any = None) -> FrepPlan | None:
    """Static analysis of one FREP site (cache the result): None if the body cannot be
    vectorised (see the module docstring). `variants`: the body's instructions for each
    stagger step (`stagger_variants(frep, body)`); without stagger `[body]` or None (a single
    list of closures is accepted too: only its length is used)."""
    if getattr(hart, "trace", None) is not None:
        return None
    vs: list[list[Any]]
    if variants is None or len(variants) <= 1:
        vs = [list(body)]
    else:
        vs = [list(v) for v in variants]
        if not all(hasattr(b, "defn") for v in vs for b in v):
            return None  # closures, not instructions: stagger cannot be analysed
    unrolled = [b for v in vs for b in v]
    if not unrolled or any(b.rd is None for b in unrolled):
        return None
    nssr = len(hart.ssrs)
    streaming = _flow(unrolled, nssr)
    plain = _flow(unrolled, 0)
    if streaming is None and plain is None:
        return None
    return FrepPlan(tuple(unrolled), len(vs), streaming, plain,
                    tuple(tuple(v) for v in vs), nssr)


# ---- running ---------------------------------------------------------------------------------

def _fmt(h: Any, st: _Step) -> str:
    """The lane format; DOTP steps: "fp32/<source format>" (lanes are the FP32 results, each
    holding its pair of source elements)."""
    if st.kind == "dotp":
        src = "bf16" if st.spec == "ah" or h.fmode & FMODE_SRC else "fp16"
        return "fp32/" + src
    if st.kind == "vexp":
        if not h.has_exp:
            raise CannotVectorise("no EXP op group (the slow path reports the error)")
        if not st.alias and not h.fmode & FMODE_DST:
            raise CannotVectorise("VEXP in FP16 mode (the slow path reports the error)")
        return "bf16"
    table = _SIMD_FMT if st.simd else _SCALAR_FMT
    f = table[st.spec]
    if f is None:  # '.h': FP16, or BF16 in the alternate destination mode (fmode)
        f = "bf16" if h.fmode & FMODE_DST else "fp16"
    return f


def _rm(h: Any, st: _Step) -> str:
    r = st.ins.rm if not st.simd else None
    if r is None:
        if h.frm > 4:
            raise CannotVectorise(f"invalid dynamic rounding mode frm = {h.frm}")
        r = h.frm
    return _RM[r]


def _regions(mem: Any) -> list[tuple[int, int, np.ndarray]]:
    out = []
    for _, base, size, buf in mem.regions:
        if base % 8 == 0 and size % 8 == 0:
            out.append((base, size, np.frombuffer(buf, dtype="<u8")))
    return out


def _locate(regions: list, addrs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """[(mask, word index, region view)] covering every address, else CannotVectorise."""
    parts = []
    covered = np.zeros(addrs.shape, dtype=bool)
    for base, size, view in regions:
        m = (addrs >= base) & (addrs <= base + size - 8)
        if m.any():
            parts.append((m, (addrs[m] - base) >> 3, view))
            covered |= m
    if not covered.all():
        raise CannotVectorise("a stream address lies outside simulated memory")
    return parts


def _gather(regions: list, addrs: np.ndarray) -> np.ndarray:
    if addrs.size:
        lo, hi = int(addrs.min()), int(addrs.max())
        for base, size, view in regions:  # the common case: one region, no masks
            if base <= lo and hi <= base + size - 8:
                return view[(addrs - base) >> 3]
    out = np.empty(addrs.shape, dtype=U64)
    for m, idx, view in _locate(regions, addrs):
        out[m] = view[idx]
    return out


class _Run:
    """Everything computed before any state changes (prepare), then `commit`. `segs`: the
    (dataflow, repetitions) parts of the FREP in execution order (one, or for a staggered
    body whole periods and a partial period)."""

    def __init__(self, h: Any, segs: list[tuple[_Flow, int]]) -> None:
        self.h = h
        self.regions = _regions(h.mem)
        self.advances: list[tuple[Any, int, int | None]] = []
        offs, t = [], 0
        for f, reps in segs:
            offs.append(t)
            t += reps * len(f.steps)
        rd = [s_ for f, _ in segs for s_ in f.reads]
        wr = [s_ for f, _ in segs for s_ in f.writes]
        if set(rd) & set(wr):
            raise CannotVectorise("an SSR is both read and written by the body")
        # per segment: stream -> (reps, pops or pushes per iteration) values
        self.rvals: list[dict[int, np.ndarray]] = [{} for _ in segs]
        self.wvals: list[dict[int, np.ndarray]] = [
            {s_: np.empty((reps, len(w)), dtype=U64) for s_, w in f.writes.items()}
            for f, reps in segs]
        r_addr, r_time, w_addr, w_time = [], [], [], []
        self.rows = self._row_period(segs, rd, wr)
        for s_ in dict.fromkeys(rd) if self.rows else ():
            # periodic streams: the values of one row period, repeated (_row_period)
            ssr = h.ssrs[s_]
            per_it = len(segs[0][0].reads[s_])
            cnt = segs[0][1] * per_it
            vals = _gather(self.regions, ssr.peek_addresses(self.rows * per_it))
            self.advances.append((ssr, cnt, int(vals[(cnt - 1) % vals.size])))
            self.rvals[0][s_] = vals.reshape(self.rows, per_it)
        for s_ in dict.fromkeys(rd) if not self.rows else ():
            addrs, times, counts = self._stream(s_, segs, offs, False)
            ssr = h.ssrs[s_]
            cnt = len(addrs)
            buffered = min(cnt, ssr._rep_left)
            vals = np.empty(cnt, dtype=U64)
            vals[:buffered] = ssr._cur
            vals[buffered:] = _gather(self.regions, addrs[buffered:])
            self.advances.append((ssr, cnt, int(vals[-1])))
            for i, part in enumerate(np.split(vals, np.cumsum(counts)[:-1])):
                if counts[i]:
                    self.rvals[i][s_] = part.reshape(segs[i][1], -1)
            r_addr.append(addrs[buffered:])
            r_time.append(times[buffered:])
        self.waddrs: dict[int, np.ndarray] = {}
        for s_ in dict.fromkeys(wr):
            addrs, times, _ = self._stream(s_, segs, offs, True)
            _locate(self.regions, addrs)
            self.waddrs[s_] = addrs
            self.advances.append((h.ssrs[s_], len(addrs), None))
            w_addr.append(addrs)
            w_time.append(times)
        if w_addr and r_addr:
            _hazards(np.concatenate(r_addr), np.concatenate(r_time), np.concatenate(w_addr),
                     np.concatenate(w_time))
        self.w_time = np.concatenate(w_time) if w_time else None
        self.flags = 0
        self.regs: dict[int, int] = {}  # registers written so far (the later segments' view)
        for i, (f, reps) in enumerate(segs):
            self._evaluate(i, f, reps)

    def _row_period(self, segs: list, rd: list, wr: list) -> int:
        """q > 0 when every read stream's pops repeat every q iterations and q is well
        below the iteration count (else 0): then the body's operands repeat too, so
        non-carried instructions are evaluated on q iterations and the accumulation chains
        see periodic addends (_chains). Pop k of a stream with element period T
        (Ssr.element_period) and repeat r has the address of pop k + T (r + 1); with R pops
        per iteration, iteration i + q pops what iteration i popped when q R is a multiple
        of T (r + 1). The values repeat too: the FREP reads memory all at once and no
        write stream is allowed here; a part-consumed repeated element (its value read
        earlier) must still be what memory holds. One segment only (no partial stagger
        period)."""
        if len(segs) != 1 or wr or not rd:
            return 0
        flow, reps = segs[0]
        q = 1
        for s_ in dict.fromkeys(rd):
            ssr = self.h.ssrs[s_]
            if ssr.write:
                return 0
            if ssr._rep_left and int.from_bytes(self.h.mem.read(ssr._cur_addr, 8),
                                                "little") != ssr._cur:
                return 0  # memory changed under a part-consumed repeated element
            t = ssr.element_period()
            if t is None:
                return 0
            tp = t * (ssr.repeat + 1)
            per_it = len(flow.reads[s_])
            qs = tp // math.gcd(tp, per_it)
            q = q * qs // math.gcd(q, qs)
            try:
                ssr._plan(reps * per_it, "read")  # the stream delivers all the pops
            except SimError as e:
                raise CannotVectorise(str(e)) from None
        return q if 4 * q <= reps else 0

    def _stream(self, s_: int, segs: list, offs: list, write: bool
                ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Addresses and issue times of all pops (pushes) of SSR s_, and counts per segment."""
        ssr = self.h.ssrs[s_]
        if ssr.write != write:
            raise CannotVectorise(
                f"SSR{s_} is a {'read' if ssr.write is False else 'write'} stream but the "
                f"body {'writes' if write else 'reads'} ft{s_}")
        counts, times = [], []
        for (f, reps), off in zip(segs, offs, strict=True):
            who = (f.writes if write else f.reads).get(s_, ())
            counts.append(reps * len(who))
            times.append(off + (np.arange(reps, dtype=np.int64)[:, None] * len(f.steps) +
                                np.array(who, dtype=np.int64)[None, :]).ravel())
        try:
            addrs = ssr.peek_addresses(sum(counts))
        except SimError as e:
            raise CannotVectorise(str(e)) from None
        return addrs, np.concatenate(times), counts

    # -- evaluation
    def _evaluate(self, seg: int, flow: _Flow, n: int) -> None:
        h = self.h
        regs = self.regs
        rvals, wvals = self.rvals[seg], self.wvals[seg]
        vals: dict[int, np.ndarray] = {}
        chains: dict[tuple, list] = {}
        for j, st in enumerate(flow.steps):
            fmt = _fmt(h, st)
            rm = _rm(h, st) if st.kind != "vexp" else "rne"
            ops: list[Any] = []
            for k, r in st.srcs:
                if k == "s":
                    ops.append(rvals[r][:, flow.reads[r].index(j)])
                elif k == "t":
                    ops.append(vals[r])
                elif k == "c":
                    ops.append(np.full(1, regs.get(r, h.f[r]), dtype=U64))
                else:
                    ops.append(None)
            if st.acc_pos is not None:
                # nothing else reads an accumulator: chains run after the body, grouped
                key = (st.kind, st.op, st.simd, fmt, rm, st.negate_product, st.replicate,
                       st.acc_pos)
                r = st.dst[1]
                chains.setdefault(key, []).append((st, ops, regs.get(r, h.f[r])))
                continue
            res, fl = _compute(st, fmt, rm, ops)
            self.flags |= fl
            kd, rd = st.dst
            if kd == "s":
                wvals[rd][:, flow.writes[rd].index(j)] = np.broadcast_to(res, (n,))
            else:
                vals[rd] = res
        rows = self.rows or n  # operand rows: n, or one row period (_row_period)
        for (_, _, _, fmt, rm, _, _, _), group in chains.items():
            finals, fl = _chains(group, fmt, rm, n, rows)
            self.flags |= fl
            for (st, _, _), word in zip(group, finals, strict=True):
                vals[st.dst[1]] = word
        for r in flow.written:
            v = vals[r]
            regs[r] = int(v[(n - 1) % rows] if v.shape[0] == rows else v[-1])

    def commit(self) -> None:
        h = self.h
        for ssr, cnt, last in self.advances:
            ssr.advance(cnt, last)
        if self.waddrs:
            addrs = np.concatenate(list(self.waddrs.values()))
            vals = np.concatenate([w[s_].ravel() for s_ in self.waddrs for w in self.wvals
                                   if s_ in w])
            addrs, vals = _last_writes(addrs, self.w_time, vals)
            for m, idx, view in _locate(self.regions, addrs):
                view[idx] = vals[m]
        for r, v in self.regs.items():
            h.f[r] = v
        h.fflags |= self.flags


def _slots(*addrs: np.ndarray) -> tuple[list[np.ndarray], int] | None:
    """Dense word indices of the addresses over their common span (None if the span is
    large: then the sorting methods run)."""
    lo = min(int(a.min()) for a in addrs)
    hi = max(int(a.max()) for a in addrs)
    size = ((hi - lo) >> 3) + 1
    if size > 1 << 24:
        return None
    return [(a - lo) >> 3 for a in addrs], size


def _hazards(ra: np.ndarray, rt: np.ndarray, wa: np.ndarray, wt: np.ndarray) -> None:
    """CannotVectorise if an address is read after a write to it (read-before-write at the
    same instruction is the in-place case and fine)."""
    if not ra.size or not wa.size or ra.max() < wa.min() or wa.max() < ra.min():
        return
    big = np.iinfo(np.int64).max
    dense = _slots(ra, wa)
    if dense is not None:
        (ir, iw), size = dense
        first_w = np.full(size, big, dtype=np.int64)
        np.minimum.at(first_w, iw, wt)
        if (rt > first_w[ir]).any():
            raise CannotVectorise("a stream reads an address after a write stream wrote it")
        return
    common = np.intersect1d(ra, wa)
    if not common.size:
        return
    first_w = np.full(common.size, big, dtype=np.int64)
    last_r = np.full(common.size, -1, dtype=np.int64)
    iw = np.searchsorted(common, wa)
    mw = (iw < common.size) & (common[np.minimum(iw, common.size - 1)] == wa)
    np.minimum.at(first_w, iw[mw], wt[mw])
    ir = np.searchsorted(common, ra)
    mr = (ir < common.size) & (common[np.minimum(ir, common.size - 1)] == ra)
    np.maximum.at(last_r, ir[mr], rt[mr])
    if (last_r > first_w).any():
        raise CannotVectorise("a stream reads an address after a write stream wrote it")


def _last_writes(addrs: np.ndarray, times: np.ndarray, vals: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The pushes that survive: for an address pushed several times, the latest one."""
    d = np.diff(addrs)
    if len(addrs) < 2 or (d > 0).all() or (d < 0).all():
        return addrs, vals  # one monotonic stream: no address repeats
    dense = _slots(addrs)
    if dense is not None:
        (idx,), size = dense
        last = np.full(size, -1, dtype=np.int64)
        np.maximum.at(last, idx, times)
        keep = last[idx] == times
        return addrs[keep], vals[keep]
    order = np.argsort(times, kind="stable")
    addrs, vals = addrs[order], vals[order]
    _, rev_i = np.unique(addrs[::-1], return_index=True)
    keep = len(addrs) - 1 - rev_i
    return addrs[keep], vals[keep]


# ---- one instruction over many iterations --------------------------------------------------

def _lanes(st: _Step, fmt: str, words: np.ndarray, pos: int) -> np.ndarray:
    """64-bit register words (...,) -> operand encodings (..., L)."""
    fmt = fmt.split("/")[0]
    if st.simd:
        ln = fv.lanes_of(words, fmt)
        if st.replicate and pos == 1:
            ln = np.repeat(ln[..., :1], ln.shape[-1], axis=-1)
        return ln
    w = fv.FORMATS[fmt][0]
    if w == 64:
        return words[..., None]
    up = U64(((1 << 64) - 1) ^ ((1 << w) - 1))
    ok = (words & up) == up  # NaN-boxed, else the canonical NaN (semantics._unbox)
    return np.where(ok, words & ~up, U64(fpa.canonical_nan(fmt)))[..., None]


def _words(st: _Step, fmt: str, lanes: np.ndarray) -> np.ndarray:
    fmt = fmt.split("/")[0]
    if st.simd:
        return fv.pack_lanes(lanes, fmt)
    w = fv.FORMATS[fmt][0]
    if w == 64:
        return lanes[:, 0]
    return lanes[:, 0] | U64(((1 << 64) - 1) ^ ((1 << w) - 1))


def _kernel(st: _Step, fmt: str, rm: str, ops: list[np.ndarray], flags_or: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """The vectorised semantics on lane encodings (any common shape); flags_or: only the OR
    of the flags is needed."""
    shape = np.broadcast_shapes(*[o.shape for o in ops])
    ops = [np.broadcast_to(o, shape).ravel() for o in ops]
    size = ops[0].size
    if size > _BLOCK:  # blocks that stay in the cache: the kernels make many temporaries
        res = np.empty(size, dtype=U64)
        fl = np.empty(size, dtype=np.uint8)
        for k in range(0, size, _BLOCK):
            res[k:k + _BLOCK], fl[k:k + _BLOCK] = _kernel1(
                st, fmt, rm, [o[k:k + _BLOCK] for o in ops], flags_or)
    else:
        res, fl = _kernel1(st, fmt, rm, ops, flags_or)
    return res.reshape(shape), fl.reshape(shape)


def _kernel1(st: _Step, fmt: str, rm: str, ops: list[np.ndarray], flags_or: bool = False
             ) -> tuple[np.ndarray, np.ndarray]:
    if st.kind == "dotp":
        res, fl = fv.k_dotp(ops[0], ops[1] if st.op == "dotp" else None, ops[-1],
                            fmt.split("/")[1], rm, st.negate_product)
    elif st.kind == "vexp":
        res, fl = fv.k_vexp(ops[0])
    elif st.kind == "fma":
        res, fl = fv.k_fma(ops[0], ops[1], ops[2], fmt, rm, st.negate_product,
                           st.negate_addend, flags_or)
    elif st.op in ("add", "sub"):
        res, fl = fv.k_add(ops[0], ops[1], fmt, rm, st.op == "sub")
    elif st.op == "mul":
        res, fl = fv.k_mul(ops[0], ops[1], fmt, rm)
    elif st.op in ("min", "max"):
        res, fl = fv.k_minmax(ops[0], ops[1], fmt, st.op == "max")
    else:
        res, fl = fv.k_sgnj(ops[0], ops[1], fmt, {"sgnj": "j", "sgnjn": "n", "sgnjx": "x"}[
            st.op])
    return res, fl


def _compute(st: _Step, fmt: str, rm: str, ops: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """Result words (m,) of a non-carried instruction, and the OR of its flags."""
    lanes = [_lanes(st, fmt, o, i) for i, o in enumerate(ops)]
    res, fl = _kernel(st, fmt, rm, lanes, flags_or=True)
    return _words(st, fmt, res), int(np.bitwise_or.reduce(fl, axis=None)) if fl.size else 0


# ---- accumulation chains ----------------------------------------------------------------------

def _key(bits: np.ndarray, fmt: str, want_max: bool) -> np.ndarray:
    """Order-preserving int64 key (-0 < +0); NaNs get the neutral sentinel."""
    w = fv.FORMATS[fmt][0]
    sign = (bits >> U64(w - 1)) & U64(1)
    mag = (bits & U64((1 << (w - 1)) - 1)).astype(np.int64)
    key = np.where(sign == 1, -mag - 1, mag)
    sentinel = np.iinfo(np.int64).min if want_max else np.iinfo(np.int64).max
    return np.where(fv.is_nan(bits, fmt), sentinel, key)


def _unkey(key: np.ndarray, fmt: str, want_max: bool) -> np.ndarray:
    w = fv.FORMATS[fmt][0]
    sentinel = np.iinfo(np.int64).min if want_max else np.iinfo(np.int64).max
    bits = np.where(key < 0, (-(key + 1)).astype(U64) | U64(1 << (w - 1)),
                    np.maximum(key, 0).astype(U64))
    return np.where(key == sentinel, U64(fpa.canonical_nan(fmt)), bits)


def _native(bits: np.ndarray, fmt: str) -> np.ndarray:
    """Encodings viewed as the format's NumPy dtype (bfloat16 from ml_dtypes)."""
    if fmt == "bf16":
        import ml_dtypes
        return bits.astype(np.uint16, copy=False).view(ml_dtypes.bfloat16)
    dt = _NATIVE[fmt]
    return bits.astype(_UINT[np.dtype(dt).itemsize], copy=False).view(dt)


def _from_native(vals: np.ndarray) -> np.ndarray:
    """Encodings (unsigned dtype of the same width) of native-dtype values."""
    return vals.view(_UINT[vals.dtype.itemsize])


def _to_native_f64(v: np.ndarray, fmt: str) -> np.ndarray:
    """Round binary64 values to the format's native dtype (a candidate: may double-round)."""
    if fmt == "bf16":
        import ml_dtypes
        return v.astype(ml_dtypes.bfloat16)
    return v.astype(_NATIVE[fmt])


_FLOAT_OF = {("fp64", 8): np.float64, ("fp32", 4): np.float32, ("fp16", 2): np.float16}


def _nan_mask(c: np.ndarray, fmt: str) -> np.ndarray:
    """fv.is_nan, as one isnan pass on a float view where the dtype matches the format (the
    same predicate: exponent all ones and a nonzero fraction)."""
    dt = _FLOAT_OF.get((fmt, c.dtype.itemsize))
    if dt is not None and c.dtype.kind == "u" and c.flags.c_contiguous:
        return np.isnan(c.view(dt))
    return fv.is_nan(c, fmt)


def _canon(c: np.ndarray, fmt: str) -> np.ndarray:
    """NaNs replaced by the canonical NaN (every NaN an FP operation returns); no copy when
    there is none."""
    nan = _nan_mask(c, fmt)
    if not nan.any():
        return c
    return np.where(nan, c.dtype.type(fpa.canonical_nan(fmt)), c)


def _candidates(st: _Step, fmt: str, rm: str, others: list, period: list | None = None
                ) -> list:
    """Functions (acc0 (L,), slice) -> candidate accumulator values (m, L), cheapest first;
    the last one is exact (_exact_steps). `period`: the operands of one row period when
    `others` repeats them (fused chains compute their products on it once)."""
    pos = st.acc_pos
    if st.kind == "binop" and st.op in ("min", "max"):
        x = others[1 - pos]
        want = st.op == "max"

        def mm(a0: np.ndarray, sl: slice) -> np.ndarray:
            xs = x[sl] if x.shape[0] > 1 else np.broadcast_to(x, (sl.stop - sl.start,
                                                                   a0.shape[0]))
            keys = np.vstack([_key(a0, fmt, want)[None], _key(xs, fmt, want)])
            run = (np.maximum if want else np.minimum).accumulate(keys, axis=0)[1:]
            return _unkey(run, fmt, want)
        return [mm]
    exact = [_exact_steps(st, fmt, rm, others)]
    if rm != "rne":
        return exact
    if st.kind == "dotp":
        dst, src = fmt.split("/")
        with np.errstate(all="ignore"):
            def val(o: np.ndarray, hi: bool) -> np.ndarray:
                return fv.to_f64((o.astype(U64) >> U64(16 if hi else 0)) & U64(0xFFFF), src)
            if st.op == "dotp":
                p = val(others[0], False) * val(others[1], False) + \
                    val(others[0], True) * val(others[1], True)
            else:
                p = val(others[0], False) + val(others[0], True)
            if st.negate_product:
                p = -p
            x = _from_native(p.astype(np.float32))
        return [_accumulate(x, dst), _stepper(p, dst), *exact]
    sbit = 1 << (fv.FORMATS[fmt][0] - 1)
    if st.kind == "binop" and st.op in ("add", "sub"):
        x = others[1 - pos] ^ sbit if st.op == "sub" else others[1 - pos]
        return [_accumulate(x, fmt), *exact]
    if st.kind != "fma":
        return exact
    src = others if period is None else period
    sh = np.broadcast_shapes(src[0].shape, src[1].shape)
    a = np.broadcast_to(fv.to_f64(src[0], fmt), sh)
    b = np.broadcast_to(fv.to_f64(src[1], fmt), sh)
    if st.negate_product:
        a = -a
    n = others[0].shape[0]

    def full(v: np.ndarray) -> np.ndarray:  # one row period -> all n rows
        return v if period is None else _tile_rows(v, n)
    with np.errstate(all="ignore"):
        p = a * b  # exact for the narrow formats, RN for FP64
        if fmt == "fp64":
            fin = np.isfinite(p)
            pl = np.empty(sh)
            step = max(1, _BLOCK // max(1, sh[1]))
            for k in range(0, sh[0], step):  # cache-sized blocks
                _, pl[k:k + step] = fv._two_prod(np.where(fin[k:k + step], a[k:k + step], 0.0),
                                                 np.where(fin[k:k + step], b[k:k + step], 0.0))
            pl = np.where(np.isfinite(pl), pl, 0.0)
            # the addends rounded to odd (p = ph + pl exactly, |pl| <= ulp(ph) / 2): once
            # the sum's ulp is 4 ulp(ph) or more, c + RO(p) = RO(c + p) on ph's grid (round
            # to odd picks the odd neighbour, unchanged by adding c, an even multiple of that
            # grid) and RN of that is RN(c + p) (Boldo & Melquiond, IEEE TC 57(4), 2008): the
            # plain RN products instead go wrong whenever c + ph is a tie, which for a
            # periodic product sequence repeats at every pass while c stays in a binade
            ro = _from_native(fv.round_odd(p, pl))
            # where the product is in k_mul's domain (pl exact, ph normal): the biased
            # exponent of ph plus 4, else one no finite exponent reaches (see _chain_proof)
            ea, eb = fv._exp64(a.view(U64)), fv._exp64(b.view(U64))
            safe = (ea >= -1022) & (eb >= -1022) & (ea <= 995) & (eb <= 995) & \
                (ea + eb >= -918) & (ea + eb <= 1020) & (p != 0)
            lim = np.where(safe, (p.view(U64) >> U64(52)) & U64(0x7FF), U64(1 << 12)) + U64(4)
            p, pl, ro, lim = full(p), full(pl), full(ro), full(lim)
            cheap = _accumulate(ro, fmt)
            cheap.proof = _chain_proof(p, pl, lim, fmt)
            return [cheap, _fma64_loop(p, pl), *exact]
        # narrow formats: p is exact in binary64. Its round-to-odd at the format's precision
        # P (truncated to P significant bits, the last one set when any dropped bit is) is
        # exactly representable where p is a normal number of the format; the same argument
        # as for FP64 makes that candidate right once the sums are well above the products
        _, mb, bias, _ = fv.FORMATS[fmt]
        low = U64((1 << (52 - mb)) - 1)
        pb = np.ascontiguousarray(p).view(U64)
        ro64 = np.where((pb & low) != 0, (pb & ~low) | (low + U64(1)), pb).view(np.float64)
        ro = _from_native(_to_native_f64(ro64, fmt))
        e = (pb >> U64(52)) & U64(0x7FF)
        safe = np.isfinite(p) & (p != 0) & (e >= 1023 + 1 - bias) & (e <= 1023 + bias - 5)
        lim = np.where(safe, e, U64(1 << 12)) + U64(4)
        p, ro, lim = full(p), full(ro), full(lim)
        cheap = _accumulate(ro, fmt)
        cheap.proof = _chain_proof(p, None, lim, fmt)
    return [cheap, _stepper(p, fmt), *exact]


def _tile_rows(v: np.ndarray, n: int) -> np.ndarray:
    """np.tile(v, (reps, 1))[:n] for (q, L) v: rows repeated to n rows (one broadcast copy)."""
    q = v.shape[0]
    reps = -(-n // q)
    out = np.empty((reps, q) + v.shape[1:], dtype=v.dtype)
    out[...] = v
    return out.reshape((reps * q,) + v.shape[1:])[:n]


def _exact_steps(st: _Step, fmt: str, rm: str, others: list) -> Any:
    """The last resort: the exact kernel one iteration at a time (any rounding mode)."""
    pos = st.acc_pos

    def run(a0: np.ndarray, sl: slice) -> np.ndarray:
        m = sl.stop - sl.start
        out = np.empty((m, a0.shape[0]), dtype=U64)
        acc = a0.astype(U64)[None]
        rows = [None if o is None else o[sl] for o in others]
        for k in range(m):
            res, _ = _kernel(st, fmt, rm, [acc if i == pos else r[k:k + 1]
                                           for i, r in enumerate(rows)])
            acc = res
            out[k] = res[0]
        return out
    return run


def _accumulate(x: np.ndarray, fmt: str) -> Any:
    """acc_k+1 = acc_k + x_k rounded in the format's dtype (np.add.accumulate)."""
    def add(a0: np.ndarray, sl: slice) -> np.ndarray:
        m = sl.stop - sl.start
        xs = x[sl] if x.shape[0] > 1 else np.broadcast_to(x, (m, a0.shape[0]))
        nat = _native(a0[None], fmt)
        seq = np.empty((m + 1, a0.shape[0]), dtype=nat.dtype)
        seq[0] = nat[0]
        seq[1:] = _native(xs, fmt)
        with np.errstate(all="ignore"):
            np.add.accumulate(seq, axis=0, out=seq)
        return _canon(_from_native(seq[1:]), fmt)
    return add


def _chain_proof(ph: np.ndarray, pl: np.ndarray | None, lim: np.ndarray, fmt: str) -> Any:
    """Rows of a fused chain whose candidate (the products rounded to odd, accumulated in the
    format: _candidates) is right by proof, and rows proven inexact. Step k: c_k (prev),
    c_(k+1) = RN(c_k + RO(p_k)) (the candidate), p_k = ph_k + pl_k exactly (narrow formats:
    p = ph exact, pl None); P the format's precision, E(.) the exponent. If E(c_k) and
    E(c_(k+1)) are both >= E(p_k) + 4 (`lim`, which also excludes products outside the
    domain where p and RO(p) are exact: FP64 k_mul's, the narrow format's normal range),
    both finite:
    - RO(p) is the round-to-odd of p on the grid g = 2^(E(p)-P+1) (P bits in p's binade;
      E(p) <= E(ph)); c_k is a multiple of its ulp >= 2g, an even multiple of g, so
      c_k + RO(p) = RO_g(c_k + p);
    - x = c_k + p has E(x) >= E(c_(k+1)) - 1 >= E(p) + 3, so every RN breakpoint near x
      (format numbers and midpoints, spacing >= 2^(E(x)-P)) is a multiple of 4g, an even
      multiple: x and RO_g(x) lie between the same two breakpoints (or are equal), so
      RN(RO_g(x)) = RN(x): the candidate is the fused result (Boldo & Melquiond's
      round-to-odd argument, IEEE TC 57(4), 2008); it is normal, so NX is its only flag;
    - |p| < 2^(E(p)+1) <= |c_k| / 8, so c_(k+1) is within a factor 2 of c_k with the same
      sign and d = c_(k+1) - c_k is exact in binary64 (Sterbenz); the step is exact iff
      d = p, i.e. pl = 0 and d = ph (FP64: p with pl != 0 is no binary64 number). NX iff
      some step is not."""
    m11 = U64(0x7FF)

    def exps(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = fv.to_f64(v, fmt)
        return f, (np.ascontiguousarray(f).view(U64) >> U64(52)) & m11

    def check(prev: np.ndarray, c: np.ndarray, sl: slice, need_inexact: bool
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """(rows proven right, rows proven inexact or None). prev is c shifted down one row
        behind the chain's previous value (_verified), so only its first row is decoded."""
        f1, e1 = exps(c)
        f0, e0 = exps(prev[:1])
        lo = lim[sl]
        good = (e1 >= lo) & (e1 != m11)  # c_(k+1) of each row
        good[1:] &= (e1[:-1] >= lo[1:]) & (e1[:-1] != m11)  # c_k: the row before's result
        good[0] &= (e0[0] >= lo[0]) & (e0[0] != m11)
        ok = good.all(axis=1)
        if not need_inexact:
            return ok, None
        d = np.empty_like(f1)
        with np.errstate(all="ignore"):
            d[0] = f1[0] - f0[0]
            np.subtract(f1[1:], f1[:-1], out=d[1:])
        bad = d != ph[sl]
        if pl is not None:
            bad |= pl[sl] != 0
        return ok, bad.any(axis=1)
    return check


_LOOPS: dict[int, Any] = {}


def _fma64_steps(k: int) -> Any:
    """A Python function stepping k FP64 fused chains together (straight-line code per
    iteration: the loop overhead is shared by the k chains)."""
    if k not in _LOOPS:
        a = [f"a{i}" for i in range(k)]
        body = "".join(
            f"        s = a{i} + h[{i}]\n        bb = s - a{i}\n"
            f"        a{i} = s + (((a{i} - (s - bb)) + (h[{i}] - bb)) + lo[{i}])\n"
            for i in range(k))
        src = (f"def steps(accs, hs, ls):\n    {', '.join(a)}, = accs\n    out = []\n"
               f"    app = out.append\n    for h, lo in zip(hs, ls):\n{body}"
               f"        app(({', '.join(a)},))\n    return out\n")
        ns: dict = {}
        exec(src, ns)  # noqa: S102 - generated from the template above only
        _LOOPS[k] = ns["steps"]
    return _LOOPS[k]


def _fma64_loop(ph: np.ndarray, pl: np.ndarray) -> Any:
    """FP64 fused chains acc + (ph + pl) stepped with Python floats: RN(s + RN(e + pl)) with
    (s, e) = TwoSum(acc, ph); wrong only when RN(e + pl) crosses a rounding boundary of s
    (then the verification repairs it)."""
    def loop(a0: np.ndarray, sl: slice) -> np.ndarray:
        m = sl.stop - sl.start
        cols = a0.shape[0]
        out = np.empty((m, cols))
        accs = a0.astype(U64).view(np.float64).tolist()
        for c in range(0, cols, 8):
            e = min(cols, c + 8)
            hs = np.broadcast_to(ph, (ph.shape[0] if ph.shape[0] > 1 else sl.stop,
                                      ph.shape[1]))[sl, c:e].tolist()
            ls = np.broadcast_to(pl, (pl.shape[0] if pl.shape[0] > 1 else sl.stop,
                                      pl.shape[1]))[sl, c:e].tolist()
            out[:, c:e] = _fma64_steps(e - c)(accs[c:e], hs, ls)
        return _canon(out.view(U64), "fp64")
    return loop


def _stepper(p: np.ndarray, fmt: str) -> Any:
    """Narrow fused chain, one NumPy step per iteration over all lanes: the exact binary64
    sum rounded to the format's dtype (double rounding possible: a candidate)."""
    def step(a0: np.ndarray, sl: slice) -> np.ndarray:
        m = sl.stop - sl.start
        ps = p[sl] if p.shape[0] > 1 else np.broadcast_to(p, (m, a0.shape[0]))
        acc = fv.to_f64(a0, fmt)
        out = np.empty((m, a0.shape[0]), dtype=_UINT[fv.FORMATS[fmt][0] // 8])
        with np.errstate(all="ignore"):
            for k in range(m):
                nat = _to_native_f64(acc + ps[k], fmt)
                out[k] = _from_native(nat)
                acc = nat.astype(np.float64)
        return _canon(out, fmt)
    return step


def _chains(group: list[tuple[_Step, list, int]], fmt: str, rm: str, n: int,
            rows: int | None = None) -> tuple[list[np.ndarray], int]:
    """Run accumulator instructions of one kind over n iterations, their lanes side by side:
    (final word (1,) of each, flags). `rows` < n: the operands are given for `rows`
    iterations and repeat with that period."""
    rows = n if rows is None else rows
    st = group[0][0]
    pos = st.acc_pos
    k = len(group)
    # (k, L) accumulator lanes and (n, k, L) operand lanes, flattened to k * L columns
    acc = _lanes(st, fmt, np.array([w for _, _, w in group], dtype=U64), pos)
    L = acc.shape[-1]
    acc = acc.reshape(k * L)
    others: list[np.ndarray | None] = []
    for i in range(len(group[0][1])):
        if i == pos:
            others.append(None)
            continue
        cols = [ops[i] for _, ops, _ in group]
        if all(c.shape[0] == 1 for c in cols):  # constants: one row
            words = np.concatenate(cols)[None, :]
        elif all(c.shape[0] == rows for c in cols):
            words = np.stack(cols, axis=1)
        else:
            words = np.stack([np.broadcast_to(c, (rows,)) for c in cols], axis=1)
        ln = np.ascontiguousarray(_lanes(st, fmt, words, i)).reshape(words.shape[0], k * L)
        others.append(np.broadcast_to(ln, (rows, k * L)))  # constants: a broadcast view
    done = period = None
    if rows < n:
        done = _periodic(st, fmt, rm, acc, others, n)
        if done is None and fmt == "fp64" and st.kind == "fma" and rm == "rne" and \
                rows * _WALK_MIN_REPEATS <= n:
            done = _binade_walk(st, acc, others, n)
        if done is None and fmt in ("bf16", "fp16") and st.kind == "fma":
            done = _fixed_point(st, fmt, rm, acc, others, n, rows)
        if done is None:  # the general path on all n iterations
            period = others
            others = [_rows(o, n) for o in others]
    acc, flags = done if done is not None else _general(st, fmt, rm, acc, others, n, period,
                                                        rows if rows < n else None)
    words = _words(st, fmt, acc.reshape(k, L))
    return [words[c:c + 1] for c in range(k)], flags


def _rows(o: np.ndarray | None, n: int) -> np.ndarray | None:
    """Operands of one row period (or a broadcast constant row) repeated to n rows."""
    if o is None:
        return None
    return np.broadcast_to(o[:1], (n, o.shape[1])) if o.strides[0] == 0 else _tile_rows(o, n)


def _general(st: _Step, fmt: str, rm: str, acc: np.ndarray, others: list, n: int,
             period: list | None = None, q: int | None = None) -> tuple[np.ndarray, int]:
    """A chain over the n rows of `others`: _trusted, else _verified (`period`: see
    _candidates; q: the rows repeat every q, see _trusted_add)."""
    done = _trusted(st, fmt, rm, acc, others, n, q)
    if done is not None:
        return done
    return _verified(st, fmt, rm, acc, others, _candidates(st, fmt, rm, others, period), n)


_FIX_ROWS = 2048  # first rows evaluated before _fixed_point looks for a fixed point (x4 each)


def _fixed_point(st: _Step, fmt: str, rm: str, acc: np.ndarray, others: list, n: int, q: int
                 ) -> tuple[np.ndarray, int] | None:
    """Narrow fused chains over operands repeating every q rows, in blocks, stopping early
    where the accumulators stop moving (a BF16 sum of products below half its ulp; add
    chains stop inside _trusted_add):
    (acc_n, flags), or None (CannotVectorise: the caller's general path decides). The state
    of the chains at row k is
    (acc_k, k mod q). The general path runs a block of rows ending at a row k = n (mod q),
    then q more: if every accumulator is back at its value of q rows before, each later
    period repeats that one exactly, so acc_n = acc_k and the flags are those already seen;
    else the next block (4x longer) continues from there, and the last one runs to n."""
    pos, flags, chunk = 0, 0, q * max(1, _FIX_ROWS // q) + n % q

    def run(a0: np.ndarray, count: int) -> tuple[np.ndarray, int]:
        ops = [None if o is None else
               _rows(np.roll(o, -(pos % q), axis=0) if o.strides[0] else o, count)
               for o in others]
        return _general(st, fmt, rm, a0, ops, count)
    try:
        while pos + chunk + q < n:
            acc_a, fl = run(acc, chunk)
            pos += chunk
            acc, fl_b = run(acc_a, q)
            pos += q
            flags |= fl | fl_b
            if np.array_equal(acc_a, acc):
                return acc, flags
            chunk = 4 * (chunk - chunk % q)  # = 0 (mod q): the next block ends = n too
        acc, fl = run(acc, n - pos)  # no fixed point: the rest from here
    except CannotVectorise:
        return None
    return acc, flags | fl


def _snan_any(bits: np.ndarray, fmt: str) -> bool:
    qbit = 1 << (fv.FORMATS[fmt][1] - 1)
    return bool((fv.is_nan(bits, fmt) & ((bits & qbit) == 0)).any())


def _trusted(st: _Step, fmt: str, rm: str, acc: np.ndarray, others: list, n: int,
             q: int | None = None) -> tuple[np.ndarray, int] | None:
    """Chains whose candidate is exact by construction, flags computed directly; None when
    the general verification must run.
    - min/max: the running reduction on the order key is the chain (NaN and +-0 rules
      included); the only flag is NV, raised iff some operand is a signaling NaN.
    - add/sub in RNE without infinities or NaNs: np.add.accumulate in the format's dtype
      rounds correctly at every step (IEEE binary64/binary32; binary16 and bfloat16 add in
      binary32 and round once more, innocuous since 24 >= 2p + 1: Figueroa, "When is double
      rounding innocuous?", SIGNUM Newsl. 30(3), 1995). An addition never underflows
      (tiny sums are exact) and cannot overflow without producing an infinity, so the flags
      are NX, raised iff some step is inexact.
    - fused chains (RNE) whose products are all exact in the format: an add chain of the
      products (checked with the exact multiply kernel: no flag on any product).
    q: the operand rows repeat every q rows (_trusted_add may then stop early)."""
    sbit = 1 << (fv.FORMATS[fmt.split("/")[0]][0] - 1)
    if st.kind == "fma" and rm == "rne":
        # every product exact in the format (no flag): the fused chain is an add chain
        a, b = others[0], others[1]
        if fv.is_special(acc, fmt).any():
            return None
        x = _exact_products(a, b, fmt)
        if x is None:
            return None
        return _trusted_add(acc, x ^ sbit if st.negate_product else x, fmt, n,
                            _accumulate(x ^ sbit if st.negate_product else x, fmt), q)
    if st.kind != "binop":
        return None
    pos = st.acc_pos
    x = others[1 - pos]
    if st.op in ("min", "max"):
        return _minmax_final(acc, x, fmt, st.op == "max")
    if not (st.op in ("add", "sub") and rm == "rne"):
        return None
    xs = x ^ sbit if st.op == "sub" else x
    return _trusted_add(acc, xs, fmt, n, _accumulate(xs, fmt), q)


def _periodic(st: _Step, fmt: str, rm: str, acc: np.ndarray, others: list, n: int
              ) -> tuple[np.ndarray, int] | None:
    """Add and fused chains (RNE) whose operands repeat every `rows` iterations (the arrays in
    `others` hold one period) and whose every partial sum is exact: _periodic_sum on the
    addends (fused: the products, when all are exact in the format); min/max chains: the
    extremum over one period (_minmax_final); else None."""
    if st.kind == "binop" and st.op in ("min", "max"):  # any rounding mode: none applies
        # n >= rows: every row of the period occurs, and the final value is the extremum
        return _minmax_final(acc, others[1 - st.acc_pos], fmt, st.op == "max")
    if rm != "rne" or st.kind not in ("fma", "binop") or "/" in fmt:
        return None
    sbit = 1 << (fv.FORMATS[fmt][0] - 1)  # a Python int: the lane dtype is kept
    if st.kind == "fma":
        x = _exact_products(others[0], others[1], fmt)
        if x is None:
            return None
        return _periodic_sum(acc, x ^ sbit if st.negate_product else x, fmt, n)
    if st.op not in ("add", "sub"):
        return None
    x = others[1 - st.acc_pos]
    return _periodic_sum(acc, x ^ sbit if st.op == "sub" else x, fmt, n)


_WALK_STEPS = 96  # stepped (emulated) steps per chain before _binade_walk gives up
# _binade_walk's tables cost about 2 x signs x binades x q exact steps per chain (q: the
# operands' period), the general path about n: the walk only when the period repeats at
# least this often (measured, bench: q = 8 repeating 2048 times, walk 2-3x faster; q = 256
# repeating 64 or 256 times, the general path as fast or faster)
_WALK_MIN_REPEATS = 512


def _fma_ro(c: float, ph: float, pl: float) -> float:
    """RN(c + (ph + pl)) for an exact product ph + pl (Dekker), emulated with Python floats:
    (th, tl) = TwoSum(c, ph), v = RO(tl + pl), RN(th + v) (Boldo & Melquiond's FMA by
    round-to-odd, IEEE TC 57(4), 2008). A candidate: _binade_walk checks every one with
    the exact kernel."""
    th = c + ph
    bb = th - c
    tl = (c - (th - bb)) + (ph - bb)
    v = tl + pl
    bb = v - tl
    err = (tl - (v - bb)) + (pl - bb)
    if err != 0.0 and (v / math.ulp(v)) % 2.0 == 0.0:  # inexact, even: the odd neighbour
        v = math.nextafter(v, math.inf if err > 0.0 else -math.inf)
    return th + v


def _window_extrema(x: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and maximum of x[:, :, r:r + q] for r = 0..q-1 (x: 2q - 1 entries on axis 2),
    by doubling windows (O(q log q); a sliding-window view costs O(q^2), which made long
    operand periods slower than the general path)."""
    mn = mx = x
    w = 1
    while 2 * w <= q:  # mn[:, :, i] = min of x[:, :, i:i + 2w]
        mn = np.minimum(mn[:, :, :-w], mn[:, :, w:])
        mx = np.maximum(mx[:, :, :-w], mx[:, :, w:])
        w *= 2
    # a window of q: two overlapping windows of w (w <= q < 2w)
    return (np.minimum(mn[:, :, :q], mn[:, :, q - w:2 * q - w]),
            np.maximum(mx[:, :, :q], mx[:, :, q - w:2 * q - w]))


def _binade_walk(st: _Step, acc: np.ndarray, others: list, n: int
                 ) -> tuple[np.ndarray, int] | None:
    """FP64 fused chains in RNE, acc_(k+1) = RN(acc_k + a_k b_k), with operands repeating
    every q = rows iterations ((q, K) arrays in `others`; each column one chain): (acc_n,
    flags), or None (the general path then runs). Cost independent of n.

    While acc stays in one binade [2^E, 2^(E+1)) (or its negative), where the binary64
    numbers are the multiples of u = 2^(E-52): for acc_k a multiple of u and
    acc_k + d_k in [2^E + u, 2^(E+1) - u] with d_k = RN(rep + p_k) - rep for a representative
    rep of the binade, RN(acc_k + p_k) = acc_k + d_k, unless p_k is a tie (an odd multiple
    of u/2; then d_k depends on the parity of rep/u, so a second representative rep + u
    exposes it): the increments repeat with the operands. In units of u the chain is then
    integer arithmetic over whole periods: jump as many periods (then single steps) as keep
    every partial sum inside the binade. The d_k of every binade the chain can reach come
    from one call of the exact kernel (a binade is used only where both representatives
    agree, their results lie in the safe range and raise no flag but NX; NX of a step is
    that of its representative: acc_k + p_k - RN(.) = p_k - d_k). The steps that leave a
    binade (or start from 0) are emulated (_fma_ro) and all checked by one call of the
    exact kernel at the end (flags from there)."""
    q, k_cols = others[0].shape[0], acc.shape[0]
    enc = [np.ascontiguousarray(np.broadcast_to(o, (q, k_cols))) for o in others[:2]]
    a, b = enc[0].view(np.float64), enc[1].view(np.float64)
    if st.negate_product:
        a = -a
    c0 = np.ascontiguousarray(acc).view(np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all() and np.isfinite(c0).all()):
        return None
    ea, eb = fv._exp64(enc[0]), fv._exp64(enc[1])
    # products where Dekker's ph + pl is exact (k_mul's domain), or zero
    if not (((a == 0) | (b == 0)) | ((ea >= -1022) & (eb >= -1022) & (ea <= 995) &
                                     (eb <= 995) & (ea + eb >= -918) &
                                     (ea + eb <= 1020))).all():
        return None
    with np.errstate(all="ignore"):
        ph, pl = fv._two_prod(a, b)
    pmax = float(np.abs(ph).max())
    # |acc_n| <= |acc_0| + (n // q + 1) sum |p| over a period (the roundings add little)
    top = float((np.abs(c0) + (n // q + 1) * np.abs(ph).sum(axis=0)).max()) * 1.01
    if pmax == 0.0 or not top < 2.0 ** 1000:
        return None
    e_lo, e_hi = math.frexp(pmax)[1] + 1, math.frexp(top)[1]
    signs = [sg for sg in (1.0, -1.0)
             if (c0 * sg > 0).any() or (ph * sg > 0).any()]
    es = np.arange(e_lo, max(e_lo, e_hi) + 1)
    rep = np.array([[[sg * 1.5, sg * 1.5 + sg * 2.0 ** -52] for _ in es] for sg in signs])
    rep = np.ldexp(rep, es[None, :, None])  # (signs, binades, 2)
    res, fl = _kernel(st, "fp64", "rne", [enc[0][..., None], enc[1][..., None],
                                          rep.view(U64)[..., None, None, None]])
    r = res[..., 0].view(np.float64)  # (signs, binades, 2, q, K)
    u = np.ldexp(1.0, es - 52)[None, :, None, None, None]
    lo = np.ldexp(1.0, es)[None, :, None, None, None]
    sg = np.array(signs)[:, None, None, None, None]
    with np.errstate(all="ignore"):
        d = r - rep[..., None, None]
        mag = r * sg
    fl = fl[..., 0]
    ok = ((fl & ~np.uint8(fpa.NX)) == 0) & (mag >= lo + u) & (mag <= 2 * lo - u)
    ok = ok.all(axis=2) & (d[:, :, 0] == d[:, :, 1])  # (signs, binades, q, K)
    ok = ok.all(axis=2)  # (signs, binades, K)
    units = np.where(ok[:, :, None], d[:, :, 0] / u[:, :, 0], 0).astype(np.int64)
    inexact = (fl[:, :, 0] & np.uint8(fpa.NX)) != 0
    # partial sums over one period from each starting row r0: cum[r0 + j] - cum[r0]
    cum = np.zeros(units.shape[:2] + (2 * q + 1, k_cols), dtype=np.int64)
    np.cumsum(np.concatenate([units, units], axis=2), axis=2, out=cum[:, :, 1:])
    wmin, wmax = _window_extrema(cum[:, :, 1:2 * q], q)
    pmin = np.minimum(wmin - cum[:, :, :q], 0)  # (signs, binades, q, K)
    pmax_ = np.maximum(wmax - cum[:, :, :q], 0)
    tr = (0, 1, 3, 2)  # -> [sign][binade][column][row] lists
    tab_ok, tab_inc, tab_nx = ok.tolist(), units.transpose(tr).tolist(), \
        inexact.transpose(tr).tolist()
    tab_any = inexact.any(axis=2).tolist()
    tab_run = cum[:, :, q].tolist()
    tab_min, tab_max = pmin.transpose(tr).tolist(), pmax_.transpose(tr).tolist()
    sidx = {sgn: i for i, sgn in enumerate(signs)}
    nes = len(es)
    phl, pll = ph.tolist(), pl.tolist()
    # fastvec._fma64's domain for the products (nonzero: its zero-product rule differs)
    dom64 = ((ea >= -1022) & (eb >= -1022) & (ea <= 995) & (eb <= 995) & (ea + eb >= -910) &
             (ea + eb <= 1019) & (ph != 0)).tolist()
    emu: list[tuple[int, int, float, float]] = []  # (column, row, acc before, after)
    finals, nx = [], False
    top53, bot52 = (1 << 53) - 1, (1 << 52) + 1
    for col in range(k_cols):
        c = float(c0[col])
        k = 0
        budget = _WALK_STEPS
        while k < n:
            i = j = -1
            if c != 0.0:
                e = math.frexp(c)[1] - 1
                i, j = sidx.get(1.0 if c > 0 else -1.0, -1), e - e_lo
            if i >= 0 and 0 <= j < nes and tab_ok[i][j][col]:
                inc, inx = tab_inc[i][j][col], tab_nx[i][j][col]
                u1 = math.ldexp(1.0, e - 52)
                cu = int(c / u1)
                lo1, hi1 = (bot52, top53) if c > 0 else (-top53, -bot52)
                r0 = k % q
                run, pmn, pmx = tab_run[i][j][col], tab_min[i][j][col][r0], \
                    tab_max[i][j][col][r0]
                if cu + pmn < lo1 or cu + pmx > hi1:
                    t = 0
                elif run > 0:
                    t = (hi1 - cu - pmx) // run + 1
                elif run < 0:
                    t = (cu + pmn - lo1) // -run + 1
                else:
                    t = n
                t = min(t, (n - k) // q)
                if t > 0:
                    cu += t * run
                    k += t * q
                    nx = nx or tab_any[i][j][col]
                while k < n:
                    nxt = cu + inc[k % q]
                    if not lo1 <= nxt <= hi1:
                        break
                    cu = nxt
                    nx = nx or inx[k % q]
                    k += 1
                c = cu * u1
                if k >= n:
                    break
            row = k % q
            new = _fma_ro(c, phl[row][col], pll[row][col])
            emu.append((col, row, c, new))
            c = new
            k += 1
            budget -= 1
            if budget < 0:
                return None
        finals.append(c)
    flags = 0
    # the emulated steps are the exact kernel's own FP64 path (fastvec._fma64: the same
    # operations in the same order) wherever its domain holds; there, with NX raised
    # anyway, the kernel would confirm them and add no flag (results normal or exact)
    if emu and (not nx or not all(
            dom64[row][col] and (c == 0.0 or -910 <= math.frexp(c)[1] - 1 <= 1019)
            for col, row, c, _ in emu)):
        cols, rows_, prev, after = (np.array(x) for x in zip(*emu, strict=True))
        chk, cfl = _kernel(st, "fp64", "rne", [
            enc[0][rows_, cols][:, None], enc[1][rows_, cols][:, None],
            prev.astype(np.float64).view(U64)[:, None]])
        if (chk[:, 0] != after.astype(np.float64).view(U64)).any():
            return None
        flags = int(np.bitwise_or.reduce(cfl, axis=None))
    if nx:
        flags |= fpa.NX
    return np.array(finals, dtype=np.float64).view(U64).astype(acc.dtype), flags


def _minmax_final(acc: np.ndarray, x: np.ndarray, fmt: str, want_max: bool
                  ) -> tuple[np.ndarray, int]:
    """A min/max chain over the rows of x: its final value, the last row of the running
    reduction on the order key (_candidates), is the reduction of the key over acc and all
    rows; NV iff some operand is a signaling NaN (see _trusted)."""
    op = np.maximum if want_max else np.minimum
    red = op(_key(acc, fmt, want_max), op.reduce(_key(x, fmt, want_max), axis=0))
    return _unkey(red, fmt, want_max), (fpa.NV if _snan_any(acc, fmt) or _snan_any(x, fmt)
                                        else 0)


def _periodic_sum(acc: np.ndarray, xs: np.ndarray, fmt: str, n: int
                  ) -> tuple[np.ndarray, int] | None:
    """Chains acc_(k+1) = RN(acc_k + x_k), k < n, with x_k = xs[k % q] (encodings (q, K);
    each column one chain): (acc_n (K,), flags 0) when every step is provably exact, else
    None. Let 2^u be the smallest quantum (lowest set bit) of a chain's nonzero acc_0 and
    addends, and B = |acc_0| + n max |x|. Every partial sum is a multiple of 2^u of
    magnitude <= B; if B < 2^(u+p) (p: the format's precision) and B <= 2^emax, each one
    is representable in the format, so every addition is exact (no NX; exact additions do
    not signal underflow, and cannot overflow) and acc_n is the exact sum, computed in
    binary64 in any order (every sum of those terms is such a multiple too, and p <= 53):
    acc_0 + (n // q) sum(xs) + sum(xs[:n % q]). A zero result is left to the general path
    (its sign depends on the last step)."""
    if fv.is_special(acc, fmt).any() or fv.is_special(xs, fmt).any():
        return None
    _, mb, bias, _ = fv.FORMATS[fmt]
    q = xs.shape[0]
    a = fv.to_f64(acc, fmt)
    x = fv.to_f64(np.ascontiguousarray(xs), fmt)
    v = np.vstack([a[None], x])
    frac, ex = np.frexp(v)  # v = frac 2^ex, |frac| in [0.5, 1): frac 2^53 is an integer
    mant = np.abs(frac * 2.0 ** 53).astype(np.int64)
    low = np.frexp((mant & -mant).astype(np.float64))[1] - 1  # trailing zero bits
    quantum = np.where(v != 0, ex - 53 + low, np.iinfo(np.int64).max).min(axis=0)
    bound = (np.abs(a) + float(n) * np.abs(x).max(axis=0)) * (1 + 2.0 ** -40)  # rounded up
    zero = quantum == np.iinfo(np.int64).max
    lim = np.ldexp(1.0, np.minimum(np.where(zero, 0, quantum) + mb + 1, bias))
    if not ((bound < lim) | zero).all():
        return None
    total = a + float(n // q) * x.sum(axis=0) + x[:n % q].sum(axis=0)
    if (total == 0).any():
        return None
    if fmt == "fp64":
        return total.view(U64).astype(acc.dtype), 0
    bits, fl = fv.round_f64(total, fmt, "rne")
    if fl.any():  # cannot happen (exact and in range); the general path decides then
        return None
    return bits.astype(acc.dtype), 0


def _exact_products(a: np.ndarray, b: np.ndarray, fmt: str) -> np.ndarray | None:
    """a * b (lane encodings, common shape) if every product is exact in the format (no flag
    from the exact RNE multiply), else None; in cache-sized blocks."""
    a, b = np.broadcast_arrays(a, b)
    fa, fb = a.reshape(-1), b.reshape(-1)
    out = np.empty(fa.shape, dtype=a.dtype)
    for k in range(0, fa.size, _BLOCK):
        prod, fl = fv.k_mul(fa[k:k + _BLOCK], fb[k:k + _BLOCK], fmt, "rne")
        if fl.any():
            return None
        out[k:k + _BLOCK] = prod
    return out.reshape(a.shape)


_ADD_BLOCK = 1024  # rows of the first block when _trusted_add looks for a fixed point (x2)


def _trusted_add(acc: np.ndarray, xs: np.ndarray, fmt: str, n: int, cand: Any,
                 q: int | None = None) -> tuple[np.ndarray, int] | None:
    """acc + xs chain in RNE from np.add.accumulate (see _trusted), or None with specials.
    q: the addends repeat every q rows; the accumulation then runs in blocks (doubling) and stops
    where every sum is back at its value of q rows before (a BF16 sum of values below half
    its ulp): with the same addends the following periods repeat that one exactly, so the
    result is the value at the same phase and the later steps raise the flags already
    seen."""
    if fv.is_special(acc, fmt).any() or fv.is_special(xs, fmt).any():
        return None
    last = n - 1
    if q is None or n < 4 * _ADD_BLOCK:
        c = cand(acc, slice(0, n))
    else:
        parts, a0, k = [], acc, 0
        blk = max(_ADD_BLOCK, 2 * q)
        while k < n:
            part = cand(a0, slice(k, min(n, k + blk)))
            parts.append(part)
            a0 = part[-1]
            k += part.shape[0]
            if k < n and part.shape[0] > q and np.array_equal(part[-1], part[-1 - q]):
                j = k - 1 - q  # rows j + 1 ... repeat rows j + 1 - q ...: periodic from j
                last = j + (n - 1 - j) % q
                break
            blk *= 2  # sums that never settle: few blocks all the same
        c = np.concatenate(parts)
        n = c.shape[0]
    if fv.is_special(c, fmt).any():
        return None
    flags = 0
    step = 2048
    for k in range(0, n, step):  # stops at the first inexact step
        m = min(step, n - k)
        prev = fv.to_f64(c[k - 1:k + m - 1] if k else np.vstack([acc[None], c[:m - 1]]), fmt)
        xv = fv.to_f64(xs[k:k + m], fmt)
        s, e = fv.two_sum(prev, xv)
        if ((e != 0) | (s != fv.to_f64(c[k:k + m], fmt))).any():
            flags = fpa.NX
            break
    return c[last], flags


def _verified(st: _Step, fmt: str, rm: str, acc: np.ndarray, others: list, cands: list,
              n: int) -> tuple[np.ndarray, int]:
    """Candidate windows checked by the exact kernel; from a mismatch on, exact values. A
    candidate that fails early is replaced by the next (costlier, more often right) one."""
    pos = st.acc_pos
    cand = cands[0]
    flags = 0
    # the first window is short: a chain that starts below its addends' scale misses at
    # once, and a miss wastes the rest of the window
    start, win, rounds, misses, early = 0, min(n, _FIRST_WINDOW), 0, 0, 0
    gain = tried = 0  # the cheapest candidate: steps gained, windows checked (see below)
    while start < n:
        rounds += 1
        if rounds > _MAX_ROUNDS:
            raise CannotVectorise("accumulation chain does not converge")
        if cand is cands[-1] and n - start > _EXACT_MAX:
            raise CannotVectorise("accumulation chain needs exact stepping: slow path")
        end = min(n, start + win)
        sl = slice(start, end)
        c = cand(acc, sl)
        prev = np.vstack([acc[None], c[:-1]])
        proof = getattr(cand, "proof", None)
        if proof is None:
            kops = [prev if i == pos else o[sl] for i, o in enumerate(others)]
            res, fl = _kernel(st, fmt, rm, kops)
            bad = np.flatnonzero((res != c).any(axis=1))
        else:  # the exact kernel only on the rows the proof does not cover
            res, fl, bad = _proved(st, fmt, rm, proof, prev, c, others, sl, pos,
                                   flags & fpa.NX != 0)
        counted = cand is cands[0] and start >= min(_CHEAP_WARM, n // 16)
        if not bad.size:
            flags |= int(np.bitwise_or.reduce(fl, axis=None))
            acc = c[-1]
            if counted:
                gain, tried = gain + end - start, tried + 1
            start = end
            win *= 4
        else:
            j = int(bad[0])
            misses += 1
            early = early + 1 if j < min(16, end - start - 1) else 0
            if counted:
                gain, tried = gain + j + 1, tried + 1
            # the cheapest candidate gains few steps per window past the first steps
            # (misses there are normal while a sum grows from the addends' scale: chain
            # candidates are right once the sum is well above its addends), a later one
            # fails at once twice in a row: the next candidate
            if cand is not cands[-1] and (early >= 2 if cand is not cands[0] else (
                    tried >= 3 and gain < _CHEAP_GAIN * tried)):
                cand = cands[cands.index(cand) + 1]
                misses = early = 0
            flags |= int(np.bitwise_or.reduce(fl[:j + 1], axis=None))
            acc = res[j]
            start += j + 1
            win = max(64, 4 * (j + 1))
    return acc, flags


def _proved(st: _Step, fmt: str, rm: str, proof: Any, prev: np.ndarray, c: np.ndarray,
            others: list, sl: slice, pos: int, have_nx: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_verified's check of candidate rows c (window sl) for a candidate with a proof
    (ok rows, inexact rows): (exact values, flags, mismatching rows) as the exact kernel on
    every row would give them, the kernel running only on the rows not proven. `have_nx`:
    NX is already raised (the proven rows' exactness is then not needed)."""
    ok, inexact = proof(prev, c, sl, not have_nx)
    res = c.copy()
    fl = np.zeros(c.shape, dtype=np.uint8)
    if inexact is not None:
        fl[inexact & ok] = fpa.NX
    todo = np.flatnonzero(~ok)
    if todo.size:
        rows = np.arange(sl.start, sl.stop)[todo]
        kops = [prev[todo] if i == pos else o[rows] for i, o in enumerate(others)]
        res[todo], fl[todo] = _kernel(st, fmt, rm, kops)
    bad = todo[(res[todo] != c[todo]).any(axis=1)] if todo.size else todo
    return res, fl, bad


def run_frep_vectorised(hart: Any, plan: FrepPlan, iters: int, first: int = 0) -> None:
    """Execute iterations [first, iters) of the FREP functionally, vectorised; see the module
    docstring. Raises CannotVectorise (state untouched) when a run-time condition fails.
    hart.retired is not changed (the caller counts)."""
    n_it = iters - first
    if n_it <= 0:
        return
    on = bool(hart.ssr_enabled)
    nv = plan.nvar
    start = first % nv
    periods, rest = divmod(n_it, nv)
    segs = []
    for count, reps in ((nv, periods), (rest, 1)):
        if reps and count:
            f = plan.flow(on, start, count)
            if f is None:
                raise CannotVectorise("body not vectorisable with SSRs "
                                      f"{'enabled' if on else 'disabled'}"
                                      + (" (this stagger phase)" if nv > 1 else ""))
            segs.append((f, reps))
    _Run(hart, segs).commit()
