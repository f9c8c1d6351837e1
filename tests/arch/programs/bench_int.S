# scalar loop: load, add, store, pointer bumps, branch (7 instructions per iteration)
_start:
    li   s0, ITERS
    la   a1, buf
    li   a2, 0
1:  lw   t0, 0(a1)
    add  t0, t0, s0
    sw   t0, 4(a1)
    addi a2, a2, 1
    andi a1, a1, -8
    addi s0, s0, -1
    bnez s0, 1b
    mv   a0, a2
    ecall
.tcdm
buf: .zero 64
