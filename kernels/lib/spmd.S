# Pieces every SPMD kernel skeleton shares (lib/softmax_spmd.S, lib/rowwise_spmd.S,
# lib/fa2_spmd.S, lib/gemm_spmd.S). Needs the including file to define `scratch` (9 x 64 B)
# and the labels .Ldma_core and .Ldone.

# Hart dispatch: s0 = hart id, s11 = this hart's 64-byte scratch, sp = its top (the stack;
# expf uses 16 bytes of it); hart 8 (the DMA core) goes to .Ldma_core, harts beyond the 9 of
# the default cluster to .Ldone; the compute cores fall through.
.macro SPMD_ENTRY
    csrr    s0, mhartid
    la      s11, scratch
    slli    t0, s0, 6
    add     s11, s11, t0
    addi    sp, s11, 64
    li      t0, 8
    beq     s0, t0, .Ldma_core
    bgt     s0, t0, .Ldone
.endm

# DMA core: wait until no transfer is in flight (dmstati 2: busy)
.macro DMA_WAIT
1:  dmstati t0, 2
    bnez    t0, 1b
.endm
