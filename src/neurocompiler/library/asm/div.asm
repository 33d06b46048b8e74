#@ function: div
#@ inputs: r1 r2
#@ outputs: r0
#@ memory: none
#@ return: r15
# div: r0 <- floor(r1 / r2), and 0 when r2 = 0 (the ISA's div).
# Preserves r1, r2, r3, r15 and r4..r14. Run on its own (r15 outside the program) it
# takes 3 steps: the div, the `ret`, and the halt reached by leaving the program.
div:
    div r1 r2 r0
    ret r15
