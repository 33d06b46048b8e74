# divmod: quotient and remainder, branch-free, with the results also written to memory.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = a, r2 = b, any values 0..n-1.
#   outputs:  r3 = a div b, r4 = a mod b (both 0 when b = 0, as the ISA defines);
#             r5 = 1 if (r3 * r2 + r4) mod n = a else 0 (1 unless b = 0 and a != 0);
#             M[0] <- r3, M[1] <- r4.
#   preserves r1, r2, r7..r15 and M[2..]; clobbers r6.
# Straight-line code: every run takes exactly 10 steps.
main:
    div r1 r2 r3
    mod r1 r2 r4
    mul r3 r2 r5
    add r5 r4 r5
    eq r5 r1 r5             # r5: does q * b + r give back a?
    const 0 r6
    write r3 r6             # M[0] <- quotient
    inc r6
    write r4 r6             # M[1] <- remainder
    halt
