"""Bit-exact floating-point arithmetic on raw encodings (RISC-V F/D + Snitch FPnew formats/SIMD).

Every function takes and returns plain Python ints holding the UNBOXED encoding of the format
(the caller NaN-boxes/unboxes) and returns ``(result, fflags)`` with the RISC-V fflags bits
NV=16, DZ=8, OF=4, UF=2, NX=1.

Method: operands are decoded to ``(sign, integer significand, exponent)``; the operation is done
exactly with Python integers; the exact (or exact-plus-sticky) result goes through ONE rounding
routine, :func:`round_pack`, which handles subnormals (no flush), overflow per rounding mode,
and tininess detected AFTER rounding (RISC-V unprivileged spec, "F" chapter, §Floating-Point
Control and Status Register; IEEE 754-2008 §7.5 option "after rounding").

NaN results are the canonical quiet NaN of the format (sign 0, exponent all ones, mantissa MSB
only); only sign injection is a pure bit manipulation (RISC-V spec, "NaN Generation and
Propagation"). FP8alt is E4M3 with IEEE infinities/NaNs (max finite 240), as in FPnew.

Formats: "fp64", "fp32", "fp16", "bf16", "fp8", "fp8alt" (aliases of
:func:`vexpsim.numerics.formats.get_format` are accepted too).
Rounding modes: "rne", "rtz", "rdn", "rup", "rmm" (frm encodings 0..4, :data:`RM_FROM_FRM`).

SIMD (Snitch "Xfvec"/"Xfdotp", FPnew ``fpnew_opgroup_multifmt_slice.sv`` and
``fpnew_sdotp_multi[_wrapper].sv`` at cvfpu e5aa6a0, the revision pinned by snitch_cluster's
Bender.lock; decoder ``hw/snitch_fp_ss/src/snitch_fp_ss.sv``). A 64-bit register holds
64/width lanes, lane 0 in the least significant bits; flags are OR-ed over lanes.

====================  ==============================================================  ==========
operation             lane semantics (x[i] = lane i of x)                               source
====================  ==============================================================  ==========
vfadd/sub/mul/div     d[i] = a[i] op b[i]                                               FPnew
vfmin/vfmax/vfsgnj*   per lane, scalar semantics                                        FPnew
``.r`` forms          b[i] := b[0] for all i (``RegBRep``)                              fp_ss.sv
vfmac                 d[i] = acc[i] + a[i]*b[i], fused (FMADD)                          fp_ss.sv
vfmre                 d[i] = acc[i] - a[i]*b[i], fused (FNMSUB)                         fp_ss.sv
vfsqrt                d[i] = sqrt(a[i])                                                 FPnew
vfeq/ne/lt/le         mask bit i = a[i] cmp b[i]; eq/ne quiet, lt/le signaling          noncomp
vfgt/vfge             NOT(a <= b) / NOT(a < b) on ordered operands (op_mod inverts);    noncomp
                      any NaN -> 0 and NV; sNaN -> 0 and NV for every predicate
                      (so vfne with an sNaN gives 0, with a qNaN gives 1)
vfcpk{a,b,c,d}        d[2k] = cvt(rs1), d[2k+1] = cvt(rs2), k = 0..3 for a..d; other    multifmt
                      lanes of the destination kept (rd pre-load)                       slice
vfcvt (same width)    d[i] = cvt(a[i]); int lanes have the lane width (INT8/16/32)      fp_ss.sv
vfcvt(u).wide.narrow  widening: source lanes from the lower (vfcvt) or upper (vfcvtu)   multifmt
                      half; narrowing: results in the lower (vfcvt) or upper (vfcvtu)   slice
                      half, other half kept from the destination                       (assumed)
vfsum (src = dst)     d[i] = acc[i] + a[2i] + a[2i+1] for i < lanes/2, one rounding;    sdotp
                      upper 32 bits of the result set to ones                           wrapper
vfsumex.D.S           d[i] = acc[i] + a[2i] + a[2i+1] (exact, one rounding in D)        sdotp
vfdotpex.D.S          d[i] = acc[i] + a[2i]*b[2i] + a[2i+1]*b[2i+1] (one rounding in D) sdotp
====================  ==============================================================  ==========

The expanding ops (vfsumex/vfdotpex) and vfsum are modelled as the exact three-term sum with a
single final rounding, which is what ``fpnew_sdotp_multi.sv`` implements ("two steps with only a
final normalization and round step", products exact). Assumption: the RTL's finite-width sticky
handling and its sign rule for an all-zero sum are taken to match IEEE exact semantics; rare
corner cases of the RTL (e.g. -0 + -0 + +0) may differ. For vfsum the hardware also computes
"ghost" upper lanes whose flags are OR-ed in; they are modelled as acc[i] + 0 + 0.
"""

from __future__ import annotations

from math import isqrt

from vexpsim.numerics.formats import get_format

__all__ = [
    "NV", "DZ", "OF", "UF", "NX",
    "RM_FROM_FRM", "ROUNDING_MODES",
    "canonical_nan", "round_pack",
    "fp_add", "fp_sub", "fp_mul", "fp_div", "fp_sqrt", "fp_fma",
    "fp_min", "fp_max", "fp_sgnj", "fp_cmp", "fp_class", "fp_cvt",
    "fp_to_int", "int_to_fp",
    "simd_binop", "simd_mac", "simd_unop", "simd_cmp", "simd_cpk", "simd_cvt",
    "simd_sum", "simd_sumex", "simd_dotpex",
]

NV, DZ, OF, UF, NX = 16, 8, 4, 2, 1
RM_FROM_FRM = {0: "rne", 1: "rtz", 2: "rdn", 3: "rup", 4: "rmm"}
ROUNDING_MODES = tuple(RM_FROM_FRM.values())

# Decoded classes.
_ZERO, _FIN, _INF, _QNAN, _SNAN = 0, 1, 2, 3, 4

# Per-format constants, precomputed once: index with the _W.. names below.
_W, _MB, _BIAS, _EMIN, _SIGN, _EMASK, _MMASK, _QNAN_BITS, _INF_BITS, _MAXF, _EXPALL, _QBIT, \
    _FULL, _P, _NAME = range(15)


def _make_consts(name: str) -> tuple:
    f = get_format(name)
    w, eb, mb = f.width, f.exp_bits, f.man_bits
    bias = (1 << (eb - 1)) - 1
    expall = (1 << eb) - 1
    return (
        w, mb, bias, 1 - bias - mb,  # _EMIN: exponent of the subnormal quantum
        1 << (w - 1), expall << mb, (1 << mb) - 1,
        (expall << mb) | (1 << (mb - 1)),  # canonical qNaN
        expall << mb,  # +inf
        ((expall - 1) << mb) | ((1 << mb) - 1),  # +max finite
        expall, 1 << (mb - 1), (1 << w) - 1, mb + 1, f.name,
    )


_CONSTS: dict[str, tuple] = {n: _make_consts(n) for n in ("fp64", "fp32", "fp16", "bf16", "fp8",
                                                          "fp8alt")}


def _c(fmt: str) -> tuple:
    """Constants of a format; the fast path is one dict hit on the canonical name."""
    try:
        return _CONSTS[fmt]
    except KeyError:
        pass
    try:
        k = _CONSTS[get_format(fmt).name]
    except (ValueError, TypeError):
        raise ValueError(f"unknown floating-point format {fmt!r}") from None
    _CONSTS[fmt] = k  # cache the alias
    return k


def canonical_nan(fmt: str) -> int:
    """The RISC-V canonical quiet NaN encoding of `fmt`."""
    return _c(fmt)[_QNAN_BITS]


def _decode(x: int, k: tuple) -> tuple[int, int, int, int]:
    """(class, sign, significand, exponent) with value = (-1)^sign * sig * 2^exp."""
    mb = k[_MB]
    sign = 1 if x & k[_SIGN] else 0
    e = (x & k[_EMASK]) >> mb
    m = x & k[_MMASK]
    if e == 0:
        if m == 0:
            return _ZERO, sign, 0, 0
        return _FIN, sign, m, k[_EMIN]
    if e == k[_EXPALL]:
        if m == 0:
            return _INF, sign, 0, 0
        return (_QNAN if m & k[_QBIT] else _SNAN), sign, m, 0
    return _FIN, sign, m | (1 << mb), e - k[_BIAS] - mb


def _check_rm(rm: str) -> None:
    if rm not in _RM_SET:
        raise ValueError(f"unknown rounding mode {rm!r}; expected one of {ROUNDING_MODES}")


_RM_SET = frozenset(ROUNDING_MODES)


def _round_int(sign: int, q: int, rem: int, half: int, rm: str) -> int:
    """Round the magnitude q + rem/(2*half) to an integer per rm (rem != 0 means inexact)."""
    if rm == "rne":
        if rem > half or (rem == half and q & 1):
            return q + 1
    elif rm == "rmm":
        if rem >= half:
            return q + 1
    elif rm == "rup":
        if not sign:
            return q + 1
    elif rm == "rdn":
        if sign:
            return q + 1
    elif rm != "rtz":
        raise ValueError(f"unknown rounding mode {rm!r}; expected one of {ROUNDING_MODES}")
    return q


def _pack_k(sign: int, sig: int, exp: int, k: tuple, rm: str) -> tuple[int, int]:
    """round_pack with the constants tuple already looked up. sig > 0."""
    if rm not in _RM_SET:
        raise ValueError(f"unknown rounding mode {rm!r}; expected one of {ROUNDING_MODES}")
    mb = k[_MB]
    n = sig.bit_length()
    top = exp + n - 1  # exponent of the leading bit
    emin_q = k[_EMIN]  # quantum of subnormals = quantum of the smallest binade
    qexp = top - mb
    if qexp < emin_q:
        qexp = emin_q
    shift = qexp - exp
    flags = 0
    if shift <= 0:
        mant = sig << -shift
    else:
        mant = sig >> shift
        rem = sig & ((1 << shift) - 1)
        if rem:
            flags = NX
            half = 1 << (shift - 1)
            rounded = _round_int(sign, mant, rem, half, rm)
            # Tininess after rounding: the result rounded with an unbounded exponent range
            # lies below the smallest normal magnitude 2^(emin_q + mb).
            if top < emin_q + mb:
                tiny = True
                if top == emin_q + mb - 1:
                    # Unbounded-range rounding keeps p bits: carry into 2^emin means not tiny.
                    s2 = top - mb - exp
                    if s2 > 0:
                        m2 = _round_int(sign, sig >> s2, sig & ((1 << s2) - 1), 1 << (s2 - 1),
                                        rm)
                        tiny = m2 >> (mb + 1) == 0
                if tiny:
                    flags |= UF
            mant = rounded
    if mant >> (mb + 1):  # carry out of the significand
        mant >>= 1
        qexp += 1
    if mant >> mb:
        bexp = qexp - emin_q + 1
        if bexp >= k[_EXPALL]:
            flags |= OF | NX
            to_max = rm == "rtz" or (rm == "rdn" and not sign) or (rm == "rup" and sign)
            mag = k[_MAXF] if to_max else k[_INF_BITS]
            return (k[_SIGN] | mag) if sign else mag, flags
        bits = (bexp << mb) | (mant & k[_MMASK])
    else:
        bits = mant  # subnormal (or zero after rounding down)
    return (k[_SIGN] | bits) if sign else bits, flags


def round_pack(sign: int, sig: int, exp: int, fmt: str, rm: str) -> tuple[int, int]:
    """Encode (-1)^sign * sig * 2^exp in `fmt` with ONE rounding per `rm`.

    `sig` is a non-negative integer; sig == 0 gives a signed zero. Results not exactly
    representable may carry an extra sticky bit in the LSB of `sig` as long as `sig` has at
    least p+2 bits (p = precision of `fmt`); the callers for div/sqrt do so."""
    _check_rm(rm)
    k = _c(fmt)
    if sig == 0:
        return (k[_SIGN] if sign else 0), 0
    return _pack_k(sign, sig, exp, k, rm)


# ---------------------------------------------------------------------------------------------
# Scalar arithmetic
# ---------------------------------------------------------------------------------------------

def _nan_result(ca: int, cb: int, k: tuple) -> tuple[int, int]:
    return k[_QNAN_BITS], (NV if ca == _SNAN or cb == _SNAN else 0)


def _add_fin(sa: int, ma: int, ea: int, sb: int, mb_: int, eb: int, k: tuple,
             rm: str) -> tuple[int, int]:
    """Exact sum of two nonzero finite operands, one rounding."""
    # Align on the smaller exponent. If the exponents are far apart, the smaller operand only
    # matters as a sticky bit: shrink it to avoid huge integers (keeps the result identical
    # because the larger operand then has >= p+3 bits above the sticky).
    if ea < eb:
        sa, ma, ea, sb, mb_, eb = sb, mb_, eb, sa, ma, ea
    d = ea - eb
    if d > k[_P] + 3 + mb_.bit_length():
        # |b| < 2^(ea-p-4) lies far below half an ulp of the result: only its sign matters, as
        # a sticky bit (keeps integers small for far-apart fp64 exponents). Same rounding.
        g = k[_P] + 5
        va = ma << g
        return _pack_k(sa, va + 1 if sa == sb else va - 1, ea - g, k, rm)
    va = ma << d
    s = va + mb_ if sa == sb else va - mb_
    if s == 0:
        return (k[_SIGN] if rm == "rdn" else 0), 0
    if s < 0:
        return _pack_k(sb, -s, eb, k, rm)
    return _pack_k(sa, s, eb, k, rm)


def fp_add(a: int, b: int, fmt: str, rm: str) -> tuple[int, int]:
    """a + b (fadd)."""
    k = _c(fmt)
    ca, sa, ma, ea = _decode(a, k)
    cb, sb, mb_, eb = _decode(b, k)
    return _add_dec(ca, sa, ma, ea, cb, sb, mb_, eb, k, rm)


def _add_dec(ca, sa, ma, ea, cb, sb, mb_, eb, k, rm) -> tuple[int, int]:
    if ca == _FIN and cb == _FIN:
        return _add_fin(sa, ma, ea, sb, mb_, eb, k, rm)
    _check_rm(rm)
    if ca >= _QNAN or cb >= _QNAN:
        return _nan_result(ca, cb, k)
    if ca == _INF:
        if cb == _INF and sa != sb:
            return k[_QNAN_BITS], NV
        return (k[_SIGN] if sa else 0) | k[_INF_BITS], 0
    if cb == _INF:
        return (k[_SIGN] if sb else 0) | k[_INF_BITS], 0
    if ca == _ZERO and cb == _ZERO:
        if sa == sb:
            return (k[_SIGN] if sa else 0), 0
        return (k[_SIGN] if rm == "rdn" else 0), 0
    if ca == _ZERO:
        return _pack_k(sb, mb_, eb, k, rm)  # exact: b is representable
    return _pack_k(sa, ma, ea, k, rm)


def fp_sub(a: int, b: int, fmt: str, rm: str) -> tuple[int, int]:
    """a - b (fsub): a + (-b); the sign flip of a NaN is irrelevant (canonical result)."""
    k = _c(fmt)
    ca, sa, ma, ea = _decode(a, k)
    cb, sb, mb_, eb = _decode(b, k)
    return _add_dec(ca, sa, ma, ea, cb, sb ^ 1, mb_, eb, k, rm)


def fp_mul(a: int, b: int, fmt: str, rm: str) -> tuple[int, int]:
    """a * b (fmul)."""
    k = _c(fmt)
    ca, sa, ma, ea = _decode(a, k)
    cb, sb, mb_, eb = _decode(b, k)
    s = sa ^ sb
    if ca == _FIN and cb == _FIN:
        return _pack_k(s, ma * mb_, ea + eb, k, rm)
    _check_rm(rm)
    if ca >= _QNAN or cb >= _QNAN:
        return _nan_result(ca, cb, k)
    if ca == _INF or cb == _INF:
        if ca == _ZERO or cb == _ZERO:
            return k[_QNAN_BITS], NV
        return (k[_SIGN] if s else 0) | k[_INF_BITS], 0
    return (k[_SIGN] if s else 0), 0


def fp_div(a: int, b: int, fmt: str, rm: str) -> tuple[int, int]:
    """a / b (fdiv): quotient with p+3 bits plus a sticky bit, one rounding."""
    k = _c(fmt)
    ca, sa, ma, ea = _decode(a, k)
    cb, sb, mb_, eb = _decode(b, k)
    s = sa ^ sb
    if ca == _FIN and cb == _FIN:
        sh = k[_P] + 3 + mb_.bit_length() - ma.bit_length()
        if sh < 0:
            sh = 0
        q, r = divmod(ma << sh, mb_)
        return _pack_k(s, (q << 1) | (1 if r else 0), ea - eb - sh - 1, k, rm)
    _check_rm(rm)
    if ca >= _QNAN or cb >= _QNAN:
        return _nan_result(ca, cb, k)
    if ca == _INF:
        if cb == _INF:
            return k[_QNAN_BITS], NV
        return (k[_SIGN] if s else 0) | k[_INF_BITS], 0
    if ca == _ZERO:
        if cb == _ZERO:
            return k[_QNAN_BITS], NV
        return (k[_SIGN] if s else 0), 0
    if cb == _ZERO:  # finite nonzero / 0
        return (k[_SIGN] if s else 0) | k[_INF_BITS], DZ
    return (k[_SIGN] if s else 0), 0  # finite / inf


def fp_sqrt(a: int, fmt: str, rm: str) -> tuple[int, int]:
    """sqrt(a) (fsqrt): -0 -> -0, negative -> canonical NaN with NV."""
    k = _c(fmt)
    ca, sa, ma, ea = _decode(a, k)
    if ca == _FIN and not sa:
        # Scale so that the radicand has >= 2(p+3) bits and an even exponent.
        sh = 2 * (k[_P] + 3) - ma.bit_length()
        if sh < 0:
            sh = 0
        if (ea - sh) & 1:
            sh += 1
        rad = ma << sh
        r = isqrt(rad)
        return _pack_k(0, (r << 1) | (1 if r * r != rad else 0), ((ea - sh) >> 1) - 1, k, rm)
    _check_rm(rm)
    if ca >= _QNAN:
        return _nan_result(ca, ca, k)
    if ca == _ZERO:
        return a, 0
    if sa:  # negative finite or -inf
        return k[_QNAN_BITS], NV
    return a, 0  # +inf


def fp_fma(a: int, b: int, c: int, fmt: str, rm: str, negate_product: bool = False,
           negate_addend: bool = False) -> tuple[int, int]:
    """(+-a*b) + (+-c) with ONE rounding: fmadd (no negation), fmsub (negate_addend),
    fnmsub (negate_product), fnmadd (both)."""
    k = _c(fmt)
    ca, sa, ma, ea = _decode(a, k)
    cb, sb, mb_, eb = _decode(b, k)
    cc, sc, mc, ec = _decode(c, k)
    sp = sa ^ sb ^ (1 if negate_product else 0)
    if negate_addend:
        sc ^= 1
    if ca == _FIN and cb == _FIN and cc == _FIN:
        return _add_fin(sp, ma * mb_, ea + eb, sc, mc, ec, k, rm)
    _check_rm(rm)
    # RISC-V: inf*0 + c raises NV even when c is a quiet NaN.
    if (ca == _INF and cb == _ZERO) or (ca == _ZERO and cb == _INF):
        return k[_QNAN_BITS], NV
    if ca >= _QNAN or cb >= _QNAN or cc >= _QNAN:
        return k[_QNAN_BITS], (NV if _SNAN in (ca, cb, cc) else 0)
    if ca == _INF or cb == _INF:
        if cc == _INF and sc != sp:
            return k[_QNAN_BITS], NV
        return (k[_SIGN] if sp else 0) | k[_INF_BITS], 0
    if cc == _INF:
        return (k[_SIGN] if sc else 0) | k[_INF_BITS], 0
    # Zeros remain: product zero and/or addend zero.
    pz = ca == _ZERO or cb == _ZERO
    if pz:
        if cc == _ZERO:
            if sp == sc:
                return (k[_SIGN] if sp else 0), 0
            return (k[_SIGN] if rm == "rdn" else 0), 0
        return _pack_k(sc, mc, ec, k, rm)  # exact
    return _pack_k(sp, ma * mb_, ea + eb, k, rm)  # product + zero addend: one rounding


def _key(cls: int, s: int, m: int, e: int) -> tuple[int, int]:
    """Total-order key for non-NaN values with -0 < +0 (only used for min/max)."""
    if cls == _ZERO:
        return (0, -1 if s else 1)
    if cls == _INF:
        return (-2 if s else 2, 0)
    return (-1 if s else 1, 0)


def _lt_mag(ma: int, ea: int, mb_: int, eb: int) -> int:
    """Compare magnitudes of two finite nonzero values: -1, 0, 1."""
    ta, tb = ea + ma.bit_length(), eb + mb_.bit_length()
    if ta != tb:
        return -1 if ta < tb else 1
    if ea > eb:
        ma <<= ea - eb
    else:
        mb_ <<= eb - ea
    return (ma > mb_) - (ma < mb_)


def _cmp_dec(ca, sa, ma, ea, cb, sb, mb_, eb) -> int:
    """-1/0/1 ordering of two non-NaN decoded values; -0 == +0 (IEEE)."""
    if ca == _ZERO and cb == _ZERO:
        return 0
    # Map to a signed "rank": sign first, then magnitude.
    ra = 0 if ca == _ZERO else (-1 if sa else 1)
    rb = 0 if cb == _ZERO else (-1 if sb else 1)
    if ra != rb:
        return -1 if ra < rb else 1
    # Same nonzero sign.
    if ca == _INF or cb == _INF:
        mag = (ca == _INF) - (cb == _INF)
    else:
        mag = _lt_mag(ma, ea, mb_, eb)
    return -mag if ra < 0 else mag


def _minmax(a: int, b: int, fmt: str, want_max: bool) -> tuple[int, int]:
    k = _c(fmt)
    da = _decode(a, k)
    db = _decode(b, k)
    ca, cb = da[0], db[0]
    if ca >= _QNAN or cb >= _QNAN:
        flags = NV if ca == _SNAN or cb == _SNAN else 0
        if ca >= _QNAN and cb >= _QNAN:
            return k[_QNAN_BITS], flags
        return (b if ca >= _QNAN else a), flags
    c = _cmp_dec(*da, *db)
    if c == 0:
        if ca == _ZERO:  # -0 < +0
            if want_max:
                return (a if not da[1] else b), 0
            return (a if da[1] else b), 0
        return a, 0
    if want_max:
        return (a if c > 0 else b), 0
    return (a if c < 0 else b), 0


def fp_min(a: int, b: int, fmt: str) -> tuple[int, int]:
    """fmin (RISC-V >= 2.2): -0 < +0; one NaN -> the other operand; two NaNs -> canonical NaN;
    any sNaN raises NV."""
    return _minmax(a, b, fmt, False)


def fp_max(a: int, b: int, fmt: str) -> tuple[int, int]:
    """fmax, same rules as :func:`fp_min`."""
    return _minmax(a, b, fmt, True)


def fp_sgnj(a: int, b: int, fmt: str, mode: str) -> tuple[int, int]:
    """Sign injection: 'j' copies b's sign, 'n' its inverse, 'x' xors the signs. Bits only."""
    k = _c(fmt)
    sbit = k[_SIGN]
    if mode == "j":
        s = b & sbit
    elif mode == "n":
        s = (b & sbit) ^ sbit
    elif mode == "x":
        s = (a ^ b) & sbit
    else:
        raise ValueError(f"unknown sign-injection mode {mode!r}; expected 'j', 'n' or 'x'")
    return (a & (k[_FULL] ^ sbit)) | s, 0


def fp_cmp(op: str, a: int, b: int, fmt: str) -> tuple[int, int]:
    """feq (quiet: NV only for sNaN), flt/fle (signaling: NV for any NaN). NaN -> 0."""
    k = _c(fmt)
    da = _decode(a, k)
    db = _decode(b, k)
    ca, cb = da[0], db[0]
    if op not in ("eq", "lt", "le"):
        raise ValueError(f"unknown comparison {op!r}; expected 'eq', 'lt' or 'le'")
    if ca >= _QNAN or cb >= _QNAN:
        if op == "eq":
            return 0, (NV if ca == _SNAN or cb == _SNAN else 0)
        return 0, NV
    c = _cmp_dec(*da, *db)
    if op == "eq":
        return int(c == 0), 0
    if op == "lt":
        return int(c < 0), 0
    return int(c <= 0), 0


def fp_class(a: int, fmt: str) -> tuple[int, int]:
    """fclass 10-bit mask: bit 0 -inf, 1 -normal, 2 -subnormal, 3 -0, 4 +0, 5 +subnormal,
    6 +normal, 7 +inf, 8 sNaN, 9 qNaN."""
    k = _c(fmt)
    cls, s, _m, _e = _decode(a, k)
    if cls == _SNAN:
        return 1 << 8, 0
    if cls == _QNAN:
        return 1 << 9, 0
    if cls == _INF:
        return (1 if s else 1 << 7), 0
    if cls == _ZERO:
        return (1 << 3 if s else 1 << 4), 0
    sub = (a & k[_EMASK]) == 0
    if s:
        return (1 << 2 if sub else 1 << 1), 0
    return (1 << 5 if sub else 1 << 6), 0


def fp_cvt(a: int, src_fmt: str, dst_fmt: str, rm: str) -> tuple[int, int]:
    """Float-to-float conversion (fcvt.s.d etc.): NaN -> canonical NaN (NV if signaling)."""
    ks = _c(src_fmt)
    kd = _c(dst_fmt)
    cls, s, m, e = _decode(a, ks)
    if cls == _FIN:
        return _pack_k(s, m, e, kd, rm)
    _check_rm(rm)
    if cls >= _QNAN:
        return kd[_QNAN_BITS], (NV if cls == _SNAN else 0)
    if cls == _INF:
        return (kd[_SIGN] if s else 0) | kd[_INF_BITS], 0
    return (kd[_SIGN] if s else 0), 0


def fp_to_int(a: int, fmt: str, signed: bool, rm: str, width: int = 32) -> tuple[int, int]:
    """fcvt.w[u].fmt: round to an integer, saturating per the RISC-V table (NV set):
    NaN -> max, +inf/too large -> max, -inf/too small -> min (0 for unsigned).
    The result is the two's-complement bit pattern of `width` bits (an unsigned int)."""
    k = _c(fmt)
    cls, s, m, e = _decode(a, k)
    _check_rm(rm)
    if signed:
        lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    else:
        lo, hi = 0, (1 << width) - 1
    mask = (1 << width) - 1
    if cls >= _QNAN:
        return hi & mask, NV
    if cls == _INF:
        return (lo if s else hi) & mask, NV
    if cls == _ZERO:
        return 0, 0
    if e >= 0:
        mag, flags = m << e, 0
    else:
        sh = -e
        q = m >> sh
        rem = m & ((1 << sh) - 1)
        if rem:
            mag, flags = _round_int(s, q, rem, 1 << (sh - 1), rm), NX
        else:
            mag, flags = q, 0
    v = -mag if s else mag
    if v < lo:
        return lo & mask, NV
    if v > hi:
        return hi & mask, NV
    return v & mask, flags


def int_to_fp(value: int, signed: bool, fmt: str, rm: str, width: int = 32) -> tuple[int, int]:
    """fcvt.fmt.w[u]: `value` is taken modulo 2^width and read as signed or unsigned."""
    k = _c(fmt)
    _check_rm(rm)
    v = value & ((1 << width) - 1)
    if signed and v >> (width - 1):
        v -= 1 << width
    if v == 0:
        return 0, 0
    if v < 0:
        return _pack_k(1, -v, 0, k, rm)
    return _pack_k(0, v, 0, k, rm)


# ---------------------------------------------------------------------------------------------
# Three-term exact sum (expanding dot product / sums)
# ---------------------------------------------------------------------------------------------

def _sum_terms(terms: list[tuple[int, int, int, int]], k: tuple, rm: str) -> tuple[int, int]:
    """Exact sum of decoded terms (class, sign, sig, exp) with one rounding into k.

    Specials follow fpnew_sdotp_multi.sv: any NaN -> canonical NaN (NV if one is signaling);
    +inf + -inf -> NV; otherwise an infinity wins. Products must be pre-combined by the caller
    (class _INF for inf*finite, NaN-with-NV for inf*0 is handled by the caller)."""
    acc = 0
    emin = None
    fins = []
    zero_signs = []
    inf_signs = set()
    for cls, s, m, e in terms:
        if cls == _FIN:
            fins.append((s, m, e))
            emin = e if emin is None or e < emin else emin
        elif cls == _ZERO:
            zero_signs.append(s)
        else:
            inf_signs.add(s)
    if inf_signs:
        if len(inf_signs) == 2:
            return k[_QNAN_BITS], NV
        return (k[_SIGN] if 1 in inf_signs else 0) | k[_INF_BITS], 0
    if not fins:
        if all(zero_signs):
            return k[_SIGN], 0
        if not any(zero_signs):
            return 0, 0
        return (k[_SIGN] if rm == "rdn" else 0), 0
    for s, m, e in fins:
        v = m << (e - emin)
        acc += -v if s else v
    if acc == 0:
        return (k[_SIGN] if rm == "rdn" else 0), 0
    if acc < 0:
        return _pack_k(1, -acc, emin, k, rm)
    return _pack_k(0, acc, emin, k, rm)


def _dec_product(a: int, b: int, ks: tuple) -> tuple[tuple[int, int, int, int], int]:
    """Exact product as a decoded term; returns (term, flags). NaN terms get class _QNAN."""
    ca, sa, ma, ea = _decode(a, ks)
    cb, sb, mb_, eb = _decode(b, ks)
    s = sa ^ sb
    if (ca == _INF and cb == _ZERO) or (ca == _ZERO and cb == _INF):
        return (_QNAN, 0, 0, 0), NV
    if ca >= _QNAN or cb >= _QNAN:
        return (_QNAN, 0, 0, 0), (NV if ca == _SNAN or cb == _SNAN else 0)
    if ca == _INF or cb == _INF:
        return (_INF, s, 0, 0), 0
    if ca == _ZERO or cb == _ZERO:
        return (_ZERO, s, 0, 0), 0
    return (_FIN, s, ma * mb_, ea + eb), 0


def _sum3(terms: list, pre_flags: int, k: tuple, rm: str) -> tuple[int, int]:
    """Sum with NaN handling: any NaN term (or an invalid product) -> canonical NaN."""
    if pre_flags & NV or any(t[0] >= _QNAN for t in terms):
        nv = NV if (pre_flags & NV or any(t[0] == _SNAN for t in terms)) else 0
        return k[_QNAN_BITS], nv
    return _sum_terms(terms, k, rm)


# ---------------------------------------------------------------------------------------------
# SIMD on 64-bit packed registers
# ---------------------------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _lanes(fmt: str) -> tuple[int, int, tuple]:
    k = _c(fmt)
    w = k[_W]
    if w == 64:
        raise ValueError("SIMD is not defined for fp64 (FP64 is scalar): snitch_cluster.md §3.2")
    return 64 // w, w, k


_BINOPS = {
    "add": lambda a, b, f, rm: fp_add(a, b, f, rm),
    "sub": lambda a, b, f, rm: fp_sub(a, b, f, rm),
    "mul": lambda a, b, f, rm: fp_mul(a, b, f, rm),
    "div": lambda a, b, f, rm: fp_div(a, b, f, rm),
    "min": lambda a, b, f, rm: fp_min(a, b, f),
    "max": lambda a, b, f, rm: fp_max(a, b, f),
    "sgnj": lambda a, b, f, rm: fp_sgnj(a, b, f, "j"),
    "sgnjn": lambda a, b, f, rm: fp_sgnj(a, b, f, "n"),
    "sgnjx": lambda a, b, f, rm: fp_sgnj(a, b, f, "x"),
}


def simd_binop(op: str, a64: int, b64: int, fmt: str, rm: str,
               replicate: bool = False) -> tuple[int, int]:
    """Lane-wise binary op (vfadd, vfsub, vfmul, vfdiv, vfmin, vfmax, vfsgnj[n|x]);
    replicate=True is the `.r` form (lane 0 of b broadcast)."""
    try:
        fn = _BINOPS[op]
    except KeyError:
        raise ValueError(f"unknown SIMD op {op!r}; expected one of {sorted(_BINOPS)}") from None
    n, w, k = _lanes(fmt)
    f = k[_NAME]
    m = k[_FULL]
    out = 0
    flags = 0
    b0 = b64 & m
    for i in range(n):
        sh = i * w
        r, fl = fn((a64 >> sh) & m, b0 if replicate else (b64 >> sh) & m, f, rm)
        out |= r << sh
        flags |= fl
    return out, flags


def simd_mac(a64: int, b64: int, acc64: int, fmt: str, rm: str, negate: bool = False,
             replicate: bool = False) -> tuple[int, int]:
    """vfmac: acc + a*b per lane, fused (FPnew FMADD); negate=True is vfmre: acc - a*b
    (FNMSUB). replicate=True is the `.r` form."""
    n, w, k = _lanes(fmt)
    f = k[_NAME]
    m = k[_FULL]
    out = 0
    flags = 0
    b0 = b64 & m
    for i in range(n):
        sh = i * w
        r, fl = fp_fma((a64 >> sh) & m, b0 if replicate else (b64 >> sh) & m, (acc64 >> sh) & m,
                       f, rm, negate_product=negate)
        out |= r << sh
        flags |= fl
    return out, flags


def simd_unop(op: str, a64: int, fmt: str, rm: str) -> tuple[int, int]:
    """Lane-wise unary op: 'sqrt' (vfsqrt)."""
    if op != "sqrt":
        raise ValueError(f"unknown SIMD unary op {op!r}; expected 'sqrt'")
    n, w, k = _lanes(fmt)
    f = k[_NAME]
    m = k[_FULL]
    out = 0
    flags = 0
    for i in range(n):
        sh = i * w
        r, fl = fp_sqrt((a64 >> sh) & m, f, rm)
        out |= r << sh
        flags |= fl
    return out, flags


def simd_cmp(op: str, a64: int, b64: int, fmt: str,
             replicate: bool = False) -> tuple[int, int]:
    """vfeq/vfne/vflt/vfle/vfgt/vfge: mask with bit i = result of lane i (FPnew noncomp:
    gt = NOT le, ge = NOT lt, ne = NOT eq on non-NaN operands; a signaling NaN gives 0 and NV
    for every predicate, a quiet NaN gives 0 (1 for ne) and NV for the ordered predicates)."""
    if op not in ("eq", "ne", "lt", "le", "gt", "ge"):
        raise ValueError(f"unknown SIMD comparison {op!r}")
    n, w, k = _lanes(fmt)
    m = k[_FULL]
    mask = 0
    flags = 0
    b0 = b64 & m
    for i in range(n):
        sh = i * w
        da = _decode((a64 >> sh) & m, k)
        db = _decode(b0 if replicate else (b64 >> sh) & m, k)
        if da[0] == _SNAN or db[0] == _SNAN:
            flags |= NV
            continue
        if da[0] == _QNAN or db[0] == _QNAN:
            if op == "ne":
                mask |= 1 << i
            elif op != "eq":
                flags |= NV
            continue
        c = _cmp_dec(*da, *db)
        res = {"eq": c == 0, "ne": c != 0, "lt": c < 0, "le": c <= 0, "gt": c > 0,
               "ge": c >= 0}[op]
        if res:
            mask |= 1 << i
    return mask, flags


def simd_cpk(which: str, a: int, b: int, dst64: int, src_fmt: str, dst_fmt: str,
             rm: str) -> tuple[int, int]:
    """vfcpk{a,b,c,d}: convert scalars a (rs1) and b (rs2) from src_fmt to dst_fmt and insert
    them in lanes (2k, 2k+1) of dst64, k = 'abcd'.index(which); other lanes kept."""
    kd = _c(dst_fmt)
    w = kd[_W]
    if which not in ("a", "b", "c", "d") or len(which) != 1:
        raise ValueError(f"unknown vfcpk variant {which!r}; expected 'a', 'b', 'c' or 'd'")
    idx = "abcd".index(which)
    if 2 * (idx + 1) * w > 64:
        raise ValueError(f"vfcpk{which} does not fit a 64-bit register for {kd[_NAME]} lanes")
    ra, fa = fp_cvt(a, src_fmt, dst_fmt, rm)
    rb, fb = fp_cvt(b, src_fmt, dst_fmt, rm)
    sh = 2 * idx * w
    field = ((1 << (2 * w)) - 1) << sh
    return (dst64 & ~field & _M64) | (ra << sh) | (rb << (sh + w)), fa | fb


_INT_KINDS = ("int", "uint")


def simd_cvt(a64: int, src_fmt: str, dst_fmt: str, rm: str, upper: bool = False,
             dst64: int = 0) -> tuple[int, int]:
    """vfcvt between lane formats.

    - same width float<->float (vfcvt.h.ah, vfcvt.b.ab, ...): every lane;
    - float -> 'int'/'uint' (vfcvt.x.h, vfcvt.xu.s, ...): integer lanes of the float's width,
      saturating like fcvt.w;
    - 'int'/'uint' -> float (vfcvt.h.x, ...): the integer lanes have the float's width;
    - widening float (vfcvt.s.h / vfcvtu.s.h): the source lanes come from the lower half of
      a64 (upper=True: upper half);
    - narrowing float (vfcvt.h.s / vfcvtu.h.s): results go to the lower half (upper=True:
      upper half) and the other half is kept from dst64 (assumption, see module docstring).
    """
    if src_fmt in _INT_KINDS and dst_fmt in _INT_KINDS:
        raise ValueError("simd_cvt needs at least one floating-point format")
    if src_fmt in _INT_KINDS:
        n, w, kd = _lanes(dst_fmt)
        out = flags = 0
        for i in range(n):
            r, fl = int_to_fp((a64 >> (i * w)) & kd[_FULL], src_fmt == "int", kd[_NAME], rm, w)
            out |= r << (i * w)
            flags |= fl
        return out, flags
    if dst_fmt in _INT_KINDS:
        n, w, ks = _lanes(src_fmt)
        out = flags = 0
        for i in range(n):
            r, fl = fp_to_int((a64 >> (i * w)) & ks[_FULL], ks[_NAME], dst_fmt == "int", rm, w)
            out |= r << (i * w)
            flags |= fl
        return out, flags
    ns, ws, ks = _lanes(src_fmt)
    nd, wd, kd = _lanes(dst_fmt)
    out = flags = 0
    if ws == wd:
        for i in range(ns):
            r, fl = fp_cvt((a64 >> (i * ws)) & ks[_FULL], ks[_NAME], kd[_NAME], rm)
            out |= r << (i * wd)
            flags |= fl
        return out, flags
    if wd > ws:  # widening: nd results from the lower/upper half of the source
        base = 32 if upper else 0
        for i in range(nd):
            r, fl = fp_cvt((a64 >> (base + i * ws)) & ks[_FULL], ks[_NAME], kd[_NAME], rm)
            out |= r << (i * wd)
            flags |= fl
        return out, flags
    # narrowing: ns results into one half of the destination
    base = 32 if upper else 0
    for i in range(ns):
        r, fl = fp_cvt((a64 >> (i * ws)) & ks[_FULL], ks[_NAME], kd[_NAME], rm)
        out |= r << (base + i * wd)
        flags |= fl
    keep = (0xFFFFFFFF << 32) if not upper else 0xFFFFFFFF
    return (dst64 & keep) | out, flags


def simd_sum(a64: int, acc64: int, fmt: str, rm: str, negate: bool = False) -> tuple[int, int]:
    """vfsum (vfnsum with negate=True: acc - a[2i] - a[2i+1]), non-expanding: for each result
    lane i < lanes/2, d[i] = acc[i] + a[2i] + a[2i+1] with one rounding; the upper 32 bits of
    the result are all ones (fpnew_opgroup_multifmt_slice.sv, result_is_vsum). Flags include
    the hardware's upper "ghost" lanes i >= lanes/2, which compute acc[i] + 0 + 0."""
    n, w, k = _lanes(fmt)
    m = k[_FULL]
    out = 0
    flags = 0
    for i in range(n):
        acc = _decode((acc64 >> (i * w)) & m, k)
        if i < n // 2:
            x = list(_decode((a64 >> (2 * i * w)) & m, k))
            y = list(_decode((a64 >> ((2 * i + 1) * w)) & m, k))
            if negate:
                x[1] ^= 1
                y[1] ^= 1
            terms = [tuple(x), tuple(y), acc]
        else:
            terms = [(_ZERO, 0, 0, 0), (_ZERO, 0, 0, 0), acc]
        r, fl = _sum3(terms, 0, k, rm)
        flags |= fl
        if i < n // 2:
            out |= r << (i * w)
    return out | (0xFFFFFFFF << 32), flags


def _check_expanding(src_fmt: str, dst_fmt: str) -> tuple[tuple, tuple]:
    ks, kd = _c(src_fmt), _c(dst_fmt)
    if kd[_W] != 2 * ks[_W] or kd[_W] > 32:
        raise ValueError(
            f"expanding op needs a destination twice as wide as the source and at most 32 bits "
            f"(e.g. fp16->fp32, fp8->fp16), got {ks[_NAME]}->{kd[_NAME]}")
    return ks, kd


def simd_sumex(a64: int, acc64: int, src_fmt: str, dst_fmt: str, rm: str,
               negate: bool = False) -> tuple[int, int]:
    """vfsumex.s.h / vfsumex.h.b (vfnsumex with negate=True): d[i] = acc[i] + a[2i] + a[2i+1]
    (the sum negated for vfnsumex), exact then ONE rounding into dst_fmt."""
    ks, kd = _check_expanding(src_fmt, dst_fmt)
    ws, wd = ks[_W], kd[_W]
    out = flags = 0
    for i in range(64 // wd):
        x = list(_decode((a64 >> (2 * i * ws)) & ks[_FULL], ks))
        y = list(_decode((a64 >> ((2 * i + 1) * ws)) & ks[_FULL], ks))
        if negate:
            x[1] ^= 1
            y[1] ^= 1
        acc = _decode((acc64 >> (i * wd)) & kd[_FULL], kd)
        r, fl = _sum3([tuple(x), tuple(y), acc], 0, kd, rm)
        out |= r << (i * wd)
        flags |= fl
    return out, flags


def simd_dotpex(a64: int, b64: int, acc64: int, src_fmt: str, dst_fmt: str, rm: str,
                negate: bool = False, replicate: bool = False) -> tuple[int, int]:
    """vfdotpex.s.h / vfdotpex.h.b (vfndotpex with negate=True: acc - dot):
    d[i] = acc[i] + a[2i]*b[2i] + a[2i+1]*b[2i+1], products exact, ONE rounding into dst_fmt
    (fpnew_sdotp_multi.sv).

    replicate=True (vfdotpex.s.r.h) follows the RTL decoder, not the intuitive meaning:
    snitch_fp_ss.sv sets ``op_select[2] = RegBRep`` for the `.r` forms, so the ACCUMULATOR
    operand becomes rs2's lane 0 replicated at the source width, while b is used unchanged
    (the destination's old value is not read). This looks like an RTL bug; modelled as is."""
    ks, kd = _check_expanding(src_fmt, dst_fmt)
    ws, wd = ks[_W], kd[_W]
    ms = ks[_FULL]
    out = flags = 0
    if replicate:
        acc64 = 0
        for i in range(64 // ws):
            acc64 |= (b64 & ms) << (i * ws)
    for i in range(64 // wd):
        ja, jb = 2 * i * ws, (2 * i + 1) * ws
        p1, f1 = _dec_product((a64 >> ja) & ms, (b64 >> ja) & ms, ks)
        p2, f2 = _dec_product((a64 >> jb) & ms, (b64 >> jb) & ms, ks)
        if negate:
            p1 = (p1[0], p1[1] ^ 1, p1[2], p1[3])
            p2 = (p2[0], p2[1] ^ 1, p2[2], p2[3])
        acc = _decode((acc64 >> (i * wd)) & kd[_FULL], kd)
        r, fl = _sum3([p1, p2, acc], f1 | f2, kd, rm)
        out |= r << (i * wd)
        flags |= fl
    return out, flags
