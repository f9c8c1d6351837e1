"""Snitch extensions on the functional ISS: Xssr, Xfrep, Xdma (snitch_cluster.md §4)."""

from __future__ import annotations

import numpy as np
import pytest

from vexpsim.arch.functional import iss_config, run_source
from vexpsim.errors import UserError

CFG = iss_config(harts=1)


def run(src: str, **kw):
    return run_source(src, filename="s.S", config=CFG, **kw)


def doubles(r, sym: str, n: int) -> np.ndarray:
    return np.frombuffer(r.memory.read(r.symbols[sym], 8 * n), dtype="<f8")


def data(name: str, values) -> str:
    return f"{name}:\n" + "\n".join(f"  .double {float(v)!r}" for v in values)


def test_ssr_read_stream_with_frep_sums_an_array():
    xs = np.arange(1, 17) * 0.5
    r = run(f"""
    .equ N, 16
    _start:
        li t0, N-1
        scfgwi t0, 2<<5 | 0      # bounds[0]
        li t0, 8
        scfgwi t0, 6<<5 | 0      # strides[0]
        la t0, xs
        scfgwi t0, 24<<5 | 0     # rptr[0]: start a 1-D read stream
        scfgri a2, 0<<5 | 0      # status right after the start: not done
        csrsi ssr, 1
        fcvt.d.w fa0, zero
        li t1, N-1
        frep.o t1, 1, 0, 0
        fadd.d fa0, fa0, ft0
        csrci ssr, 1
        la t0, out
        fsd fa0, 0(t0)
        scfgri a1, 0<<5 | 0      # status: done bit
        li a0, 0
        ecall
    .tcdm
    {data("xs", xs)}
    out: .zero 8
    """)
    assert doubles(r, "out", 1)[0] == xs.sum()
    assert r.harts[0].x[11] >> 31 == 1  # status: the stream is done
    assert r.harts[0].x[12] >> 31 == 0
    # every repetition counts as an executed instruction: frep + 16 body executions
    assert r.harts[0].retired >= 16 + 1


def test_ssr_2d_relative_strides_repeat_and_write_stream():
    # A is 3x4 (row-major); stream its transpose (column by column) with each element
    # repeated twice, and write 2*a to the output through SSR2.
    a = np.arange(12, dtype=float).reshape(3, 4) + 1
    r = run(f"""
    _start:
        li t0, 1
        scfgwi t0, 1<<5 | 0      # repeat: each element delivered twice
        li t0, 2
        scfgwi t0, 2<<5 | 0      # bounds[0] = 3 rows - 1
        li t0, 3
        scfgwi t0, 3<<5 | 0      # bounds[1] = 4 cols - 1
        li t0, 32
        scfgwi t0, 6<<5 | 0      # stride[0]: next row
        li t0, 8 - 2*32
        scfgwi t0, 7<<5 | 0      # stride[1], relative: s1 - s0*(b0-1)
        li t0, 23
        scfgwi t0, 2<<5 | 2      # SSR2: 24 elements, 1-D
        li t0, 8
        scfgwi t0, 6<<5 | 2
        la t0, a
        scfgwi t0, 25<<5 | 0     # rptr[1]: 2-D read
        la t0, out
        scfgwi t0, 28<<5 | 2     # wptr[0]: 1-D write
        li t0, 2
        fcvt.d.w fa1, t0
        csrsi ssr, 1
        li t1, 23
        frep.o t1, 1, 0, 0
        fmul.d ft2, ft0, fa1
        csrci ssr, 1
        li a0, 0
        ecall
    .tcdm
    {data("a", a.ravel())}
    out: .zero 192
    """)
    expect = np.repeat(a.T.ravel(), 2) * 2
    assert np.array_equal(doubles(r, "out", 24), expect)


def test_ssr_broadcast_config_and_readback():
    r = run("""
    _start:
        li t0, 7
        scfgwi t0, 2<<5 | 31     # bounds[0] of every SSR
        scfgri a1, 2<<5 | 0
        scfgri a2, 2<<5 | 1
        li t1, (3<<5) | 2
        li t0, 5
        scfgw t0, t1             # register form: bounds[1] of SSR2
        scfgr a3, t1
        li a0, 0
        ecall
    """)
    x = r.harts[0].x
    assert (x[11], x[12], x[13]) == (7, 7, 5)


def test_ssr_overrun_is_an_error():
    src = """
    _start:
        scfgwi zero, 2<<5 | 0
        li t0, 8
        scfgwi t0, 6<<5 | 0
        la t0, xs
        scfgwi t0, 24<<5 | 0
        csrsi ssr, 1
        fmv.d fa0, ft0
        fmv.d fa1, ft0
        ecall
    .tcdm
    xs: .double 1.0
    """
    with pytest.raises(UserError, match=r"(?s)s\.S:10.*SSR0.*after the stream ended"):
        run(src)


def test_ssr_disabled_reads_the_register_file():
    r = run("_start:\n li t0, 3\n fcvt.d.w ft0, t0\n fmv.d fa0, ft0\n fcvt.w.d a0, fa0\n"
            " ecall")
    assert r.harts[0].exit_code == 3


def test_frep_stagger_keeps_four_accumulators():
    xs = np.arange(1, 17, dtype=float)
    r = run(f"""
    _start:
        li t0, 15
        scfgwi t0, 2<<5 | 0
        li t0, 8
        scfgwi t0, 6<<5 | 0
        la t0, xs
        scfgwi t0, 24<<5 | 0
        csrsi ssr, 1
        fcvt.d.w fa0, zero
        fcvt.d.w fa1, zero
        fcvt.d.w fa2, zero
        fcvt.d.w fa3, zero
        li t1, 15
        frep.o t1, 1, 3, 0b0011   # rd and rs1 staggered over fa0..fa3
        fadd.d fa0, fa0, ft0
        csrci ssr, 1
        li a0, 0
        ecall
    .tcdm
    {data("xs", xs)}
    """)
    f = r.harts[0].f
    got = [np.frombuffer(f[10 + k].to_bytes(8, "little"), "<f8")[0] for k in range(4)]
    assert got == [xs[k::4].sum() for k in range(4)]


def test_frep_inner_loop_nested_in_outer():
    r = run("""
    _start:
        li t0, 1
        fcvt.d.w fa1, t0
        fcvt.d.w fa0, zero
        li t1, 2          # outer: 3 iterations
        li t2, 3          # inner: 4 iterations
        frep.o t1, 3, 0, 0
        frep.i t2, 1, 0, 0
        fadd.d fa0, fa0, fa1
        fadd.d fa0, fa0, fa0
        fcvt.w.d a0, fa0
        ecall
    """)
    # each outer iteration: fa0 = 2 * (fa0 + 4)
    v = 0
    for _ in range(3):
        v = 2 * (v + 4)
    assert r.harts[0].exit_code == v


@pytest.mark.parametrize("body,msg", [
    ("addi a0, a0, 1", "not an FP instruction"),
    ("fcvt.w.d a0, fa0", "not an FP instruction"),
])
def test_frep_body_restrictions(body, msg):
    with pytest.raises(UserError, match=msg):
        run(f"_start:\n li t1, 1\n frep.o t1, 1, 0, 0\n {body}\n ecall")


def test_frep_body_longer_than_buffer():
    body = "\n".join(" fadd.d fa0, fa0, fa0" for _ in range(33))
    with pytest.raises(UserError, match="exceeds the sequencer buffer"):
        run(f"_start:\n frep.o zero, 33, 0, 0\n{body}\n ecall")


def test_dma_1d_and_2d_copies_and_status():
    src_vals = np.arange(32, dtype="<u4")
    words = ", ".join(str(int(v)) for v in src_vals)
    r = run(f"""
    _start:
        la t0, src
        la t1, dst
        dmsrc t0, zero
        dmdst t1, zero
        li t2, 64
        dmcpyi a1, t2, 0          # 1-D: 64 bytes
        # 2-D: 4 rows of 8 bytes, source stride 32, destination stride 8
        la t1, dst2
        dmdst t1, zero
        li t3, 32
        li t4, 8
        dmstr t3, t4
        li t3, 4
        dmrep t3
        li t2, 8
        li t5, 2
        dmcpy a2, t2, t5          # register form, config bit 1 = 2-D
        dmstati a3, 0             # completed id
        dmstati a4, 2             # busy
        li t5, 1
        dmstat a5, t5             # next id
        li a0, 0
        ecall
    .data
    src: .word {words}
    .tcdm
    dst: .zero 64
    dst2: .zero 32
    """)
    x = r.harts[0].x
    assert (x[11], x[12], x[13], x[14], x[15]) == (1, 2, 2, 0, 3)
    got = np.frombuffer(r.memory.read(r.symbols["dst"], 64), "<u4")
    assert np.array_equal(got, src_vals[:16])
    got2 = np.frombuffer(r.memory.read(r.symbols["dst2"], 32), "<u4")
    assert np.array_equal(got2, np.concatenate([src_vals[k * 8:k * 8 + 2] for k in range(4)]))


def test_ssr_lane_read_twice_in_one_instruction_pops_once():
    # fadd.d fa0, ft0, ft0 reads the same lane on two ports: one element, used twice
    xs = [1.0, 2.0, 3.0, 4.0]
    r = run(f"""
    _start:
        li t0, 3
        scfgwi t0, 2<<5 | 0
        li t0, 8
        scfgwi t0, 6<<5 | 0
        la t0, xs
        scfgwi t0, 24<<5 | 0
        csrsi ssr, 1
        fcvt.d.w fa1, zero
        li t1, 3
        frep.o t1, 2, 0, 0
        fadd.d fa0, ft0, ft0
        fadd.d fa1, fa1, fa0
        csrci ssr, 1
        fcvt.w.d a0, fa1
        ecall
    .tcdm
    {data("xs", xs)}
    """)
    assert r.harts[0].exit_code == 2 * sum(xs)


def test_vexp_stream_loop_in_bf16_mode():
    """The paper's EXP loop shape (vexp_paper.md Fig. 4): stream packed BF16 words in with
    SSR0, `vfexp.h` in BF16 mode under FREP, stream the results out with SSR1."""
    from vexpsim.numerics.exp import vexp_bf16_bits
    rng = np.random.default_rng(7)
    xs = rng.integers(0, 1 << 16, size=32, dtype=np.uint16)
    words = xs.view("<u8")
    lines = "\n".join(f"  .dword {int(w):#x}" for w in words)
    r = run(f"""
    .equ W, 8                    # 8 words of 4 BF16 lanes
    _start:
        csrwi fmode, 3           # BF16 source and destination
        li t0, W-1
        scfgwi t0, 2<<5 | 31     # bounds[0] of all SSRs
        li t0, 8
        scfgwi t0, 6<<5 | 31     # strides[0]
        la t0, xs
        scfgwi t0, 24<<5 | 0     # SSR0 reads x
        la t0, ys
        scfgwi t0, 28<<5 | 1     # SSR1 writes y
        csrsi ssr, 1
        li t1, W-1
        frep.o t1, 1, 0, 0
        vfexp.h ft1, ft0
        csrci ssr, 1
        li a0, 0
        ecall
    .tcdm
    xs:
    {lines}
    ys: .zero 64
    """)
    got = np.frombuffer(r.memory.read(r.symbols["ys"], 64), "<u2")
    assert np.array_equal(got, vexp_bf16_bits(xs))
