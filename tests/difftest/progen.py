"""Seeded generator of random RV32IMAFD programs for differential testing (QEMU vs vexpsim).

`generate(seed)` returns GNU-as source in the DSL subset of design.md: `_start`, `.text`/`.data`,
labels, `.word`/`.dword`/`.balign`, ABI register names and the common pseudo-instructions
(li, la, mv, not, neg, j, call, ret, bnez, fmv.s, fabs.d, fneg.s, frflags, fsrmi, ...).

Every program:
- starts by pointing t6 (x31, never written afterwards) at `data_base` and giving x1..x30 and
  f0..f31 deterministic values, so the final state never depends on the loader (QEMU sets sp);
- runs >= 100 random instructions (odd seeds FP-heavy, even seeds integer-heavy): integer
  ALU/imm/shift/lui/auipc, M with the division corner cases, loads/stores of every width
  (aligned, stores only into the scratch area), forward branches, jal/jalr/call-ret, bounded
  counted loops, F and D arithmetic with static and dynamic rounding modes (frm written only
  with valid modes 0..4), fflags/frm/fcsr reads and writes, special values (0, -0, inf, NaN,
  sNaN, subnormals, max, ties) loaded from a data table, fence;
- ends with a checksum loop over the scratch area (so stores are compared through registers),
  fflags/frm/fcsr read into t1/t2/t0, then `li a0, 0; li a7, 93; ecall`.
There is no backward branch except the counted loops, so every program terminates.
"""

from __future__ import annotations

import random
import struct

from qemu_oracle import ABI_F, ABI_X

RMS = ("rne", "rtz", "rdn", "rup", "rmm", "dyn")
XREGS = [f"x{i}" for i in range(32)]
BASE = 31  # t6: address of data_base for the whole program

# Integer values that hit the corner cases of M, shifts and comparisons.
INT_SPECIAL = (
    0, 1, 2, 3, 0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, 0x80000001, 31, 32, 33,
    0x7FF, 0x800, 0xFFFFF800, 0xFFFFF7FF, 0x8000, 0xFFFF8000, 0xFFFF, 0x7F, 0x80, 0xFF,
    0x12345678, 0xDEADBEEF, 0x55555555, 0xAAAAAAAA, 0x00010000, 0xFFFF0000,
)


def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# fp32 special values (bit patterns): signed zeros, infinities, quiet/signalling NaNs with and
# without payload, subnormals, min normal, max finite, ties for every rounding mode, values at
# the edges of the int32/uint32 conversion ranges.
F32_SPECIAL = (
    0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7FC12345, 0xFFC00000,
    0x7F800001, 0x7FA00000, 0xFF800F00, 0x00000001, 0x80000001, 0x007FFFFF, 0x00400000,
    0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF, _f32(1.0), _f32(-1.0), _f32(0.5),
    _f32(-0.5), _f32(1.5), _f32(2.5), _f32(-2.5), _f32(3.0), _f32(0.1), _f32(1 / 3),
    _f32(2.0**31), _f32(-(2.0**31)), _f32(2.0**32), 0x4EFFFFFF, 0xCF000001, _f32(-1.5),
    _f32(2.0**24 + 2), _f32(16777215.0), _f32(1e-40), _f32(7.0), _f32(100.25), 0x3F800001,
    # around the normal/subnormal boundary: products and sums land on it (UF/tininess cases)
    0x3F7FFFFF, 0x00FFFFFF, 0x80FFFFFF, 0x00800001, 0x3F000001, 0x34000000,
)
F64_SPECIAL = (
    0x0000000000000000, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
    0x7FF8000000000000, 0x7FF8000000012345, 0xFFF8000000000000, 0x7FF0000000000001,
    0x7FF4000000000000, 0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x000FFFFFFFFFFFFF,
    0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, _f64(1.0), _f64(-1.0),
    _f64(0.5), _f64(-0.5), _f64(1.5), _f64(2.5), _f64(-2.5), _f64(3.0), _f64(0.1),
    _f64(2147483647.5), _f64(2147483648.0), _f64(-2147483648.5), _f64(-2147483649.0),
    _f64(4294967295.5), _f64(4294967296.0), _f64(-2147483648.0), _f64(1e300), _f64(1e-300),
    _f64(3.4028235677973366e38),  # just above FLT_MAX: fcvt.s.d overflow depends on rm
    _f64(1.0 + 2.0**-24),  # exact tie for fcvt.s.d
    _f64(1.0 + 3 * 2.0**-24),  # the other tie parity
    _f64(2.0**-150),  # tie between 0 and the least fp32 subnormal
    _f64(1.5 * 2.0**-149),
    0xFFFFFFFF3F800000,  # a properly NaN-boxed fp32 1.0: fld then .s ops see 1.0
    0xFFFFFFFE3F800000,  # improperly boxed: .s ops see the canonical NaN
    _f64(1e-310),
    _f64(-7.75),
    0x3FEFFFFFFFFFFFFF, 0x001FFFFFFFFFFFFF, 0x801FFFFFFFFFFFFF, 0x0010000000000001,
    0x3CA0000000000000,  # 2^-53
)
SCRATCH_WORDS = 64
F32_OFF = 0
F64_OFF = (len(F32_SPECIAL) * 4 + 7) // 8 * 8
SCRATCH_OFF = F64_OFF + len(F64_SPECIAL) * 8
DATA_END = SCRATCH_OFF + SCRATCH_WORDS * 4
assert DATA_END + 1024 < 2048, "data area must stay addressable with 12-bit offsets"


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        # Odd seeds are FP-heavy (about 3x the FP operations), even seeds integer-heavy.
        self.straight_mix = (0.15, 0.2, 0.8, 0.93) if seed % 2 else (0.45, 0.55, 0.85, 0.93)
        self.lines: list[str] = []
        self.label_no = 0
        # Static guess of what each f register holds ("s" boxed single, "d" double, "?"),
        # used only to bias operand choice towards meaningful arithmetic.
        self.ftype = ["?"] * 32
        self.count = 0  # machine instructions emitted in the body (approximate for li/la)

    # ----- helpers -----
    def emit(self, line: str, n: int = 1) -> None:
        self.lines.append("    " + line)
        self.count += n

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def new_label(self, kind: str) -> str:
        self.label_no += 1
        return f"{kind}_{self.label_no}"

    def xr(self, forbid: frozenset[int] = frozenset(), allow_zero: bool = True) -> str:
        while True:
            r = self.rng.randrange(0 if allow_zero else 1, 31)  # never t6 (x31)
            if r not in forbid:
                return self.xname(r)

    def xname(self, r: int) -> str:
        return ABI_X[r] if self.rng.random() < 0.7 else f"x{r}"

    def xdst(self, forbid: frozenset[int] = frozenset()) -> str:
        # x0 as destination now and then: the write must be discarded.
        return self.xr(forbid, allow_zero=self.rng.random() < 0.04)

    def fname(self, r: int) -> str:
        return ABI_F[r] if self.rng.random() < 0.7 else f"f{r}"

    def fsrc(self, kind: str) -> str:
        prefer = [i for i in range(32) if self.ftype[i] == kind]
        if prefer and self.rng.random() < 0.85:
            return self.fname(self.rng.choice(prefer))
        return self.fname(self.rng.randrange(32))

    def fdst(self, kind: str) -> str:
        r = self.rng.randrange(32)
        self.ftype[r] = kind
        return self.fname(r)

    def imm12(self) -> int:
        c = self.rng.random()
        if c < 0.3:
            return self.rng.choice((0, 1, -1, 2047, -2048, 0x7FF, -0x800, 0x555, -0x556))
        return self.rng.randrange(-2048, 2048)

    def int_value(self) -> int:
        if self.rng.random() < 0.6:
            return self.rng.choice(INT_SPECIAL)
        return self.rng.getrandbits(32)

    def rm_suffix(self) -> str:
        c = self.rng.random()
        if c < 0.4:
            return ""  # dynamic (frm) by default
        return ", " + self.rng.choice(RMS)

    # ----- single machine instructions (safe inside skipped blocks and loop bodies) -----
    def one_int(self, forbid: frozenset[int]) -> None:
        rng = self.rng
        c = rng.random()
        rd = self.xdst(forbid)
        if c < 0.35:
            op = rng.choice(
                "add sub sll slt sltu xor srl sra or and mul mulh mulhsu mulhu "
                "div divu rem remu".split()
            )
            self.emit(f"{op} {rd}, {self.xr()}, {self.xr()}")
        elif c < 0.6:
            op = rng.choice("addi slti sltiu xori ori andi".split())
            self.emit(f"{op} {rd}, {self.xr()}, {self.imm12()}")
        elif c < 0.75:
            op = rng.choice("slli srli srai".split())
            sh = rng.choice((0, 1, 31, 16, rng.randrange(32)))
            self.emit(f"{op} {rd}, {self.xr()}, {sh}")
        elif c < 0.83:
            self.emit(f"lui {rd}, {rng.choice((0, 1, 0xFFFFF, 0x80000, rng.randrange(1 << 20)))}")
        elif c < 0.87:
            self.emit(f"auipc {rd}, {rng.choice((0, 1, 0xFFFFF, rng.randrange(1 << 20)))}")
        elif c < 0.88:
            self.emit("fence")
        else:
            self.one_load(forbid)

    def one_load(self, forbid: frozenset[int]) -> None:
        op, width = self.rng.choice(
            (("lb", 1), ("lbu", 1), ("lh", 2), ("lhu", 2), ("lw", 4))
        )
        off = self.rng.randrange(0, DATA_END // width) * width
        self.emit(f"{op} {self.xdst(forbid)}, {off}({ABI_X[BASE]})")

    def one_store(self) -> None:
        op, width = self.rng.choice((("sb", 1), ("sh", 2), ("sw", 4)))
        off = SCRATCH_OFF + self.rng.randrange(0, SCRATCH_WORDS * 4 // width) * width
        self.emit(f"{op} {self.xr()}, {off}({ABI_X[BASE]})")

    def one_fp(self, forbid: frozenset[int]) -> None:
        rng = self.rng
        p = rng.choice("sd")
        c = rng.random()
        if c < 0.25:
            op = rng.choice(("fadd", "fsub", "fmul", "fdiv"))
            a, b = self.fsrc(p), self.fsrc(p)
            self.emit(f"{op}.{p} {self.fdst(p)}, {a}, {b}{self.rm_suffix()}")
        elif c < 0.32:
            a = self.fsrc(p)
            self.emit(f"fsqrt.{p} {self.fdst(p)}, {a}{self.rm_suffix()}")
        elif c < 0.45:
            op = rng.choice(("fmadd", "fmsub", "fnmsub", "fnmadd"))
            a, b, d = self.fsrc(p), self.fsrc(p), self.fsrc(p)
            self.emit(f"{op}.{p} {self.fdst(p)}, {a}, {b}, {d}{self.rm_suffix()}")
        elif c < 0.53:
            op = rng.choice(("fmin", "fmax"))
            a, b = self.fsrc(p), self.fsrc(p)
            self.emit(f"{op}.{p} {self.fdst(p)}, {a}, {b}")
        elif c < 0.6:
            op = rng.choice(("fsgnj", "fsgnjn", "fsgnjx"))
            a, b = self.fsrc(p), self.fsrc(p)
            self.emit(f"{op}.{p} {self.fdst(p)}, {a}, {b}")
        elif c < 0.63:
            op = rng.choice(("fmv", "fabs", "fneg"))
            a = self.fsrc(p)
            self.emit(f"{op}.{p} {self.fdst(p)}, {a}")
        elif c < 0.71:
            op = rng.choice(("feq", "flt", "fle"))
            self.emit(f"{op}.{p} {self.xdst(forbid)}, {self.fsrc(p)}, {self.fsrc(p)}")
        elif c < 0.75:
            self.emit(f"fclass.{p} {self.xdst(forbid)}, {self.fsrc(p)}")
        elif c < 0.83:
            op = rng.choice(("fcvt.w", "fcvt.wu"))
            self.emit(f"{op}.{p} {self.xdst(forbid)}, {self.fsrc(p)}{self.rm_suffix()}")
        elif c < 0.88:
            op = rng.choice(("w", "wu"))
            if p == "s":
                self.emit(f"fcvt.s.{op} {self.fdst('s')}, {self.xr()}{self.rm_suffix()}")
            else:
                self.emit(f"fcvt.d.{op} {self.fdst('d')}, {self.xr()}")
        elif c < 0.93:
            if rng.random() < 0.5:
                a = self.fsrc("d")
                self.emit(f"fcvt.s.d {self.fdst('s')}, {a}{self.rm_suffix()}")
            else:
                a = self.fsrc("s")
                self.emit(f"fcvt.d.s {self.fdst('d')}, {a}")
        elif c < 0.965:
            self.emit(f"fmv.x.w {self.xdst(forbid)}, {self.fsrc('s')}")
        else:
            self.emit(f"fmv.w.x {self.fdst('s')}, {self.xr()}")

    def one_fp_mem(self, forbid: frozenset[int]) -> None:
        rng = self.rng
        c = rng.random()
        b = ABI_X[BASE]
        if c < 0.35:
            idx = rng.randrange(len(F32_SPECIAL))
            self.emit(f"flw {self.fdst('s')}, {F32_OFF + 4 * idx}({b})")
        elif c < 0.7:
            idx = rng.randrange(len(F64_SPECIAL))
            self.emit(f"fld {self.fdst('d')}, {F64_OFF + 8 * idx}({b})")
        elif c < 0.8:
            off = SCRATCH_OFF + 4 * rng.randrange(SCRATCH_WORDS)
            self.emit(f"flw {self.fdst('s')}, {off}({b})")
        elif c < 0.85:
            off = SCRATCH_OFF + 8 * rng.randrange(SCRATCH_WORDS // 2)
            self.emit(f"fld {self.fdst('?')}, {off}({b})")
        elif c < 0.93:
            off = SCRATCH_OFF + 4 * rng.randrange(SCRATCH_WORDS)
            self.emit(f"fsw {self.fsrc('s')}, {off}({b})")
        else:
            off = SCRATCH_OFF + 8 * rng.randrange(SCRATCH_WORDS // 2)
            self.emit(f"fsd {self.fsrc(rng.choice('sd'))}, {off}({b})")

    def one_csr(self, forbid: frozenset[int]) -> None:
        rng = self.rng
        c = rng.random()
        rd = self.xdst(forbid)
        if c < 0.3:
            forms = (f"frflags {rd}", f"csrr {rd}, fflags", f"csrrs {rd}, fflags, x0")
            self.emit(rng.choice(forms))
        elif c < 0.4:
            self.emit(rng.choice((f"frrm {rd}", f"csrr {rd}, frm", f"frcsr {rd}")))
        elif c < 0.55:
            self.emit(rng.choice((f"fsflags {self.xr()}", f"fsflags {rd}, {self.xr()}")))
        elif c < 0.7:
            op = rng.choice(("csrrs", "csrrc", "csrrw"))
            self.emit(f"{op} {rd}, fflags, {self.xr()}")
        elif c < 0.8:
            op = rng.choice(("csrrsi", "csrrci", "csrrwi"))
            self.emit(f"{op} {rd}, fflags, {rng.randrange(32)}")
        elif c < 0.9:
            mode = rng.randrange(5)  # only valid modes: dyn ops with frm 5..7 are illegal
            self.emit(rng.choice((f"fsrmi {mode}", f"fsrmi {rd}, {mode}", f"csrwi frm, {mode}")))
        else:
            self.emit(rng.choice((f"fsflagsi {rng.randrange(32)}", "csrci fflags, 31")))

    def one_straight(self, forbid: frozenset[int]) -> None:
        c = self.rng.random()
        p_int, p_store, p_fp, p_fpmem = self.straight_mix
        if c < p_int:
            self.one_int(forbid)
        elif c < p_store:
            self.one_store()
        elif c < p_fp:
            self.one_fp(forbid)
        elif c < p_fpmem:
            self.one_fp_mem(forbid)
        else:
            self.one_csr(forbid)

    # ----- multi-instruction items -----
    def item_li(self) -> None:
        self.emit(f"li {self.xdst()}, {self.int_value():#x}", 2)

    def item_m_corner(self) -> None:
        rng = self.rng
        ra_, rb = self.rng.sample(range(1, 31), 2)
        a = rng.choice((0x80000000, 0x80000000, 0x7FFFFFFF, 0, 1, 0xFFFFFFFF, rng.getrandbits(32)))
        b = rng.choice((0xFFFFFFFF, 0, 0, 1, 0x80000000, rng.getrandbits(32)))
        self.emit(f"li {ABI_X[ra_]}, {a:#x}", 2)
        self.emit(f"li {ABI_X[rb]}, {b:#x}", 2)
        for _ in range(rng.randrange(1, 4)):
            op = rng.choice("div divu rem remu mul mulh mulhsu mulhu".split())
            self.emit(f"{op} {self.xdst()}, {ABI_X[ra_]}, {ABI_X[rb]}")

    def item_pseudo(self) -> None:
        rng = self.rng
        op = rng.choice(("mv", "not", "neg", "seqz", "snez", "sltz", "sgtz"))
        self.emit(f"{op} {self.xdst()}, {self.xr()}")

    def item_neg_offset(self) -> None:
        # A second base register (from t6, or absolute via %hi/%lo): negative offsets.
        r = self.rng.randrange(1, 31)
        if self.rng.random() < 0.5:
            self.emit(f"addi {ABI_X[r]}, {ABI_X[BASE]}, {DATA_END}")
        else:
            self.emit(f"lui {ABI_X[r]}, %hi(data_end)")
            self.emit(f"addi {ABI_X[r]}, {ABI_X[r]}, %lo(data_end)")
        width = self.rng.choice((1, 2, 4))
        off = -DATA_END + SCRATCH_OFF + self.rng.randrange(0, SCRATCH_WORDS * 4 // width) * width
        if self.rng.random() < 0.5:
            op = {1: "lb", 2: "lh", 4: "lw"}[width]
            self.emit(f"{op} {self.xdst()}, {off}({ABI_X[r]})")
        else:
            op = {1: "sb", 2: "sh", 4: "sw"}[width]
            self.emit(f"{op} {self.xr()}, {off}({ABI_X[r]})")

    def _skipped_body(self, forbid: frozenset[int]) -> None:
        saved = list(self.ftype)
        for _ in range(self.rng.randrange(1, 4)):
            self.one_straight(forbid)
        # The body may or may not run: register types are unknown where they differ.
        self.ftype = [a if a == b else "?" for a, b in zip(saved, self.ftype, strict=True)]

    def item_branch(self) -> None:
        rng = self.rng
        tgt = self.new_label("skip")
        a = self.xr()
        b = a if rng.random() < 0.1 else self.xr()
        c = rng.random()
        if c < 0.12:
            op = rng.choice(("beqz", "bnez", "bgez", "bltz", "blez", "bgtz"))
            self.emit(f"{op} {a}, {tgt}")
        else:
            ops = ("beq", "bne", "blt", "bge", "bltu", "bgeu")
            op = rng.choice(ops if c < 0.9 else ("bgt", "ble", "bgtu", "bleu"))
            self.emit(f"{op} {a}, {b}, {tgt}")
        self._skipped_body(frozenset())
        self.label(tgt)

    def item_jal(self) -> None:
        tgt = self.new_label("jump")
        rd = self.rng.choice(("ra", "x0", self.xdst()))
        self.emit(self.rng.choice((f"jal {rd}, {tgt}", f"j {tgt}")))
        for _ in range(self.rng.randrange(0, 3)):
            self.one_straight(frozenset())  # never executed
        self.label(tgt)

    def item_jalr(self) -> None:
        tgt = self.new_label("ind")
        rt = self.rng.randrange(1, 31)
        self.emit(f"la {ABI_X[rt]}, {tgt}", 2)
        rd = self.rng.choice((0, 1, rt, self.rng.randrange(1, 31)))
        self.emit(f"jalr {ABI_X[rd]}, 0({ABI_X[rt]})")
        for _ in range(self.rng.randrange(0, 3)):
            self.one_straight(frozenset())  # never executed
        self.label(tgt)

    def item_call(self) -> None:
        fn = self.new_label("fn")
        after = self.new_label("after")
        self.emit(self.rng.choice((f"call {fn}", f"jal {fn}")), 2)
        self.emit(f"j {after}")
        self.label(fn)
        for _ in range(self.rng.randrange(1, 4)):
            self.one_straight(frozenset({1}))  # keep ra for the return
        self.emit("ret")
        self.label(after)

    def item_loop(self) -> None:
        rc = self.rng.randrange(1, 31)
        top = self.new_label("loop")
        self.emit(f"li {ABI_X[rc]}, {self.rng.randrange(1, 5)}")
        self.label(top)
        saved = list(self.ftype)
        for _ in range(self.rng.randrange(1, 4)):
            self.one_straight(frozenset({rc}))
        self.ftype = [a if a == b else "?" for a, b in zip(saved, self.ftype, strict=True)]
        self.emit(f"addi {ABI_X[rc]}, {ABI_X[rc]}, -1")
        self.emit(f"bnez {ABI_X[rc]}, {top}")

    def item_fcsr_write(self) -> None:
        # Register forms of frm/fcsr writes, always with a valid rounding mode (0..4).
        r = self.rng.randrange(1, 31)
        rd = self.xdst(frozenset({r}))
        if self.rng.random() < 0.5:
            value = (self.rng.randrange(5) << 5) | self.rng.randrange(32)
            self.emit(f"li {ABI_X[r]}, {value}")
            forms = (f"fscsr {ABI_X[r]}", f"csrw fcsr, {ABI_X[r]}", f"fscsr {rd}, {ABI_X[r]}")
        else:
            value = self.rng.randrange(5) | (self.rng.getrandbits(3) << 3)  # high bits ignored
            self.emit(f"li {ABI_X[r]}, {value}")
            forms = (f"fsrm {ABI_X[r]}", f"fsrm {rd}, {ABI_X[r]}", f"csrw frm, {ABI_X[r]}")
        self.emit(self.rng.choice(forms))

    # ----- program -----
    def body_item(self) -> None:
        rng = self.rng
        c = rng.random()
        if c < 0.58:
            self.one_straight(frozenset())
        elif c < 0.64:
            self.item_li()
        elif c < 0.68:
            self.item_m_corner()
        elif c < 0.71:
            self.item_pseudo()
        elif c < 0.74:
            self.item_neg_offset()
        elif c < 0.82:
            self.item_branch()
        elif c < 0.85:
            self.item_jal()
        elif c < 0.87:
            self.item_jalr()
        elif c < 0.9:
            self.item_call()
        elif c < 0.93:
            self.item_loop()
        elif c < 0.95:
            self.item_fcsr_write()
        else:
            self.one_fp_mem(frozenset())

    def program(self, min_body: int) -> str:
        rng = self.rng
        out = [
            f"# vexpsim difftest random program, seed {self.seed} (tests/difftest/progen.py)",
            "    .text",
            "    .globl _start",
            "_start:",
        ]
        self.lines = out
        self.emit(f"la {ABI_X[BASE]}, data_base", 2)
        for r in range(1, 31):
            self.emit(f"li {ABI_X[r]}, {self.int_value():#x}", 2)
        for r in range(32):
            c = rng.random()
            if c < 0.4:
                idx = rng.randrange(len(F32_SPECIAL))
                self.emit(f"flw {ABI_F[r]}, {F32_OFF + 4 * idx}({ABI_X[BASE]})")
                self.ftype[r] = "s"
            elif c < 0.8:
                idx = rng.randrange(len(F64_SPECIAL))
                self.emit(f"fld {ABI_F[r]}, {F64_OFF + 8 * idx}({ABI_X[BASE]})")
                self.ftype[r] = "d"
            elif c < 0.9:
                self.emit(f"fmv.w.x {ABI_F[r]}, {ABI_X[rng.randrange(1, 31)]}")
                self.ftype[r] = "s"
            else:
                self.emit(f"fcvt.d.w {ABI_F[r]}, {ABI_X[rng.randrange(1, 31)]}")
                self.ftype[r] = "d"
        self.count = 0
        while self.count < min_body:
            self.body_item()
        self.epilogue()
        self.data()
        return "\n".join(self.lines) + "\n"

    def epilogue(self) -> None:
        # Checksum of the scratch area: every store shows up in t3 (h = h*31 + word).
        b = ABI_X[BASE]
        top = self.new_label("checksum")
        self.lines.append("    # epilogue: checksum of the scratch area, FP status, exit 0")
        self.emit(f"addi t5, {b}, {SCRATCH_OFF}")
        self.emit(f"li t4, {SCRATCH_WORDS}")
        self.emit("li t3, 0")
        self.label(top)
        self.emit("lw t2, 0(t5)")
        self.emit("slli t1, t3, 5")
        self.emit("sub t3, t1, t3")
        self.emit("add t3, t3, t2")
        self.emit("addi t5, t5, 4")
        self.emit("addi t4, t4, -1")
        self.emit(f"bnez t4, {top}")
        self.emit("frflags t1")
        self.emit("frrm t2")
        self.emit("frcsr t0")
        self.emit("li a0, 0")
        self.emit("li a7, 93")
        self.emit("ecall")

    def data(self) -> None:
        rng = self.rng
        out = self.lines
        out += ["", "    .data", "    .balign 8", "data_base:"]
        out.append("f32_table:")
        for v in F32_SPECIAL:
            out.append(f"    .word {v:#010x}")
        out.append("    .balign 8")
        out.append("f64_table:")
        for v in F64_SPECIAL:
            out.append(f"    .dword {v:#018x}")
        out.append("scratch:")
        for _ in range(SCRATCH_WORDS):
            v = rng.choice(F32_SPECIAL) if rng.random() < 0.3 else rng.getrandbits(32)
            out.append(f"    .word {v:#010x}")
        out.append("data_end:")


def generate(seed: int, min_instructions: int = 150) -> str:
    """Random RV32IMAFD program for `seed` (same seed, same text) with at least
    `min_instructions` body instructions after a ~100-instruction register set-up."""
    return _Gen(seed).program(min_instructions)


if __name__ == "__main__":
    import sys

    print(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 0), end="")
