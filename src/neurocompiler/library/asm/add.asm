#@ function: add
#@ inputs: r1 r2
#@ outputs: r0
#@ memory: none
#@ return: r15
# add: r0 <- (r1 + r2) mod n.
# Preserves r1, r2, r3, r15 and r4..r14. Run on its own (r15 outside the program) it
# takes 3 steps: the add, the `ret`, and the halt reached by leaving the program.
add:
    add r1 r2 r0
    ret r15
