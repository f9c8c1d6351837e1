"""The vectorised FP kernels of the FREP fast path equal fparith bit for bit (values and
flags), on random and corner-case operands, in every rounding mode and both conformances."""

from __future__ import annotations

import numpy as np
import pytest

from vexpsim.arch import fastvec as fv
from vexpsim.numerics import fparith as fpa

FMTS = ["fp64", "fp32", "fp16", "bf16"]
RMS = ["rne", "rtz", "rdn", "rup", "rmm"]


def _corner(fmt: str) -> list[int]:
    w, mb, bias, eb = fv.FORMATS[fmt]
    s = 1 << (w - 1)
    emax = ((1 << eb) - 1) << mb
    vals = [0, 1, 2, (1 << mb) - 1, 1 << mb, (1 << mb) + 1, emax, emax | 1,
            emax | (1 << (mb - 1)), emax - 1, bias << mb, (bias << mb) | 1,
            ((bias - 1) << mb) | ((1 << mb) - 1), (2 * bias) << mb, ((2 * bias) << mb) | 7,
            ((2 * bias - 1) << mb) | ((1 << mb) - 1)]
    return vals + [v | s for v in vals]


def _operands(fmt: str, n: int, rng: np.random.Generator, arity: int) -> list[np.ndarray]:
    w, mb, bias, eb = fv.FORMATS[fmt]
    m = (1 << w) - 1
    ops = []
    for _ in range(arity):
        r = rng.integers(0, 1 << 62, size=n, dtype=np.int64).astype(np.uint64) * np.uint64(4) \
            + rng.integers(0, 4, size=n, dtype=np.int64).astype(np.uint64)
        r &= np.uint64(m)
        # half the operands in a narrow exponent window so that sums round and cancel
        near = rng.random(n) < 0.5
        e = rng.integers(bias - 3, bias + 3, size=n).astype(np.uint64)
        near_v = (e << np.uint64(mb)) | (r & np.uint64((1 << mb) - 1)) | \
            (r & np.uint64(1 << (w - 1)))
        r = np.where(near, near_v, r)
        corner = np.array(_corner(fmt), dtype=np.uint64)
        pick = rng.random(n) < 0.15
        r = np.where(pick, corner[rng.integers(0, len(corner), size=n)], r)
        ops.append(r)
    return ops


def _check(res, fl, ref_fn, ops):
    for i in range(len(res)):
        ref = ref_fn(*[int(o[i]) for o in ops])
        got = (int(res[i]), int(fl[i]))
        assert got == ref, (i, [hex(int(o[i])) for o in ops], [hex(v) for v in got],
                            [hex(v) for v in ref])


@pytest.fixture(params=["ieee", "fpnew"])
def conformance(request):
    old = fpa.get_conformance()
    fpa.set_conformance(request.param)
    yield request.param
    fpa.set_conformance(old)


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("rm", RMS)
def test_add_sub_mul(fmt, rm, conformance):
    rng = np.random.default_rng(hash((fmt, rm, conformance)) & 0xFFFF)
    a, b = _operands(fmt, 1500, rng, 2)
    for sub in (False, True):
        res, fl = fv.k_add(a, b, fmt, rm, sub)
        fn = fpa.fp_sub if sub else fpa.fp_add
        _check(res, fl, lambda x, y, fn=fn: fn(x, y, fmt, rm), [a, b])
    res, fl = fv.k_mul(a, b, fmt, rm)
    _check(res, fl, lambda x, y: fpa.fp_mul(x, y, fmt, rm), [a, b])


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("rm", RMS)
def test_fma(fmt, rm, conformance):
    rng = np.random.default_rng(7 + (hash((fmt, rm, conformance)) & 0xFFFF))
    a, b, c = _operands(fmt, 1500, rng, 3)
    # addends that nearly or exactly cancel the product
    near = rng.random(len(a)) < 0.3
    p, _ = fv.k_mul(a, b, fmt, "rne")
    sbit = np.uint64(1 << (fv.FORMATS[fmt][0] - 1))
    c = np.where(near, (p ^ sbit) + rng.integers(0, 3, size=len(a)).astype(np.uint64), c)
    c &= np.uint64((1 << fv.FORMATS[fmt][0]) - 1)
    for np_, na in ((False, False), (False, True), (True, False), (True, True)):
        res, fl = fv.k_fma(a, b, c, fmt, rm, np_, na)
        _check(res, fl, lambda x, y, z, np_=np_, na=na: fpa.fp_fma(x, y, z, fmt, rm, np_, na),
               [a, b, c])


@pytest.mark.parametrize("fmt", FMTS)
def test_minmax_sgnj(fmt):
    rng = np.random.default_rng(3)
    a, b = _operands(fmt, 1500, rng, 2)
    b = np.where(rng.random(len(a)) < 0.2, a, b)  # ties
    for want_max in (False, True):
        res, fl = fv.k_minmax(a, b, fmt, want_max)
        fn = fpa.fp_max if want_max else fpa.fp_min
        _check(res, fl, lambda x, y, fn=fn: fn(x, y, fmt), [a, b])
    for mode in "jnx":
        res, fl = fv.k_sgnj(a, b, fmt, mode)
        _check(res, fl, lambda x, y, mode=mode: fpa.fp_sgnj(x, y, fmt, mode), [a, b])


def test_fma64_domain_edges():
    """FP64 FMA operands at the edges of the vectorised domain and outside it."""
    rng = np.random.default_rng(11)
    n = 3000
    ea = rng.integers(-1074, 1023, size=n)
    eb = np.clip(rng.integers(-1100, 1100, size=n) - ea, -1074, 1023)
    a = np.ldexp(1 + rng.random(n), ea)
    b = np.ldexp(1 + rng.random(n), eb)
    with np.errstate(over="ignore"):
        c = -(a * b) * (1 + (rng.random(n) - 0.5) * 2.0 ** -40)
    ab, bb, cb = (v.astype(np.float64).view(np.uint64) for v in (a, b, c))
    res, fl = fv.k_fma(ab, bb, cb, "fp64", "rne")
    _check(res, fl, lambda x, y, z: fpa.fp_fma(x, y, z, "fp64", "rne"), [ab, bb, cb])


def test_vexp_and_lanes():
    rng = np.random.default_rng(5)
    words = rng.integers(0, 1 << 63, size=200, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    lanes = fv.lanes_of(words, "bf16")
    assert lanes.shape == (200, 4)
    assert np.array_equal(fv.pack_lanes(lanes, "bf16"), words)
    res, fl = fv.k_vexp(lanes.ravel())
    from vexpsim.numerics.exp import vexp_bf16_bits
    ref = vexp_bf16_bits(lanes.ravel().astype(np.uint16))
    assert np.array_equal(res, ref.astype(np.uint64)) and not fl.any()


@pytest.mark.parametrize("fmt", FMTS)
def test_native_dtype_addition_is_correctly_rounded(fmt):
    """The trusted add chains of fastfrep use np.add in the format's own dtype (bfloat16 and
    float16 add in float32 and round again): equal to the exact kernel on finite operands,
    subnormals and near-ties included."""
    from vexpsim.arch.fastfrep import _from_native, _native
    rng = np.random.default_rng(21)
    a, b = _operands(fmt, 200_000, rng, 2)
    w, mb, bias, eb = fv.FORMATS[fmt]
    sub = rng.random(len(a)) < 0.2  # subnormal operands
    a = np.where(sub, a & np.uint64((1 << mb) - 1), a)
    ok = ~(fv.is_special(a, fmt) | fv.is_special(b, fmt))
    a, b = a[ok], b[ok]
    ref, _ = fv.k_add(a, b, fmt, "rne")
    with np.errstate(all="ignore"):
        got = _from_native(_native(a, fmt) + _native(b, fmt))
    fin = ~fv.is_special(ref, fmt)
    assert np.array_equal(got[fin], ref[fin])


@pytest.mark.parametrize("src", ["fp16", "bf16"])
@pytest.mark.parametrize("rm", RMS)
@pytest.mark.parametrize("negate", [False, True])
def test_dotp_against_fpnew_model(src, rm, negate):
    """vfdotpex.s / vfsumex.s lanes against fparith's RTL-faithful model, on words."""
    rng = np.random.default_rng(31 + RMS.index(rm))
    n = 600
    a = np.stack(_operands(src, 2 * n, rng, 1)[0].reshape(n, 2), axis=0)
    b = np.stack(_operands(src, 2 * n, rng, 1)[0].reshape(n, 2), axis=0)
    acc = _operands("fp32", n, rng, 1)[0]
    # accumulators in the products' range too (cancellation, small spreads)
    near = rng.random(n) < 0.5
    with np.errstate(all="ignore"):
        pa = fv.to_f64(a[:, 0], src) * fv.to_f64(b[:, 0], src)
    with np.errstate(all="ignore"):
        acc = np.where(near & np.isfinite(pa), (-pa).astype(np.float32).view(np.uint32)
                       .astype(np.uint64) + rng.integers(0, 3, n).astype(np.uint64), acc)
    ap = a[:, 0] | (a[:, 1] << np.uint64(16))
    bp = b[:, 0] | (b[:, 1] << np.uint64(16))
    for with_b in (True, False):
        res, fl = fv.k_dotp(ap, bp if with_b else None, acc, src, rm, negate)
        for i in range(n):
            a64, b64, c64 = int(ap[i]), int(bp[i]), int(acc[i])
            if with_b:
                ref = fpa.simd_dotpex(a64, b64, c64, src, "fp32", rm, negate)
            else:
                ref = fpa.simd_sumex(a64, c64, src, "fp32", rm, negate)
            # lane 0 of the reference (upper lane from zero operands)
            assert (int(res[i]), int(fl[i])) == (ref[0] & 0xFFFFFFFF, _lane0_flags(
                a64, b64, c64, src, rm, negate, with_b)), (i, hex(a64), hex(b64), hex(c64))


def _lane0_flags(a64, b64, c64, src, rm, negate, with_b):
    from vexpsim.numerics import fpnew_sdotp as sd
    q = [a64 & 0xFFFF, b64 & 0xFFFF, (a64 >> 16) & 0xFFFF, (b64 >> 16) & 0xFFFF]
    if not with_b:
        q[1] = q[3] = 0
    return sd.sdotp_lane(sd.SDOTP if with_b else sd.EXVSUM, negate, rm, src, "fp32", *q,
                         c64 & 0xFFFFFFFF, sd.LANE_CFG_WIDE)[1]


@pytest.mark.parametrize("src", ["fp16", "bf16"])
@pytest.mark.parametrize("rm", ["rne", "rtz", "rup"])
def test_dotp_typical_operands_take_the_vectorised_path(src, rm, monkeypatch):
    """Normal-distributed operands: almost every lane is vectorised, and still exact."""
    import ml_dtypes

    from vexpsim.numerics import fpnew_sdotp as sd
    rng = np.random.default_rng(41)
    n = 1500
    dt = np.float16 if src == "fp16" else ml_dtypes.bfloat16
    a = (rng.standard_normal(2 * n)).astype(np.float32).astype(dt).view(np.uint16)
    b = (rng.standard_normal(2 * n)).astype(np.float32).astype(dt).view(np.uint16)
    acc = (rng.standard_normal(n) * 4).astype(np.float32).view(np.uint32).astype(np.uint64)
    ap = a.astype(np.uint64).reshape(n, 2) @ np.array([1, 1 << 16], dtype=np.uint64)
    bp = b.astype(np.uint64).reshape(n, 2) @ np.array([1, 1 << 16], dtype=np.uint64)
    calls = []
    orig = sd.sdotp_lane
    monkeypatch.setattr(sd, "sdotp_lane", lambda *q: calls.append(1) or orig(*q))
    res, fl = fv.k_dotp(ap, bp, acc, src, rm, False)
    assert len(calls) < n // 20
    monkeypatch.undo()
    for i in range(n):
        ref = fpa.simd_dotpex(int(ap[i]), int(bp[i]), int(acc[i]), src, "fp32", rm)
        assert int(res[i]) == ref[0] & 0xFFFFFFFF
        assert int(fl[i]) == _lane0_flags(int(ap[i]), int(bp[i]), int(acc[i]), src, rm, False,
                                          True)


@pytest.mark.parametrize("exact_share", [0.0, 0.5, 1.0])
def test_fma64_flags_or_mode(exact_share):
    """flags_or=True gives the same values and the same OR of the flags."""
    rng = np.random.default_rng(61)
    n = 3000
    a = rng.integers(-64, 64, n).astype(np.float64)
    b = rng.integers(-64, 64, n).astype(np.float64)
    c = rng.standard_normal(n)
    ex = rng.random(n) < exact_share
    a = np.where(ex, a, rng.standard_normal(n))
    c = np.where(ex, rng.integers(-64, 64, n).astype(np.float64), c)
    ab, bb, cb = (v.view(np.uint64) for v in (a, b, c))
    r1, f1 = fv.k_fma(ab, bb, cb, "fp64", "rne")
    r2, f2 = fv.k_fma(ab, bb, cb, "fp64", "rne", flags_or=True)
    assert np.array_equal(r1, r2)
    assert np.bitwise_or.reduce(f1) == np.bitwise_or.reduce(f2)
    assert (np.bitwise_or.reduce(f1) == 0) == (exact_share == 1.0)
