#@ function: sub
#@ inputs: r1 r2
#@ outputs: r0
#@ memory: none
#@ return: r15
# sub: r0 <- (r1 - r2) mod n (it wraps: 0 - 1 = n - 1).
# Preserves r1, r2, r3, r15 and r4..r14. Run on its own (r15 outside the program) it
# takes 3 steps: the sub, the `ret`, and the halt reached by leaving the program.
sub:
    sub r1 r2 r0
    ret r15
