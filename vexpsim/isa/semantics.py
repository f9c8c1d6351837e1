"""Semantics functions of the ISA rows, keyed by the rows' `semantics` name.

A semantics function is a *builder*: `build(ins, hart, nxt) -> closure`. It runs once per
instruction and hart when a program is loaded and returns a closure without arguments that
executes the instruction and returns the index of the next instruction (pre-decoding:
the hot loop is `i = code[i]()`). `hart` is a `vexpsim.arch.functional.Hart` (x, f: register
lists; mem; fflags/frm/fmode; config flags). Integer registers hold unsigned 32-bit ints,
FP registers unsigned 64-bit ints (narrow values NaN-boxed, as QEMU and the RISC-V spec do).

Rare events leave the closure as exceptions (ecall, barrier, counter CSR reads), so the hot
path needs no flag checks.
"""

from __future__ import annotations

from collections.abc import Callable

from ..numerics import fparith as fpa
from ..numerics.exp import vexp_bf16_table

__all__ = ["SEMANTICS", "HartExit", "BarrierWait", "CounterRead", "SimError", "FMT_WIDTH"]

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
S32 = 0x80000000
FMT_WIDTH = {"fp64": 64, "fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "fp8alt": 8}
_RM = ("rne", "rtz", "rdn", "rup", "rmm")
# fmode CSR (0x800) = {src, dst} packed: bit 1 selects the alternate source format, bit 0 the
# alternate destination format (snitch.sv CSR_FMODE, fpnew_pkg::fmt_mode_t).
FMODE_SRC, FMODE_DST = 2, 1


class SimError(Exception):
    """A run-time error of the simulated program (illegal instruction, bad access)."""


class HartExit(Exception):
    """ecall: the hart ends with exit code a0."""


class BarrierWait(Exception):
    """The hart reached the cluster barrier; it resumes at `nxt` when all harts arrived."""

    def __init__(self, nxt: int) -> None:
        self.nxt = nxt


class CounterRead(Exception):
    """A read of a counter CSR (cycle/instret): the scheduler knows the exact count."""

    def __init__(self, rd: int, csr: int, op: str, src: int, nxt: int) -> None:
        self.rd, self.csr, self.op, self.src, self.nxt = rd, csr, op, src, nxt


Builder = Callable[..., Callable[[], int]]
SEMANTICS: dict[str, Builder] = {}


def semantics(fn: Builder) -> Builder:
    SEMANTICS[fn.__name__.removeprefix("s_")] = fn
    return fn


def _compile(src: str, name: str, env: dict | None = None) -> Callable:
    ns: dict = {"M32": M32, "S32": S32, **(env or {})}
    exec(src, ns)  # noqa: S102 - trusted templates below; the fastest closures CPython offers
    return ns[name]


# ---- integer ----------------------------------------------------------------------------------

def _div(a: int, b: int) -> int:
    if b == 0:
        return M32
    sa, sb = a - ((a & S32) << 1), b - ((b & S32) << 1)
    if sa == -S32 and sb == -1:
        return a
    q = abs(sa) // abs(sb)
    return (q if (sa < 0) == (sb < 0) else -q) & M32


def _rem(a: int, b: int) -> int:
    if b == 0:
        return a
    sa, sb = a - ((a & S32) << 1), b - ((b & S32) << 1)
    if sa == -S32 and sb == -1:
        return 0
    r = abs(sa) % abs(sb)
    return (r if sa >= 0 else -r) & M32


_ALU = {
    "add": "(A + B) & M32", "sub": "(A - B) & M32", "sll": "(A << (B & 31)) & M32",
    "slt": "int((A ^ S32) < (B ^ S32))", "sltu": "int(A < B)", "xor": "A ^ B", "or": "A | B",
    "and": "A & B", "srl": "A >> (B & 31)", "sra": "(((A ^ S32) - S32) >> (B & 31)) & M32",
    "mul": "(A * B) & M32",
    "mulh": "((((A ^ S32) - S32) * ((B ^ S32) - S32)) >> 32) & M32",
    "mulhsu": "((((A ^ S32) - S32) * B) >> 32) & M32",
    "mulhu": "(A * B) >> 32",
    "div": "_div(A, B)", "divu": "(A // B if B else M32)", "rem": "_rem(A, B)",
    "remu": "(A % B if B else A)",
}
_FACTORIES: dict[tuple, Callable] = {}


def _alu_factory(op: str, imm: bool) -> Callable:
    key = (op, imm)
    if key not in _FACTORIES:
        expr = _ALU[op].replace("A", "x[rs1]").replace("B", "IMM" if imm else "x[rs2]")
        src = (f"def make(x, rd, rs1, rs2, IMM, nxt):\n"
               f"    def f():\n        x[rd] = {expr}\n        return nxt\n    return f\n")
        _FACTORIES[key] = _compile(src, "make", {"_div": _div, "_rem": _rem})
    return _FACTORIES[key]


def _skip(nxt: int) -> Callable[[], int]:
    return lambda: nxt


@semantics
def s_alu_reg(ins, h, nxt):
    if ins.rd == 0:
        return _skip(nxt)
    return _alu_factory(ins.defn.args["op"], False)(h.x, ins.rd, ins.rs1, ins.rs2, 0, nxt)


@semantics
def s_alu_imm(ins, h, nxt):
    if ins.rd == 0:
        return _skip(nxt)
    return _alu_factory(ins.defn.args["op"], True)(h.x, ins.rd, ins.rs1, 0, ins.imm & M32, nxt)


@semantics
def s_lui(ins, h, nxt):
    x, rd, v = h.x, ins.rd, (ins.imm << 12) & M32
    if rd == 0:
        return _skip(nxt)

    def f():
        x[rd] = v
        return nxt
    return f


@semantics
def s_auipc(ins, h, nxt):
    x, rd, v = h.x, ins.rd, (ins.pc + (ins.imm << 12)) & M32
    if rd == 0:
        return _skip(nxt)

    def f():
        x[rd] = v
        return nxt
    return f


@semantics
def s_jal(ins, h, nxt):
    x, rd, link, tgt = h.x, ins.rd, (ins.pc + 4) & M32, h.static_target(ins, ins.imm)

    def f():
        x[rd] = link
        return tgt

    def g():
        return tgt
    return f if rd else g


@semantics
def s_jalr(ins, h, nxt):
    x, rd, rs1, imm, link, target = h.x, ins.rd, ins.rs1, ins.imm, (ins.pc + 4) & M32, h.target

    def f():
        t = (x[rs1] + imm) & 0xFFFFFFFE
        if rd:
            x[rd] = link
        return target(t)
    return f


_COND = {"eq": "x[a] == x[b]", "ne": "x[a] != x[b]", "lt": "(x[a] ^ S32) < (x[b] ^ S32)",
         "ge": "(x[a] ^ S32) >= (x[b] ^ S32)", "ltu": "x[a] < x[b]", "geu": "x[a] >= x[b]"}


@semantics
def s_branch(ins, h, nxt):
    cond = ins.defn.args["cond"]
    key = ("branch", cond)
    if key not in _FACTORIES:
        src = (f"def make(x, a, b, tgt, nxt):\n    def f():\n"
               f"        return tgt if {_COND[cond]} else nxt\n    return f\n")
        _FACTORIES[key] = _compile(src, "make")
    return _FACTORIES[key](h.x, ins.rs1, ins.rs2, h.static_target(ins, ins.imm), nxt)


@semantics
def s_load(ins, h, nxt):
    a = ins.defn.args
    size, signed = a["size"], a["signed"]
    ld = h.mem.loader(size)
    x, rd, rs1, imm = h.x, ins.rd, ins.rs1, ins.imm
    if signed and size < 4:
        sign = 1 << (8 * size - 1)

        def f():
            v = ld((x[rs1] + imm) & M32)
            if rd:
                x[rd] = ((v ^ sign) - sign) & M32
            return nxt
        return f
    if rd == 0:
        def g():
            ld((x[rs1] + imm) & M32)
            return nxt
        return g

    def f2():
        x[rd] = ld((x[rs1] + imm) & M32)
        return nxt
    return f2


@semantics
def s_store(ins, h, nxt):
    st = h.mem.storer(ins.defn.args["size"])
    x, rs1, rs2, imm = h.x, ins.rs1, ins.rs2, ins.imm

    def f():
        st((x[rs1] + imm) & M32, x[rs2])
        return nxt
    return f


@semantics
def s_nop(ins, h, nxt):
    return _skip(nxt)


@semantics
def s_ecall(ins, h, nxt):
    def f():
        raise HartExit()
    return f


@semantics
def s_ebreak(ins, h, nxt):
    def f():
        raise SimError("ebreak: breakpoint trap (vexpsim has no debugger; end harts with ecall)")
    return f


@semantics
def s_csr(ins, h, nxt):
    a = ins.defn.args
    op, use_imm = a["op"], a["imm"]
    x, rd, rs1, csr = h.x, ins.rd, ins.rs1, ins.csr
    # csrrs/csrrc with x0 / zero immediate do not write (RISC-V Zicsr): reads of read-only
    # CSRs stay legal.
    writes = op == "rw" or (ins.imm if use_imm else rs1) != 0
    reads = op != "rw" or rd != 0
    if csr in h.COUNTER_CSRS:
        def fc():
            raise CounterRead(rd, csr, op if writes else "r", ins.imm if use_imm else x[rs1], nxt)
        return fc
    if csr == h.BARRIER_CSR:
        def fb():
            if rd:
                x[rd] = 0
            raise BarrierWait(nxt)
        return fb
    access = h.csr_access(csr, writes)

    def f():
        src = ins.imm if use_imm else x[rs1]
        old = access(None) if reads or op != "rw" else 0
        if writes:
            new = src if op == "rw" else (old | src if op == "rs" else old & ~src)
            access(new & M32)
        if rd:
            x[rd] = old & M32
        return nxt
    return f


# ---- floating point: helpers ------------------------------------------------------------------

def _box(v: int, w: int) -> int:
    return v if w == 64 else v | (M64 ^ ((1 << w) - 1))


def _unbox(v: int, fmt: str) -> int:
    w = FMT_WIDTH[fmt]
    if w == 64:
        return v
    up = M64 ^ ((1 << w) - 1)
    return v & ((1 << w) - 1) if v & up == up else fpa.canonical_nan(fmt)


def _fmt_getter(h, spec: str, side: str) -> Callable[[], str]:
    """A function returning the current format of a row's format spec. '.h'/'.b' depend on
    the fmode CSR (side 'src' or 'dst' bit); '.ah'/'.ab' are BF16/FP8alt whatever fmode says."""
    fixed = {"fp64": "fp64", "fp32": "fp32", "ah": "bf16", "ab": "fp8alt", "int": "int",
             "uint": "uint"}
    if spec in fixed:
        v = fixed[spec]
        return lambda: v
    pair = ("fp16", "bf16") if spec == "h" else ("fp8", "fp8alt")
    bit = FMODE_SRC if side == "src" else FMODE_DST
    return lambda: pair[1] if h.fmode & bit else pair[0]


def _rm_getter(h, ins) -> Callable[[], str]:
    if ins.rm is not None:
        v = _RM[ins.rm]
        return lambda: v
    return h.dyn_rm


def _fp_unary_or_binary(ins, h, nxt, compute, spec: str, nsrc: int, side: str = "dst",
                        int_dst: bool = False):
    """Shared builder: read nsrc FP operands (unboxed in the source format), call
    compute(fmt, rm, *operands) -> (bits, flags), write the boxed result (or x[rd])."""
    fmt_of = _fmt_getter(h, spec, side)
    rm_of = _rm_getter(h, ins)
    read = h.freaders([ins.rs1, ins.rs2, ins.rs3][:nsrc])
    rd = ins.rd
    x = h.x
    write = None if int_dst else h.fwriter(rd)

    def f():
        fmt = fmt_of()
        ops = [_unbox(v, fmt) for v in read()]
        v, fl = compute(fmt, rm_of(), *ops)
        h.fflags |= fl
        if int_dst:
            if rd:
                x[rd] = v & M32
        else:
            write(_box(v, FMT_WIDTH[fmt]))
        return nxt
    return f


def _needs_divsqrt(ins, h, f):
    if h.has_divsqrt:
        return f

    def illegal():
        raise SimError(f"illegal instruction {ins.mnemonic}: the cluster has no DIVSQRT unit "
                       "(fpu.divsqrt.enabled = false, as in the default Snitch cluster)")
    return illegal


@semantics
def s_fp_load(ins, h, nxt):
    size = ins.defn.args["size"]
    ld = h.mem.loader(size)
    x, f, rs1, imm, rd, w = h.x, h.f, ins.rs1, ins.imm, ins.rd, 8 * size
    up = M64 ^ ((1 << w) - 1)

    def fn():
        f[rd] = ld((x[rs1] + imm) & M32) | up
        return nxt
    return fn


@semantics
def s_fp_store(ins, h, nxt):
    size = ins.defn.args["size"]
    st = h.mem.storer(size)
    x, rs1, imm, rd_src = h.x, ins.rs1, ins.imm, h.freader(ins.rs2)
    mask = (1 << (8 * size)) - 1

    def fn():
        st((x[rs1] + imm) & M32, rd_src() & mask)
        return nxt
    return fn


_ARITH = {"add": fpa.fp_add, "sub": fpa.fp_sub, "mul": fpa.fp_mul, "div": fpa.fp_div}


def _fast_fixed(ins, h, nxt, fn, nsrc: int, spec: str, extra: tuple = ()):
    """Specialised closure for the hot scalar FP32/FP64 ops (add/sub/mul/div/fma) whose
    registers are not stream registers: unboxing inlined, no per-call format lookups.
    None when not applicable (the generic builder then handles it)."""
    if spec not in ("fp32", "fp64"):
        return None
    regs = [ins.rs1, ins.rs2, ins.rs3][:nsrc]
    if any(r < len(h.ssrs) for r in [*regs, ins.rd]):
        return None
    key = ("fast", nsrc, spec, bool(extra))
    if key not in _FACTORIES:
        names = ["a", "b", "c"][:nsrc]
        if spec == "fp64":
            loads = "".join(f"        {n} = F[r{k}]\n" for k, n in enumerate(names))
            store = "F[rd] = v"
        else:  # NaN-boxed fp32: a badly boxed operand reads as the canonical NaN
            loads = "".join(f"        {n} = F[r{k}]\n        {n} = {n} & 0xFFFFFFFF if {n} >> 32 "
                            f"== 0xFFFFFFFF else 0x7FC00000\n" for k, n in enumerate(names))
            store = "F[rd] = v | 0xFFFFFFFF00000000"
        args = ", ".join(names)
        tail = ", *extra" if extra else ""
        src = (f"def make(F, h, fn, r0, r1, r2, rd, rm_of, extra, nxt):\n    def f():\n{loads}"
               f"        v, fl = fn({args}, '{spec}', rm_of(){tail})\n        {store}\n"
               f"        if fl:\n            h.fflags |= fl\n        return nxt\n    return f\n")
        _FACTORIES[key] = _compile(src, "make")
    r = [*regs, 0, 0, 0]
    return _FACTORIES[key](h.f, h, fn, r[0], r[1], r[2], ins.rd, _rm_getter(h, ins), extra, nxt)


@semantics
def s_fp_arith(ins, h, nxt):
    a = ins.defn.args
    fn = _ARITH[a["op"]]
    f = _fast_fixed(ins, h, nxt, fn, 2, a["fmt"]) or _fp_unary_or_binary(
        ins, h, nxt, lambda fmt, rm, x, y: fn(x, y, fmt, rm), a["fmt"], 2)
    return _needs_divsqrt(ins, h, f) if a["op"] == "div" else f


@semantics
def s_fp_sqrt(ins, h, nxt):
    f = _fp_unary_or_binary(ins, h, nxt, lambda fmt, rm, x: fpa.fp_sqrt(x, fmt, rm),
                            ins.defn.args["fmt"], 1)
    return _needs_divsqrt(ins, h, f)


@semantics
def s_fp_fma(ins, h, nxt):
    a = ins.defn.args
    np_, na = a["negate_product"], a["negate_addend"]
    return _fast_fixed(ins, h, nxt, fpa.fp_fma, 3, a["fmt"], (np_, na)) or _fp_unary_or_binary(
        ins, h, nxt, lambda fmt, rm, x, y, z: fpa.fp_fma(x, y, z, fmt, rm, np_, na), a["fmt"], 3)


@semantics
def s_fp_sgnj(ins, h, nxt):
    mode = ins.defn.args["mode"]
    return _fp_unary_or_binary(ins, h, nxt, lambda fmt, rm, x, y: fpa.fp_sgnj(x, y, fmt, mode),
                               ins.defn.args["fmt"], 2)


@semantics
def s_fp_minmax(ins, h, nxt):
    fn = fpa.fp_min if ins.defn.args["op"] == "min" else fpa.fp_max
    return _fp_unary_or_binary(ins, h, nxt, lambda fmt, rm, x, y: fn(x, y, fmt),
                               ins.defn.args["fmt"], 2)


@semantics
def s_fp_cmp(ins, h, nxt):
    op = ins.defn.args["op"]
    return _fp_unary_or_binary(ins, h, nxt, lambda fmt, rm, x, y: fpa.fp_cmp(op, x, y, fmt),
                               ins.defn.args["fmt"], 2, side="src", int_dst=True)


@semantics
def s_fp_class(ins, h, nxt):
    return _fp_unary_or_binary(ins, h, nxt, lambda fmt, rm, x: fpa.fp_class(x, fmt),
                               ins.defn.args["fmt"], 1, side="src", int_dst=True)


@semantics
def s_fp_to_int(ins, h, nxt):
    signed = ins.defn.args["signed"]
    return _fp_unary_or_binary(ins, h, nxt,
                               lambda fmt, rm, x: fpa.fp_to_int(x, fmt, signed, rm),
                               ins.defn.args["fmt"], 1, side="src", int_dst=True)


@semantics
def s_int_to_fp(ins, h, nxt):
    a = ins.defn.args
    fmt_of, rm_of = _fmt_getter(h, a["fmt"], "dst"), _rm_getter(h, ins)
    x, rs1, write, signed = h.x, ins.rs1, h.fwriter(ins.rd), a["signed"]

    def f():
        fmt = fmt_of()
        v, fl = fpa.int_to_fp(x[rs1], signed, fmt, rm_of())
        h.fflags |= fl
        write(_box(v, FMT_WIDTH[fmt]))
        return nxt
    return f


@semantics
def s_fp_cvt(ins, h, nxt):
    a = ins.defn.args
    src_of, dst_of = _fmt_getter(h, a["src"], "src"), _fmt_getter(h, a["dst"], "dst")
    rm_of, read, write = _rm_getter(h, ins), h.freader(ins.rs1), h.fwriter(ins.rd)

    def f():
        s, d = src_of(), dst_of()
        v, fl = fpa.fp_cvt(_unbox(read(), s), s, d, rm_of())
        h.fflags |= fl
        write(_box(v, FMT_WIDTH[d]))
        return nxt
    return f


@semantics
def s_fmv_f2x(ins, h, nxt):
    w = FMT_WIDTH[{"fp32": "fp32", "h": "fp16", "ah": "bf16", "b": "fp8", "ab": "fp8"}[
        ins.defn.args["fmt"]]]
    x, rd, read, sign = h.x, ins.rd, h.freader(ins.rs1), 1 << (w - 1)
    mask = (1 << w) - 1

    def f():  # the low bits, sign-extended (RISC-V fmv.x.w / fmv.x.h)
        if rd:
            x[rd] = (((read() & mask) ^ sign) - sign) & M32
        return nxt
    return f


@semantics
def s_fmv_x2f(ins, h, nxt):
    w = {"fp32": 32, "h": 16, "ah": 16, "b": 8, "ab": 8}[ins.defn.args["fmt"]]
    x, rs1, f_, rd = h.x, ins.rs1, h.f, ins.rd
    mask, up = (1 << w) - 1, M64 ^ ((1 << w) - 1)

    def f():  # NaN-boxed; written over the accelerator bus, never into an SSR stream
        f_[rd] = (x[rs1] & mask) | up
        return nxt
    return f


# ---- SIMD ----------------------------------------------------------------------------------------

def _simd(ins, h, nxt, compute, nsrc: int, read_dst: bool = False, int_dst: bool = False):
    """Packed-SIMD builder: operands are whole 64-bit registers (no NaN-box check), the rounding
    mode is always frm (snitch_fp_ss.sv: set_dyn_rm for vectors)."""
    read = h.freaders([ins.rs1, ins.rs2][:nsrc] + ([ins.rd] if read_dst else []))
    write = None if int_dst else h.fwriter(ins.rd)
    x, rd, rm_of = h.x, ins.rd, h.dyn_rm

    def f():
        v, fl = compute(rm_of(), *read())
        h.fflags |= fl
        if int_dst:
            if rd:
                x[rd] = v & M32
        else:
            write(v & M64)
        return nxt
    return f


@semantics
def s_simd_binop(ins, h, nxt):
    a = ins.defn.args
    fmt_of, op, rep = _fmt_getter(h, a["fmt"], "dst"), a["op"], a["replicate"]
    f = _simd(ins, h, nxt, lambda rm, x, y: fpa.simd_binop(op, x, y, fmt_of(), rm, rep), 2)
    return _needs_divsqrt(ins, h, f) if op == "div" else f


@semantics
def s_simd_mac(ins, h, nxt):
    a = ins.defn.args
    fmt_of, neg, rep = _fmt_getter(h, a["fmt"], "dst"), a["negate"], a["replicate"]
    return _simd(ins, h, nxt,
                 lambda rm, x, y, acc: fpa.simd_mac(x, y, acc, fmt_of(), rm, neg, rep), 2,
                 read_dst=True)


@semantics
def s_simd_sqrt(ins, h, nxt):
    fmt_of = _fmt_getter(h, ins.defn.args["fmt"], "dst")
    f = _simd(ins, h, nxt, lambda rm, x: fpa.simd_unop("sqrt", x, fmt_of(), rm), 1)
    return _needs_divsqrt(ins, h, f)


@semantics
def s_simd_cmp(ins, h, nxt):
    a = ins.defn.args
    fmt_of, op, rep = _fmt_getter(h, a["fmt"], "src"), a["op"], a["replicate"]
    return _simd(ins, h, nxt, lambda rm, x, y: fpa.simd_cmp(op, x, y, fmt_of(), rep), 2,
                 int_dst=True)


@semantics
def s_simd_cpk(ins, h, nxt):
    a = ins.defn.args
    src_of, dst_of, which = _fmt_getter(h, a["src"], "src"), _fmt_getter(h, a["dst"], "dst"), \
        a["which"]

    def compute(rm, x, y, d):
        s = src_of()
        return fpa.simd_cpk(which, _unbox(x, s), _unbox(y, s), d, s, dst_of(), rm)
    return _simd(ins, h, nxt, compute, 2, read_dst=True)


@semantics
def s_simd_cvt(ins, h, nxt):
    a = ins.defn.args
    src_of, dst_of, up = _fmt_getter(h, a["src"], "src"), _fmt_getter(h, a["dst"], "dst"), \
        a["upper"]
    return _simd(ins, h, nxt, lambda rm, x: fpa.simd_cvt(x, src_of(), dst_of(), rm, up), 1)


@semantics
def s_simd_class(ins, h, nxt):
    fmt_of = _fmt_getter(h, ins.defn.args["fmt"], "src")
    return _simd(ins, h, nxt, lambda rm, x: fpa.simd_class(x, fmt_of()), 1, int_dst=True)


@semantics
def s_fp_mulex(ins, h, nxt):
    """fmulex.s.h: narrow (NaN-boxed) operands, exact product rounded once to FP32."""
    a = ins.defn.args
    src_of, dst_of = _fmt_getter(h, a["src"], "src"), _fmt_getter(h, a["dst"], "dst")
    rm_of, read, write = _rm_getter(h, ins), h.freaders([ins.rs1, ins.rs2]), h.fwriter(ins.rd)

    def f():
        s, d = src_of(), dst_of()
        x, y = read()
        v, fl = fpa.fp_mulex(_unbox(x, s), _unbox(y, s), s, d, rm_of())
        h.fflags |= fl
        write(_box(v, FMT_WIDTH[d]))
        return nxt
    return f


@semantics
def s_simd_sum(ins, h, nxt):
    a = ins.defn.args
    fmt_of, neg = _fmt_getter(h, a["fmt"], "dst"), a["negate"]
    generic = _simd(ins, h, nxt, lambda rm, x, acc: fpa.simd_sum(x, acc, fmt_of(), rm, neg),
                    1, read_dst=True)
    if a["fmt"] != "fp32":
        return generic
    # vfsum.s (the GEMM and FA-2 row reductions): the common case without the RTL model
    read, write, fast, vsum = h.freaders([ins.rs1, ins.rd]), h.fwriter(ins.rd), \
        fpa.simd_sum_fp32_fast, fpa.simd_sum

    def f_fast():
        if h.frm:  # not round to nearest even (or invalid: the generic path raises)
            return generic()
        x, acc = read()
        got = fast(x, acc, neg)
        v, fl = got if got is not None else vsum(x, acc, "fp32", "rne", neg)
        h.fflags |= fl
        write(v & M64)
        return nxt
    return f_fast


@semantics
def s_simd_sumex(ins, h, nxt):
    a = ins.defn.args
    src_of, dst_of, neg = _fmt_getter(h, a["src"], "src"), _fmt_getter(h, a["dst"], "dst"), \
        a["negate"]
    generic = _simd(ins, h, nxt,
                    lambda rm, x, acc: fpa.simd_sumex(x, acc, src_of(), dst_of(), rm, neg), 1,
                    read_dst=True)
    table = fpa.dotpex_pair_table(src_of(), dst_of()) if a["src"] in ("ah", "ab") else None
    if table is None:
        return generic
    # vfsumex.s.ah (FA-2's row sums): vfdotpex with unit multiplicands (dotpex_pair_ones)
    read, write, pair, sumex = h.freaders([ins.rs1, ins.rd]), h.fwriter(ins.rd), \
        fpa.dotpex_pair, fpa.simd_sumex
    ones, src, dst = fpa.dotpex_pair_ones(src_of()), src_of(), dst_of()

    def f_pair():
        if h.frm:  # not round to nearest even (or invalid: the generic path raises)
            return generic()
        x, acc = read()
        got = pair(table, neg, x, ones, acc)
        v, fl = got if got is not None else sumex(x, acc, src, dst, "rne", neg)
        h.fflags |= fl
        write(v & M64)
        return nxt
    return f_pair


@semantics
def s_simd_dotpex(ins, h, nxt):
    a = ins.defn.args
    src_of, dst_of = _fmt_getter(h, a["src"], "src"), _fmt_getter(h, a["dst"], "dst")
    neg, rep = a["negate"], a["replicate"]
    # _simd(..., nsrc=2, read_dst=True) with the compute call inlined: the GEMM inner loop
    read = h.freaders([ins.rs1, ins.rs2, ins.rd])
    write, rm_of, dotpex = h.fwriter(ins.rd), h.dyn_rm, fpa.simd_dotpex
    fixed = a["src"] in ("ah", "ab") and not rep  # formats independent of fmode
    table = fpa.dotpex_pair_table(src_of(), dst_of()) if fixed else None
    if table is not None:  # BF16 -> FP32 (the GEMM inner loop): both lanes in one call
        pair, src, dst = fpa.dotpex_pair, src_of(), dst_of()

        def f_pair():
            if h.frm:  # not round to nearest even (or an invalid frm: rm_of raises)
                rm = rm_of()
                x, y, acc = read()
                v, fl = dotpex(x, y, acc, src, dst, rm, neg, rep, fast=True)
            else:
                x, y, acc = read()
                got = pair(table, neg, x, y, acc)
                v, fl = got if got is not None else \
                    dotpex(x, y, acc, src, dst, "rne", neg, rep, fast=True)
            h.fflags |= fl
            write(v & M64)
            return nxt
        n, rs1, rs2, rd, f_ = len(h.ssrs), ins.rs1, ins.rs2, ins.rd, h.f
        if not (rs1 < n and rs2 < n and rs1 != rs2 and rd >= n):
            return f_pair
        pop1, pop2 = h.ssrs[rs1].pop, h.ssrs[rs2].pop

        def f_streams():  # both sources streams, the accumulator a register (GEMM, FA-2)
            if h.frm or not h.ssr_enabled:
                return f_pair()
            x, y = pop1(), pop2()
            got = pair(table, neg, x, y, f_[rd])
            v, fl = got if got is not None else \
                dotpex(x, y, f_[rd], src, dst, "rne", neg, rep, fast=True)
            h.fflags |= fl
            f_[rd] = v & M64
            return nxt
        return f_streams

    def f():
        rm = rm_of()
        x, y, acc = read()
        v, fl = dotpex(x, y, acc, src_of(), dst_of(), rm, neg, rep, fast=True)
        h.fflags |= fl
        write(v & M64)
        return nxt
    return f


# ---- VEXP ---------------------------------------------------------------------------------------

@semantics
def s_vexp(ins, h, nxt):
    a = ins.defn.args
    simd, alias = a["simd"], a["fmt"] == "ah"
    read, write = h.freader(ins.rs1), h.fwriter(ins.rd)
    if not h.has_exp:
        def absent():
            raise SimError(f"illegal instruction {ins.mnemonic}: the cluster has no EXP op group"
                           " (fpu.exp.enabled = false; the vexp_paper preset enables it)")
        return absent
    t = vexp_bf16_table()

    def f():
        if not alias and not h.fmode & FMODE_DST:
            raise SimError(
                f"illegal instruction {ins.mnemonic}: the EXP block computes BF16 only, but the "
                "FPU is in FP16 mode (fmode CSR 0x800 dst bit clear); set BF16 mode with "
                f"`csrwi fmode, 3` or write {ins.mnemonic.replace('.h', '.ah')}")
        v = read()
        if simd:  # a table of all 65536 inputs: bit-identical to vexp_bf16_bits, faster
            write(t[v & 0xFFFF] | t[(v >> 16) & 0xFFFF] << 16 | t[(v >> 32) & 0xFFFF] << 32
                  | t[(v >> 48) & 0xFFFF] << 48)
        else:
            write(_box(t[_unbox(v, "bf16")], 16))
        return nxt
    return f


# ---- Snitch extensions: SSR, FREP, DMA ---------------------------------------------------

@semantics
def s_scfgwi(ins, h, nxt):
    x, rs1, addr = h.x, ins.rs1, ins.imm

    def f():
        h.ssr_write(addr, x[rs1])
        return nxt
    return f


@semantics
def s_scfgw(ins, h, nxt):
    x, rs1, rs2 = h.x, ins.rs1, ins.rs2

    def f():
        h.ssr_write(x[rs2] & 0xFFF, x[rs1])
        return nxt
    return f


@semantics
def s_scfgri(ins, h, nxt):
    x, rd, addr = h.x, ins.rd, ins.imm

    def f():
        v = h.ssr_read(addr)
        if rd:
            x[rd] = v & M32
        return nxt
    return f


@semantics
def s_scfgr(ins, h, nxt):
    x, rd, rs2 = h.x, ins.rd, ins.rs2

    def f():
        v = h.ssr_read(x[rs2] & 0xFFF)
        if rd:
            x[rd] = v & M32
        return nxt
    return f


@semantics
def s_frep(ins, h, nxt):
    return h.build_frep(ins, nxt)


@semantics
def s_dm_src(ins, h, nxt):
    x, rs1 = h.x, ins.rs1

    def f():
        h.dma.src = x[rs1]
        return nxt
    return f


@semantics
def s_dm_dst(ins, h, nxt):
    x, rs1 = h.x, ins.rs1

    def f():
        h.dma.dst = x[rs1]
        return nxt
    return f


@semantics
def s_dm_str(ins, h, nxt):
    x, rs1, rs2 = h.x, ins.rs1, ins.rs2

    def f():
        h.dma.src_stride, h.dma.dst_stride = x[rs1], x[rs2]
        return nxt
    return f


@semantics
def s_dm_rep(ins, h, nxt):
    x, rs1 = h.x, ins.rs1

    def f():
        h.dma.reps = x[rs1]
        return nxt
    return f


@semantics
def s_dm_cpy(ins, h, nxt):
    x, rd, rs1, rs2, imm, use_imm = h.x, ins.rd, ins.rs1, ins.rs2, ins.imm, \
        ins.defn.args["imm"]

    def f():
        tid = h.dma.copy(h.mem, x[rs1], imm if use_imm else x[rs2])
        if rd:
            x[rd] = tid & M32
        return nxt
    return f


@semantics
def s_dm_stat(ins, h, nxt):
    x, rd, rs2, imm, use_imm = h.x, ins.rd, ins.rs2, ins.imm, ins.defn.args["imm"]

    def f():
        v = h.dma.status(imm if use_imm else x[rs2])
        if rd:
            x[rd] = v & M32
        return nxt
    return f
