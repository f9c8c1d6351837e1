"""Timing rules of one core (snitch_cluster.md §8), pinned with hand-derived cycle counts."""

from vexpsim.arch.timing import CoreTiming, TimingParams


def test_alu_back_to_back_one_per_cycle():
    c = CoreTiming()
    assert [c.alu(5, 6, 7) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert c.stalls.raw == 0


def test_alu_dependency_has_no_bubble():
    c = CoreTiming()
    assert [c.alu(5, 5, 0) for _ in range(3)] == [0, 1, 2]


def test_load_use_distance():
    c = CoreTiming()
    t = c.load(5, 2)
    assert c.alu(6, 5) == t + TimingParams().lat_load_tcdm + 1  # dependent at +4


def test_dependent_mul_chain_every_four_cycles():
    c = CoreTiming()
    assert [c.mul(5, 5, 6) for _ in range(4)] == [0, 4, 8, 12]


def test_div_is_serial_and_not_pipelined():
    c = CoreTiming()
    c.div(5, 6, 7, quotient_bits=10)  # busy 0 .. 13
    c.div(8, 9, 10, quotient_bits=10)  # independent, but the unit is busy
    assert c.xready[8] == 13 + 13 + 1
    assert c.stalls.unit_busy == 12


def test_dependent_fma_chain_issues_every_four_cycles():
    c = CoreTiming()
    ts = [c.fp("addmul", 3, 3, 1, 2) for _ in range(6)]
    assert ts[0] == 2  # offload latency 2
    assert [b - a for a, b in zip(ts, ts[1:], strict=False)] == [4] * 5


def test_eight_accumulators_in_frep_one_per_cycle():
    c = CoreTiming()
    c.frep(5)
    ts = [c.fp("addmul", 3 + i, 3 + i, 20, 21) for i in range(8)]
    ts += [c.fp("addmul", 3 + k % 8, 3 + k % 8, 20, 21, from_sequencer=True)
           for k in range(8 * 9)]
    assert ts == list(range(ts[0], ts[0] + 80))


def test_four_accumulators_stall_on_fma_latency():
    c = CoreTiming()
    ts = [c.fp("addmul", 3 + k % 4, 3 + k % 4, 20, 21) for k in range(40)]
    # 4 accumulators, distance 4 needed: still one per cycle
    assert ts[-1] - ts[0] == 39
    c = CoreTiming()
    ts = [c.fp("addmul", 3 + k % 2, 3 + k % 2, 20, 21) for k in range(40)]
    # 2 accumulators: two instructions per 4 cycles
    assert ts[-1] - ts[0] == 19 * 4 + 1


def test_three_stream_ssr_fmadd_one_element_per_cycle():
    c = CoreTiming()
    c.ssr_enable(True)
    c.frep(5)
    ts = [c.fp("addmul", 2, 0, 1, 3)]
    ts += [c.fp("addmul", 2, 0, 1, 3, from_sequencer=True) for _ in range(199)]
    assert ts[-1] - ts[0] == 199
    assert c.stalls.ssr_full == 0


def test_ssr_fifo_limits_run_ahead():
    # a consumer slower than the stream: the stream stalls on credits, never runs > 4 ahead
    c = CoreTiming()
    c.ssr_enable(True)
    ts = [c.fp("addmul", 3, 3, 0, 4) for _ in range(10)]  # dependent chain reading ft0
    assert [b - a for a, b in zip(ts, ts[1:], strict=False)] == [4] * 9
    assert c.stalls.ssr_empty <= 2


def test_fp_to_int_move_waits_for_the_queue_to_drain():
    c = CoreTiming()
    ts = [c.fp("addmul", 3 + k % 2, 3 + k % 2, 20, 21) for k in range(24)]
    t = c.fp_to_int(10, 25)  # f25 is ready; it still waits for the 24 queued FMAs
    assert t == ts[-1] + 1
    assert c.stalls.drain > 0
    p = TimingParams()
    assert c.xready[10] == t + p.lat_fpu["noncomp"] + p.lat_f2i_resp + 1


def test_fp_queue_full_stalls_the_core():
    c = CoreTiming()
    # a dependent chain of 60 FMAs: the FPSS issues one per 4 cycles, the core offloads one
    # per cycle, so the 32-entry queue fills when instruction k > 42 is offloaded
    for _ in range(60):
        c.fp("addmul", 3, 3, 1, 2)
    assert c.stalls.fpq_full > 0
    # from then on the core offloads at the FPSS's pace: instruction 59 waits for 27 to issue
    assert c.cycle == 2 + 4 * (59 - 32) + 1 + 1


def test_vfexp_throughput_and_latency():
    c = CoreTiming()
    ts = [c.fp("exp", 3 + i % 4, 3 + i % 4) for i in range(12)]
    assert ts == list(range(2, 14))  # fully pipelined: one per cycle
    c = CoreTiming()
    ts = [c.fp("exp", 3, 3) for _ in range(4)]
    assert [b - a for a, b in zip(ts, ts[1:], strict=False)] == [3] * 3  # lat 2, dep +3


def test_divsqrt_not_pipelined():
    c = CoreTiming()
    a = c.fp("divsqrt", 3, 1, 2)
    b = c.fp("divsqrt", 4, 5, 6)
    assert b - a == TimingParams().lat_fpu["divsqrt"]


def test_fp_to_int_reading_a_stream_waits_for_and_pops_it():
    c = CoreTiming()
    c.ssr_enable(True)  # core 0, FPSS 2: streams request from 3, data at 4
    t0 = c.fp_to_int(10, 0)  # core 1, reaches the FPSS at 3, waits one cycle for the data
    t1 = c.fp_to_int(11, 0)  # core 2, FPSS 4 -> after t0 at 5; element 2 ready at 5
    assert (t0, t1) == (4, 5)
    assert c.stalls.ssr_empty == 1
    assert len(c.streams[0].consumed) == 2
