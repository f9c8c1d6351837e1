"""Exponential functions as the hardware and the software of the cluster compute them.

- `vexp_bf16`: the VEXP EXP block, bit-exact. Schraudolph's method in fixed point (stage
  *exps*) followed by the piecewise-polynomial mantissa correction (stage *P*), as in the
  SoftEx EXPU of co-author A. Belano (`belanoa/softex`, `rtl/expu/expu_schraudolph.sv`,
  `expu_correction.sv`). Bit-level reading and golden vectors: vexp_details.md §1.3-§1.4;
  summary: vexp_paper.md "The exponential algorithm".
- `schraudolph_bf16`: the same block with the correction switched off (the classic method, c = 0).
- `expf_libm`: the scalar `expf` of the Snitch runtime's libm (ARM optimized-routines algorithm,
  32-entry table, cubic polynomial evaluated in double; snitch_cluster.md §5.2), which the
  baseline kernels run in software.

All models take and return NumPy arrays and are vectorised over every element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .formats import BF16, FP32, FP64, from_bits, to_bits

__all__ = [
    "VexpParams",
    "VEXP_HW",
    "vexp_bf16",
    "vexp_bf16_bits",
    "vexp_bf16_table",
    "schraudolph_bf16",
    "correction_table",
    "expf_libm",
    "EXPF_TABLE",
    "exp_reference",
]


@dataclass(frozen=True)
class VexpParams:
    """Every parameter of the EXP block. The defaults are the hardware's.

    Sources (vexp_details.md §1.3, table "effective fixed-point value"; §1.4 pseudo-code):
    - `a_fraction` 14, `a_int` None: log2(e) as a Q1.14 constant, round(2^14/ln2) = 23637
      (`expu_schraudolph.sv`: `A = int'(A_REAL * 2 ** A_FRACTION)`, and SystemVerilog's
      int' rounds to nearest). vexp_details.md §1.3 states 23638, but only 23637 reproduces
      all six golden vectors of §1.4, the "disputed" 0xc2ac -> 0x0174 included: the tests pin
      this. `a_int` overrides the derived constant.
    - `rounding`: the 15-bit Q8.7 fixed-point x/ln2 is rounded half up (ENABLE_ROUNDING = 1);
      off means truncation.
    - `correction`: stage P on (VEXP) or off (classic Schraudolph with c = 0).
    - alpha = `alpha_q`/2^`coef_fraction` = 4/16, beta = 7/16 (COEFFICIENT_FRACTION = 4),
      gamma1 = `gamma1_q`/2^`const_fraction` = 363/128, gamma2 = 278/128
      (CONSTANT_FRACTION = 7), `mul_surplus_bits` 1 (MUL_SURPLUS_BITS).
    - `flush_subnormal`: a result that would be subnormal becomes +0 (SoftEx, 2024-06-23).
    - `nan_result`: NaN inputs are not special-cased in the datapath (exponent 0xFF > MAX_EXP
      takes the overflow path): +Inf for a positive NaN, +0 for a negative one. 'propagate'
      returns the canonical NaN instead, for users who want IEEE-like behaviour.
    """

    a_fraction: int = 14
    a_int: int | None = None
    rounding: bool = True
    correction: bool = True
    alpha_q: int = 4
    beta_q: int = 7
    coef_fraction: int = 4
    gamma1_q: int = 363
    gamma2_q: int = 278
    const_fraction: int = 7
    mul_surplus_bits: int = 1
    flush_subnormal: bool = True
    nan_result: str = "hardware"

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.a_fraction <= 24:
            problems.append(f"a_fraction={self.a_fraction} must be in 1..24")
        if self.nan_result not in ("hardware", "propagate"):
            problems.append(f"nan_result={self.nan_result!r} must be 'hardware' or 'propagate'")
        for name in ("alpha_q", "beta_q", "gamma1_q", "gamma2_q"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if problems:
            raise ValueError("invalid VexpParams: " + "; ".join(problems))

    @property
    def log2e_q(self) -> int:
        """The fixed-point log2(e) constant actually multiplied in."""
        if self.a_int is not None:
            return self.a_int
        return int(round(2**self.a_fraction / math.log(2)))


VEXP_HW = VexpParams()

_MANT = 7  # BF16 mantissa bits
_EXPB = 8  # BF16 exponent bits
_BIAS = 127


def correction_table(params: VexpParams = VEXP_HW) -> np.ndarray:
    """Stage P as a 128-entry table: corrected 7-bit mantissa for each Schraudolph mantissa.

    f = m/128 in [0, 0.5):  P(f) = alpha * f * (f + gamma1)
    f in [0.5, 1):          P(f) = not(beta * not(f) * (f + gamma2)), not() = one's complement
    evaluated in the hardware's fixed point, truncating (vexp_details.md §1.4, stage 2).
    """
    m = np.arange(1 << _MANT, dtype=np.int64)
    s = params.mul_surplus_bits
    shift = params.coef_fraction + params.const_fraction + s
    # f < 0.5: {m, surplus zeros} * alpha * (m + gamma1)
    low = ((m << s) * params.alpha_q * (m + params.gamma1_q)) >> shift
    # f >= 0.5: not(f) is the one's complement of the fraction below the half bit, with the
    # surplus bit: (2^(MANT+s) - 1) - (m << s) for the 8-bit {m, 0}.
    notf = ((1 << (_MANT + s)) - 1) - (m << s)
    t = (notf * params.beta_q * (m + params.gamma2_q)) >> shift
    high = ((1 << _MANT) - 1) - t
    out = np.where(m < (1 << (_MANT - 1)), low, high)
    return np.clip(out, 0, (1 << _MANT) - 1).astype(np.uint16)


def _exps_bits(bits: np.ndarray, params: VexpParams) -> tuple[np.ndarray, np.ndarray]:
    """Stage exps on BF16 encodings. Returns (result bits, overflow mask)."""
    b = bits.astype(np.int64)
    sign = (b >> 15) & 1
    e = (b >> _MANT) & 0xFF
    mant = (1 << _MANT) | (b & 0x7F)  # hidden 1 even for e == 0: zero/subnormal -> exp = 1
    af = params.a_fraction
    a_int_bits = 1  # log2(e) = 1.44: one integer bit
    max_exp = _BIAS + (_EXPB - (a_int_bits + 1))  # 133: 2^(133-127) * 2 * 1.44 < 2^8
    prod = mant * params.log2e_q  # Q2.(7+af): |x|/ln2 significand
    top = _MANT + af + a_int_bits  # index of the product's MSB field
    # Keep the bits [top : af - 7], i.e. a Q2.14 value (bit 0 is the rounding bit).
    aligned = prod >> (af - _MANT) if af >= _MANT else prod << (_MANT - af)
    shift = np.clip(max_exp - e, 0, 63)
    shifted = np.where(max_exp - e >= 63, 0, aligned >> shift)
    width = _EXPB + _MANT  # 15-bit fixed-point result Q8.7
    rnd = (shifted & 1) if params.rounding else 0
    rounded = ((shifted >> 1) + rnd) & ((1 << width) - 1)
    signed = np.where(sign == 0, rounded, (-rounded) & ((1 << width) - 1))
    top_bits = (prod >> (top - _EXPB)) & 0xFF
    ovf = (e > max_exp) | (
        (e == max_exp) & (((prod >> top) & 1).astype(bool) | ((sign == 1) & (top_bits == 0xFF)))
    )
    new_exp = ((signed >> _MANT) + _BIAS) & 0xFF
    new_man = signed & 0x7F
    out = (new_exp << _MANT) | new_man
    out = np.where(ovf, np.where(sign == 0, 0x7F80, 0), out)
    if params.flush_subnormal:
        # A negative argument whose integer part wrapped to the bottom exponent (0) would be
        # a subnormal: flushed to +0 (vexp_details.md §1.4, "result would be subnormal").
        out = np.where(~ovf & (sign == 1) & (new_exp == 0), 0, out)
    return out, ovf


def vexp_bf16_bits(bits: np.ndarray, params: VexpParams = VEXP_HW) -> np.ndarray:
    """`vexp_bf16` on raw BF16 encodings (uint16 in, uint16 out)."""
    b = np.asarray(bits).astype(np.uint16)
    out, ovf = _exps_bits(b, params)
    if params.correction:
        table = correction_table(params).astype(np.int64)
        corrected = (out & ~0x7F) | table[out & 0x7F]
        out = np.where(ovf | (out == 0), out, corrected)
    if params.nan_result == "propagate":
        isnan = ((b.astype(np.int64) & 0x7F80) == 0x7F80) & ((b.astype(np.int64) & 0x7F) != 0)
        out = np.where(isnan, BF16.canonical_nan, out)
    return out.astype(np.uint16)


_TABLES: dict[VexpParams, list[int]] = {}


def vexp_bf16_table(params: VexpParams = VEXP_HW) -> list[int]:
    """`vexp_bf16_bits` of every one of the 65536 BF16 encodings, as a list indexed by the
    input bits (built once per parameter set): the simulator's per-instruction path, about
    100x faster than calling NumPy on 1 or 4 lanes."""
    t = _TABLES.get(params)
    if t is None:
        t = _TABLES[params] = vexp_bf16_bits(np.arange(65536, dtype=np.uint16), params).tolist()
    return t


def vexp_bf16(x: np.ndarray, params: VexpParams = VEXP_HW) -> np.ndarray:
    """exp(x) as the VEXP hardware block computes it: BF16 in, BF16 out, bit-exact.

    >>> import ml_dtypes, numpy as np
    >>> vexp_bf16(np.array([0, -1], dtype=ml_dtypes.bfloat16)).astype(float).tolist()
    [1.0, 0.3671875]
    """
    arr = np.asarray(x)
    if arr.dtype != BF16.dtype:
        raise TypeError(
            f"vexp_bf16 takes bfloat16 inputs (the block is BF16 only), got {arr.dtype}; "
            "convert with vexpsim.numerics.formats.convert(x, 'bf16')"
        )
    return from_bits(vexp_bf16_bits(to_bits(arr), params), BF16)


def schraudolph_bf16(x: np.ndarray, params: VexpParams = VEXP_HW) -> np.ndarray:
    """The classic Schraudolph exponential (no mantissa correction) in the same datapath."""
    return vexp_bf16(x, replace(params, correction=False))


# --- expf of the Snitch runtime's libm -----------------------------------------------------
# ARM optimized-routines expf (musl copy; snitch_cluster.md §5.2): EXP2F_TABLE_BITS = 5.
# EXPF_TABLE[i] = bits(2^(i/32) rounded to double) - (i << 47); tests recompute it exactly.
EXPF_TABLE = np.array(
    [
        0x3FF0000000000000, 0x3FEFD9B0D3158574, 0x3FEFB5586CF9890F, 0x3FEF9301D0125B51,
        0x3FEF72B83C7D517B, 0x3FEF54873168B9AA, 0x3FEF387A6E756238, 0x3FEF1E9DF51FDEE1,
        0x3FEF06FE0A31B715, 0x3FEEF1A7373AA9CB, 0x3FEEDEA64C123422, 0x3FEECE086061892D,
        0x3FEEBFDAD5362A27, 0x3FEEB42B569D4F82, 0x3FEEAB07DD485429, 0x3FEEA47EB03A5585,
        0x3FEEA09E667F3BCD, 0x3FEE9F75E8EC5F74, 0x3FEEA11473EB0187, 0x3FEEA589994CCE13,
        0x3FEEACE5422AA0DB, 0x3FEEB737B0CDC5E5, 0x3FEEC49182A3F090, 0x3FEED503B23E255D,
        0x3FEEE89F995AD3AD, 0x3FEEFF76F2FB5E47, 0x3FEF199BDD85529C, 0x3FEF3720DCEF9069,
        0x3FEF5818DCFBA487, 0x3FEF7C97337B9B5F, 0x3FEFA4AFA2A490DA, 0x3FEFD0765B6E4540,
    ],
    dtype=np.uint64,
)
EXPF_N = 32
EXPF_INVLN2N = float.fromhex("0x1.71547652b82fep+0") * EXPF_N  # 32/ln2
EXPF_SHIFT = float.fromhex("0x1.8p+52")  # round-to-int by adding 1.5*2^52
# Minimax cubic for 2^(r/N) - 1, r in [-1/2, 1/2], coefficients pre-scaled by 1/N^k.
EXPF_C0 = float.fromhex("0x1.c6af84b912394p-5") / EXPF_N**3
EXPF_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / EXPF_N**2
EXPF_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / EXPF_N
EXPF_OFLOW = float.fromhex("0x1.62e42ep6")  # x > log(2^128): +inf
EXPF_UFLOW = float.fromhex("-0x1.9fe368p6")  # x < log(2^-150): +0


def expf_libm(x: np.ndarray) -> np.ndarray:
    """`expf` exactly as the libm routine computes it (float32 in, float32 out).

    Per element (snitch_cluster.md §5.2): z = x*N/ln2; kd = z + SHIFT; ki = bits(kd);
    kd -= SHIFT; r = z - kd; s = asdouble(T[ki % N] + (ki << 47));
    y = (C0*r + C1)*r^2 + (C2*r + 1); return (float)(y*s).
    Every operation is a separately rounded double operation (no fused multiply-add), which
    is what the assembly routine kernels/lib/expf.S executes instruction by instruction
    (tests compare them bit for bit, NaN results included: RISC-V's x + x gives the canonical
    NaN).
    """
    xf = np.asarray(x)
    if xf.dtype != np.float32:
        raise TypeError(f"expf_libm takes float32 inputs, got {xf.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        xd = xf.astype(np.float64)  # exact; signaling NaNs would warn
        z = EXPF_INVLN2N * xd
        kd = z + EXPF_SHIFT
        ki = kd.view(np.uint64)
        kd = kd - EXPF_SHIFT
        r = z - kd
        t = EXPF_TABLE[(ki % np.uint64(EXPF_N)).astype(np.intp)] + (ki << np.uint64(47))
        s = t.view(np.float64)
        zz = EXPF_C0 * r + EXPF_C1
        r2 = r * r
        y = EXPF_C2 * r + 1.0
        y = zz * r2 + y
        y = y * s
        out = y.astype(np.float32)
        # Special cases, as the routine's |x| >= 88 branch handles them.
        out = np.where(xd > EXPF_OFLOW, np.float32(np.inf), out)
        out = np.where(xd < EXPF_UFLOW, np.float32(0.0), out)
        # NaN: the routine returns x + x, which on RISC-V is the canonical NaN
        out = np.where(np.isnan(xd), np.uint32(0x7FC00000).view(np.float32), out)
        out = np.where(np.isposinf(xd), np.float32(np.inf), out)
        out = np.where(np.isneginf(xd), np.float32(0.0), out)
    return out.astype(np.float32)


def exp_reference(x: np.ndarray) -> np.ndarray:
    """float64 exp of the (exactly widened) input: the accuracy reference."""
    return np.exp(np.asarray(x).astype(np.float64))


# Registry used by the CLI and experiment configs.
EXP_VARIANTS = {
    "vexp": (vexp_bf16, BF16),
    "schraudolph": (schraudolph_bf16, BF16),
    "expf": (expf_libm, FP32),
}
_ = FP64  # formats used by callers through this module
