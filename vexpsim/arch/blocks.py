"""Timed straight-line blocks: the per-instruction timed closures of a run of instructions
fused into one generated Python function (the hot path of scalar code).

A block starts at a leader (the entry, a branch or jump target, the instruction after a control
transfer or after an instruction that cannot be in a block) and runs to the first control
transfer (included) or to the first instruction that can raise a scheduling event (CSRs,
ecall, FREP, DMA; excluded). Integer ALU instructions, branches, jal, integer loads/stores and
FP loads/stores whose FP register is not a stream register are generated inline: the rules of
HartTiming._inline_alu, CoreTiming.load/store (with _int_issue, _caq_wait, _port_grant,
_tcdm_access) and CoreTiming.fp_load/fp_store (with _caq_offload, _offload, _fp_issue,
Caq.fp_access, _write_f) in the same order, the core clock in a local variable, the retired
and event counters added once per block. Other instructions that cannot raise an event (FP
compute, MUL/DIV, SSR configuration, jalr, FP loads/stores of stream registers) call their
per-instruction timed closure (the clock is written back around the call).

Scheduling stays exact: the runner (functional._run_blocks) runs a whole block only when the
hart's instruction budget covers it, and otherwise the block's partial variant, which stops
after the instructions the budget leaves; so every hart executes the same instructions between
two scheduling points as per instruction, and the shared state (TCDM banks, main-memory port,
IPU) sees the same requests in the same order. A SimError inside a block is attributed to its
instruction from the traceback's line (block_offset).

Pinned against the per-instruction closures (HartTiming.BLOCKS off) by tests/arch/test_blocks.py.
"""
from __future__ import annotations

import bisect
import struct
from typing import Any

from ..isa.semantics import _ALU, _COND, _div, _rem
from .narrow_port import _NEVER
from .timed import _FPU_GROUPS, x_sources

__all__ = ["build_blocks", "block_offset"]

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
S32 = 0x80000000
MAX_BLOCK = 64  # instructions per block (longer straight-line code: several blocks)
SUFFIX_MAX = 24  # blocks up to this long also get a block from each of their instructions

_INLINE_ALU = frozenset({"alu_reg", "alu_imm", "lui", "auipc", "nop"})
# may run inside a block through their own closure: they return the next index and raise
# nothing but SimError
_OPAQUE_UNITS = _FPU_GROUPS | {"fp_lsu", "mul", "div", "ssr_cfg"}

# compiled block modules by source text (harts running one program share them)
_CODE_CACHE: dict[str, Any] = {}
_NAMES = iter(range(1 << 62))
# block module file name -> {first line of a block function: (start index, line table)}
_LINES: dict[str, dict[int, tuple[int, list[int]]]] = {}


def _kind(ins: Any) -> str | None:
    """How `ins` takes part in a block: "alu", "br", "jal", "ld", "st", "fld", "fst"
    (generated inline),
    "opq" (its closure is called), "jump" (its closure is called and ends the block), None
    (never in a block)."""
    d = ins.defn
    u, sem = d.unit, d.semantics
    if u == "alu":
        if sem in _INLINE_ALU:
            return "alu"
        if sem == "branch":
            return "br"
        if sem == "jal":
            return "jal"
        if sem == "jalr":
            return "jump"
        return None  # ecall, ebreak
    if u == "lsu" and sem in ("load", "store"):
        return "ld" if sem == "load" else "st"
    if u == "fp_lsu" and sem in ("fp_load", "fp_store"):
        # inline unless its FP register may be a stream register (SSR timing: the closure)
        r = ins.rd if sem == "fp_load" else ins.rs2
        if r is not None and r >= 3:
            return "fld" if sem == "fp_load" else "fst"
    if u in _OPAQUE_UNITS:
        return "opq"
    return None


def _xreg(r: int) -> str:
    return f"x[{r}]" if r else "0"


def _target(h: Any, addr: int) -> int | None:
    """Code index of a static jump target, None when it lies outside the text (the closure
    built by Hart.static_target raises then: such a branch is not put in a block)."""
    i = (addr - h.base) >> 2
    return i if not addr & 3 and 0 <= i <= h.n else None


class _Gen:
    """Source of one block function (see the module docstring)."""

    def __init__(self, h: Any) -> None:
        tm = h.tm
        ct = tm.ct
        self.h, self.tm, self.ct = h, tm, ct
        self.lines: list[str] = []
        self.starts: list[int] = []  # line (relative to the def) where each instruction begins
        self.counts: dict[int, int] = {}
        self.retired = 0
        self.nxt = 0  # index of the instruction after the current one
        # what the block knows of xr[r]: None = at most the current clock (written by an
        # ALU instruction of this block: no wait), a name = the local holding it
        self.known: dict[int, str | None] = {}
        mem = h.mem
        _, base, size, _ = mem.regions[0]
        lo, hi = tm.tcdm_lo, tm.tcdm_hi
        # TCDM accesses read and write the region's buffer directly when the timing model's
        # TCDM range is that region (else through the Memory loaders)
        self.direct = base == lo and size == hi - lo and lo % 8 == 0 and size % 8 == 0

    def emit(self, s: str) -> None:
        self.lines.append("        " + s)

    def issue(self, xs: tuple[int, ...], rd: int, need_t: bool = False) -> None:
        """_int_issue / _inline_alu: wait for the sources' and rd's ready times, issue
        (`need_t`: leave the issue cycle in t)."""
        known = self.known
        checks = []
        for r in dict.fromkeys((*xs, rd)):
            if not r:  # x0 is always ready
                continue
            if r not in known:
                checks.append(f"if xr[{r}] > t: t = xr[{r}]")
            elif known[r] is not None:
                checks.append(f"if {known[r]} > t: t = {known[r]}")
        if not checks:
            self.emit("t = c; c += 1" if need_t else "c += 1")
            return
        self.emit("t = c")
        for line in checks:
            self.emit(line)
        self.emit("if t != c: stalls.raw += t - c")
        self.emit("c = t + 1")

    def instr(self, ins: Any, kind: str, idx: int) -> None:
        self.starts.append(len(self.lines))
        tm = self.tm
        if kind in ("opq", "jump"):
            self.emit("ct.cycle = c")
            if kind == "jump":
                self.epilogue(store_cycle=False)
                self.emit(f"return O[{idx}]()")
                return
            self.emit(f"O[{idx}]()")
            self.emit("c = ct.cycle")
            if ins.rd is not None:  # it may have set the ready time of its integer rd
                self.known.pop(ins.rd, None)
            return
        d = ins.defn
        k = tm._event((d.energy, d.unit))
        self.counts[k] = self.counts.get(k, 0) + 1
        self.retired += 1
        rd = ins.rd if ins.rd is not None else 0
        xs = x_sources(ins)
        getattr(self, "_" + kind)(ins, rd, xs)

    # -- inline kinds
    def _alu(self, ins: Any, rd: int, xs: tuple[int, ...]) -> None:
        self.issue(xs, rd)
        if rd:
            self.emit(f"xr[{rd}] = c")
            self.known[rd] = None
        sem = ins.defn.semantics
        if not ins.rd or sem == "nop":
            return
        if sem == "lui":
            self.emit(f"x[{rd}] = {(ins.imm << 12) & M32}")
        elif sem == "auipc":
            self.emit(f"x[{rd}] = {(ins.pc + (ins.imm << 12)) & M32}")
        else:
            b = str(ins.imm & M32) if sem == "alu_imm" else _xreg(ins.rs2)
            expr = _ALU[ins.defn.args["op"]].replace("A", _xreg(ins.rs1)).replace("B", b)
            self.emit(f"x[{rd}] = {expr}")

    def _br(self, ins: Any, rd: int, xs: tuple[int, ...]) -> None:
        self.issue(xs, 0)
        cond = _COND[ins.defn.args["cond"]].replace("x[a]", _xreg(ins.rs1)) \
            .replace("x[b]", _xreg(ins.rs2))
        self.epilogue()
        tgt = _target(self.h, ins.imm)
        self.emit(f"return {tgt} if {cond} else {self.nxt}")

    def _jal(self, ins: Any, rd: int, xs: tuple[int, ...]) -> None:
        self.issue((), rd)
        if rd:
            self.emit(f"xr[{rd}] = c")
            self.emit(f"x[{rd}] = {(ins.pc + 4) & M32}")
            self.known[rd] = None
        self.epilogue()
        self.emit(f"return {_target(self.h, ins.imm)}")

    def _mem(self, ins: Any, rd: int, xs: tuple[int, ...], store: bool) -> None:
        """CoreTiming.load/store (with _caq_wait, _port_grant, _tcdm_access) and the access."""
        tm, ct = self.tm, self.ct
        p = ct.p
        size = ins.defn.args["size"]
        lo = tm.tcdm_lo
        self.emit(f"a = ({_xreg(ins.rs1)} + {ins.imm or 0}) & {M32}")
        self.issue(xs, rd, need_t=True)
        if ct.caq is not None:  # CoreTiming._caq_wait (its tables stay empty without FP
            caq = ct.caq        # loads/stores)
            d = "cad" if store else "csd"
            self.emit(f"if {d}:")
            self.emit(f"    r = {d}.get((a >> {caq.shift}) & {caq.mask})")
            self.emit("    if r is not None and r + 1 > t: stalls.caq += r + 1 - t; "
                      "t = r + 1; c = t + 1")
        self.emit(f"if {lo} <= a < {tm.tcdm_hi}:")
        tc = ct.tcdm
        if tc is not None:  # CoreTiming._tcdm_access at t + 1, TcdmBanks.grant's free case
            self.emit("    g = t + 1")
            self.emit(f"    b = ((a - {lo}) >> {tm.bank_shift}) % {tm.banks}")
            word = "(g & tc.mask)" if tc.nw == 1 else f"(g & tc.mask) * {tc.nw} + (b >> 6)"
            self.emit("    q = tc.lo")
            self.emit(f"    if q <= g and g - q < tc.window and not (o := tc.occ)[j := {word}]"
                      " & (bit := 1 << (b & 63)):")
            self.emit("        o[j] |= bit")
            self.emit("    else:")
            self.emit("        g = grant(g, b)")
            self.emit("        if g != t + 1: stalls.tcdm += g - t - 1; t = g - 1; c = g")
            self.emit(f"    tc.{'writes' if store else 'reads'} += 1")
        if rd:
            self.emit(f"    q{rd} = xr[{rd}] = t + {p.lat_load_tcdm + 1}")
        self.access(ins, rd, size, store, True)
        self.emit("else:")
        if ct.port is not None:  # CoreTiming._port_grant
            self.emit(f"    g = pgrant(t + 1, {max(1, p.lat_load_main - 1)})")
            self.emit("    if g != t + 1: stalls.mem_port += g - t - 1; t = g - 1; c = g")
        if rd:
            self.emit(f"    q{rd} = xr[{rd}] = t + {p.lat_load_main + 1}")
        self.access(ins, rd, size, store, False)
        if rd:
            self.known[rd] = f"q{rd}"

    def access(self, ins: Any, rd: int, size: int, store: bool, tcdm: bool) -> None:
        """The functional load or store (`tcdm`: the address is in the TCDM)."""
        lo = self.tm.tcdm_lo
        direct = tcdm and self.direct
        if direct and size > 1:  # misaligned: the loader/storer raises the error
            self.emit(f"    if a & {size - 1}: {'S' if store else 'L'}{size}(a, 0)"
                      if store else f"    if a & {size - 1}: L{size}(a)")
        if store:
            v = _xreg(ins.rs2)
            if direct:
                self.emit(f"    P{size}(TM, a - {lo}, {v} & {(1 << 8 * size) - 1})")
            else:
                self.emit(f"    S{size}(a, {v})")
            return
        v = f"U{size}(TM, a - {lo})[0]" if direct else f"L{size}(a)"
        if not rd:
            self.emit(f"    {v}")
        elif ins.defn.args["signed"] and size < 4:
            sign = 1 << (8 * size - 1)
            self.emit(f"    x[{rd}] = (({v} ^ {sign}) - {sign}) & {M32}")
        else:
            self.emit(f"    x[{rd}] = {v}")

    def _fmem(self, ins: Any, rd: int, xs: tuple[int, ...], store: bool) -> None:
        """CoreTiming.fp_load/fp_store offloaded by the core (with _caq_offload, _offload,
        _fp_issue, _port_grant, _tcdm_access, Caq.fp_access, _write_f), FP register >= 3 (no
        stream), then the access."""
        tm, ct = self.tm, self.ct
        p = ct.p
        caq = ct.caq
        size = ins.defn.args["size"]
        lo = tm.tcdm_lo
        self.emit(f"a = ({_xreg(ins.rs1)} + {ins.imm or 0}) & {M32}")
        # _caq_offload: a free CAQ entry
        self.emit("if cpend:")
        self.emit("    del cpend[:bisect_right(cpend, c)]")
        self.emit(f"    if len(cpend) >= {caq.depth}:")
        self.emit(f"        r = cpend[len(cpend) - {caq.depth}] + 1")
        self.emit("        if r > c: stalls.caq += r - c; c = r")
        # _offload((rs1,)): RAW on the address register, a free FP queue slot
        self.issue(xs, 0, need_t=True)
        self.emit(f"if len(fpq) >= {p.fpq_depth}:")
        self.emit(f"    r = fpq[-{p.fpq_depth}] + 1")
        self.emit("    if r > t: stalls.fpq_full += r - t; t = r; c = t + 1")
        # _fp_issue(arrive, (), rd, "lsu") / (arrive, (rs2,), -1, "lsu")
        self.emit(f"n = t + {p.lat_offload}")
        self.emit("r = ct.fp_last + 1")
        self.emit("if r > n: n = r")
        r = ins.rs2 if store else rd
        self.emit(f"if fready[{r}] > n: stalls.fp_raw += fready[{r}] - n; n = fready[{r}]")
        self.emit("ct.fp_issued += 1")
        latt, latm = p.lat_fp_load_tcdm, p.lat_fp_load_main
        self.emit(f"if {lo} <= a < {tm.tcdm_hi}:")
        self.emit(f"    g = grant(n + 1, ((a - {lo}) >> {tm.bank_shift}) % {tm.banks})")
        self.emit(f"    tc.{'writes' if store else 'reads'} += 1")
        self.emit("    if g != n + 1: stalls.tcdm += g - n - 1; n = g - 1")
        self.emit(f"    w = n + {latt}")
        self.faccess(ins, rd, size, store, True)
        self.emit("else:")  # CoreTiming._port_grant
        self.emit(f"    g = pgrant(n + 1, {max(1, latm - 1)})")
        self.emit("    if g != n + 1: stalls.mem_port += g - n - 1")
        self.emit("    n = g - 1")
        self.emit(f"    w = n + {latm}")
        self.faccess(ins, rd, size, store, False)
        self.emit("ct.fp_last = n")
        # Caq.fp_access(a, w, store)
        self.emit(f"r = (a >> {caq.shift}) & {caq.mask}")
        self.emit("if w > cad.get(r, NEVER): cad[r] = w")
        if store:
            self.emit("if w > csd.get(r, NEVER): csd[r] = w")
        self.emit("insort(cpend, w)")
        if not store:  # _write_f
            self.emit(f"fready[{rd}] = w + 1")
            self.emit("if w > ct.last_fp_done: ct.last_fp_done = w")
        self.emit("fpq.append(n)")
        self.emit(f"if len(fpq) > {2 * p.fpq_depth}: fpq.popleft()")

    def faccess(self, ins: Any, rd: int, size: int, store: bool, tcdm: bool) -> None:
        """The functional FP load (NaN-boxed) or store."""
        lo = self.tm.tcdm_lo
        direct = tcdm and self.direct
        if direct:
            self.emit(f"    if a & {size - 1}: {'S' if store else 'L'}{size}"
                      + ("(a, 0)" if store else "(a)"))
        if store:
            v = f"f[{ins.rs2}] & {(1 << 8 * size) - 1}"
            self.emit(f"    P{size}(TM, a - {lo}, {v})" if direct else f"    S{size}(a, {v})")
            return
        v = f"U{size}(TM, a - {lo})[0]" if direct else f"L{size}(a)"
        self.emit(f"    f[{rd}] = {v} | {M64 ^ ((1 << 8 * size) - 1)}")

    def _fld(self, ins: Any, rd: int, xs: tuple[int, ...]) -> None:
        self._fmem(ins, rd, xs, False)

    def _fst(self, ins: Any, rd: int, xs: tuple[int, ...]) -> None:
        self._fmem(ins, 0, xs, True)

    def _ld(self, ins: Any, rd: int, xs: tuple[int, ...]) -> None:
        self._mem(ins, rd, xs, False)

    def _st(self, ins: Any, rd: int, xs: tuple[int, ...]) -> None:
        self._mem(ins, 0, xs, True)

    def epilogue(self, store_cycle: bool = True) -> None:
        if store_cycle:
            self.emit("ct.cycle = c")
        if self.retired:
            self.emit(f"ct.retired += {self.retired}")
        for k, n in self.counts.items():
            self.emit(f"cnt[{k}] += {n}")


def _block(h: Any, start: int, kinds: list[str | None], partial: bool = False
           ) -> tuple[list[str], list[int], int, list[tuple]]:
    """Source lines, line table and length of the block starting at `start`, and for the
    `partial` variant (which stops after its argument `k` instructions: a budget ending inside
    the block) the counters to add at each exit (retired, ((event, count), ...))."""
    g = _Gen(h)
    i = start
    n = 0
    fins: list[tuple] = [(0, ())]
    while i < h.n and n < MAX_BLOCK:
        kind = kinds[i]
        if kind is None:
            break
        ins = h.by_index[i]
        g.nxt = i + 1
        g.instr(ins, kind, i)
        n += 1
        i += 1
        if kind in ("br", "jal", "jump"):
            return g.lines, g.starts, n, fins
        if partial:
            fins.append((g.retired, tuple(g.counts.items())))
            g.emit(f"if k == {n}: ct.cycle = c; fin(F{start}[{n}]); return {i}")
    g.epilogue()
    g.emit(f"return {i}")
    return g.lines, g.starts, n, fins


def build_blocks(h: Any, shared: dict | None = None) -> None:
    """Set h.blocks / h.block_len / h.block_part (one entry per code index: the block starting
    there, or the instruction's own closure with length 1; the block's partial variant, or
    None) for a timed hart whose cluster state is attached. `shared`: a dict shared by the
    harts of one run (same program and configuration), so that harts with the same event
    numbering reuse one generated source."""
    key = (tuple(h.tm.event_keys), len(h.ssrs))
    if shared is not None and key in shared:
        text, heads = shared[key]
    else:
        text, heads = _source(h)
        if shared is not None:
            shared[key] = text, heads
    code = _CODE_CACHE.get(text)
    if code is None:
        if len(_CODE_CACHE) > 64:
            for old in _CODE_CACHE.values():
                _LINES.pop(old.co_filename, None)
            _CODE_CACHE.clear()
        name = f"<vexpsim blocks {next(_NAMES)}>"
        code = _CODE_CACHE[text] = compile(text, name, "exec")
        # instruction j of the block starting at s begins on line first + 1 + starts[j]
        _LINES[name] = {first: (s, [first + 2 + k for k in starts])
                        for s, first, starts, _ in heads}
    ns: dict[str, Any] = {}
    exec(code, ns)  # noqa: S102 - generated by _source from the decoded program
    ct, mem = h.tm.ct, h.mem
    caq = ct.caq
    made = ns["make"](h.x, ct.xready, ct, ct.stalls, h.tm.counts, ct.tcdm,
                      ct.tcdm.grant if ct.tcdm is not None else None,
                      ct.port.grant if ct.port is not None else None,
                      caq.store_done if caq else None, caq.any_done if caq else None,
                      *(mem.loader(n) for n in (1, 2, 4, 8)),
                      *(mem.storer(n) for n in (1, 2, 4, 8)),
                      *(struct.Struct(f).unpack_from for f in ("<B", "<H", "<I", "<Q")),
                      *(struct.Struct(f).pack_into for f in ("<B", "<H", "<I", "<Q")),
                      mem.regions[0][3], h.code, _div, _rem, h.f, ct.fready, ct.fpq,
                      caq.pending if caq else None)
    blocks = list(h.code)
    lens = [1] * len(blocks)
    parts: list[Any] = [None] * len(blocks)
    for s, _, _, n in heads:
        if s >= 0:
            blocks[s] = made[s]
            lens[s] = n
        else:
            parts[-1 - s] = made[s]
    h.blocks, h.block_len, h.block_part = blocks, lens, parts


def _source(h: Any) -> tuple[str, list[tuple[int, int, list[int], int]]]:
    """Source of the block module of hart `h` and its blocks: (start index, or -1 - start
    for a partial variant; line of its def; line table; length)."""
    ct = h.tm.ct
    # FP loads/stores inline only with the whole cluster model attached (CAQ, port, TCDM)
    # and a pipelined FP LSU (CoreTiming._fp_issue's unit check)
    fp_inline = (ct.caq is not None and ct.port is not None and ct.tcdm is not None
                 and ct.p.pipelined.get("lsu", True))
    kinds: list[str | None] = []
    for ins in h.by_index:
        kind = _kind(ins) if ins is not None else None
        if kind in ("fld", "fst") and (not fp_inline or (ins.rd if kind == "fld" else ins.rs2)
                                        < len(h.ssrs)):
            kind = "opq"  # its FP register may be a stream register: the closure
        if kind == "br" or kind == "jal":
            if _target(h, ins.imm) is None:
                kind = None
        kinds.append(kind)
    leaders = {h.idx}
    for i, ins in enumerate(h.by_index):
        kind = kinds[i]
        if ins is None:
            continue
        if kind in ("br", "jal"):
            leaders.add(_target(h, ins.imm))
        if ins.defn.unit == "sequencer":  # FREP runs its body itself and continues after it
            leaders.add(i + 1 + (ins.imm or 0))
        elif kind not in ("alu", "ld", "st", "fld", "fst", "opq"):
            leaders.add(i + 1)  # after a control transfer or an excluded instruction
    src = [f"M32, S32, NEVER = {M32}, {S32}, {_NEVER}",
           "from bisect import bisect_right, insort",
           "def make(x, xr, ct, stalls, cnt, tc, grant, pgrant, csd, cad, L1, L2, L4, L8, S1, S2, "
           "S4, S8, U1, U2, U4, U8, P1, P2, P4, P8, TM, O, _div, _rem, f, fready, fpq, cpend):",
           # a partial variant's exit: the counters of the instructions it ran
           "    def fin(entry):",
           "        ct.retired += entry[0]",
           "        for k, n in entry[1]:",
           "            cnt[k] += n"]
    tables: list[str] = []  # F<start>: the exits' counters of the partial variants
    heads: list[tuple[int, int, list[int], int]] = []
    todo = sorted(x for x in leaders if x < h.n and kinds[x] is not None)
    done: set[int] = set()
    while todo:
        s = todo.pop(0)
        if s in done:
            continue
        done.add(s)
        lines, starts, n, _ = _block(h, s, kinds)
        if n < 2:
            continue
        if s in leaders and n <= SUFFIX_MAX:
            # the rest of a short block from each of its instructions: a hart whose budget
            # ended inside the block resumes there with a block too
            todo[:0] = range(s + 1, s + n - 1)
        heads.append((s, len(src) + 1, starts, n))
        src.append(f"    def b_{s}():")
        src.append("        c = ct.cycle")
        src.extend(lines)
        lines, starts, _, fins = _block(h, s, kinds, partial=True)
        heads.append((-1 - s, len(src) + 1, starts, n))
        src.append(f"    def p_{s}(k):")
        src.append("        c = ct.cycle")
        src.extend(lines)
        tables.append(f"F{s} = {fins!r}")
    src.append("    return {" + ", ".join(f"{s}: b_{s}" if s >= 0 else f"{s}: p_{-1 - s}"
                                          for s, *_ in heads) + "}")
    src.extend(tables)
    return "\n".join(src) + "\n", heads


def block_offset(ev: BaseException) -> int:
    """Position, within its block, of the instruction that raised `ev` inside a block function
    (0 if the exception did not come from one)."""
    tb = ev.__traceback__
    while tb is not None:
        co = tb.tb_frame.f_code
        table = _LINES.get(co.co_filename)
        if table is not None and co.co_firstlineno in table:
            starts = table[co.co_firstlineno][1]
            return max(0, bisect.bisect_right(starts, tb.tb_lineno) - 1)
        tb = tb.tb_next
    return 0
