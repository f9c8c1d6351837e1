"""fparith.simd_dotpex(fast=True) (the ISS's vfdotpex): the same results and flags as the RTL
model (fpnew_sdotp) on random and on typical operands, and the fast lane really is taken."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from vexpsim.numerics import fparith as fpa


def _cases(src: str, n: int, rng: np.random.Generator):
    dt = np.float16 if src == "fp16" else ml_dtypes.bfloat16
    for t in range(n):
        kind = t % 5
        if kind == 0:  # random encodings: specials, subnormals, huge spans
            yield (int(rng.integers(0, 2**63)) << 1 | int(rng.integers(0, 2)),
                   int(rng.integers(0, 2**63)) << 1, int(rng.integers(0, 2**63)) << 1, t % 7 == 0)
            continue
        sc = (1.0, 2.0**-20, 2.0**12)[kind % 3]  # spans around the datapath's DP + 1 limit
        v = (rng.standard_normal(8) * np.array([1, 1, sc, 1, 1, sc, 1, 1])).astype(np.float32)
        v = v.astype(dt).view(np.uint16).astype(np.uint64)
        if kind == 4:
            v[rng.integers(0, 8)] = 0
        acc = (rng.standard_normal(2) * [1.0, 2.0 ** float(rng.integers(-30, 30))]).astype(
            np.float32)
        if kind == 3:
            acc[:] = 0
        yield (int(v[0] | v[1] << 16 | v[2] << 32 | v[3] << 48),
               int(v[4] | v[5] << 16 | v[6] << 32 | v[7] << 48),
               int(acc.view(np.uint32)[0]) | int(acc.view(np.uint32)[1]) << 32, t % 7 == 0)


@pytest.mark.parametrize("src", ["bf16", "fp16", "ah"])
def test_fast_dotp_equals_the_rtl_model(src):
    rng = np.random.default_rng(7)
    for a, b, acc, neg in _cases(src, 4000, rng):
        want = fpa.simd_dotpex(a, b, acc, src, "fp32", "rne", neg)
        assert fpa.simd_dotpex(a, b, acc, src, "fp32", "rne", neg, fast=True) == want, \
            (hex(a), hex(b), hex(acc), neg)


def test_fast_lane_is_taken_for_typical_operands_and_declines_the_rest():
    ks = fpa._c("bf16")
    one, two = 0x3F80, 0x4000  # BF16 1.0, 2.0
    assert fpa._dotp_lane_fast(ks, False, one, two, two, two, 0x3F800000) == (0x40E00000, 0)
    assert fpa._dotp_lane_fast(ks, True, one, two, two, two, 0x3F800000) == (0xC0A00000, 0)
    assert fpa._dotp_lane_fast(ks, False, 0x7F80, one, one, one, 0) is None  # inf
    assert fpa._dotp_lane_fast(ks, False, 0x0001, one, one, one, 0) is None  # subnormal
    assert fpa._dotp_lane_fast(ks, False, one, two, 0xBF80, two, 0) is None  # exact zero
    assert fpa._dotp_lane_fast(ks, False, one, one, 0x0D80, one, 0) is None  # span > DP + 1


@pytest.mark.parametrize("src", ["bf16", "fp16"])
def test_float_lane_equals_the_integer_lane(src):
    """_dotp_lane_float (binary64 arithmetic) gives _dotp_lane_fast's result, None cases
    included, on random encodings and on normal values whose spans straddle DP + 1."""
    rng = np.random.default_rng(11)
    ks = fpa._c(src)
    vals = fpa._lane_values(ks)
    dt = np.float16 if src == "fp16" else ml_dtypes.bfloat16
    n = 6000
    ops = rng.integers(0, 1 << 16, (n, 4))
    scaled = rng.standard_normal((n, 4)) * np.exp2(rng.integers(-14, 14, (n, 4)))
    ops[n // 2:] = scaled.astype(np.float32).astype(dt).view(np.uint16)[n // 2:]
    accs = (rng.standard_normal(n) * np.exp2(rng.integers(-40, 40, n))).astype(
        np.float32).view(np.uint32).astype(np.int64)
    accs[::3] = rng.integers(0, 1 << 32, accs[::3].size)
    accs[::11] = 0
    taken = 0
    for i in range(n):
        args = (bool(i & 1), *(int(x) for x in ops[i]), int(accs[i]))
        want = fpa._dotp_lane_fast(ks, *args)
        assert fpa._dotp_lane_float(vals, *args) == want, args
        taken += want is not None
    assert taken > n // 10


def test_float_lane_rounding_to_infinity_declines():
    """max FP32 + 2^103 is a tie that rounds (to even) up to 2^128: both lanes decline."""
    ks = fpa._c("bf16")
    vals = fpa._lane_values(ks)
    args = (False, 0x5980, 0x5900, 0, 0, 0x7F7FFFFF)  # 2^52 * 2^51 + max FP32
    assert fpa._dotp_lane_fast(ks, *args) is None
    assert fpa._dotp_lane_float(vals, *args) is None
    below = (False, 0x5980, 0x5880, 0, 0, 0x7F7FFFFF)  # + 2^102: rounds down, inexact
    assert fpa._dotp_lane_float(vals, *below) == fpa._dotp_lane_fast(ks, *below) == (
        0x7F7FFFFF, 1)


@pytest.mark.parametrize("src", ["bf16", "fp16"])
def test_dotpex_pair_is_simd_dotpex_or_declines(src):
    """dotpex_pair (both lanes in one pass, the ISS's vfdotpex.s.ah) gives simd_dotpex's
    value whenever it answers, on random encodings, typical operands and the edges of its
    tests (zero terms, subnormal/infinite/NaN accumulators, spans at 2^25, overflow); and it
    answers for typical operands."""
    rng = np.random.default_rng(5)
    fv = fpa.dotpex_pair_table(src, "fp32")
    cases = list(_cases(src, 6000, rng))
    one = 0x3F80 if src == "bf16" else 0x3C00
    s32 = lambda v: int(np.float32(v).view(np.uint32))  # noqa: E731
    for acc in (0x00000001, 0x007FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x80000000, 0,
                0x00800000, s32(2.0 ** 25), s32(2.0 ** 26), s32(2.0 ** 24.5), s32(-2.0 ** 25),
                0x7F7FFFFF, s32(1.0)):
        for a in (one | one << 16, one, 0x5980 | 0x5900 << 16):
            cases.append((a | a << 32, one | one << 16 | (one | one << 16) << 32,
                          acc | acc << 32, False))
            cases.append((a, 0x5980 | 0x5900 << 16, acc << 32 | acc, True))
    taken = 0
    for a, b, acc, neg in cases:
        got = fpa.dotpex_pair(fv, neg, a, b, acc)
        want = fpa.simd_dotpex(a, b, acc, src, "fp32", "rne", neg)
        assert got is None or got == want, (hex(a), hex(b), hex(acc), neg)
        taken += got is not None
    assert taken > 500  # of 6084 (random encodings, zero terms, wide spans decline)
    assert fpa.dotpex_pair_table("fp8", "fp16") is None


@pytest.mark.parametrize("src", ["bf16", "fp16"])
def test_dotpex_pair_with_unit_multiplicands_is_simd_sumex(src):
    """vfsumex's fast path: dotpex_pair with four 1.0s as the second operand gives the RTL
    model's simd_sumex whenever it answers (typical operands, zero and special accumulators,
    random encodings), and answers for typical ones."""
    rng = np.random.default_rng(9)
    fv = fpa.dotpex_pair_table(src, "fp32")
    ones = fpa.dotpex_pair_ones(src)
    taken = 0
    cases = list(_cases(src, 4000, rng))
    for a, _, acc, neg in cases:
        got = fpa.dotpex_pair(fv, neg, a, ones, acc)
        want = fpa.simd_sumex(a, acc, src, "fp32", "rne", neg)
        assert got is None or got == want, (hex(a), hex(acc), neg)
        taken += got is not None
    assert taken > len(cases) // 5


def test_vfsum_fp32_fast_is_the_rtl_model():
    """simd_sum_fp32_fast gives simd_sum's (RTL model) bits and flags whenever it answers:
    random encodings, spans around DP + 1 with full 24-bit significands, cancellation, zero
    terms, ghost lanes (NaN-boxed: a quiet NaN); and it answers for typical operands."""
    rng = np.random.default_rng(13)

    def bits(v) -> int:
        return int(np.float32(v).view(np.uint32))
    taken = 0
    n = 12000
    for i in range(n):
        kind = i % 5
        if kind == 0:
            a = int(rng.integers(0, 2**63)) << 1 | int(rng.integers(0, 2))
            acc = int(rng.integers(0, 2**63)) << 1
        else:
            m = rng.integers(1 << 23, 1 << 24, 3).astype(np.float64) * 2.0 ** -23
            k = [0, int(rng.integers(18, 29)), int(rng.integers(0, 29))]
            v = m * np.exp2(-np.array(k, dtype=float)) * rng.choice([-1.0, 1.0], 3)
            v = (v[rng.permutation(3)] * 2.0 ** int(rng.integers(-40, 40))).astype(np.float32)
            if kind == 2:
                v[int(rng.integers(0, 3))] = 0
            if kind == 3:
                v[1] = -v[0] * np.float32(1 + 2.0 ** -int(rng.integers(1, 24)))
            ghost = (0, bits(rng.standard_normal()), 1, 0x7F800000, 0xFFFFFFFF, 0x7FC00000,
                     0xFFC12345, 0x7F800001, 0xFFBFFFFF)[i % 9]  # quiet and signaling NaNs
            a, acc = bits(v[0]) | bits(v[1]) << 32, bits(v[2]) | ghost << 32
        neg = bool(i & 8)
        got = fpa.simd_sum_fp32_fast(a, acc, neg)
        if got is not None:
            assert got == fpa.simd_sum(a, acc, "fp32", "rne", neg), (hex(a), hex(acc), neg)
            taken += 1
    assert taken > n // 4
