"""kernels/lib/expf.S is bit-identical to the NumPy model expf_libm, on the ISS and on QEMU."""

import os
from pathlib import Path

import numpy as np
import pytest

from vexpsim.arch.functional import run_program
from vexpsim.asm import assemble
from vexpsim.numerics.exp import expf_libm

KERNELS = Path(__file__).resolve().parents[2] / "kernels"

DRIVER = """
    .text
    .globl _start
_start:
    la      sp, stack_top
    la      s0, xs
    la      s1, ys
    li      s2, N
    li      s3, 0
1:  flw     fa0, 0(s0)
    call    expf
    fsw     fa0, 0(s1)
    fmv.x.w t0, fa0
    add     s3, s3, t0              # checksum of the result bits (compared with QEMU)
    addi    s0, s0, 4
    addi    s1, s1, 4
    addi    s2, s2, -1
    bnez    s2, 1b
    li      a0, 0
    li      a7, 93
    ecall
INCLUDE_EXPF
    .data
    .balign 8
xs: XS_DATA
ys: .zero 4*N
    .balign 16
stack: .zero 256
stack_top:
"""


def driver(x: np.ndarray, inline: bool = False) -> str:
    words = ", ".join(str(int(v)) for v in x.view(np.uint32))
    lib = (KERNELS / "lib" / "expf.S").read_text() if inline else '    .include "lib/expf.S"'
    return (f"    .equ N, {x.size}\n" + DRIVER.replace("INCLUDE_EXPF", lib)
            .replace("XS_DATA", f".word {words}"))


def special_inputs() -> np.ndarray:
    vals = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 88.0, -88.0, 88.72283,
            88.72284, 89.0, -103.97207, -103.97209, -104.0, -87.3, -100.0, 1e-30, -1e-30,
            1e-45, 0.5, -0.5, 10.0, -10.0, 2.0**-24]
    bits = np.array([0x7FC00001, 0x7F800001, 0xFFC00000, 0x42B17218, 0xC2CFF1B5,
                     0x42AFFFFF, 0x42B00000], dtype=np.uint32)
    return np.concatenate([np.array(vals, dtype=np.float32), bits.view(np.float32)])


def inputs(n_random: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([special_inputs(),
                           rng.uniform(-110, 100, n_random).astype(np.float32),
                           np.linspace(-20, 0, 64, dtype=np.float32)])


def build(x: np.ndarray):
    return assemble(driver(x), filename="expf_driver.S", include_dirs=(str(KERNELS),))


def run_iss(x: np.ndarray, timing: bool = False):
    prog = build(x)
    res = run_program(prog, harts=1, timing=timing)
    assert res.harts[0].exit_code == 0
    y = np.frombuffer(res.memory.read(prog.symbols["ys"], 4 * x.size), dtype="<u4")
    return y, res


def test_bit_identical_to_the_model():
    x = inputs(1500, 0)
    y, _ = run_iss(x)
    expect = expf_libm(x).view(np.uint32)
    bad = np.flatnonzero(y != expect)
    assert bad.size == 0, [(hex(int(x.view(np.uint32)[i])), hex(int(y[i])), hex(int(expect[i])))
                           for i in bad[:5]]


def test_instruction_count_and_cycles_on_the_common_path():
    x = np.linspace(-10, 0, 16, dtype=np.float32)
    y, res = run_iss(x, timing=True)
    t = res.to_json()["harts"][0]["timing"]
    per_call = (t["retired"] - 11) / x.size  # minus the driver's set-up (8) and exit (3)
    # 10 driver instructions per element (call = auipc + jalr) + the routine's common path:
    # 5 for the |x| >= 88 test, 38 for the computation, 2 for fcvt.s.d and ret
    assert per_call == 10 + 45, per_call
    assert t["cycles"] > t["retired"]  # direct-path moves and loads stall


@pytest.mark.qemu
def test_same_bits_on_qemu(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "difftest"))
    from qemu_oracle import assemble_and_link, have_toolchain, run_qemu

    if not have_toolchain():
        if os.environ.get("CI") == "true":
            pytest.fail("qemu-riscv32 / riscv64-unknown-elf binutils missing in CI")
        pytest.skip("qemu-riscv32 / riscv64-unknown-elf binutils not installed")
    x = inputs(300, 1)
    want = expf_libm(x).view(np.uint32)
    # QEMU's dump has registers only, so the program itself compares every result with the
    # model's bits: s4 = number of mismatches, s5 = 1 + index of the last one (0: none).
    check = f"""
    la      s0, ys
    la      s1, want
    li      s2, 0
    li      s4, 0
    li      s5, 0
2:  lw      t0, 0(s0)
    lw      t1, 0(s1)
    addi    s2, s2, 1
    beq     t0, t1, 3f
    addi    s4, s4, 1
    mv      s5, s2
3:  addi    s0, s0, 4
    addi    s1, s1, 4
    li      t2, N
    bne     s2, t2, 2b
    li      a0, 0
    li      a7, 93
    ecall
    .data
    .balign 4
want: .word {", ".join(str(int(v)) for v in want)}
    .text
"""
    src = driver(x, inline=True).replace("    li      a0, 0\n    li      a7, 93\n    ecall\n",
                                         check, 1)
    assert "want:" in src
    state = run_qemu(assemble_and_link(src, tmp_path))
    assert state.exit_code == 0
    assert (state.x[20], state.x[21]) == (0, 0), (state.x[20], state.x[21])  # s4, s5
    expect = int(want.astype(np.uint64).sum()) & 0xFFFFFFFF
    _, res = run_iss(x)
    assert state.x[19] == res.harts[0].x[19] == expect  # s3 = x19: checksum of every result


DRIVER_8 = """
    .equ H, 8
    .text
    .globl _start
_start:
    csrr    t0, mhartid
    la      sp, stacks
    addi    t1, t0, 1
    slli    t1, t1, 6
    add     sp, sp, t1              # own 64-byte stack per hart
    la      s0, xs
    la      s1, ys
    slli    t1, t0, 2
    add     s0, s0, t1              # hart h does elements h, h+H, h+2H, ...
    add     s1, s1, t1
    li      s2, N / H
1:  flw     fa0, 0(s0)
    call    expf
    fsw     fa0, 0(s1)
    addi    s0, s0, 4*H
    addi    s1, s1, 4*H
    addi    s2, s2, -1
    bnez    s2, 1b
    li      a0, 0
    li      a7, 93
    ecall
    .include "lib/expf.S"
    .data
    .balign 8
xs: XS_DATA
ys: .zero 4*N
    .balign 16
stacks: .zero 64*H
"""


def test_eight_harts_call_it_concurrently():
    # Harts run in lock-step round-robin, so the calls interleave instruction by instruction:
    # a scratch slot shared between harts would corrupt s and the results would differ.
    x = inputs(200, 2)
    x = x[: x.size - x.size % 8]
    words = ", ".join(str(int(v)) for v in x.view(np.uint32))
    src = f"    .equ N, {x.size}\n" + DRIVER_8.replace("XS_DATA", f".word {words}")
    prog = assemble(src, filename="expf_driver8.S", include_dirs=(str(KERNELS),))
    res = run_program(prog, harts=8)
    assert [h.exit_code for h in res.harts] == [0] * 8
    assert len({h.retired for h in res.harts}) > 1  # the harts take different paths
    y = np.frombuffer(res.memory.read(prog.symbols["ys"], 4 * x.size), dtype="<u4")
    np.testing.assert_array_equal(y, expf_libm(x).view(np.uint32))
