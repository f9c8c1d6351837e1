# Directed: `li zero, IMM` whose low 12 bits are 0. GNU as expands it to lui zero + addi
# zero, zero, 0 (two instructions, unlike `li a0, 0x10000`), so every pc-relative value after
# it (auipc, jal links) moves by 4 if an assembler emits only the lui.
# Found by random seeds 407 and 3671 (tests/difftest/progen.py at commit 6336594).
    .text
    .globl _start
_start:
    li sp, 0
    li zero, 0x10000
    auipc s0, 0                # 0x8000000c with GNU as's expansion
    li zero, 0x80000000
    auipc s1, 0
    li zero, 5                 # one instruction either way
    li zero, 0x12345678        # lui + addi either way
    auipc s2, 0
    jal ra, next
next:
    la s3, next
    li a0, 0
    li a7, 93
    ecall
