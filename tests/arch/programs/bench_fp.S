_start:
    li   s0, ITERS
    la   a1, buf
    fld  fa1, 0(a1)
1:  fld  fa0, 0(a1)
    fmadd.d fa2, fa0, fa1, fa2
    fsd  fa2, 8(a1)
    addi s0, s0, -1
    bnez s0, 1b
    li a0, 0
    ecall
.tcdm
buf: .double 1.5, 0.0
