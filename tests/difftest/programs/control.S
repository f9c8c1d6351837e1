# Directed: every branch taken and not taken at signed/unsigned boundaries (result bits in s0
# and s1), jal/jalr link values, jalr clearing bit 0 of the target, call/ret, fence.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, -1
    li t1, 1
    li t2, 0x80000000
    li s0, 0                   # bit i set when branch i was taken
    li s1, 0                   # bit i set when branch i fell through
    beq t0, t0, b0
    ori s1, s1, 1
b0: bne t0, t0, b1
    ori s1, s1, 2
b1: blt t0, t1, b2             # signed -1 < 1: taken
    ori s1, s1, 4
b2: bltu t0, t1, b3            # unsigned 0xffffffff < 1: not taken
    ori s1, s1, 8
b3: bge t1, t0, b4             # taken
    ori s1, s1, 16
b4: bgeu t1, t0, b5            # not taken
    ori s1, s1, 32
b5: bge t2, t2, b6             # equal: taken
    ori s1, s1, 64
b6: blt t2, zero, b7           # INT_MIN < 0: taken
    ori s1, s1, 128
b7: bltu zero, t2, b8          # taken
    ori s1, s1, 256
b8: bne t1, t0, b9             # taken
    ori s1, s1, 512
b9: beqz zero, b10
    ori s1, s1, 1024
b10:
    bgtz t0, b11               # not taken
    ori s0, s0, 128
b11:
    bleu t1, t0, b12           # 1 <= 0xffffffff unsigned: taken
    ori s0, s0, 1
b12:
    jal ra, sub1               # call with link
    mv s2, a1
    call sub1
    mv s3, a1
    la t3, tgt
    addi t3, t3, 1             # odd address: jalr clears bit 0
    jalr s4, 0(t3)
    ori s0, s0, 2              # skipped
tgt:
    la t4, tgt2
    jalr s5, 8(t4)             # positive offset: skips two instructions
tgt2:
    ori s0, s0, 4              # skipped
    ori s0, s0, 8              # skipped
    auipc s6, 0
    sub s7, s6, s5             # 8: the link is the jalr pc + 4, s6 two instructions later
    j over
    ori s0, s0, 16             # skipped
over:
    jal zero, over2            # link discarded
    ori s0, s0, 32
over2:
    fence
    fence rw, rw
    la t5, sub1
    jalr t5                    # link in ra
    mv s8, ra
    li a0, 0
    li a7, 93
    ecall

sub1:
    addi a1, a1, 3
    ret
