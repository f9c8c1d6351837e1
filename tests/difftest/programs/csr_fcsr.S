# Directed: fflags/frm/fcsr through every Zicsr form (csrrw/s/c and the immediate forms),
# field masking (fflags 5 bits, frm 3 bits, fcsr 8 bits), pseudo-instructions and the
# coupling fcsr = frm << 5 | fflags.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0xff
    csrrw s0, fflags, t0       # old 0
    csrr s1, fflags            # 0x1f
    csrr s2, fcsr              # 0x1f
    csrrc s3, fflags, t0       # read 0x1f, clear all
    csrrsi s4, fflags, 0x5     # read 0, set NX|OF
    csrrci s5, fflags, 0x1     # read 5, clear NX
    csrrwi s6, fflags, 0x10    # read 4, write NV
    csrrs s7, fflags, zero     # read NV
    li t0, 4
    csrrw s8, frm, t0          # old 0, now rmm
    csrr s9, fcsr              # 4 << 5 | 0x10
    csrrsi s10, frm, 3         # 4 | 3 = 7 (reserved mode is a legal CSR value)
    csrr s11, frm
    csrrci a1, frm, 7          # back to 0
    li t0, 0x1ff
    csrrw a2, fcsr, t0         # fcsr keeps 8 bits
    csrr a3, fcsr
    csrr a4, frm               # 7
    csrr a5, fflags            # 0x1f
    fscsr a6, zero             # swap: old fcsr into a6
    frcsr gp
    fsrm tp, t0                # frm = 0x1ff & 7 = 7, old frm into tp
    frrm ra
    fsrmi t1, 2                # old 7
    frrm t2
    fsflagsi t3, 0x1b
    frflags t4
    fsflags t5, zero
    csrw fcsr, zero
    csrs fflags, t0
    csrc fflags, t2            # clear bit 1 (UF)
    csrr t6, fcsr
    csrwi fcsr, 0
    li a0, 0
    li a7, 93
    ecall
