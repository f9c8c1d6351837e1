"""Micro-benchmarks of the hot FP paths used by the ISS.

Disabled by default (pytest config has --benchmark-disable); run with
`python -m pytest tests/numerics/test_fparith_bench.py --benchmark-enable`. When disabled each
benchmark body still runs once, so the expected values below are checked either way."""

from __future__ import annotations

import struct

import pytest

from vexpsim.numerics import fparith as fa


def d(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def h(x: float) -> int:
    return struct.unpack("<H", struct.pack("<e", x))[0]


A64, B64, C64 = d(1.2345), d(-6.789), d(0.5)
H4 = sum(h(v) << (16 * i) for i, v in enumerate((1.0, 2.0, -0.5, 3.25)))


@pytest.mark.parametrize("rm", ["rne", "rtz"])
def test_bench_fadd_d(benchmark, rm):
    r, flags = benchmark(fa.fp_add, A64, B64, "fp64", rm)
    near = d(1.2345 + -6.789)  # host RNE; RTZ is equal or one ulp closer to zero
    assert (r == near) if rm == "rne" else (r - near) in (0, -1)
    assert flags == fa.NX


def test_bench_fmul_d(benchmark):
    assert benchmark(fa.fp_mul, A64, B64, "fp64", "rne")[0] == d(1.2345 * -6.789)


def test_bench_fmadd_d(benchmark):
    r, flags = benchmark(fa.fp_fma, A64, B64, C64, "fp64", "rne")
    assert flags == fa.NX and r != 0


def test_bench_fadd_s(benchmark):
    one, two = 0x3F800000, 0x40000000
    assert benchmark(fa.fp_add, one, two, "fp32", "rne") == (0x40400000, 0)


def test_bench_vfmac_h(benchmark):
    r, _ = benchmark(fa.simd_mac, H4, H4, 0, "fp16", "rne")
    assert r & 0xFFFF == h(1.0) and (r >> 16) & 0xFFFF == h(4.0)


def test_bench_vfdotpex_s_h(benchmark):
    r, _ = benchmark(fa.simd_dotpex, H4, H4, 0, "fp16", "fp32", "rne")
    assert r & 0xFFFFFFFF == struct.unpack("<I", struct.pack("<f", 5.0))[0]
