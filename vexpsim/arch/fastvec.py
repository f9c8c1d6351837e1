"""Vectorised, bit-exact FP kernels for the FREP fast path (vexpsim.arch.fastfrep).

Every kernel takes NumPy uint64 arrays of UNBOXED encodings (one element per operation) and
returns ``(result bits, flags)``: a uint64 array and a uint8 array of RISC-V fflags per
element, equal bit for bit to vexpsim.numerics.fparith on the same operands.

Method (the common case vectorised, the rest per element through fparith, so every result is
exact by construction):
- BF16/FP16/FP32: operands convert exactly to binary64. Products are exact there (<= 48
  significand bits, exponents >= -298). Sums and fused sums are computed with TwoSum and
  rounded to odd in binary64 (53 >= p + 2 bits: rounding the round-to-odd value to p bits
  in any mode equals rounding the exact value; Boldo & Melquiond, "Emulation of FMA and
  correctly rounded sums: proved algorithms using rounding to odd", IEEE TC 57(4), 2008).
  :func:`round_f64` then rounds to the format once, with subnormals, overflow per rounding
  mode, NX/UF/OF and tininess per fparith's conformance rule ("ieee" after rounding with an
  unbounded exponent, "fpnew" on the rounded result).
- FP64, round to nearest even only (other modes per element): add/sub with the host's
  binary64 and TwoSum for NX; mul with Dekker's TwoProduct for NX; FMA with Boldo &
  Melquiond's emulation (TwoProduct, TwoSum, round-to-odd addition, final RN addition), on
  the operand domain where none of these can underflow or overflow (see `_fma64`).
- NaN or infinite operands, and FP64 operands outside the proven domains, go per element
  through fparith (`_slow`).
- min/max: compared as exact binary64 values, NaN lanes per element; sign injection and VEXP
  are bit operations (VEXP via vexpsim.numerics.exp.vexp_bf16_bits, no flags).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ..numerics import fparith as fpa
from ..numerics.exp import vexp_bf16_table

__all__ = ["FORMATS", "round_f64", "to_f64", "is_special", "k_add", "k_mul", "k_fma",
           "k_minmax", "k_sgnj", "k_vexp", "lanes_of", "pack_lanes"]

NX, UF, OF, NV = 1, 2, 4, 16
U64 = np.uint64
# name: (width, mantissa bits, bias, exponent bits)
FORMATS = {"fp64": (64, 52, 1023, 11), "fp32": (32, 23, 127, 8), "fp16": (16, 10, 15, 5),
           "bf16": (16, 7, 127, 8)}
_RMS = ("rne", "rtz", "rdn", "rup", "rmm")


def is_special(bits: np.ndarray, fmt: str) -> np.ndarray:
    """Infinity or NaN (exponent field all ones); any unsigned dtype."""
    w, mb, _, eb = FORMATS[fmt]
    emask = ((1 << eb) - 1) << mb
    return (bits & emask) == emask


def is_nan(bits: np.ndarray, fmt: str) -> np.ndarray:
    w, mb, _, eb = FORMATS[fmt]
    emask = ((1 << eb) - 1) << mb
    return ((bits & emask) == emask) & ((bits & ((1 << mb) - 1)) != 0)


def to_f64(bits: np.ndarray, fmt: str) -> np.ndarray:
    """Exact binary64 values of finite encodings (specials give unspecified values)."""
    if fmt == "fp64":
        return bits.view(np.float64) if bits.dtype == np.uint64 else \
            bits.astype(U64).view(np.float64)
    with np.errstate(invalid="ignore"):  # NaN payloads: those elements go per element
        if fmt == "fp32":
            return bits.astype(np.uint32).view(np.float32).astype(np.float64)
        if fmt == "bf16":
            return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32).astype(
                np.float64)
        return bits.astype(np.uint16).view(np.float16).astype(np.float64)


def _sign(bits: np.ndarray, fmt: str) -> np.ndarray:
    return (bits >> U64(FORMATS[fmt][0] - 1)) & U64(1)


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s = RN(a + b) and the exact error e = a + b - s (Knuth; no overflow)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def round_odd(s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Round-to-odd of s + e from s = RN(s + e) and its exact error e."""
    bits = s.view(np.int64)
    fix = (e != 0) & ((bits & 1) == 0)
    step = np.where((e > 0) == (s > 0), 1, -1)
    return np.where(fix, bits + step, bits).view(np.float64)


def round_f64(v: np.ndarray, fmt: str, rm: str, tiny: str | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Round finite binary64 values (exact, or round-to-odd with >= p + 2 bits) to `fmt`
    once per `rm`: (bits, fflags). Matches fparith.round_pack, conformance included;
    `tiny` = "fpnew" forces FPnew's underflow rule (the DOTP unit always uses it)."""
    w, mb, bias, eb = FORMATS[fmt]
    u = np.ascontiguousarray(v, dtype=np.float64).view(U64)
    if rm == "rne":
        return _round_rne(u, w, mb, bias, eb, fmt, tiny)
    return _round_general(u, fmt, rm, tiny)


def _round_rne(u: np.ndarray, w: int, mb: int, bias: int, eb: int, fmt: str,
               tiny: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RNE fast path: round the binary64 bit pattern at the format's last mantissa bit (the
    carry runs into the exponent), valid where the result is a normal number or an exact
    zero; the other elements go through the general rounding."""
    sh = 52 - mb
    mag = u & U64((1 << 63) - 1)
    r = (mag + U64((1 << (sh - 1)) - 1) + ((mag >> U64(sh)) & U64(1))) >> U64(sh)
    r = r - U64((1023 - bias) << mb)  # wraps for small exponents: caught by `ok`
    bexp = r >> U64(mb)
    zero = mag == 0
    ok = ((bexp >= 1) & (bexp < (1 << eb) - 1) & (mag >= U64((1023 - bias + 1) << 52))) | zero
    nx = (mag & U64((1 << sh) - 1)) != 0
    bits = np.where(zero, U64(0), r) | ((u >> U64(63)) << U64(w - 1))
    flags = nx.astype(np.uint8) * NX
    if not ok.all():
        bad = ~ok
        b2, f2 = _round_general(u[bad], fmt, "rne", tiny)
        bits[bad] = b2
        flags[bad] = f2
    return bits, flags


def _round_general(u: np.ndarray, fmt: str, rm: str, tiny_rule: str | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    w, mb, bias, eb = FORMATS[fmt]
    sign = u >> U64(63)
    mag = u & U64((1 << 63) - 1)
    zero = mag == 0
    e = (mag >> U64(52)).astype(np.int64) - 1023  # exponent of the leading bit
    m = (mag & U64((1 << 52) - 1)) | U64(1 << 52)
    emin = 1 - bias
    emin_q = emin - mb
    shift = (52 - mb) + np.maximum(0, emin - e)
    shift = np.minimum(shift, 60).astype(U64)
    mant, nx, up = _round_bits(m, shift, sign, rm)
    mant = mant + up
    q = np.maximum(e - mb, emin_q)
    carry = (mant >> U64(mb + 1)).astype(np.int64)
    mant = mant >> carry.astype(U64)
    q = q + carry
    normal = (mant >> U64(mb)) != 0
    bexp = q - emin_q + 1
    expall = (1 << eb) - 1
    of = normal & (bexp >= expall)
    bits = np.where(normal, (np.maximum(bexp, 0).astype(U64) << U64(mb)) |
                    (mant & U64((1 << mb) - 1)), mant)
    if of.any():
        inf_b, max_b = U64(expall << mb), U64(((expall - 1) << mb) | ((1 << mb) - 1))
        if rm in ("rne", "rmm"):
            ov = np.full(bits.shape, inf_b)
        elif rm == "rtz":
            ov = np.full(bits.shape, max_b)
        elif rm == "rdn":
            ov = np.where(sign == 1, inf_b, max_b)
        else:
            ov = np.where(sign == 1, max_b, inf_b)
        bits = np.where(of, ov, bits)
    if (tiny_rule or fpa.get_conformance()) == "fpnew":
        tiny = ~normal
    else:
        # tiny after rounding with an unbounded exponent: below 2^emin, unless a value just
        # below rounds up to 2^emin at full precision p
        tiny = e < emin
        edge = e == emin - 1
        if edge.any():
            s2 = np.full(m.shape, 52 - mb, dtype=U64)
            m2, _, up2 = _round_bits(m, s2, sign, rm)
            tiny = tiny & ~(edge & (((m2 + up2) >> U64(mb + 1)) != 0))
    nxu = nx & ~zero
    flags = (nxu.astype(np.uint8) * NX) | ((tiny & nxu).astype(np.uint8) * UF) | \
        (of.astype(np.uint8) * (OF | NX))
    bits = np.where(zero, U64(0), bits) | (sign << U64(w - 1))
    return bits, flags


def _round_bits(m: np.ndarray, shift: np.ndarray, sign: np.ndarray, rm: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncated significand m >> shift, inexact mask and the round-up increment (0/1)."""
    mant = m >> shift
    rem = m & ((U64(1) << shift) - U64(1))
    half = U64(1) << (shift - U64(1))
    nx = rem != 0
    if rm == "rne":
        up = (rem > half) | ((rem == half) & ((mant & U64(1)) == 1))
    elif rm == "rtz":
        up = np.zeros(m.shape, dtype=bool)
    elif rm == "rdn":
        up = nx & (sign == 1)
    elif rm == "rup":
        up = nx & (sign == 0)
    elif rm == "rmm":
        up = rem >= half
    else:
        raise ValueError(f"unknown rounding mode {rm!r}")
    return mant, nx, up.astype(U64)


def _slow(mask: np.ndarray, res: np.ndarray, fl: np.ndarray, fn: Callable, *ops) -> None:
    """Per-element fparith for the lanes in `mask` (in place)."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return
    cols = [o.ravel() if isinstance(o, np.ndarray) else None for o in ops]
    r, f = res.reshape(-1), fl.reshape(-1)
    for i in idx.tolist():
        v, g = fn(*[int(c[i]) for c in cols])
        r[i] = v
        f[i] = g


def _b(*ops: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(o, dtype=U64) for o in np.broadcast_arrays(*ops)]


# ---- add / sub -----------------------------------------------------------------------------

def k_add(a: np.ndarray, b: np.ndarray, fmt: str, rm: str, sub: bool = False
          ) -> tuple[np.ndarray, np.ndarray]:
    """a + b (a - b with sub=True) per element."""
    a, b = _b(a, b)
    sbit = U64(1 << (FORMATS[fmt][0] - 1))
    bb = b ^ sbit if sub else b
    spec = is_special(a, fmt) | is_special(bb, fmt)
    x = np.where(spec, 0.0, to_f64(a, fmt))
    y = np.where(spec, 0.0, to_f64(bb, fmt))
    with np.errstate(over="ignore", invalid="ignore"):
        s, e = two_sum(x, y)
    if fmt == "fp64":
        res = s.view(U64).copy()
        fl = (e != 0).astype(np.uint8) * NX
        slow = spec | np.isinf(s) | (rm != "rne")
    else:
        res, fl = round_f64(round_odd(s, e), fmt, rm)
        slow = spec
    zero = (s == 0) & (e == 0)
    if zero.any():  # exact zero sum: the sign of equal-signed operands, else -0 only in RDN
        sa, sb = _sign(a, fmt), _sign(bb, fmt)
        zs = np.where(sa == sb, sa, U64(1 if rm == "rdn" else 0))
        res = np.where(zero, zs << U64(FORMATS[fmt][0] - 1), res)
    fn = fpa.fp_sub if sub else fpa.fp_add
    _slow(slow, res, fl, lambda p, q: fn(p, q, fmt, rm), a, b)
    return res, fl


# ---- mul -----------------------------------------------------------------------------------

_SPLIT = 134217729.0  # 2^27 + 1 (Veltkamp)


def _two_prod(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p = RN(x*y) and the exact error (Dekker), inside the domain checked by the callers."""
    p = x * y
    c = _SPLIT * x
    xh = c - (c - x)
    xl = x - xh
    c = _SPLIT * y
    yh = c - (c - y)
    yl = y - yh
    return p, ((xh * yh - p) + xh * yl + xl * yh) + xl * yl


def _exp64(bits: np.ndarray) -> np.ndarray:
    return ((bits >> U64(52)) & U64(0x7FF)).astype(np.int64) - 1023


def k_mul(a: np.ndarray, b: np.ndarray, fmt: str, rm: str) -> tuple[np.ndarray, np.ndarray]:
    """a * b per element."""
    a, b = _b(a, b)
    spec = is_special(a, fmt) | is_special(b, fmt)
    x = np.where(spec, 0.0, to_f64(a, fmt))
    y = np.where(spec, 0.0, to_f64(b, fmt))
    if fmt == "fp64":
        ea, eb = _exp64(a), _exp64(b)
        zero = (x == 0) | (y == 0)
        # Dekker's split and error terms stay normal and finite here: no UF/OF possible.
        dom = zero | ((ea >= -1022) & (eb >= -1022) & (ea <= 995) & (eb <= 995) &
                      (ea + eb >= -918) & (ea + eb <= 1020))
        ok = dom & ~zero
        with np.errstate(over="ignore", invalid="ignore"):
            _, err = _two_prod(np.where(ok, x, 1.0), np.where(ok, y, 1.0))
            res = (x * y).view(U64).copy()
        fl = (ok & (err != 0)).astype(np.uint8) * NX
        slow = spec | ~dom | (rm != "rne")
    else:
        res, fl = round_f64(x * y, fmt, rm)  # the product is exact in binary64
        slow = spec
    _slow(slow, res, fl, lambda p, q: fpa.fp_mul(p, q, fmt, rm), a, b)
    return res, fl


# ---- fused multiply-add -----------------------------------------------------------------------

def k_fma(a: np.ndarray, b: np.ndarray, c: np.ndarray, fmt: str, rm: str,
          negate_product: bool = False, negate_addend: bool = False, flags_or: bool = False
          ) -> tuple[np.ndarray, np.ndarray]:
    """(+-a*b) + (+-c) with one rounding per element (fmadd/fmsub/fnmsub/fnmadd).
    flags_or=True: only the OR of the returned flags is exact (FP64: NX is decided on a
    prefix when some element there is inexact, which saves most of its cost)."""
    a, b, c = _b(a, b, c)
    sbit = U64(1 << (FORMATS[fmt][0] - 1))
    aa = a ^ sbit if negate_product else a
    cc = c ^ sbit if negate_addend else c
    spec = is_special(a, fmt) | is_special(b, fmt) | is_special(c, fmt)
    x = np.where(spec, 0.0, to_f64(aa, fmt))
    y = np.where(spec, 0.0, to_f64(b, fmt))
    z = np.where(spec, 0.0, to_f64(cc, fmt))
    if fmt == "fp64":
        with np.errstate(over="ignore", invalid="ignore"):
            res, fl, slow = _fma64(aa, b, cc, x, y, z, flags_or)
        slow |= spec | (rm != "rne")
    else:
        p = x * y  # exact
        s, e = two_sum(p, z)
        res, fl = round_f64(round_odd(s, e), fmt, rm)
        slow = spec
        zero = (s == 0) & (e == 0)
        if zero.any():
            # exact zero: equal signs of product and addend kept, else -0 only in RDN
            sp = _sign(aa, fmt) ^ _sign(b, fmt)
            sc = _sign(cc, fmt)
            zs = np.where(sp == sc, sp, U64(1 if rm == "rdn" else 0))
            res = np.where(zero, zs << U64(FORMATS[fmt][0] - 1), res)
    _slow(slow, res, fl, lambda p, q, r: fpa.fp_fma(p, q, r, fmt, rm, negate_product,
                                                    negate_addend), a, b, c)
    return res, fl


def _fma64(a, b, c, x, y, z, flags_or: bool = False
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boldo-Melquiond FMA emulation in binary64 RNE with exact NX.

    Domain (else the element is marked slow): a, b, c normal or zero; for a nonzero product
    -1022 <= ea, eb <= 995 (Veltkamp split without overflow) and -910 <= ea + eb <= 1019; a
    nonzero addend has -910 <= ec <= 1019. Every intermediate is then a multiple of 2^-1016
    (no subnormal, exact error terms) and below 2^1021 (no overflow); a zero product gives
    RN(+-0 + c) exactly."""
    ea, eb, ec = _exp64(a), _exp64(b), _exp64(c)
    pz = (x == 0) | (y == 0)
    cz = z == 0
    dom_p = (ea >= -1022) & (eb >= -1022) & (ea <= 995) & (eb <= 995) & \
        (ea + eb >= -910) & (ea + eb <= 1019)
    dom_c = cz | ((ec >= -910) & (ec <= 1019))
    dom = np.where(pz, True, dom_p & dom_c)
    zval = x * y + z  # the result when the product is zero (exact, signs per IEEE RNE)
    x = np.where(dom & ~pz, x, 1.0)
    y = np.where(dom & ~pz, y, 1.0)
    z = np.where(dom, z, 0.0)
    ph, pl = _two_prod(x, y)
    th, tl = two_sum(z, ph)
    vh, vl = two_sum(tl, pl)
    v = round_odd(vh, vl)
    r = th + v
    res = np.where(pz, zval.view(U64), r.view(U64))  # zero product: exact, no flags
    if flags_or:
        k = min(len(r), 256)
        fl, bad = _fma64_nx(th[:k], vh[:k], vl[:k], r[:k], pz[:k])
        if (fl & ~bad & dom[:k]).any():  # some vectorised element is inexact: NX for all
            fl = np.where(pz, np.uint8(0), np.uint8(NX))
            return res, fl, ~dom
    fl, bad = _fma64_nx(th, vh, vl, r, pz)
    return res, fl, ~dom | bad


def _fma64_nx(th, vh, vl, r, pz) -> tuple[np.ndarray, np.ndarray]:
    """NX of the FMA emulation, and the elements where its check is not exact (slow).
    The exact result is S = th + vh + vl = s1 + s2 + vl; r == S iff (r - s1) - s2 == vl
    exactly (r - s1 computed exactly, else the element goes per element)."""
    s1, s2 = two_sum(th, vh)
    e1, e1err = two_sum(r, -s1)
    u1, u2 = two_sum(e1, -s2)
    exact = (u2 == 0) & (u1 == vl)
    fl = np.where(pz, np.uint8(0), (~exact).astype(np.uint8) * NX)
    return fl, (e1err != 0) & ~pz


# ---- min / max / sign injection / VEXP ------------------------------------------------------

def k_minmax(a: np.ndarray, b: np.ndarray, fmt: str, want_max: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """fmin/fmax (RISC-V 2.2: -0 < +0, NaN operands per element)."""
    a, b = _b(a, b)
    nan = is_nan(a, fmt) | is_nan(b, fmt)
    x = np.where(nan, 0.0, to_f64(a, fmt))
    y = np.where(nan, 0.0, to_f64(b, fmt))
    sa = _sign(a, fmt)
    pick_a = (x > y) if want_max else (x < y)
    eq = x == y
    zeq = eq & (x == 0)
    # equal zeros: max takes the positive one, min the negative one; other ties give a
    pick_a = pick_a | (eq & ~zeq) | (zeq & ((sa == 0) if want_max else (sa == 1)))
    res = np.where(pick_a, a, b)
    fl = np.zeros(res.shape, dtype=np.uint8)
    fn = fpa.fp_max if want_max else fpa.fp_min
    _slow(nan, res, fl, lambda p, q: fn(p, q, fmt), a, b)
    return res, fl


def k_sgnj(a: np.ndarray, b: np.ndarray, fmt: str, mode: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = _b(a, b)
    sbit = U64(1 << (FORMATS[fmt][0] - 1))
    if mode == "j":
        s = b & sbit
    elif mode == "n":
        s = (b & sbit) ^ sbit
    else:
        s = (a ^ b) & sbit
    return (a & ~sbit) | s, np.zeros(a.shape, dtype=np.uint8)


@lru_cache(maxsize=1)
def _vexp_table() -> np.ndarray:
    """vexp_bf16_bits of every BF16 encoding (the instruction's whole input space), the
    table the per-instruction path uses too."""
    return np.array(vexp_bf16_table(), dtype=U64)


def k_vexp(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VEXP on BF16 encodings (no flags: vexpsim.isa.semantics.s_vexp), by table lookup."""
    a = np.asarray(a)
    return _vexp_table()[a.astype(np.uint16)], np.zeros(a.shape, dtype=np.uint8)


# ---- DOTP (vfdotpex / vfsumex into FP32) ----------------------------------------------------

# FPnew DOTP lanes 0 and 1 (the FP32 results): super source mantissa 10 bits, destination 23;
# internal precision DP = max(23, 2*10 + 1) + 1 = 24 (vexpsim.numerics.fpnew_sdotp).
_DOTP_DP = 24


def k_dotp(a: np.ndarray, b: np.ndarray | None, acc: np.ndarray, src: str, rm: str,
           negate: bool) -> tuple[np.ndarray, np.ndarray]:
    """One FP32 lane of vfdotpex.s.{h,ah} (b given: acc + a0*b0 + a1*b1) or vfsumex (b None:
    acc + a0 + a1); a and b hold the two source lanes of the pair (low half first), negate
    for the vfn* forms.

    FPnew adds the three terms on a finite datapath (fpnew_sdotp_multi.sv). When no nonzero
    term is shifted into the sticky bits, its single final rounding is that of the exact sum:
    this holds when the leading-bit exponents of the nonzero terms span at most DP + 1
    binades (the first adder keeps DP + 3, the second DP + P + 4; the exponent fields differ
    from the leading bits by at most one for normal operands). That sum is rounded to odd in
    binary64 (Boldo & Melquiond's correctly rounded sum of three: TwoSum, TwoSum, RO
    addition, final addition rounded to odd) and then to FP32 with FPnew's underflow rule.
    Specials, subnormal operands, exact zero results (FPnew's sign rules) and wider spreads
    run per element through fpnew_sdotp."""
    from ..numerics import fpnew_sdotp as sd
    a = np.ascontiguousarray(a, dtype=U64)
    acc = np.ascontiguousarray(acc, dtype=U64)
    m16 = U64(0xFFFF)
    a0, a1 = a & m16, (a >> U64(16)) & m16
    if b is not None:
        b = np.ascontiguousarray(b, dtype=U64)
        b0, b1 = b & m16, (b >> U64(16)) & m16
        ops = (a0, b0, a1, b1)
    else:
        ops = (a0, a1)
    w, mb, _, eb = FORMATS[src]
    bad = is_special(acc, "fp32") | (((acc & U64(0x7F800000)) == 0) & ((acc & U64(0x7FFFFF)) != 0))
    for o in ops:
        bad |= is_special(o, src) | (((o & U64(((1 << eb) - 1) << mb)) == 0) &
                                     ((o & U64((1 << mb) - 1)) != 0))
    f = [np.where(bad, 0.0, to_f64(o, src)) for o in ops]
    x, y = (f[0] * f[1], f[2] * f[3]) if b is not None else (f[0], f[1])  # exact
    if negate:
        x, y = -x, -y
    z = np.where(bad, 0.0, to_f64(acc, "fp32"))
    # span of the nonzero terms' exponents
    ex, ey, ez = (np.frexp(v)[1] for v in (x, y, z))
    big = np.iinfo(np.int64).max
    hi = np.maximum.reduce([np.where(v != 0, e, -big) for v, e in ((x, ex), (y, ey), (z, ez))])
    lo = np.minimum.reduce([np.where(v != 0, e, big) for v, e in ((x, ex), (y, ey), (z, ez))])
    bad |= (hi - lo > _DOTP_DP + 1) & (lo != big)
    uh, ul = two_sum(y, z)
    th, tl = two_sum(x, uh)
    vh, vl = two_sum(tl, ul)
    v = round_odd(vh, vl)
    rh, rl = two_sum(th, v)
    r = round_odd(rh, rl)
    bad |= r == 0
    res, fl = round_f64(np.where(bad, 1.0, r), "fp32", rm, tiny="fpnew")
    idx = np.flatnonzero(bad)
    if len(idx):
        op = sd.SDOTP if b is not None else sd.EXVSUM
        for i in idx.tolist():
            q = [int(o[i]) for o in ops]
            if b is None:
                q = [q[0], 0, q[1], 0]
            res[i], fl[i] = sd.sdotp_lane(op, negate, rm, src, "fp32", *q, int(acc[i]),
                                          sd.LANE_CFG_WIDE)
    return res, fl


# ---- lanes ---------------------------------------------------------------------------------

_UINT = {64: np.uint64, 32: np.uint32, 16: np.uint16, 8: np.uint8}


def lanes_of(words: np.ndarray, fmt: str) -> np.ndarray:
    """(n,) 64-bit words -> (n, L) lane encodings in the lane-width unsigned dtype, lane 0 in
    the least significant bits (a view of the little-endian words)."""
    w = FORMATS[fmt][0]
    a = np.ascontiguousarray(words, dtype=np.uint64)
    return a.astype("<u8", copy=False).view(_UINT[w]).reshape(a.shape + (64 // w,))


def pack_lanes(lanes: np.ndarray, fmt: str) -> np.ndarray:
    """Inverse of lanes_of: (m, L) lane encodings (any unsigned dtype) -> (m,) words."""
    w = FORMATS[fmt][0]
    a = np.ascontiguousarray(lanes.astype(_UINT[w], copy=False))
    return a.view(np.uint64).reshape(a.shape[:-1])
