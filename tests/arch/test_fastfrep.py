"""The vectorised FREP path equals the per-instruction path bit for bit: FP and integer
registers, fflags, memory and SSR state, for maps, reduction chains, stagger, GEMM-style
FP64 fmadd with SSR repeat and the BF16 softmax kernel; plan_frep refuses what it cannot do
and run-time refusals leave the state untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vexpsim.arch import fastfrep as ff
from vexpsim.arch import functional
from vexpsim.arch.functional import Hart, Memory, _handle, iss_config
from vexpsim.asm import assemble
from vexpsim.isa.semantics import CounterRead, HartExit

CFG = iss_config(harts=1)
KERNELS = Path(__file__).resolve().parents[2] / "kernels"


def _hart(program, data: dict[str, bytes], cfg=CFG) -> Hart:
    mem = Memory(cfg)
    for addr, blob in program.segments.items():
        mem.write(addr, blob)
    for sym, blob in data.items():
        mem.write(program.symbols[sym], blob)
    h = Hart(0, program, mem, cfg, 1)
    h.x[2] = 0
    return h


def _variants(ins, body):
    return ff.stagger_variants(ins, body)


def _run(h: Hart, fast: bool, first: int = 0) -> int:
    """Run to ecall; with `fast`, every FREP goes through the vectorised path (its first
    `first` iterations per instruction closures). Returns the number of vectorised FREPs."""
    done = 0
    while True:
        ins = h.by_index[h.idx] if h.idx < len(h.by_index) else None
        if fast and ins is not None and ins.defn.semantics == "frep":
            body = h.by_index[h.idx + 1:h.idx + 1 + ins.imm]
            variants = _variants(ins, body)
            plan = ff.plan_frep(h, body, variants)
            assert plan is not None, ins.loc
            iters = h.x[ins.rs1] + 1
            k = min(first, iters)
            for it in range(k):
                for b in variants[it % len(variants)]:
                    b.defn.builder(b, h, 0)()
            ff.run_frep_vectorised(h, plan, iters, k)
            h.retired += iters * ins.imm
            h.idx += 1 + ins.imm
            done += 1
            continue
        try:
            h.idx = h.code[h.idx]()
        except HartExit:
            return done
        except CounterRead as ev:
            _handle(h, ev)


def _state(h: Hart) -> tuple:
    ssrs = [(s.done, s._ahead, s._next_e, s._rep_left, s._cur, s._cur_addr, s.write)
            for s in h.ssrs]
    tcdm = bytes(h.mem.regions[0][3][:])
    return list(h.f), list(h.x), h.fflags, ssrs, tcdm, h.retired


def _compare(src: str, data: dict[str, bytes], defines=None, first: int = 0,
             expect_freps: int | None = None) -> Hart:
    program = assemble(src, filename="t.S", defines=defines, tcdm_base=CFG.tcdm_base,
                       text_base=CFG.main_base)
    slow, fast = _hart(program, data), _hart(program, data)
    old = functional.VECTOR_MIN_INSTRUCTIONS
    functional.VECTOR_MIN_INSTRUCTIONS = 1 << 62  # the reference: no vectorised FREP at all
    try:
        _run(slow, False)
    finally:
        functional.VECTOR_MIN_INSTRUCTIONS = old
    n = _run(fast, True, first)
    if expect_freps is not None:
        assert n == expect_freps
    a, b = _state(slow), _state(fast)
    for name, x, y in zip(("f", "x", "fflags", "ssr", "tcdm", "retired"), a, b, strict=True):
        if x != y:
            if name == "tcdm":
                i = next(i for i in range(len(x)) if x[i] != y[i])
                raise AssertionError(f"tcdm differs first at offset {i:#x}")
            raise AssertionError(f"{name}: slow {x} != fast {y}")
    return fast


# ---- operand data ---------------------------------------------------------------------------

def _f64(rng, n: int, special: float = 0.05) -> bytes:
    v = rng.standard_normal(n) * np.exp2(rng.integers(-20, 20, n))
    bits = v.view(np.uint64).copy()
    sp = np.array([0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
                   0x7FF4000000000000, 1, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF],
                  dtype=np.uint64)
    pick = rng.random(n) < special
    bits[pick] = sp[rng.integers(0, len(sp), pick.sum())]
    return bits.tobytes()


def _bf16(rng, n: int, special: float = 0.03, scale: float = 4.0) -> bytes:
    import ml_dtypes
    v = (rng.standard_normal(n) * scale).astype(np.float32).astype(ml_dtypes.bfloat16)
    bits = v.view(np.uint16).copy()
    sp = np.array([0, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x7FA0, 1, 0x007F, 0x7F7F],
                  dtype=np.uint16)
    pick = rng.random(n) < special
    bits[pick] = sp[rng.integers(0, len(sp), pick.sum())]
    return bits.tobytes()


SSR1D = """
    li t0, {n}-1
    scfgwi t0, 2<<5 | {s}
    li t0, 8
    scfgwi t0, 6<<5 | {s}
    la t0, {sym}
    scfgwi t0, {ptr}<<5 | {s}
"""


def _ssr(s: int, sym: str, n: str | int, write: bool = False) -> str:
    return SSR1D.format(s=s, sym=sym, n=n, ptr=28 if write else 24)


# ---- maps -------------------------------------------------------------------------------------

@pytest.mark.parametrize("first", [0, 3])
def test_map_one_stream_temporaries(first):
    rng = np.random.default_rng(1)
    _compare(f"""
    _start:
        {_ssr(0, "x", 64)}
        la t1, c
        fld fa0, 0(t1)
        fld fa1, 8(t1)
        csrsi ssr, 1
        li t2, 63
        frep.o t2, 3, 0, 0
        fmul.d ft3, ft0, fa0
        fadd.d ft4, ft3, fa1
        fmax.d ft5, ft4, ft3
        csrci ssr, 1
        scfgri a1, 0
        ecall
    .tcdm
    .balign 8
    c: .double 1.5, -0.25
    x: .zero 8*64
    """, {"x": _f64(rng, 64)}, first=first, expect_freps=1)


def test_map_two_streams_bf16_in_place_and_rounding_mode():
    rng = np.random.default_rng(2)
    _compare(f"""
    _start:
        csrwi fmode, 3
        csrwi frm, 3                # round up: the narrow kernels honour frm
        {_ssr(0, "y", 32)}
        {_ssr(1, "y", 32, write=True)}
        la t1, c
        flh fa1, 0(t1)
        csrsi ssr, 1
        li t2, 15
        frep.o t2, 2, 0, 0
        vfmul.r.h ft1, ft0, fa1
        vfsub.h ft1, ft0, ft0
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    c: .half 0x3eab, 0, 0, 0
    y: .zero 8*32
    """, {"y": _bf16(rng, 128)}, expect_freps=1)


@pytest.mark.parametrize("fmt", ["d", "s"])
def test_map_three_streams_fmadd(fmt):
    rng = np.random.default_rng(3)
    if fmt == "d":
        a, b, c = (_f64(rng, 48) for _ in range(3))
    else:  # NaN-boxed and badly boxed FP32 operands from the streams
        a, b, c = (rng.integers(0, 1 << 64, 48, dtype=np.uint64) | np.where(
            rng.random(48) < 0.9, np.uint64(0xFFFFFFFF00000000), np.uint64(0))
            for _ in range(3))
        a, b, c = (v.tobytes() for v in (a, b, c))
    _compare(f"""
    _start:
        {_ssr(0, "a", 48)}
        {_ssr(1, "b", 48)}
        li t0, 47
        scfgwi t0, 2<<5 | 2
        li t0, 8
        scfgwi t0, 6<<5 | 2
        la t0, out
        scfgwi t0, 28<<5 | 2
        la t1, c
        fld fa0, 0(t1)
        csrsi ssr, 1
        li t2, 47
        frep.o t2, 1, 0, 0
        fmadd.{fmt} ft2, ft0, ft1, fa0
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    a: .zero 8*48
    b: .zero 8*48
    c: .zero 8
    out: .zero 8*48
    """, {"a": a, "b": b, "c": c[:8]}, expect_freps=1)


# ---- reduction chains -------------------------------------------------------------------------

@pytest.mark.parametrize("acc", [1, 2, 4, 8])
@pytest.mark.parametrize("op", ["fadd.d", "fmax.d", "fmin.d", "fsub.d"])
def test_scalar_chains(acc, op):
    rng = np.random.default_rng(acc)
    n = 8 * 12
    body = "\n".join(f"        {op} fs{k}, fs{k}, ft0" for k in range(acc))
    inits = "\n".join(f"        fld fs{k}, {8 * k}(t1)" for k in range(acc))
    _compare(f"""
    _start:
        {_ssr(0, "x", n)}
        la t1, init
{inits}
        csrsi ssr, 1
        li t2, {n // acc}-1
        frep.o t2, {acc}, 0, 0
{body}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 64
    x: .zero 8*{n}
    """, {"x": _f64(rng, n, 0.02), "init": _f64(rng, 8, 0.0)}, expect_freps=1)


@pytest.mark.parametrize("acc", [1, 2, 4, 8])
@pytest.mark.parametrize("op", ["vfadd.h", "vfmax.h", "vfmin.h", "vfmac.h", "vfmre.r.h"])
def test_bf16_simd_chains(acc, op):
    rng = np.random.default_rng(10 + acc)
    n = 8 * 10
    src2 = ", ft1" if op.startswith(("vfmac", "vfmre")) else ""
    body = "\n".join(f"        {op} fs{k}, {'ft0' if src2 else f'fs{k}'}"
                     f"{src2 or ', ft0'}" for k in range(acc))
    inits = "\n".join(f"        fld fs{k}, {8 * k}(t1)" for k in range(acc))
    _compare(f"""
    _start:
        csrwi fmode, 3
        {_ssr(0, "x", n)}
        {_ssr(1, "y", n)}
        la t1, init
{inits}
        csrsi ssr, 1
        li t2, {n // acc}-1
        frep.o t2, {acc}, 0, 0
{body}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 64
    x: .zero 8*{n}
    y: .zero 8*{n}
    """, {"x": _bf16(rng, 4 * n), "y": _bf16(rng, 4 * n), "init": _bf16(rng, 32, 0.0)},
        expect_freps=1)


@pytest.mark.parametrize("op", ["fadd.d", "vfadd.h", "vfmac.h", "fmadd.d"])
def test_exact_chains_raise_no_flags(op):
    """Integer-valued data: every step exact, so fflags stay 0 on both paths."""
    rng = np.random.default_rng(12)
    n = 40
    import ml_dtypes
    if op.endswith(".d"):
        x = rng.integers(-50, 50, n).astype(np.float64).tobytes()
    else:
        x = rng.integers(-2, 3, 4 * n).astype(ml_dtypes.bfloat16).tobytes()  # sums < 256
    args = "fs0, ft0, ft1, fs0" if op == "fmadd.d" else \
        "fs0, ft0, ft1" if op == "vfmac.h" else "fs0, fs0, ft0"
    fast = _compare(f"""
    _start:
        csrwi fmode, 3
        {_ssr(0, "x", n)}
        {_ssr(1, "x", n)}
        fcvt.d.w fs0, zero
        csrsi ssr, 1
        li t2, {n}-1
        frep.o t2, 1, 0, 0
        {op} {args}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    x: .zero 8*{n}
    """, {"x": x}, expect_freps=1)
    assert fast.fflags == 0


def _f16(rng, n: int) -> bytes:
    return (rng.standard_normal(n) * 2).astype(np.float16).tobytes()


@pytest.mark.parametrize("mode", [0, 3])  # FP16 or BF16 sources (fmode)
@pytest.mark.parametrize("acc", [1, 4])
def test_dotp_chains_and_sumex_map(mode, acc):
    """Expanding dot products into FP32 accumulators (vfdotpex.s.h / vfndotpex.s.h chains)
    and a vfsumex.s.h map into a write stream."""
    rng = np.random.default_rng(20 + acc + mode)
    n = 8 * 6
    ops = ["vfdotpex.s.h", "vfndotpex.s.h"]
    body = "\n".join(f"        {ops[k % 2]} fs{k}, ft0, ft1" for k in range(acc))
    inits = "\n".join(f"        fld fs{k}, {8 * k}(t1)" for k in range(acc))
    x = _f16(rng, 4 * n) if mode == 0 else _bf16(rng, 4 * n, 0.02)
    y = _f16(rng, 4 * n) if mode == 0 else _bf16(rng, 4 * n, 0.02)
    init = (rng.standard_normal(16) * 8).astype(np.float32).tobytes()
    _compare(f"""
    _start:
        csrwi fmode, {mode}
        {_ssr(0, "x", n)}
        {_ssr(1, "y", n)}
        la t1, init
{inits}
        csrsi ssr, 1
        li t2, {n // acc}-1
        frep.o t2, {acc}, 0, 0
{body}
        csrci ssr, 1
        {_ssr(0, "x", n)}
        {_ssr(2, "out", n, write=True)}
        csrsi ssr, 1
        fld fa2, 8(t1)
        li t2, {n}-1
        frep.o t2, 3, 0, 0
        vfsgnj.s ft4, fa2, fa2      # a per-iteration temporary from a constant
        vfsumex.s.h ft4, ft0
        vfsgnj.s ft2, ft4, ft4
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 64
    x: .zero 8*{n}
    y: .zero 8*{n}
    out: .zero 8*{n}
    """, {"x": x, "y": y, "init": init}, expect_freps=2)


@pytest.mark.parametrize("mode", [0, 3])
@pytest.mark.parametrize("op", ["fadd.s", "fmadd.s", "fmax.s", "fadd.h", "fmadd.h", "fmin.h",
                                "fnmsub.h"])
def test_scalar_narrow_chains_and_nan_boxing(op, mode):
    """Scalar FP32 / FP16 / BF16 chains fed by streams: most words NaN-boxed, some not (they
    read as the canonical NaN), a map writing boxed results."""
    rng = np.random.default_rng(30 + len(op) + mode)
    n = 40
    import ml_dtypes
    narrow = op.endswith(".h")
    if narrow:
        v = rng.standard_normal(n) * 3
        lanes = (v.astype(np.float16).view(np.uint16) if mode == 0 else
                 v.astype(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16))
        box = np.uint64(0xFFFFFFFFFFFF0000)
    else:
        lanes = (rng.standard_normal(n) * 3).astype(np.float32).view(np.uint32)
        box = np.uint64(0xFFFFFFFF00000000)
    words = lanes.astype(np.uint64) | np.where(rng.random(n) < 0.97, box, np.uint64(0))
    one = np.array([box | np.uint64(0x3F800000 if not narrow else 0x3C00 if mode == 0
                                    else 0x3F80)], dtype=np.uint64)  # 1.0, boxed
    fma = "madd" in op or "nmsub" in op
    args = "fs0, ft0, ft1, fs0" if fma else "fs0, fs0, ft0"
    k = 2 if fma else 1  # pops of SSR0/SSR1 per iteration
    words = np.concatenate([words, words[::-1]])
    _compare(f"""
    _start:
        csrwi fmode, {mode}
        {_ssr(0, "x", k * n)}
        {_ssr(1, "x", k * n)}
        {_ssr(2, "out", n, write=True)}
        la t1, init
        fld fs0, 0(t1)
        csrsi ssr, 1
        li t2, {n}-1
        frep.o t2, 2, 0, 0
        {op} {args}
        {op.split(".")[0].replace("fmax", "fmul").replace("fmin", "fmul")}.{op.split(".")[1]} \
            ft2, {"ft0, ft1, fa0" if fma else "ft1, fa0"}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 8
    x: .zero 8*{2 * n}
    out: .zero 8*{n}
    """, {"x": words.tobytes(), "init": one.tobytes()}, expect_freps=1)


def test_fp32_lanes_and_fp16_chain():
    rng = np.random.default_rng(4)
    n = 64
    _compare(f"""
    _start:
        {_ssr(0, "x", n)}
        la t1, init
        fld fs0, 0(t1)
        fld fs1, 0(t1)
        csrsi ssr, 1
        li t2, {n // 2}-1
        frep.o t2, 2, 0, 0
        vfadd.s fs0, fs0, ft0
        vfmul.s fs2, ft0, fs3
        csrci ssr, 1
        csrwi fmode, 0
        {_ssr(0, "x", n)}
        csrsi ssr, 1
        li t2, {n}-1
        frep.o t2, 1, 0, 0
        vfadd.h fs1, fs1, ft0
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 8
    x: .zero 8*{n}
    """, {"x": rng.integers(0, 1 << 64, n, dtype=np.uint64).tobytes()}, expect_freps=2)


@pytest.mark.parametrize(("nacc", "first"), [(8, 0), (4, 1), (3, 2)])
def test_gemm_style_fmadd_with_repeat(nacc, first):
    """ft0 delivers each A element 8 times (SSR repeat), ft1 streams B: FP64 fmadd chains.
    With fewer than 8 accumulators an element spans iterations, and `first` iterations run
    per instruction first, so the vectorised part starts inside a repeated element."""
    rng = np.random.default_rng(5)
    k = 24
    body = "\n".join(f"        fmadd.d fs{j}, ft0, ft1, fs{j}" for j in range(nacc))
    _compare(f"""
    _start:
        li t0, 7
        scfgwi t0, 1<<5 | 0         # SSR0 repeat: each element 8 times
        {_ssr(0, "a", k)}
        {_ssr(1, "b", 8 * k)}
        la t1, init
        fld fs0, 0(t1)
        fld fs1, 8(t1)
        fld fs2, 16(t1)
        fld fs3, 24(t1)
        fld fs4, 32(t1)
        fld fs5, 40(t1)
        fld fs6, 48(t1)
        fld fs7, 56(t1)
        csrsi ssr, 1
        li t2, {8 * k // nacc}-1
        frep.o t2, {nacc}, 0, 0
{body}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 64
    a: .zero 8*{k}
    b: .zero 8*8*{k}
    """, {"a": _f64(rng, k, 0.0), "b": _f64(rng, 8 * k, 0.01), "init": _f64(rng, 8, 0.0)},
        first=first, expect_freps=1)


def test_bench_frep_ssr_program():
    """vexpsim bench's FREP/SSR program (2-D rewinding streams, 8 chains, FREP in a loop)."""
    from vexpsim.arch.bench import PROGRAMS
    _compare(PROGRAMS["frep_ssr"][0], {}, defines={"ITERS": 3}, expect_freps=3)


@pytest.mark.parametrize(("iters", "first"), [(64, 4), (63, 0), (61, 1), (7, 5), (2, 1)])
def test_stagger_accumulators(iters, first):
    """Whole stagger periods and partial ones, starting at any stagger step."""
    rng = np.random.default_rng(6)
    _compare(f"""
    _start:
        {_ssr(0, "x", iters)}
        fcvt.d.w fs0, zero
        fcvt.d.w fs1, zero
        fcvt.d.w fs2, zero
        fcvt.d.w fs3, zero
        csrsi ssr, 1
        li t2, {iters}-1
        frep.o t2, 2, 3, 0b0011     # rd and rs1 staggered over fs0..fs3 and fs4..fs7
        fadd.d fs0, fs0, ft0
        fmax.d fs4, fs4, ft8
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    x: .zero 8*{iters}
    """, {"x": _f64(rng, iters)}, first=first, expect_freps=1)


@pytest.mark.parametrize("n", [16, 64])
def test_softmax_vexp_row_kernel(n):
    """The three FREP passes of kernels/softmax_vexp_row.S (max chains, exp + write stream +
    sum chains, in-place normalisation)."""
    rng = np.random.default_rng(n)
    src = (KERNELS / "softmax_vexp_row.S").read_text()
    _compare(src, {"x": _bf16(rng, n, 0.0, 3.0)}, defines={"N": n}, expect_freps=3)


# ---- refusals --------------------------------------------------------------------------------

def _plan(src: str):
    program = assemble(src, filename="t.S", tcdm_base=CFG.tcdm_base, text_base=CFG.main_base)
    h = _hart(program, {})
    i = next(i for i, b in enumerate(h.by_index) if b is not None and b.mnemonic == "frep.o")
    ins = h.by_index[i]
    body = h.by_index[i + 1:i + 1 + ins.imm]
    return ff.plan_frep(h, body, _variants(ins, body))


@pytest.mark.parametrize("body", [
    "fdiv.d fa0, ft0, fa1",                              # no vectorised division
    "vfdotpex.s.r.h fa0, ft0, ft1",                      # replicated DOTP accumulator
    "vfsum.h fa0, ft0",                                  # non-expanding DOTP sum
    "vfdotpex.h.b fa0, ft0, ft1",                        # FP8 DOTP
    "fld fa0, 0(a0)",                                    # loads/stores
    "fadd.d fa0, fa1, ft0\n fmul.d fa1, fa0, ft0",      # chain through two instructions
    "fsub.d fa0, ft0, fa0",                              # accumulator as subtrahend
    "fadd.d fa0, fa0, fa0",                              # accumulator read twice
    "fmsub.d fa0, ft0, ft1, fa0",                        # negated addend chain
])
def test_plan_refuses(body):
    n = body.count("\n") + 1
    assert _plan(f"_start:\n frep.o t0, {n}, 0, 0\n {body}\n ecall\n") is None


def test_plan_streaming_refuses_ssr_read_and_written():
    # with SSRs disabled ft0 is a plain accumulator; with them enabled SSR0 would be popped
    # and pushed by one instruction
    p = _plan("_start:\n frep.o t0, 1, 0, 0\n fadd.d ft0, ft0, fa0\n ecall\n")
    assert p is not None and p.streaming is None and p.plain is not None


def test_plan_needs_instructions_for_stagger():
    program = assemble("_start:\n frep.o t0, 1, 1, 1\n fadd.d fs0, fs0, ft0\n ecall\n",
                       filename="t.S", tcdm_base=CFG.tcdm_base, text_base=CFG.main_base)
    h = _hart(program, {})
    body = [h.by_index[1]]
    assert ff.plan_frep(h, body, [[lambda: 0], [lambda: 0]]) is None  # closures
    assert ff.plan_frep(h, body, [[lambda: 0]]) is not None  # no stagger: length only
    h.trace = []
    assert ff.plan_frep(h, body) is None  # tracing needs every instruction


def test_plan_accepts_softmax_bodies():
    assert _plan("_start:\n frep.o t0, 2, 0, 0\n vfexp.h ft3, ft1\n vfadd.h ft8, ft8, ft3\n"
                 " ecall\n") is not None


def _refused(src: str, data: dict[str, bytes], match: str, cfg=CFG) -> None:
    program = assemble(src, filename="t.S", tcdm_base=cfg.tcdm_base, text_base=cfg.main_base)
    h = _hart(program, data, cfg)
    while h.by_index[h.idx] is None or h.by_index[h.idx].mnemonic != "frep.o":
        h.idx = h.code[h.idx]()
    ins = h.by_index[h.idx]
    body = h.by_index[h.idx + 1:h.idx + 1 + ins.imm]
    plan = ff.plan_frep(h, body, [body])
    assert plan is not None
    before = _state(h)
    with pytest.raises(ff.CannotVectorise, match=match):
        ff.run_frep_vectorised(h, plan, h.x[ins.rs1] + 1)
    assert _state(h) == before


def test_runtime_refusals_leave_state_untouched():
    rng = np.random.default_rng(8)
    # stream too short
    _refused(f"""
    _start:
        {_ssr(0, "x", 8)}
        csrsi ssr, 1
        li t2, 8
        frep.o t2, 1, 0, 0
        fadd.d fa0, fa0, ft0
        ecall
    .tcdm
    .balign 8
    x: .zero 64
    """, {"x": _f64(rng, 8)}, "stream ended")
    # the write stream runs ahead of the read stream over the same words
    _refused(f"""
    _start:
        {_ssr(0, "x", 7)}
        li t0, 6
        scfgwi t0, 2<<5 | 1
        li t0, 8
        scfgwi t0, 6<<5 | 1
        la t0, x
        addi t0, t0, 8
        scfgwi t0, 28<<5 | 1
        csrsi ssr, 1
        li t2, 6
        frep.o t2, 1, 0, 0
        fadd.d ft1, fa0, ft0
        ecall
    .tcdm
    .balign 8
    x: .zero 64
    """, {"x": _f64(rng, 8)}, "after a write")
    # SSRs disabled but the body has a chain with ft0 read-only: fine; a stream register
    # written while SSR1 is a read stream is refused
    _refused(f"""
    _start:
        {_ssr(1, "x", 8)}
        csrsi ssr, 1
        li t2, 7
        frep.o t2, 1, 0, 0
        fadd.d ft1, fa0, fa1
        ecall
    .tcdm
    .balign 8
    x: .zero 64
    """, {"x": _f64(rng, 8)}, "read stream")


def test_vexp_refused_without_exp_unit_or_in_fp16_mode():
    src = f"""
    _start:
        csrwi fmode, {{mode}}
        {_ssr(0, "x", 8)}
        csrsi ssr, 1
        li t2, 7
        frep.o t2, 1, 0, 0
        vfexp.h fa0, ft0
        ecall
    .tcdm
    .balign 8
    x: .zero 64
    """
    _refused(src.format(mode=3), {}, "no EXP", iss_config(harts=1, has_exp=False))
    _refused(src.format(mode=0), {}, "FP16 mode")


def test_repeated_write_addresses_keep_the_last_push():
    """Two write streams over one buffer, one of them a 2-D stream that rewinds (stride 0 in
    the outer dimension): memory holds the last push to each word."""
    rng = np.random.default_rng(14)
    _compare(f"""
    _start:
        {_ssr(0, "x", 64)}
        li t0, 7
        scfgwi t0, 2<<5 | 1
        li t0, 3
        scfgwi t0, 3<<5 | 1
        li t0, 8
        scfgwi t0, 6<<5 | 1
        li t0, -56
        scfgwi t0, 7<<5 | 1          # relative stride: back to the first word
        la t0, out
        scfgwi t0, 29<<5 | 1         # SSR1: 2-D write stream, 4 passes over 8 words
        {_ssr(2, "out", 32, write=True)}
        csrsi ssr, 1
        li t2, 31
        frep.o t2, 2, 0, 0
        fadd.d ft1, ft0, fa0
        fmul.d ft2, ft0, ft0
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    x: .zero 8*64
    out: .zero 8*32
    """, {"x": _f64(rng, 64, 0.0)}, expect_freps=1)


@pytest.mark.parametrize("special", [False, True])
def test_long_chains_with_constant_operands(special):
    """Chains longer than the verification blocks whose other operand is a constant (a
    NaN addend forces the verified path)."""
    vals = np.array([1.0, 0.1, float("nan") if special else 3.0, 0.3])  # 1.0: all exact
    _compare("""
    _start:
        la t1, c
        fld fa0, 0(t1)
        fld fa1, 8(t1)
        fld fa2, 16(t1)
        fld fa3, 24(t1)
        li t2, 2999
        frep.o t2, 3, 0, 0
        fadd.d fs0, fs0, fa0
        fmadd.d fs1, fa1, fa3, fs1
        fadd.d fs2, fs2, fa2
        ecall
    .tcdm
    .balign 8
    c: .zero 32
    """, {"c": vals.tobytes()}, expect_freps=1)


@pytest.mark.parametrize("op", ["fadd.s", "vfmac.h", "fmadd.d"])
def test_chains_in_directed_rounding(op):
    """Add and fused chains outside RNE are stepped exactly (short), refused when long."""
    rng = np.random.default_rng(15)
    args = "fs0, fs0, ft0" if op == "fadd.s" else \
        "fs0, ft0, ft1" if op == "vfmac.h" else "fs0, ft0, ft1, fs0"
    src = f"""
    _start:
        csrwi fmode, 3
        csrwi frm, 2
        {_ssr(0, "x", "{n}")}
        {_ssr(1, "x", "{n}")}
        la t1, x
        fld fs0, 0(t1)
        csrsi ssr, 1
        li t2, {{n}}-1
        frep.o t2, 1, 0, 0
        {op} {args}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    x: .zero 8*{{n}}
    """
    x = np.frombuffer(_bf16(rng, 4 * 5000, 0.01), dtype=np.uint64)
    x = x | np.uint64(0xFFFFFFFF00000000) if op == "fadd.s" else x
    _compare(src.format(n=300), {"x": x[:300].tobytes()}, expect_freps=1)
    _refused(src.format(n=ff._EXACT_MAX + 10), {"x": x.tobytes()}, "exact stepping")


def test_ssr_disabled_uses_plain_registers():
    rng = np.random.default_rng(9)
    _compare("""
    _start:
        la t1, x
        fld ft0, 0(t1)
        fld fa0, 8(t1)
        li t2, 9
        frep.o t2, 1, 0, 0
        fadd.d fa0, fa0, ft0
        ecall
    .tcdm
    .balign 8
    x: .zero 16
    """, {"x": _f64(rng, 2, 0.0)}, expect_freps=1)


# ---- SSR address generation ---------------------------------------------------------------------

def _random_streams(seed: int):
    """Two identical random SSRs (1-4 dimensions, random bounds, strides and repeat) over
    TCDM words that hold their own addresses: (rng, a, b, total pops, repeat)."""
    from vexpsim.arch.functional import Ssr
    rng = np.random.default_rng(seed)
    mem = Memory(CFG)
    base = CFG.tcdm_base
    words = np.arange(4096, dtype=np.uint64) * 8 + base  # each word holds its address
    mem.write(base, words.tobytes())
    dims = int(rng.integers(1, 5))
    bounds = [int(rng.integers(0, 4)) for _ in range(dims)] + [0] * (4 - dims)
    strides = [int(rng.integers(-3, 5)) * 8 for _ in range(4)]
    rep = int(rng.integers(0, 3))

    def mk() -> Ssr:
        s = Ssr(0, mem)
        s.configure(1, rep)
        for d in range(4):
            s.configure(2 + d, bounds[d])
            s.configure(6 + d, strides[d] & 0xFFFFFFFF)
        s.configure(24 + dims - 1, base + 2048)
        return s
    total = int(np.prod([b + 1 for b in bounds[:dims]])) * (rep + 1)
    return rng, mk(), mk(), total, rep


@pytest.mark.parametrize("seed", range(6))
def test_ssr_peek_and_advance_match_pops(seed):
    rng, a, b, total, rep = _random_streams(seed)
    k1 = int(rng.integers(0, total))
    for _ in range(k1):
        a.pop()
    b.advance(k1)
    for s in (a, b):
        assert s._ahead is not None or s._rep_left or k1 == total
    state = lambda s: (s.done, s._ahead, s._rep_left, s._cur, s._cur_addr)  # noqa: E731
    assert state(a) == state(b)
    peek = b.peek_addresses(total - k1)
    buffered = b._rep_left
    fetch = b.peek_addresses(b._remaining(), fetches=True)
    popped = [a.pop() for _ in range(total - k1)]
    assert peek.tolist() == popped
    # the memory fetches: each new element once, in order
    assert fetch.tolist() == popped[buffered:][::rep + 1]
    b.advance(total - k1)
    assert state(a) == state(b) and a.done and b.done
    with pytest.raises(Exception, match="stream ended"):
        b.peek_addresses(1)


@pytest.mark.parametrize("seed", range(6))
def test_take_addresses_keeps_the_stream(seed):
    """Ssr.take_addresses (vexpsim.arch.frep_replay's bank lookahead) returns the next
    elements' addresses and the pops that follow (before, across and after them) see exactly
    what an untouched stream sees."""
    rng, a, b, total, _ = _random_streams(seed)
    k1 = int(rng.integers(0, total))
    for _ in range(k1):
        a.pop()
        b.pop()
    n = int(rng.integers(0, total))
    got = b.take_addresses(n)
    want = a.peek_addresses(a._remaining(), fetches=True).tolist()[:n]
    assert got == want
    assert [a.pop() for _ in range(total - k1)] == [b.pop() for _ in range(total - k1)]


@pytest.mark.parametrize("seed", range(8))
def test_advance_taken_is_advance(seed):
    """Ssr.advance_taken (frep_dotp: the pops of a whole FREP at once, after take_addresses)
    leaves the stream as advance and as the pops do."""
    rng, a, b, total, rep = _random_streams(seed)
    k1 = int(rng.integers(0, total))
    for _ in range(k1):
        a.pop()
        b.pop()
    count = int(rng.integers(1, total - k1 + 1))
    buffered, new = b._plan(count, "read")
    addrs = b.take_addresses(new)
    want = [a.pop() for _ in range(count)]
    if new:
        b.advance_taken(count, addrs[-1], want[-1])
    else:
        b.advance(count)
    keys = ("_cur", "_cur_addr", "_rep_left", "_next_e", "_ahead", "done")
    assert [getattr(b, k) for k in keys] == [getattr(a, k) for k in keys]
    left = total - k1 - count
    assert [a.pop() for _ in range(left)] == [b.pop() for _ in range(left)]


@pytest.mark.parametrize("seed", range(4))
def test_address_list_is_the_generator(seed):
    """Ssr._address_list (take_addresses' runs of the innermost dimension) gives _gen's
    addresses from any start: unaligned pointers and strides, zero and negative (32-bit)
    strides, wrapping around 2^32, whole blocks of the two inner dimensions."""
    from itertools import islice

    from vexpsim.arch.functional import Ssr
    rng = np.random.default_rng(100 + seed)
    for _ in range(200):
        dims = int(rng.integers(1, 5))
        bounds = [int(rng.integers(0, 6)) for _ in range(dims)]
        strides = [int(rng.choice([0, 8, 16, -8, -24, 3, 12, 1 << 31, 64, -512])) & 0xFFFFFFFF
                   for _ in range(dims)]
        ptr = int(rng.choice([0x10000000, 0xFFFFFFF0, 0x5, 0x100]))
        total = int(np.prod([b + 1 for b in bounds]))
        start = int(rng.integers(0, total))
        n = int(rng.integers(1, total - start + 1))
        want = list(islice(Ssr._gen(ptr, dims, bounds, strides, start=start), n))
        assert Ssr._address_list(ptr, dims, bounds, strides, start, n) == want


# ---- random bodies ------------------------------------------------------------------------------

_POOL = [  # (mnemonic, operand pattern: d = destination, s = source, a = rd read too)
    ("fadd.d", "dss"), ("fsub.d", "dss"), ("fmul.d", "dss"), ("fmadd.d", "dsss"),
    ("fnmsub.d", "dsss"), ("fmax.d", "dss"), ("fmin.d", "dss"), ("fsgnjx.d", "dss"),
    ("fadd.s", "dss"), ("fmadd.s", "dsss"), ("fmax.s", "dss"), ("fadd.h", "dss"),
    ("fmadd.h", "dsss"), ("vfadd.h", "dss"), ("vfsub.r.h", "dss"), ("vfmul.h", "dss"),
    ("vfmac.h", "ass"), ("vfmre.r.h", "ass"), ("vfmax.h", "dss"), ("vfmin.r.h", "dss"),
    ("vfsgnjn.h", "dss"), ("vfexp.h", "ds"), ("vfadd.s", "dss"), ("vfmac.s", "ass"),
    ("vfmax.s", "dss"), ("vfdotpex.s.h", "ass"), ("vfsumex.s.h", "as"),
]
_DST = ["ft2", "fs0", "fs1", "fs2", "fs3"]
_SRC = ["ft0", "ft1", "fs0", "fs1", "fs2", "fs3", "fa0", "fa1"]


def _random_body(rng) -> list[tuple[str, list[str]]]:
    body = []
    for _ in range(int(rng.integers(1, 6))):
        mn, pat = _POOL[int(rng.integers(len(_POOL)))]
        ops = []
        for c in pat:
            if c == "d":
                ops.append(_DST[int(rng.integers(len(_DST)))])
            elif c == "a":  # rd is read too: never a write stream
                ops.append(_DST[1 + int(rng.integers(len(_DST) - 1))])
            else:
                ops.append(_SRC[int(rng.integers(len(_SRC)))])
        body.append((mn, ops))
    return body


def _pops(body) -> tuple[int, int, int]:
    """Pops of ft0, ft1 and pushes of ft2 per iteration (one pop per lane per instruction)."""
    p0 = sum(1 for mn, ops in body if "ft0" in ops[1:] or (mn.startswith(("vfmac", "vfmre",
             "vfdot", "vfsumex")) and ops[0] == "ft0"))
    p1 = sum(1 for _, ops in body if "ft1" in ops[1:])
    w2 = sum(1 for _, ops in body if ops[0] == "ft2")
    return p0, p1, w2


@pytest.mark.parametrize("seed", range(10))
def test_random_bodies(seed):
    """Random FREP bodies over streams, temporaries, constants and accumulators: the first 4
    that plan_frep accepts (of at most 40 drawn) run on both paths and agree bit for bit."""
    rng = np.random.default_rng(1000 + seed)
    done = 0
    for _ in range(40):
        done += _random_case(rng)
        if done == 4:
            break
    assert done == 4


def _random_case(rng) -> int:
    body = _random_body(rng)
    iters = int(rng.integers(1, 40))
    first = int(rng.integers(0, 3))
    mode = 3 if any(mn == "vfexp.h" for mn, _ in body) else int(rng.choice([0, 3]))
    frm = int(rng.choice([0, 0, 0, 1, 2, 3, 4]))
    p0, p1, w2 = _pops(body)
    lines = "\n".join(f"        {mn} {', '.join(ops)}" for mn, ops in body)
    program = assemble(f"_start:\n frep.o t0, {len(body)}, 0, 0\n{lines}\n ecall\n",
                       filename="t.S", tcdm_base=CFG.tcdm_base, text_base=CFG.main_base)
    h = _hart(program, {})
    plan = ff.plan_frep(h, h.by_index[1:1 + len(body)])
    if plan is None or plan.streaming is None:
        return 0
    streams = []
    for s, cnt, sym, write in ((0, p0, "x", False), (1, p1, "y", False), (2, w2, "out", True)):
        if cnt:
            streams.append(_ssr(s, sym, cnt * iters, write))
    init = "\n".join(f"        fld {r}, {8 * k}(t1)" for k, r in enumerate(
        ["fs0", "fs1", "fs2", "fs3", "fa0", "fa1"]))
    n = 40 * 6
    words = np.concatenate([np.frombuffer(_f64(rng, n, 0.05), dtype=np.uint64),
                            np.frombuffer(_bf16(rng, 4 * (n + 6), 0.05), dtype=np.uint64)])
    rng.shuffle(words)
    _compare(f"""
    _start:
        csrwi fmode, {mode}
        csrwi frm, {frm}
        {"".join(streams)}
        la t1, init
{init}
        csrsi ssr, 1
        li t2, {iters}-1
        frep.o t2, {len(body)}, 0, 0
{lines}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 48
    x: .zero 8*{n}
    y: .zero 8*{n}
    out: .zero 8*{n}
    """, {"x": words[:n].tobytes(), "y": words[n:2 * n].tobytes(),
          "init": words[2 * n:2 * n + 6].tobytes()}, first=first, expect_freps=1)
    return 1


# ---- periodic streams (fastfrep._Run._row_period, _periodic_sum) ------------------------------

def test_ssr_span_and_element_period_match_the_generator():
    """The division-free address window equals the per-element formula, and every period
    element_period reports holds for the generated addresses (mod its modulus)."""
    from vexpsim.arch.functional import Ssr
    rng = np.random.default_rng(7)
    for _ in range(300):
        dims = int(rng.integers(1, 5))
        bounds = [int(rng.integers(0, 6)) for _ in range(dims)] + [0] * (4 - dims)
        strides = [int(rng.choice([0, 8, -8, 16, 24, 256, -512, 4096, 1 << 31]))
                   for _ in range(4)]
        if rng.random() < 0.5:  # a rewinding outer dimension: back to the start
            strides[dims - 1] = -sum(strides[d] * bounds[d] for d in range(dims - 1))
        s = Ssr(0, Memory(CFG))
        for d in range(4):
            s.configure(2 + d, bounds[d])
            s.configure(6 + d, strides[d] & 0xFFFFFFFF)
        s.configure(24 + dims - 1, int(rng.integers(0, 1 << 32)))
        total = s._remaining()
        e0 = int(rng.integers(0, total))
        n = int(rng.integers(0, total - e0 + 1))
        ref = Ssr._unmasked(e0 + np.arange(n, dtype=np.int64), *s._geo) & 0xFFFFFFF8
        got = Ssr._span(e0, n, *s._geo)
        if got is not None:
            assert got.tolist() == ref.tolist()
        allv = (Ssr._unmasked(np.arange(total, dtype=np.int64), *s._geo) & 0xFFFFFFF8)
        for mod in (256, 1 << 32):
            t = s.element_period(mod)
            if t is not None:
                assert t < total
                assert ((allv[t:] - allv[:-t]) % mod == 0).all()


SSR2D = """
    li t0, {L}-1
    scfgwi t0, 2<<5 | {s}
    li t0, {R}-1
    scfgwi t0, 3<<5 | {s}
    li t0, 8
    scfgwi t0, 6<<5 | {s}
    li t0, -8*({L}-1)
    scfgwi t0, 7<<5 | {s}
    li t0, {rep}
    scfgwi t0, 1<<5 | {s}
    la t0, {sym}
    scfgwi t0, 25<<5 | {s}
"""


def _periodic_src(body: list[str], L: int, R: int, iters: int, rep: int = 0,
                  stagger: str = "0, 0") -> str:
    """Two read streams rewinding an L-element buffer R times (period L elements), an FREP
    of `iters` iterations over `body`; fs0..fs7 start from `init`."""
    inits = "\n".join(f"        fld fs{k}, {8 * k}(t1)" for k in range(8))
    code = "\n".join(f"        {b}" for b in body)
    return f"""
    _start:
        csrwi fmode, 3
        {SSR2D.format(s=0, sym="x", L=L, R=R, rep=rep)}
        {SSR2D.format(s=1, sym="y", L=L, R=R, rep=rep)}
        la t1, init
{inits}
        csrsi ssr, 1
        li t2, {iters}-1
        frep.o t2, {len(body)}, {stagger}
{code}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 64
    x: .zero 8*{L}
    y: .zero 8*{L}
    """


def _spy_periodic(monkeypatch) -> list:
    taken = []
    real = ff._periodic_sum

    def spy(*a, **k):
        r = real(*a, **k)
        taken.append(r is not None)
        return r
    monkeypatch.setattr(ff, "_periodic_sum", spy)
    return taken


def _ints(rng, n: int, lo: int = -3, hi: int = 4, dtype=np.float64) -> bytes:
    return rng.integers(lo, hi, n).astype(dtype).tobytes()


@pytest.mark.parametrize("data", ["int", "random", "huge", "zero_sum"])
@pytest.mark.parametrize("op", ["fmadd.d", "fnmsub.d", "fadd.d", "fsub.d"])
def test_periodic_fp64_chains(monkeypatch, op, data):
    """Eight FP64 accumulators fed by rewinding streams: with integer data every step is
    exact (the periodic sum is taken, no flags); with random data, odd values near 2^53
    (inexact sums) or chains that return to zero the general path runs on the repeated
    operands. Both equal the per-instruction path."""
    rng = np.random.default_rng(len(op) + len(data))
    taken = _spy_periodic(monkeypatch)
    L, R = 16, 40
    src = "ft0, ft1, fs{k}" if op.startswith(("fmadd", "fnmsub")) else "fs{k}, ft0"
    body = [f"{op} fs{k}, " + src.format(k=k) for k in range(8)]
    iters = L * R // 8
    if data == "int":
        x, y, init = _ints(rng, L), _ints(rng, L), _ints(rng, 8)
    elif data == "random":
        x, y, init = _f64(rng, L, 0.0), _f64(rng, L, 0.0), _f64(rng, 8, 0.0)
    elif data == "huge":
        x = np.full(L, 2.0 ** 50 + 1).tobytes()
        y, init = np.full(L, 3.0).tobytes(), _ints(rng, 8)
    else:  # +1, -1, ...: the chains pass through zero and end at zero
        x = np.array([1.0] * 8 + [-1.0] * 8).tobytes()
        y, init = np.ones(L).tobytes(), np.zeros(8).tobytes()
    fast = _compare(_periodic_src(body, L, R, iters), {"x": x, "y": y, "init": init},
                    expect_freps=1)
    assert (bool(taken) and all(taken)) == (data == "int")  # random: products inexact
    if data == "int":
        assert fast.fflags == 0


@pytest.mark.parametrize("op", ["fmadd.s", "fnmsub.s", "vfmac.h", "vfadd.h", "fadd.s"])
@pytest.mark.parametrize("data", ["int", "random"])
def test_periodic_narrow_chains(monkeypatch, op, data):
    import ml_dtypes
    rng = np.random.default_rng(3 + len(op))
    taken = _spy_periodic(monkeypatch)
    L, R = 8, 64
    if op.endswith(".s"):  # NaN-boxed FP32 words
        def words(v):
            return (np.asarray(v, np.float32).view(np.uint32).astype(np.uint64)
                    | np.uint64(0xFFFFFFFF00000000)).tobytes()
        mk = (lambda n: words(rng.integers(1, 3, n))) if data == "int" else \
            (lambda n: words(rng.standard_normal(n)))
    else:  # (positive integers: no chain ends at zero, which the general path handles)
        def mk(n):
            v = rng.integers(1, 3, 4 * n) if data == "int" else rng.standard_normal(4 * n)
            return v.astype(ml_dtypes.bfloat16).tobytes()
    args = {"fmadd.s": "ft0, ft1, fs{k}", "fnmsub.s": "ft0, ft1, fs{k}", "vfmac.h": "ft0, ft1",
            "vfadd.h": "fs{k}, ft0", "fadd.s": "fs{k}, ft0"}[op]
    body = [f"{op} fs{k}, " + args.format(k=k) for k in range(4)]
    fast = _compare(_periodic_src(body, L, R, L * R // 4), {"x": mk(L), "y": mk(L),
                                                            "init": mk(8)}, expect_freps=1)
    if data == "int":  # sums <= 2 * 2 * 128 + 2 < 2^11: exact in FP32, not in BF16
        assert taken and all(taken) == op.endswith(".s")
        assert (fast.fflags == 0) == op.endswith(".s")


@pytest.mark.parametrize("case", ["map_and_chain", "repeat", "stagger", "partial_period"])
def test_periodic_bodies(monkeypatch, case):
    """Temporaries evaluated on one row period (their last value is the last iteration's),
    SSR repeat, stagger, and an iteration count that is not a multiple of the period."""
    rng = np.random.default_rng(40 + len(case))
    taken = _spy_periodic(monkeypatch)
    L, R, rep, stagger = 12, 30, 0, "0, 0"
    body = ["fmul.d ft3, ft0, ft1", "fadd.d ft4, ft3, fs7", "fadd.d fs0, fs0, ft4",
            "fmadd.d fs1, ft0, ft3, fs1"]
    iters = L * R // 2
    if case == "repeat":
        rep = 2
        iters = L * R * 3 // 2
    elif case == "stagger":
        body = ["fmadd.d fs0, ft0, ft1, fs0"]
        stagger = "3, 0b1001"  # rd and rs3 rotate over fs0..fs3
        iters = L * R
    elif case == "partial_period":
        iters = L * R // 2 - 5
    _compare(_periodic_src(body, L, R, iters, rep, stagger),
             {"x": _ints(rng, L, 1), "y": _ints(rng, L, 1), "init": _ints(rng, 8, 1)},
             first=4, expect_freps=1)  # first: a whole number of stagger periods left
    assert taken and all(taken)


def test_fp64_dot_product_chains_stay_vectorised(monkeypatch):
    """Eight FP64 fused chains over random products, from zero, on the general path (not
    _binade_walk): the cheap candidate (the
    products rounded to odd, np.add.accumulate) is right once the sums outgrow their
    addends, so the Python-float stepping candidate is never needed; the result equals the
    per-instruction path."""
    rng = np.random.default_rng(99)
    stepped = []
    real = ff._fma64_loop

    def spy(ph, pl):
        loop = real(ph, pl)

        def run(a0, sl):
            stepped.append(sl.stop - sl.start)
            return loop(a0, sl)
        return run
    monkeypatch.setattr(ff, "_fma64_loop", spy)
    monkeypatch.setattr(ff, "_binade_walk", lambda *a: None)  # the general path here
    L, R = 64, 32
    body = [f"fmadd.d fs{k}, ft0, ft1, fs{k}" for k in range(8)]
    x = rng.uniform(0.5, 2.0, L).tobytes()
    y = rng.uniform(0.5, 2.0, L).tobytes()
    fast = _compare(_periodic_src(body, L, R, L * R // 8), {"x": x, "y": y,
                                                            "init": np.zeros(8).tobytes()},
                    expect_freps=1)
    assert not stepped
    assert fast.fflags == 1  # NX


@pytest.mark.parametrize("data", ["mixed", "cancel", "specials", "tiny"])
def test_fp64_fused_chain_proof_and_kernel_rows(monkeypatch, data):
    """FP64 fused chains verified partly by the proof (_fma64_proof) and partly by the
    exact kernel (small sums, sign changes and cancellation, specials, subnormal range):
    equal to the per-instruction path, fflags included."""
    rng = np.random.default_rng(len(data))
    seen = {"proved": 0, "kernel": 0}
    real = ff._proved

    def spy(st, fmt, rm, proof, prev, c, others, sl, pos, have_nx):
        ok, _ = proof(prev, c, sl, False)
        seen["proved"] += int(ok.sum())
        seen["kernel"] += int((~ok).sum())
        return real(st, fmt, rm, proof, prev, c, others, sl, pos, have_nx)
    monkeypatch.setattr(ff, "_proved", spy)
    n = 600
    if data == "mixed":  # magnitudes over 2^+-20, both signs: sums wander, cross zero
        x, y = _f64(rng, n, 0.0), _f64(rng, n, 0.0)
    elif data == "cancel":  # +-1 +- tiny: the sums cancel back towards zero again and again
        v = np.where(rng.random(n) < 0.5, 1.0, -1.0) * (1 + rng.random(n) * 2.0 ** -30)
        x, y = v.tobytes(), np.ones(n).tobytes()
    elif data == "specials":
        x, y = _f64(rng, n, 0.01), _f64(rng, n, 0.0)
    else:  # products near the bottom of the normal range
        x = (rng.uniform(1, 2, n) * 2.0 ** -520).tobytes()
        y = (rng.uniform(1, 2, n) * 2.0 ** -500).tobytes()
    body = [f"fmadd.d fs{k}, ft0, ft1, fs{k}" for k in range(2)]
    _compare(f"""
    _start:
        {_ssr(0, "x", n)}
        {_ssr(1, "y", n)}
        la t1, init
        fld fs0, 0(t1)
        fld fs1, 8(t1)
        csrsi ssr, 1
        li t2, {n // 2}-1
        frep.o t2, 2, 0, 0
        {body[0]}
        {body[1]}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .double 0.0, 3.0
    x: .zero 8*{n}
    y: .zero 8*{n}
    """, {"x": x, "y": y}, expect_freps=1)
    if data == "mixed":
        assert seen["proved"] and seen["kernel"]


@pytest.mark.parametrize("op", ["vfmac.s", "fmadd.s", "vfmac.h"])
def test_narrow_fused_chain_proof(monkeypatch, op):
    """Narrow fused chains with positive products (the sums grow): most steps proven by
    _chain_proof, the first ones through the exact kernel; equal to the per-instruction path.
    """
    import ml_dtypes
    rng = np.random.default_rng(len(op))
    seen = {"proved": 0, "kernel": 0}
    real = ff._proved

    def spy(st, fmt, rm, proof, prev, c, others, sl, pos, have_nx):
        ok, _ = proof(prev, c, sl, False)
        seen["proved"] += int(ok.sum())
        seen["kernel"] += int((~ok).sum())
        return real(st, fmt, rm, proof, prev, c, others, sl, pos, have_nx)
    monkeypatch.setattr(ff, "_proved", spy)
    n = 400
    if op == "fmadd.s":
        def mk(k):
            v = rng.uniform(0.5, 2.0, k).astype(np.float32).view(np.uint32).astype(np.uint64)
            return (v | np.uint64(0xFFFFFFFF00000000)).tobytes()
    elif op == "vfmac.s":
        def mk(k):
            return rng.uniform(0.5, 2.0, 2 * k).astype(np.float32).tobytes()
    else:
        def mk(k):
            return rng.uniform(0.5, 2.0, 4 * k).astype(ml_dtypes.bfloat16).tobytes()
    args = "ft0, ft1, fs{k}" if op == "fmadd.s" else "ft0, ft1"
    body = "\n".join(f"        {op} fs{k}, " + args.format(k=k) for k in range(2))
    _compare(f"""
    _start:
        csrwi fmode, 3
        {_ssr(0, "x", n)}
        {_ssr(1, "y", n)}
        la t1, init
        fld fs0, 0(t1)
        fld fs1, 8(t1)
        csrsi ssr, 1
        li t2, {n // 2}-1
        frep.o t2, 2, 0, 0
{body}
        csrci ssr, 1
        ecall
    .tcdm
    .balign 8
    init: .zero 16
    x: .zero 8*{n}
    y: .zero 8*{n}
    """, {"x": mk(n), "y": mk(n), "init": mk(2)}, expect_freps=1)
    if op != "vfmac.h":  # BF16 sums stop growing (their ulp outgrows the products)
        assert seen["proved"] > seen["kernel"] > 0


@pytest.mark.parametrize("op", ["fmax.d", "fmin.d", "fmax.s", "vfmax.h", "vfmin.h"])
@pytest.mark.parametrize("data", ["random", "specials", "all_nan", "partial"])
def test_periodic_minmax_chains(monkeypatch, op, data):
    """Min/max accumulators fed by rewinding streams: the final value is the extremum over one
    row period (_minmax_final), NaNs, signed zeros and signaling NaNs (NV) included; equal
    to the per-instruction path."""
    rng = np.random.default_rng(7 + len(op) + len(data))
    used = []
    real = ff._minmax_final

    def spy(acc, x, fmt, want_max):
        used.append(x.shape[0])
        return real(acc, x, fmt, want_max)
    monkeypatch.setattr(ff, "_minmax_final", spy)
    L, R = 8, 64
    special = {"random": 0.0, "specials": 0.3, "all_nan": 0.0, "partial": 0.1}[data]
    if op.endswith(".d"):
        def mk(n):
            if data == "all_nan":
                return np.full(n, 0x7FF4000000000000, dtype=np.uint64).tobytes()
            return _f64(rng, n, special)
    elif op.endswith(".s"):
        def mk(n):
            v = np.frombuffer(_f64(rng, n, 0.0), np.float64).astype(np.float32).view(np.uint32)
            if data != "random":
                v = v.copy()
                v[rng.random(n) < (1.0 if data == "all_nan" else special)] = 0x7FA00000
            return (v.astype(np.uint64) | np.uint64(0xFFFFFFFF00000000)).tobytes()
    else:
        def mk(n):
            if data == "all_nan":
                return np.full(4 * n, 0x7FA0, dtype=np.uint16).tobytes()
            return _bf16(rng, 4 * n, special)
    body = [f"{op} fs{k}, fs{k}, ft{k % 2}" for k in range(4)]
    iters = L * R // 4 - (5 if data == "partial" else 0)
    _compare(_periodic_src(body, L, R, iters), {"x": mk(L), "y": mk(L), "init": mk(8)},
             expect_freps=1)
    assert used and all(rows < iters for rows in used)  # one row period, not every row


def test_fma_ro_is_the_fused_result():
    """_fma_ro (Boldo & Melquiond's FMA by round-to-odd in Python floats) equals the exact
    fused kernel on random operands over a wide exponent range, cancellation included."""
    rng = np.random.default_rng(11)
    n = 4000
    a = rng.standard_normal(n) * np.exp2(rng.integers(-60, 60, n))
    b = rng.standard_normal(n) * np.exp2(rng.integers(-60, 60, n))
    c = rng.standard_normal(n) * np.exp2(rng.integers(-120, 120, n))
    c[::7] = -(a * b)[::7]  # cancellation: the product's rounding error is the result
    c[::11] = 0.0
    ph, pl = ff.fv._two_prod(a, b)
    got = np.array([ff._fma_ro(x, y, z) for x, y, z in
                    zip(c.tolist(), ph.tolist(), pl.tolist(), strict=True)])
    want, _ = ff.fv.k_fma(a.view(np.uint64), b.view(np.uint64), c.view(np.uint64), "fp64",
                          "rne")
    assert np.array_equal(got.view(np.uint64), want)


def _spy_walk(monkeypatch) -> list:
    taken = []
    real = ff._binade_walk

    def spy(*a, **k):
        r = real(*a, **k)
        taken.append(r is not None)
        return r
    monkeypatch.setattr(ff, "_binade_walk", spy)
    monkeypatch.setattr(ff, "_WALK_MIN_REPEATS", 1)  # these loops repeat their period less
    return taken


@pytest.mark.parametrize("data", ["dot", "negative", "mixed", "big_start", "ties", "huge",
                                  "cancel", "partial", "tiny"])
@pytest.mark.parametrize("op", ["fmadd.d", "fnmsub.d"])
def test_periodic_fp64_fused_chains_binade_walk(monkeypatch, op, data):
    """FP64 fused chains over repeating operands with inexact products (_binade_walk: jumps
    of whole periods inside a binade, emulated steps between binades): equal to the
    per-instruction path, fflags included; products of both signs, sums from zero or from
    far above the products, exact products that are ties in a later binade (the walk gives
    up there), products out of its domain, sums that cancel to zero, an iteration count
    that is no multiple of the period."""
    rng = np.random.default_rng(len(op) * 10 + len(data))
    taken = _spy_walk(monkeypatch)
    L, R = 16, 48
    body = [f"{op} fs{k}, ft0, ft1, fs{k}" for k in range(8)]
    iters = L * R // 8
    x = rng.uniform(0.5, 2.0, L)
    y = rng.uniform(0.5, 2.0, L)
    init = np.zeros(8)
    walks = True
    if data == "negative":
        x = -x
        init = -rng.uniform(0, 4, 8)
    elif data == "mixed":  # both signs, a positive drift: the sums still grow
        y = rng.uniform(-1.0, 2.0, L)
    elif data == "big_start":
        init = rng.uniform(1, 2, 8) * 2.0 ** 40 * np.where(rng.random(8) < 0.5, 1, -1)
    elif data == "ties":  # exact products 1 + odd 2^-40: ties once the sums reach 2^13
        x = 1.0 + (2 * rng.integers(0, 1000, L) + 1) * 2.0 ** -40
        y = np.ones(L)
        init = np.full(8, 2.0 ** 13 - 20) * (-1 if op == "fnmsub.d" else 1)
        R, iters = 64, 128  # over _WALK_STEPS steps in the binade of ties
        walks = False
    elif data == "huge":  # products beyond Dekker's exact domain
        x = x * 2.0 ** 600
        y = y * 2.0 ** 450
        walks = False
    elif data == "cancel":  # +p, -p, ...: every sum returns to (about) zero
        x = np.repeat(rng.uniform(0.5, 2.0, L // 2), 2) * np.tile([1.0, -1.0], L // 2)
        y = np.ones(L)
        body = [f"{op} fs{k}, ft0, ft1, fs{k}" for k in range(1)]
        iters = L * R
        walks = False
    elif data == "partial":
        iters -= 3
    elif data == "tiny":  # sums near 2^-905: emulated steps outside fastvec._fma64's domain
        x = x * 2.0 ** -460
        y = y * 2.0 ** -455
        init = np.full(8, 2.0 ** -950)
    fast = _compare(_periodic_src(body, L, R, iters),
                    {"x": x.tobytes(), "y": y.tobytes(), "init": init.tobytes()},
                    expect_freps=1)
    assert taken and all(taken) == walks
    if data == "dot":
        assert fast.fflags == 1  # NX


@pytest.mark.parametrize("seed", range(4))
def test_binade_walk_random_periods(monkeypatch, seed):
    """Random period lengths, accumulator counts, magnitudes and starting values: the walk
    (whenever it answers) equals the per-instruction path."""
    rng = np.random.default_rng(100 + seed)
    taken = _spy_walk(monkeypatch)
    L = int(rng.choice([4, 8, 12, 24]))
    nacc = int(rng.choice([1, 2, 4, 8]))
    R = int(rng.integers(20, 60))
    body = [f"fmadd.d fs{k}, ft0, ft1, fs{k}" for k in range(nacc)]
    x = rng.uniform(0.25, 4.0, L) * np.exp2(rng.integers(-8, 8))
    y = rng.uniform(-0.5, 2.0, L)
    init = rng.standard_normal(8) * np.exp2(rng.integers(-4, 20, 8))
    _compare(_periodic_src(body, L, R, L * R // nacc - int(rng.integers(0, 3))),
             {"x": x.tobytes(), "y": y.tobytes(), "init": init.tobytes()}, expect_freps=1)
    assert any(taken)


@pytest.mark.parametrize("case", ["saturate", "saturate_partial", "saturate_fma", "wander",
                                  "fp16_partial"])
def test_narrow_chains_fixed_point(monkeypatch, case):
    """Narrow chains over repeating operands stop where every accumulator is back at its
    value of one period before (BF16 sums stuck once the addends are below half their ulp):
    add chains inside _trusted_add's blocks, fused chains in _fixed_point's (found in a
    later block); chains that keep moving (FP16) run to the end. Equal to the per-instruction
    path, fflags included."""
    import ml_dtypes
    rng = np.random.default_rng(len(case))
    monkeypatch.setattr(ff, "_FIX_ROWS", 32)
    monkeypatch.setattr(ff, "_ADD_BLOCK", 64)
    found = []
    real = ff._fixed_point

    def spy(*a):
        r = real(*a)
        found.append(r)
        return r
    monkeypatch.setattr(ff, "_fixed_point", spy)
    rows = []  # fused: rows per general-path call
    real_general = ff._general

    def general(*a, **k):
        rows.append(a[5])
        return real_general(*a, **k)
    monkeypatch.setattr(ff, "_general", general)
    summed = []  # add: the last row accumulated
    real_acc = ff._accumulate

    def accumulate(x, fmt):
        add = real_acc(x, fmt)

        def run(a0, sl):
            summed.append(sl.stop)
            return add(a0, sl)
        return run
    monkeypatch.setattr(ff, "_accumulate", accumulate)
    L, R = 8, 500  # 32 BF16 lanes per stream buffer, 4 accumulators: a period of 2 rows
    body = [f"vfadd.h fs{k}, fs{k}, ft0" for k in range(4)]
    iters = L * R // 4
    x = rng.uniform(0.3, 0.9, 4 * L)
    y = rng.uniform(0.5, 1.5, 4 * L)
    mode = 3
    if case == "saturate_fma":  # products below 1: stuck at 256 too
        body = [f"vfmac.h fs{k}, ft0, ft1" for k in range(4)]
        y = rng.uniform(0.5, 1.0, 4 * L)
    elif case == "wander":  # both signs
        x = rng.uniform(-1.0, 1.0, 4 * L)
    elif case == "fp16_partial":  # FP16 lanes (fmode 0), a count no multiple of the period
        mode = 0
        iters -= 1
    elif case == "saturate_partial":  # the last row at the other phase of the period
        iters -= 1
    dt = ml_dtypes.bfloat16 if mode else np.float16
    src = _periodic_src(body, L, R, iters).replace("csrwi fmode, 3", f"csrwi fmode, {mode}")
    _compare(src, {"x": x.astype(dt).tobytes(), "y": y.astype(dt).tobytes(),
                   "init": np.zeros(32).astype(dt).tobytes()}, expect_freps=1)
    if case == "saturate_fma":  # stopped early: the last block was one period
        assert found and all(r is not None for r in found) and rows[-1] == 2, rows
    else:
        assert not found and summed
        if case != "wander":  # (a wandering BF16 sum may get stuck too)
            assert (max(summed) < iters) == case.startswith("saturate"), (max(summed), iters)


def test_binade_walk_only_for_often_repeated_periods(monkeypatch):
    """The walk's tables grow with the operands' period: it runs only when the period
    repeats _WALK_MIN_REPEATS times (the bench's 8-iteration period over 4096 iterations),
    not for a 256-iteration period repeated 8 times (the general path then)."""
    from vexpsim.arch.bench import bench
    calls = []
    real = ff._binade_walk

    def spy(*a, **k):
        calls.append(a[3])
        return real(*a, **k)
    monkeypatch.setattr(ff, "_binade_walk", spy)
    bench("frep_ssr_spmd_rand", 64, False, 1)
    assert calls and all(n >= 8 * ff._WALK_MIN_REPEATS for n in calls)
    calls.clear()
    bench("frep_ssr_spmd_rand_long", 1, False, 1)
    assert not calls
