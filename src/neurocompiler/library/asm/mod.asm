#@ function: mod
#@ inputs: r1 r2
#@ outputs: r0
#@ memory: none
#@ return: r15
# mod: r0 <- r1 mod r2, and 0 when r2 = 0 (the ISA's mod).
# Preserves r1, r2, r3, r15 and r4..r14. Run on its own (r15 outside the program) it
# takes 3 steps: the mod, the `ret`, and the halt reached by leaving the program.
mod:
    mod r1 r2 r0
    ret r15
