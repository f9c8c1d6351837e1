"""A directed test for every row of the ISA tables.

Each FP/integer row is run on a batch of operand cases inside one program; the result
registers and fflags are stored to TCDM and compared with an independent reference: Python
integer arithmetic for RV32IM, the fparith library (called directly, with NaN-boxing done here)
for FP rows. Snitch control rows (SSR, FREP, DMA, CSR) have directed tests in
test_snitch_ext.py / test_functional.py; `test_every_row_is_covered` checks that together they
cover the whole table.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from vexpsim.arch.functional import iss_config, run_source
from vexpsim.isa import default_isa
from vexpsim.numerics import fparith as fpa
from vexpsim.numerics.exp import vexp_bf16_bits

ISA = default_isa()
CFG = iss_config(harts=1)
M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
WIDTH = {"fp64": 64, "fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "fp8alt": 8}
RMS = ["rne", "rtz", "rdn", "rup", "rmm"]
COVERED_ELSEWHERE = {  # semantics with directed tests in other modules
    "csr", "scfgwi", "scfgri", "scfgw", "scfgr", "frep", "dm_src", "dm_dst", "dm_str",
    "dm_rep", "dm_cpy", "dm_stat", "nop", "ecall", "ebreak", "load", "store", "fp_load",
    "fp_store", "jal", "jalr", "branch", "lui", "auipc",
}


def sx(v: int) -> int:
    return v - ((v & 0x80000000) << 1)


INT_VALUES = [0, 1, 2, 3, 7, 31, 32, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE,
              0x12345678, 0x87654321, 0x0000FFFF, 0xFFFF0000]


def int_ref(op: str, a: int, b: int) -> int:
    sa, sb = sx(a), sx(b)
    if op in ("div", "rem") and b != 0 and not (sa == -2**31 and sb == -1):
        q = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)  # truncating division
        return (q if op == "div" else sa - q * sb) & M32
    table = {
        "add": a + b, "sub": a - b, "sll": a << (b & 31), "slt": int(sa < sb),
        "sltu": int(a < b), "xor": a ^ b, "srl": a >> (b & 31), "sra": sa >> (b & 31),
        "or": a | b, "and": a & b, "mul": a * b, "mulh": (sa * sb) >> 32,
        "mulhsu": (sa * b) >> 32, "mulhu": (a * b) >> 32,
        "div": -1 if b == 0 else sa, "rem": sa if b == 0 else 0,
        "divu": a // b if b else M32, "remu": a % b if b else a,
    }
    return table[op] & M32


def run_cases(body_per_case: list[str], data: str = "", fmode: int = 0, frm: int = 0,
              nout: int = 1):
    """Assemble one program running every case; returns (result, out words per case)."""
    lines = [".text", "_start:", f"  csrwi fmode, {fmode}", f"  csrwi frm, {frm}",
             "  li s0, out", "  li s1, inp"]
    for k, body in enumerate(body_per_case):
        lines.append(f"  # case {k}")
        lines.append(body.replace("@OUT", f"{k * 8 * nout}"))
    lines += ["  li a0, 0", "  ecall", ".tcdm", "inp:", data or "  .dword 0",
              ".balign 8", "out:", f"  .zero {8 * nout * max(1, len(body_per_case))}"]
    src = "\n".join(lines)
    r = run_source(src, config=CFG)
    assert r.harts[0].exit_code == 0
    base = r.symbols["out"]
    words = [int.from_bytes(r.memory.read(base + 8 * i, 8), "little")
             for i in range(nout * len(body_per_case))]
    return r, [words[k * nout:(k + 1) * nout] for k in range(len(body_per_case))]


def rows(*sems: str) -> list:
    return [pytest.param(d, id=d.mnemonic) for d in ISA.instructions.values()
            if d.semantics in sems]


# ---- integer ------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", rows("alu_reg"))
def test_alu_reg(d):
    pairs = [(a, b) for a in INT_VALUES for b in INT_VALUES[::2]]
    bodies = [f"  li a1, {a}\n  li a2, {b}\n  {d.mnemonic} a0, a1, a2\n  sw a0, @OUT(s0)"
              for a, b in pairs]
    _, outs = run_cases(bodies)
    for (a, b), (w,) in zip(pairs, outs, strict=True):
        assert w & M32 == int_ref(d.args["op"], a, b), (d.mnemonic, hex(a), hex(b))


@pytest.mark.parametrize("d", rows("alu_imm"))
def test_alu_imm(d):
    shift = "shamt" in d.operands
    imms = [0, 1, 5, 31] if shift else [0, 1, -1, 2047, -2048, 0x555, -0x555]
    pairs = [(a, i) for a in INT_VALUES for i in imms]
    bodies = [f"  li a1, {a}\n  {d.mnemonic} a0, a1, {i}\n  sw a0, @OUT(s0)" for a, i in pairs]
    _, outs = run_cases(bodies)
    for (a, i), (w,) in zip(pairs, outs, strict=True):
        assert w & M32 == int_ref(d.args["op"], a, i & M32), (d.mnemonic, hex(a), i)


def test_x0_is_never_written():
    r = run_source("_start:\n addi x0, x0, 5\n lui zero, 3\n add x0, x0, x0\n mv a0, x0\n"
                   " ecall", config=CFG)
    assert r.harts[0].x[0] == 0 and r.harts[0].exit_code == 0


# ---- FP: operand generation -----------------------------------------------------------------

def fp_values(fmt: str, rng: random.Random) -> list[int]:
    w = WIDTH[fmt]
    e = {"fp64": 11, "fp32": 8, "fp16": 5, "bf16": 8, "fp8": 5, "fp8alt": 4}[fmt]
    m = w - 1 - e
    one = ((1 << (e - 1)) - 1) << m
    inf = ((1 << e) - 1) << m
    sign = 1 << (w - 1)
    vals = [0, sign, one, one | sign, one + 1, one + (1 << (m - 1)), inf, inf | sign,
            inf | (1 << (m - 1)), inf | 1, 1, sign | 3, inf - 1, (inf - 1) | sign,
            one + (2 << m) + 5]
    vals += [rng.getrandbits(w) for _ in range(5)]
    return [v & ((1 << w) - 1) for v in vals]


def box(v: int, w: int) -> int:
    return v if w == 64 else v | (M64 ^ ((1 << w) - 1))


def unbox(reg: int, fmt: str) -> int:
    w = WIDTH[fmt]
    if w == 64:
        return reg
    if reg >> w == (M64 >> w):
        return reg & ((1 << w) - 1)
    return fpa.canonical_nan(fmt)


def resolve(spec: str, fmode: int, side: str = "dst") -> str:
    fixed = {"fp64": "fp64", "fp32": "fp32", "ah": "bf16", "ab": "fp8alt", "int": "int",
             "uint": "uint"}
    if spec in fixed:
        return fixed[spec]
    alt = fmode & (2 if side == "src" else 1)
    return {"h": ("fp16", "bf16"), "b": ("fp8", "fp8alt")}[spec][bool(alt)]


def fmodes_for(*specs: str) -> list[int]:
    return [0, 3] if any(s in ("h", "b") for s in specs) else [0]


def fp_program(d, cases, frm=0, fmode=0, int_dst=False, read_dst=False):
    """cases: list of dicts reg-> 64-bit value for f11 f12 f13 (and f10 when read_dst), x11."""
    data = []
    bodies = []
    for c in cases:
        lines = []
        for reg, v in c.items():
            if reg.startswith("_"):
                continue
            if reg.startswith("f"):
                data.append(f"  .dword {v:#x}")
                lines.append(f"  fld {reg}, {8 * (len(data) - 1)}(s1)")
            else:
                lines.append(f"  li {reg}, {v}")
        lines.append("  csrwi fflags, 0")
        ops = []
        for kind in d.operands:
            ops.append({"fd": "f10", "fs1": "f11", "fs2": "f12", "fs3": "f13", "xd": "a0",
                        "xs1": "a1"}.get(kind, ""))
        ops = [o for o in ops if o]
        if "rm" in d.operands and c.get("_rm"):
            ops.append(c["_rm"])
        lines.append(f"  {d.mnemonic} {', '.join(ops)}")
        lines.append("  sw a0, @OUT(s0)" if int_dst else "  fsd f10, @OUT(s0)")
        lines.append("  csrr t0, fflags\n  sw t0, @OUT+8(s0)")
        bodies.append("\n".join(lines))
    for c in cases:
        c.pop("_rm", None)
    return run_cases(bodies, "\n".join(data), fmode=fmode, frm=frm, nout=2)


def check_fp_row(d, make_cases, reference, *, int_dst=False, read_dst=False, fmodes=(0,)):
    rng = random.Random(d.mnemonic)
    for fmode in fmodes:
        cases, expect = make_cases(rng, fmode)
        frm = rng.randrange(5)
        for c in cases:
            if "rm" in d.operands:
                c["_rm"] = rng.choice(RMS + ["dyn", None])
        rms = [c.get("_rm") for c in cases]
        _, outs = fp_program(d, cases, frm=frm, fmode=fmode, int_dst=int_dst, read_dst=read_dst)
        for c, rm, (res, flags) in zip(expect, rms, outs, strict=True):
            rm_name = RMS[frm] if rm in (None, "dyn") else rm
            want, want_flags = reference(c, rm_name, fmode)
            if int_dst:
                res &= M32
            assert (res, flags & 0x1F) == (want, want_flags), (
                d.mnemonic, fmode, rm_name, {k: hex(v) for k, v in c.items()}, hex(res),
                hex(want), flags, want_flags)


def scalar_cases(d, nsrc: int, side: str = "dst", spec_key: str = "fmt"):
    def make(rng, fmode):
        fmt = resolve(d.args[spec_key], fmode, side)
        vals = fp_values(fmt, rng)
        w = WIDTH[fmt]
        cases, raw = [], []
        for _ in range(12):
            ops = [rng.choice(vals) for _ in range(nsrc)]
            regs = {f"f{11 + i}": box(v, w) for i, v in enumerate(ops)}
            if w < 64 and rng.random() < 0.1:  # an improperly boxed operand
                regs["f11"] = ops[0]
            cases.append(regs)
            raw.append(dict(regs))
        return cases, raw
    return make


SCALAR = {
    "fp_arith": (2, lambda a, fmt, rm, x: {"add": fpa.fp_add, "sub": fpa.fp_sub,
                                           "mul": fpa.fp_mul, "div": fpa.fp_div}[a["op"]](
        *x, fmt, rm)),
    "fp_sqrt": (1, lambda a, fmt, rm, x: fpa.fp_sqrt(*x, fmt, rm)),
    "fp_fma": (3, lambda a, fmt, rm, x: fpa.fp_fma(*x, fmt, rm, a["negate_product"],
                                                   a["negate_addend"])),
    "fp_sgnj": (2, lambda a, fmt, rm, x: fpa.fp_sgnj(*x, fmt, a["mode"])),
    "fp_minmax": (2, lambda a, fmt, rm, x: (fpa.fp_min if a["op"] == "min" else fpa.fp_max)(
        *x, fmt)),
}


@pytest.mark.parametrize("d", rows(*SCALAR))
def test_fp_scalar(d):
    nsrc, fn = SCALAR[d.semantics]

    def ref(c, rm, fmode):
        fmt = resolve(d.args["fmt"], fmode)
        ops = [unbox(c[f"f{11 + i}"], fmt) for i in range(nsrc)]
        v, fl = fn(d.args, fmt, rm, ops)
        return box(v, WIDTH[fmt]), fl
    check_fp_row(d, scalar_cases(d, nsrc), ref, fmodes=fmodes_for(d.args["fmt"]))


@pytest.mark.parametrize("d", rows("fp_cmp", "fp_class", "fp_to_int"))
def test_fp_to_int_dst(d):
    nsrc = 2 if d.semantics == "fp_cmp" else 1

    def ref(c, rm, fmode):
        fmt = resolve(d.args["fmt"], fmode, "src")
        ops = [unbox(c[f"f{11 + i}"], fmt) for i in range(nsrc)]
        if d.semantics == "fp_cmp":
            v, fl = fpa.fp_cmp(d.args["op"], *ops, fmt)
        elif d.semantics == "fp_class":
            v, fl = fpa.fp_class(*ops, fmt)
        else:
            v, fl = fpa.fp_to_int(*ops, fmt, d.args["signed"], rm)
        return v & M32, fl
    check_fp_row(d, scalar_cases(d, nsrc, "src"), ref, int_dst=True,
                 fmodes=fmodes_for(d.args["fmt"]))


@pytest.mark.parametrize("d", rows("fp_mulex"))
def test_fp_mulex(d):
    def ref(c, rm, fmode):
        s = resolve(d.args["src"], fmode, "src")
        v, fl = fpa.fp_mulex(unbox(c["f11"], s), unbox(c["f12"], s), s, "fp32", rm)
        return box(v, 32), fl
    check_fp_row(d, scalar_cases(d, 2, "src", "src"), ref, fmodes=fmodes_for(d.args["src"]))


@pytest.mark.parametrize("d", rows("fp_cvt"))
def test_fp_cvt(d):
    def ref(c, rm, fmode):
        s, t = resolve(d.args["src"], fmode, "src"), resolve(d.args["dst"], fmode, "dst")
        v, fl = fpa.fp_cvt(unbox(c["f11"], s), s, t, rm)
        return box(v, WIDTH[t]), fl
    check_fp_row(d, scalar_cases(d, 1, "src", "src"), ref,
                 fmodes=fmodes_for(d.args["src"], d.args["dst"]))


@pytest.mark.parametrize("d", rows("int_to_fp"))
def test_int_to_fp(d):
    def make(rng, fmode):
        cases = [{"a1": v} for v in rng.sample(INT_VALUES, 12)]
        return cases, [dict(c) for c in cases]

    def ref(c, rm, fmode):
        fmt = resolve(d.args["fmt"], fmode)
        v, fl = fpa.int_to_fp(c["a1"], d.args["signed"], fmt, rm)
        return box(v, WIDTH[fmt]), fl
    check_fp_row(d, make, ref, fmodes=fmodes_for(d.args["fmt"]))


@pytest.mark.parametrize("d", rows("fmv_f2x", "fmv_x2f"))
def test_fp_moves(d):
    w = {"fp32": 32, "h": 16, "ah": 16, "b": 8, "ab": 8}[d.args["fmt"]]
    if d.semantics == "fmv_f2x":
        def make(rng, fmode):
            cases = [{"f11": rng.getrandbits(64)} for _ in range(10)]
            return cases, [dict(c) for c in cases]

        def ref(c, rm, fmode):
            v = c["f11"] & ((1 << w) - 1)
            return sx(v << (32 - w)) >> (32 - w) & M32 if w < 32 else v, 0
        check_fp_row(d, make, ref, int_dst=True)
    else:
        def make(rng, fmode):
            cases = [{"a1": v} for v in INT_VALUES[:10]]
            return cases, [dict(c) for c in cases]

        def ref(c, rm, fmode):
            return box(c["a1"] & ((1 << w) - 1), w), 0
        check_fp_row(d, make, ref)


# ---- SIMD -----------------------------------------------------------------------------------

def simd_cases(d, nregs: int, fmt_spec: str | None, side="dst"):
    def make(rng, fmode):
        fmt = resolve(fmt_spec, fmode, side) if fmt_spec not in (None, "int", "uint") else None
        vals = fp_values(fmt, rng) if fmt else None
        w = WIDTH[fmt] if fmt else 32
        cases = []
        for _ in range(8):
            regs = {}
            for r in ["f11", "f12", "f10"][:nregs]:
                if vals is None:
                    regs[r] = rng.getrandbits(64)
                else:
                    v = 0
                    for lane in range(64 // w):
                        v |= rng.choice(vals) << (lane * w)
                    regs[r] = v
            cases.append(regs)
        return cases, [dict(c) for c in cases]
    return make


def simd_ref(d):
    a = d.args
    s = d.semantics

    def ref(c, rm, fmode):
        x, y, acc = c.get("f11", 0), c.get("f12", 0), c.get("f10", 0)
        if s == "simd_binop":
            return fpa.simd_binop(a["op"], x, y, resolve(a["fmt"], fmode), rm, a["replicate"])
        if s == "simd_mac":
            return fpa.simd_mac(x, y, acc, resolve(a["fmt"], fmode), rm, a["negate"],
                                a["replicate"])
        if s == "simd_sqrt":
            return fpa.simd_unop("sqrt", x, resolve(a["fmt"], fmode), rm)
        if s == "simd_cmp":
            v, fl = fpa.simd_cmp(a["op"], x, y, resolve(a["fmt"], fmode, "src"), a["replicate"])
            return v & M32, fl
        if s == "simd_cpk":
            src = resolve(a["src"], fmode, "src")
            return fpa.simd_cpk(a["which"], unbox(x, src), unbox(y, src), acc, src,
                                resolve(a["dst"], fmode), rm)
        if s == "simd_cvt":
            return fpa.simd_cvt(x, resolve(a["src"], fmode, "src"), resolve(a["dst"], fmode),
                                rm, a["upper"])
        if s == "simd_class":
            v, fl = fpa.simd_class(x, resolve(a["fmt"], fmode, "src"))
            return v & M32, fl
        if s == "simd_sum":
            return fpa.simd_sum(x, acc, resolve(a["fmt"], fmode), rm, a["negate"])
        if s == "simd_sumex":
            return fpa.simd_sumex(x, acc, resolve(a["src"], fmode, "src"),
                                  resolve(a["dst"], fmode), rm, a["negate"])
        if s == "simd_dotpex":
            return fpa.simd_dotpex(x, y, acc, resolve(a["src"], fmode, "src"),
                                   resolve(a["dst"], fmode), rm, a["negate"], a["replicate"])
        raise AssertionError(s)
    return ref


SIMD_SEMS = ("simd_binop", "simd_mac", "simd_sqrt", "simd_cmp", "simd_cpk", "simd_cvt",
             "simd_sum", "simd_sumex", "simd_dotpex", "simd_class")


@pytest.mark.parametrize("d", rows(*SIMD_SEMS))
def test_simd(d):
    a = d.args
    nsrc = 2 if "fs2" in d.operands else 1
    read_dst = d.semantics in ("simd_mac", "simd_cpk", "simd_sum", "simd_sumex",
                               "simd_dotpex")
    spec = a.get("fmt") or a.get("src")
    if d.semantics == "simd_cpk":
        spec = a["src"]
    nregs = 3 if read_dst else nsrc
    make = simd_cases(d, nregs, spec if spec not in ("int", "uint") else None,
                      side="src" if "src" in a else "dst")
    specs = [v for k, v in a.items() if k in ("fmt", "src", "dst")]
    check_fp_row(d, make, simd_ref(d), int_dst=d.semantics in ("simd_cmp", "simd_class"),
                 read_dst=read_dst,
                 fmodes=fmodes_for(*specs))


# ---- VEXP -----------------------------------------------------------------------------------

@pytest.mark.parametrize("d", rows("vexp"))
def test_vexp(d):
    simd = d.args["simd"]

    def make(rng, fmode):
        cases = []
        for _ in range(10):
            v = rng.getrandbits(64)
            cases.append({"f11": v if simd else box(v & 0xFFFF, 16)})
        return cases, [dict(c) for c in cases]

    def ref(c, rm, fmode):
        v = c["f11"]
        lanes = np.array([(v >> (16 * i)) & 0xFFFF for i in range(4 if simd else 1)],
                         dtype=np.uint16)
        r = [int(t) for t in vexp_bf16_bits(lanes)]
        if simd:
            return sum(t << (16 * i) for i, t in enumerate(r)), 0
        return box(r[0], 16), 0
    check_fp_row(d, make, ref, fmodes=(3,) if d.mnemonic.endswith(".h") else (0, 3))


def test_vexp_h_in_fp16_mode_is_illegal():
    from vexpsim.errors import UserError
    with pytest.raises(UserError, match="BF16 only.*fmode"):
        run_source("_start:\n vfexp.h ft3, ft3\n ecall", config=CFG)


def test_vexp_absent_is_illegal():
    from vexpsim.errors import UserError
    cfg = iss_config(harts=1, has_exp=False)
    with pytest.raises(UserError, match="no EXP op group"):
        run_source("_start:\n vfexp.ah ft3, ft3\n ecall", config=cfg)


def test_divsqrt_absent_is_illegal():
    from vexpsim.errors import UserError
    cfg = iss_config(harts=1, has_divsqrt=False)
    for ins in ("fdiv.s ft0, ft1, ft2", "fsqrt.d ft0, ft1", "vfdiv.s ft0, ft1, ft2"):
        with pytest.raises(UserError, match=r"(?s)prog.S:2:2.*no DIVSQRT unit"):
            run_source(f"_start:\n {ins}\n ecall", config=cfg, filename="prog.S")


# ---- coverage ---------------------------------------------------------------------------------

def test_every_row_is_covered():
    tested_here = {"alu_reg", "alu_imm", *SCALAR, "fp_cmp", "fp_class", "fp_to_int", "fp_cvt",
                   "fp_mulex",
                   "int_to_fp", "fmv_f2x", "fmv_x2f", *SIMD_SEMS, "vexp"}
    missing = {d.mnemonic for d in ISA.instructions.values()
               if d.semantics not in tested_here | COVERED_ELSEWHERE}
    assert not missing
    from pathlib import Path
    here = Path(__file__).parent
    text = (here / "test_snitch_ext.py").read_text() + (here / "test_functional.py").read_text()
    import re
    used = set(re.findall(r"(?:^|\\n|[\s\"(])([a-z][a-z0-9.]*)(?=[\s,\"]|\\n)", text, re.M))
    untested = sorted(d.mnemonic for d in ISA.instructions.values()
                      if d.semantics in COVERED_ELSEWHERE and d.mnemonic not in used)
    assert not untested
