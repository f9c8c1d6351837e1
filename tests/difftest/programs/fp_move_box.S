# Directed: NaN boxing seen through fmv.x.w, fsd, fsw and integer loads; fmv.w.x boxes;
# loads/stores move bits unchanged (sNaN payloads survive); flw/fld/fsw/fsd offsets.
    .text
    .globl _start
_start:
    li sp, 0
    la s11, mem
    flw ft0, 0(s11)            # 1.0 -> 0xffffffff3f800000
    fsd ft0, 8(s11)            # the boxed 64-bit pattern in memory
    lw s0, 8(s11)
    lw s1, 12(s11)             # 0xffffffff (the box)
    fmv.x.w s2, ft0
    fld ft1, 16(s11)           # a double
    fmv.x.w s3, ft1            # low 32 bits, no unboxing check
    fsw ft1, 24(s11)           # stores the low 32 bits
    lw s4, 24(s11)
    li t0, 0x7f800001          # sNaN pattern
    fmv.w.x ft2, t0
    fmv.x.w s5, ft2            # unchanged, no flag
    fsw ft2, 28(s11)
    lw s6, 28(s11)
    flw ft3, 28(s11)           # sNaN survives the load
    fsd ft3, 32(s11)
    lw s7, 32(s11)
    lw s8, 36(s11)
    fld ft4, 40(s11)           # sNaN double
    fsd ft4, 48(s11)
    lw s9, 48(s11)
    lw s10, 52(s11)
    frflags a1                 # moves raise nothing
    addi t1, s11, 64
    flw ft5, -64(t1)
    fld ft6, -48(t1)
    fsw ft6, -4(t1)
    lw a2, -4(t1)
    fmv.w.x ft7, zero
    fmv.x.w a3, ft7
    li t0, -1
    fmv.w.x ft8, t0            # all-ones single (a NaN) boxed
    fsd ft8, 56(s11)
    lw a4, 56(s11)
    lw a5, 60(s11)
    fmv.s ft9, ft1             # fsgnj.s of an unboxed operand: canonical NaN
    fmv.x.w a6, ft9
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
mem:
    .word 0x3f800000, 0
    .dword 0
    .dword 0x400921fb54442d18  # pi
    .word 0, 0
    .dword 0
    .dword 0x7ff0000000000123  # sNaN with payload
    .dword 0
    .dword 0
