"""The timed ISS (vexpsim.arch.timed) on real assembly programs: each Done-when micro-benchmark
of issue 4 pinned with an exact cycle count derived from snitch_cluster.md §8 (default cluster:
ALU result next cycle, MUL 3 to writeback, FP offload 2 cycles, FMA 3 to writeback with the
dependent at writeback + 1, NONCOMP 1, FP->int response cut 1, SSR FIFO 4, TCDM 1 cycle).

Cycle 0 is the issue cycle of the first instruction. `csrr rd, mcycle` returns its own issue
cycle; `timing["cycles"]` is the first cycle at which everything issued has written back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vexpsim.arch.config import load_cluster_config
from vexpsim.arch.functional import iss_config, run_source

PROGRAMS = Path(__file__).parent / "programs"


def run(src: str, **kw):
    r = run_source(src, harts=1, timing=True, **kw)
    assert r.harts[0].exit_code == 0, r.harts[0]
    return r, r.harts[0].timing


def test_back_to_back_alu_one_per_cycle():
    n = 20
    body = "\n".join(f"addi a1, a1, {i}" for i in range(n))
    r, t = run(f"_start:\ncsrr t0, mcycle\n{body}\ncsrr t1, mcycle\nsub a0, t1, t0\n"
               "li a0, 0\necall\n")
    # csrr at c, n ALU instructions (each dependent on the previous: no bubble, §2) at
    # c+1..c+n, csrr at c+n+1
    assert t["regions"][0]["cycles"] == n + 1
    assert t["regions"][0]["ipc"] == 1.0
    assert t["stalls"]["raw"] == 0
    # everything in order at one per cycle: cycles = instructions
    assert t["cycles"] == r.harts[0].retired


def test_load_use_distance():
    r, t = run("""_start:
        la t2, v
        csrr t0, mcycle
        lw a1, 0(t2)
        addi a2, a1, 1
        csrr t1, mcycle
        sub a3, t1, t0
        li a0, 0
        ecall
    .tcdm
    v: .word 41
    """)
    # lw at c+1, writeback 3 later (TCDM est, §8), dependent at c+1+4; csrr at c+6
    assert r.harts[0].x[13] == 6
    assert r.harts[0].x[12] == 42


def test_dependent_mul_chain_every_four_cycles():
    n = 5
    r, t = run("_start:\nli a0, 3\nli a1, 1\ncsrr t0, mcycle\n" + "mul a0, a0, a1\n" * n +
               "mv a2, a0\ncsrr t1, mcycle\nsub a3, t1, t0\nli a0, 0\necall\n")
    # mul k issues at c+1+4k (3 to writeback, dependent at +4, §8); the last result is usable
    # at c+1+4(n-1)+4, where mv issues; csrr one later
    assert r.harts[0].x[13] == 4 * n + 2
    assert t["stalls"]["raw"] == 3 * n
    assert t["events"]["int_mul"] == n


def test_dependent_fma_chain_issues_every_four_cycles():
    n = 8
    r, t = run("_start:\n" + "fmadd.d fa0, fa0, fa1, fa2\n" * n + "li a0, 0\necall\n")
    # core offloads FMA k at cycle k; the FPSS issues the first at 0+2 (offload, §3.1) and
    # each dependent one writeback + 1 = 4 cycles later (§3.2): last issue 2+4(n-1),
    # writeback 3 later, so the first idle cycle is 2+4(n-1)+3+1 = 4n+2
    assert t["cycles"] == 4 * n + 2
    assert t["stalls"]["fp_raw"] == 3 * (n - 1)
    assert t["fpu_busy_cycles"] == n


FREP_8 = """_start:
    li t1, {iters}-1
    frep.o t1, 8, 0, 0
""" + "".join(f"    fmadd.d fa{k}, ft3, ft4, fa{k}\n" for k in range(8)) + """
    li a0, 0
    ecall
"""


def test_eight_accumulators_in_frep_one_fp_instruction_per_cycle():
    iters = 25
    r, t = run(FREP_8.format(iters=iters))
    # li at 0, frep at 1, the first pass offloaded at 2..9 reaches the FPSS at 4..11; the
    # sequencer replays at one per cycle (§4.2) and each accumulator is reused 8 >= 4 cycles
    # later (§3.2): 8*iters issues at 4..4+8*iters-1, last writeback +3, idle one later
    assert t["cycles"] == 8 * iters + 7
    assert t["fpu_busy_cycles"] == 8 * iters
    assert t["stalls"]["fp_raw"] == 0
    assert r.harts[0].retired == 2 + 8 * iters + 2


def test_four_accumulators_in_frep_still_stall_free_but_two_do_not():
    def prog(k: int) -> str:
        return (f"_start:\nli t1, 19\nfrep.o t1, {k}, 0, 0\n" +
                "".join(f"fmadd.d fa{j}, ft3, ft4, fa{j}\n" for j in range(k)) +
                "li a0, 0\necall\n")
    _, t4 = run(prog(4))
    _, t2 = run(prog(2))
    # four accumulators: each reused exactly 4 cycles later (§3.2), so 80 issues at 4..83,
    # last writeback +3, idle one later
    assert t4["stalls"]["fp_raw"] == 0
    assert t4["cycles"] == 4 + 80 - 1 + 3 + 1
    # two accumulators: pair j issues at 4+4j and 5+4j (2 issues per 4-cycle dependency
    # distance), the first of each later pair waits 2 cycles
    assert t2["stalls"]["fp_raw"] == 2 * 19
    assert t2["cycles"] == 5 + 4 * 19 + 3 + 1


SSR3 = """.equ N, {n}
_start:
    li t0, N-1
    scfgwi t0, 2<<5 | 31      # bounds[0] of every SSR
    li t0, 8
    scfgwi t0, 6<<5 | 31      # strides[0]
    la t0, xs
    scfgwi t0, 24<<5 | 0      # SSR0 reads xs
    la t0, ys
    scfgwi t0, 24<<5 | 1      # SSR1 reads ys
    la t0, zs
    scfgwi t0, 28<<5 | 2      # SSR2 writes zs
    fcvt.d.w ft3, zero
    li t1, N-1
    csrr s0, mcycle
    csrsi ssr, 1
    frep.o t1, 1, 0, 0
    fmadd.d ft2, ft0, ft1, ft3
    csrci ssr, 1
    li a0, 0
    ecall
.tcdm
xs: {xs}
    .zero {pad}               # padding: element k of xs, ys, zs in different banks
ys: {ys}
    .zero {pad}
zs: .zero 8*N
"""


def _doubles(vals) -> str:
    return ".double " + ", ".join(repr(float(v)) for v in vals)


def test_three_stream_ssr_fmadd_one_element_per_cycle():
    n = 64
    xs, ys = np.arange(n) * 0.5, np.arange(n) + 0.25
    r, t = run(SSR3.format(n=n, xs=_doubles(xs), ys=_doubles(ys), pad=8))
    base = r.symbols["zs"]
    out = np.frombuffer(r.memory.read(base, 8 * n), dtype="<f8")
    np.testing.assert_array_equal(out, xs * ys)
    c = r.harts[0].x[8] + 1  # core issue cycle of csrsi ssr
    # csrsi reaches the FPSS at c+2 with an empty queue (direct path, §3.1); the streams
    # request their first element at c+3 and it is in the FIFO one TCDM cycle later, c+4.
    # frep at c+1, the body offloaded at c+2 arrives at c+4: the FMAs issue at c+4..c+3+n,
    # one element per cycle from each stream (§4.1); the last writes back 3 later (§3.2)
    assert t["cycles"] == c + 4 + (n - 1) + 3 + 1
    assert t["stalls"]["ssr_empty"] == 0 and t["stalls"]["ssr_full"] == 0
    assert t["fpu_busy_cycles"] == n + 1  # n FMAs + fcvt.d.w


def test_fp_to_int_move_waits_for_the_queue():
    r, t = run("""_start:
        csrr t0, mcycle
        fmadd.d fa0, fa0, fa1, fa2
        fmadd.d fa0, fa0, fa1, fa2
        fmadd.d fa0, fa0, fa1, fa2
        fmadd.d fa0, fa0, fa1, fa2
        fmv.x.w a1, fa5
        mv a2, a1
        csrr t1, mcycle
        sub a3, t1, t0
        li a0, 0
        ecall
    """)
    # csrr at c; FMAs offloaded at c+1..c+4 issue in the FPSS at c+3, c+7, c+11, c+15 (§3.2).
    # fmv.x.w (direct path) leaves the core at c+5, reaches the FPSS at c+7 but waits for the
    # queue to drain until c+16 (§3.1 item 3): 9 drain cycles. Its result: NONCOMP 1 + the
    # response cut 1 -> usable by mv at c+16+1+1+1 = c+19; csrr c+20. The core itself waits
    # for the drain (its offload handshake is accepted only with an empty queue): 9 drain
    # cycles, after which it can issue at c+15 and waits 4 RAW cycles for the result.
    assert r.harts[0].x[13] == 20
    assert t["stalls"]["drain"] == 9
    assert t["stalls"]["raw"] == 4


VEXP = """_start:
    li t0, 3
    csrw fmode, t0
{body}
    li a0, 0
    ecall
"""


@pytest.fixture(scope="module")
def vexp_cfg():
    cluster = load_cluster_config(preset="vexp_paper")
    return cluster, iss_config(cluster, harts=1)


def test_vfexp_throughput_and_latency(vexp_cfg):
    cluster, cfg = vexp_cfg
    lat = cluster.fpu.lat_exp
    n = 16
    indep = "\n".join(f"    vfexp.ah fa{i % 4}, fa{4 + i % 4}" for i in range(n))
    _, ti = run(VEXP.format(body=indep), config=cfg)
    dep = "\n".join("    vfexp.ah fa0, fa0" for _ in range(n))
    _, td = run(VEXP.format(body=dep), config=cfg)
    # li at 0; csrw fmode (FP CSR, direct path) at core 1 issues in the FPSS at 3; the vfexp
    # k offloaded at 2+k arrives at 4+k. Independent: one per cycle (pipelined EXP group),
    # issues 4..4+n-1, last writeback +lat, idle one later
    assert ti["cycles"] == 4 + n - 1 + lat + 1
    assert ti["stalls"]["fp_raw"] == 0
    # dependent chain: one every lat+1 cycles (no forwarding, §3.1 item 7)
    assert td["cycles"] == 4 + (n - 1) * (lat + 1) + lat + 1
    assert ti["events"] == td["events"]


def test_fp_queue_full_stalls_the_core():
    n = 60
    _, t = run("_start:\n" + "fmadd.d fa0, fa0, fa1, fa2\n" * n + "li a0, 0\necall\n")
    # the FPSS drains one FMA per 4 cycles, the core offloads one per cycle: with the
    # 32-entry queue (§3.1 item 3) the core stalls; the FP timeline is unchanged
    assert t["stalls"]["fpq_full"] > 0
    assert t["cycles"] == 4 * n + 2


def test_regions_split_at_each_mcycle_read():
    r, t = run("""_start:
        csrr t0, mcycle
        addi a1, a1, 1
        addi a1, a1, 1
        csrr t1, mcycle
        li a3, 2
        mul a2, a3, a3
        addi a4, a2, 1
        csrr t2, mcycle
        li a0, 0
        ecall
    """)
    regs = t["regions"]
    assert [g["cycles"] for g in regs] == [3, 1 + 1 + 4 + 1]
    assert [g["retired"] for g in regs] == [3, 4]
    assert regs[1]["stalls"]["raw"] == 3
    # events counted at issue, the closing csrr included: 2 addi + csrr; li, mul, addi + csrr
    assert [g["events"] for g in regs] == [{"int_alu": 3}, {"int_alu": 3, "int_mul": 1}]
    x = r.harts[0].x
    assert [x[6] - x[5], x[7] - x[6]] == [g["cycles"] for g in regs]


def _state(r):
    return ([(h.x, h.f, h.fflags, h.retired, h.exit_code) for h in r.harts],
            bytes(r.memory.regions[0][3]))


@pytest.mark.parametrize("src", [
    FREP_8.format(iters=7),
    SSR3.format(n=8, xs=_doubles(range(8)), ys=_doubles(range(8, 16)), pad=0),
    (PROGRAMS / "bench_fp.S").read_text(),
    (PROGRAMS / "bench_int.S").read_text(),
], ids=["frep8", "ssr3", "bench_fp", "bench_int"])
def test_functional_results_identical_with_timing_on_and_off(src):
    on = run_source(src, harts=1, timing=True, defines={"ITERS": 50})
    off = run_source(src, harts=1, timing=False, defines={"ITERS": 50})
    assert _state(on) == _state(off)
    assert off.harts[0].timing is None and on.harts[0].timing is not None


def test_multi_hart_barrier_aligns_clocks():
    r = run_source("""_start:
        csrr a1, mhartid
        beqz a1, 2f
        li a2, 10
    1:  addi a2, a2, -1
        bnez a2, 1b
    2:  csrr zero, 0x7c2
        csrr a3, mcycle
        li a0, 0
        ecall
    """, harts=2, timing=True)
    # hart 1 spends 2 + 20 cycles in its loop; after the barrier both read the same cycle
    assert r.harts[0].x[13] == r.harts[1].x[13]


def test_exec_cli_reports_timing(tmp_path, capsys):
    import json

    from vexpsim import cli
    prog = tmp_path / "p.S"
    prog.write_text("_start:\ncsrr t0, mcycle\nli a1, 2\nmul a1, a1, a1\naddi a1, a1, 1\n"
                    "csrr t1, mcycle\nli a0, 0\necall\n")
    out = tmp_path / "o.json"
    assert cli.main(["exec", str(prog), "--harts", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    t = data["harts"][0]["timing"]
    # li c+1, mul c+2 (result usable c+6, §8), addi c+6, csrr c+7; then li, ecall
    assert t["regions"][0]["cycles"] == 7
    assert data["cycles"] == t["cycles"] == 10
    assert set(t) >= {"cycles", "retired", "ipc", "stalls", "events", "fpu_utilisation",
                      "regions"}
    text = capsys.readouterr().out
    assert "cycles 10 (timing model" in text and "region 0: cycles 7" in text
    assert cli.main(["exec", str(prog), "--harts", "1", "--no-timing", "--json",
                     str(out)]) == 0
    data = json.loads(out.read_text())
    assert "timing" not in data["harts"][0] and data["cycles"] == 7


def test_divsqrt_not_pipelined_and_sqrt_extra(vexp_cfg):
    cluster, cfg = vexp_cfg
    lat, extra = cluster.fpu.divsqrt.lat_fp64, cluster.fpu.divsqrt.sqrt_extra
    _, t2 = run("_start:\nfdiv.d fa0, fa1, fa2\nfdiv.d fa3, fa4, fa5\nli a0, 0\necall\n",
                config=cfg)
    # first fdiv issues in the FPSS at 2; the unit is busy until 2+lat, when the second
    # (arrived at 3) issues: it waits lat-1 cycles and writes back at 2+2*lat
    assert t2["stalls"]["unit_busy"] == lat - 1
    assert t2["cycles"] == 2 + 2 * lat + 1
    _, ts = run("_start:\nfsqrt.d fa0, fa1\nli a0, 0\necall\n", config=cfg)
    assert ts["cycles"] == 2 + lat + extra + 1


def test_exec_trace_and_perfetto(tmp_path):
    import json

    from vexpsim import cli
    prog = tmp_path / "p.S"
    prog.write_text("_start:\nli a1, 3\nfcvt.d.w fa0, a1\nfmadd.d fa1, fa0, fa0, fa0\n"
                    "li a0, 0\necall\n")
    tr, pf = tmp_path / "t.txt", tmp_path / "t.json"
    assert cli.main(["exec", str(prog), "--harts", "1", "--trace", str(tr),
                     "--perfetto", str(pf)]) == 0
    lines = tr.read_text().splitlines()
    # li at 0; fcvt.d.w (int->FP, direct path) core 1 -> FPSS 3, CONV 2 to writeback;
    # fmadd offloaded at 2 arrives at 4, waits for fa0 until 3+2+1 = 6 (no forwarding)
    assert [int(ln.split()[0]) for ln in lines] == [0, 3, 6, 3, 4]
    assert "f10=0x4008000000000000" in lines[1]  # 3.0
    ev = [e for e in json.loads(pf.read_text())["traceEvents"] if e["ph"] == "X"]
    assert [(e["name"], e["ts"], e["tid"]) for e in ev] == [
        ("addi", 0, 0), ("fcvt.d.w", 3, 1), ("fmadd.d", 6, 1), ("addi", 3, 0),
        ("ecall", 4, 0)]
    assert cli.main(["exec", str(prog), "--harts", "1", "--no-timing",
                     "--perfetto", str(pf)]) == 1


def test_tracing_does_not_change_timing():
    from vexpsim.arch.functional import run_program
    from vexpsim.asm import assemble
    cfg = iss_config(harts=1)
    prog = assemble(SSR3.format(n=8, xs=_doubles(range(8)), ys=_doubles(range(8)), pad=0),
                    tcdm_base=cfg.tcdm_base, text_base=cfg.main_base)
    trace: list = []
    a = run_program(prog, harts=1, timing=True, config=cfg, trace=trace)
    b = run_program(prog, harts=1, timing=True, config=cfg)
    assert a.harts[0].timing == b.harts[0].timing
    assert len(trace) == a.harts[0].retired


def test_events_by_energy_key_and_unit_and_fp_csr_source_wait():
    r, t = run("""_start:
        li t0, 2
        mul t0, t0, t0
        csrw frm, t0
        fadd.d fa0, fa1, fa2
        fmul.d fa3, fa1, fa2
        fmv.x.w a1, fa0
        li a0, 0
        ecall
    """)
    assert t["units"] == {"addmul": 2, "alu": 3, "csr": 1, "mul": 1, "noncomp": 1}
    assert sum(t["events"].values()) == r.harts[0].retired == 8
    assert t["fpu_busy_cycles"] == 3
    # li 0, mul 1 (usable at 5, §8): csrw frm waits 3 RAW cycles, issues at core 5 and in the
    # FPSS at 7 (direct path); fadd/fmul offloaded at 6/7 issue at 8/9; fmv.x.w offloaded at
    # 8 waits for fa0 (8+3+1 = 12), its result reaches a1 at 12+1+1+1 = 15 (§3.1 item 8)
    assert t["stalls"]["raw"] == 3
    assert t["cycles"] == 15
    assert r.harts[0].frm == 4


@pytest.mark.parametrize("src", [
    FREP_8.format(iters=3),
    SSR3.format(n=8, xs=_doubles(range(8)), ys=_doubles(range(8, 16)), pad=0),
    (PROGRAMS / "bench_fp.S").read_text(),
    (PROGRAMS / "bench_int.S").read_text(),
    # late operands as first and as second source, a WAW on a load's rd, a branch
    "_start:\nli a1, 5\nli a2, 3\ndiv a3, a1, a2\nadd a4, a1, a3\nmul a6, a4, a4\n"
    "sub a7, a6, a1\nla t0, v\nlw a5, 0(t0)\nli a5, 1\nlw a5, 0(t0)\nbeq a4, a5, 1f\n"
    "slli a5, a5, 2\n1: csrr t1, mcycle\nsub a0, a5, a5\necall\n.tcdm\nv: .word 7\n",
], ids=["frep8", "ssr3", "bench_fp", "bench_int", "hazards"])
def test_inlined_alu_rule_agrees_with_core_timing(src, monkeypatch):
    from vexpsim.arch.timed import HartTiming
    fast = run_source(src, harts=1, timing=True, defines={"ITERS": 20})
    monkeypatch.setattr(HartTiming, "INLINE_ALU", False)
    ref = run_source(src, harts=1, timing=True, defines={"ITERS": 20})
    assert fast.harts[0].timing == ref.harts[0].timing
    assert fast.harts[0].timing["cycles"] > fast.harts[0].retired  # stalls were exercised


def test_load_latencies_follow_the_config_by_memory_region():
    src = """_start:
        la t0, {where}
        fld fa0, 0(t0)
        fadd.d fa1, fa0, fa0
        li a0, 0
        ecall
    .data
    m: .double 1.0
    .tcdm
    v: .double 1.0
    """
    cl = load_cluster_config(overrides=["fpss.lat_fp_load_main=20",
                                        "fpss.lat_fp_load_tcdm=3"])
    cfg = iss_config(cl, harts=1)
    # la (2 instructions) at 0-1, fld offloaded at 2 issues in the FPSS at 4, writes back
    # `lat` later; the dependent fadd issues one after writeback and writes back 3 later
    for where, lat in (("m", 20), ("v", 3)):
        _, t = run(src.format(where=where), config=cfg)
        assert t["cycles"] == 4 + lat + 1 + 3 + 1


@pytest.mark.parametrize("src", [
    FREP_8.format(iters=3),
    SSR3.format(n=8, xs=_doubles(range(8)), ys=_doubles(range(8, 16)), pad=0),
    (PROGRAMS / "bench_fp.S").read_text(),
], ids=["frep8", "ssr3", "bench_fp"])
def test_inlined_fp_rule_agrees_with_core_timing(src, monkeypatch):
    from vexpsim.arch.timed import HartTiming
    fast = run_source(src, harts=1, timing=True, defines={"ITERS": 20})
    monkeypatch.setattr(HartTiming, "INLINE_FP", False)
    ref = run_source(src, harts=1, timing=True, defines={"ITERS": 20})
    assert fast.harts[0].timing == ref.harts[0].timing
    assert fast.harts[0].timing["fpss_issued"] > 0


@pytest.mark.parametrize("name,params", [
    ("gemm_bf16", {"M": 16, "N": 16, "K": 32, "TK": 32}),  # 8 cores, TCDM contention, SSRs
    ("gelu_vexp", {}),  # non-pipelined DIVSQRT writing a stream
])
def test_inlined_fp_rule_agrees_on_cluster_kernels(name, params, monkeypatch):
    from vexpsim.arch.timed import HartTiming
    from vexpsim.experiments.kernelrun import run_kernel
    fast = run_kernel(name, params).record
    monkeypatch.setattr(HartTiming, "INLINE_FP", False)
    ref = run_kernel(name, params).record
    fast.pop("sim"), ref.pop("sim")  # host time
    assert fast == ref
