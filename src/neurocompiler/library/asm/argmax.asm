#@ function: argmax
#@ inputs: r1
#@ outputs: r0
#@ memory: read M[0..r1-1]
#@ return: r15
# argmax: r0 <- the FIRST index of the largest of M[0..r1-1], 0 for an empty list;
# 0 <= r1 <= min(memory, n-1). Preserves r1, r2, r3, r15 and memory; clobbers r4..r7.
# Scans i = r1-1 down to 0 (i wraps to n-1 >= r1 after 0, which ends the loop) and
# takes M[i] whenever M[i] >= the best so far, so among equal maxima the last one
# taken, the first in the list, wins.
argmax:
    const 0 r0              # r0: index of the best so far
    const 0 r7              # r7: the best so far (0: the smallest value)
    copy r1 r4              # r4: i + 1
argmax_loop:
    dec r4                  # r4: i
    comp r1 r4 r5           # i wrapped below 0 (r1 <= i): return
    jumpr r5 r15
    read r4 r6              # r6 <- M[i]
    lt r6 r7 r5             # M[i] < best: keep the best
    jump r5 argmax_loop
    copy r6 r7              # M[i] >= best: take it
    copy r4 r0
    jmp argmax_loop
