#@ function: sum
#@ inputs: r1
#@ outputs: r0
#@ memory: read M[0..r1-1]
#@ return: r15
# sum: r0 <- (M[0] + ... + M[r1-1]) mod n, 0 for an empty list;
# 0 <= r1 <= min(memory, n-1). Preserves r1, r2, r3, r15 and memory; clobbers r4..r6.
# Scans i = r1-1 down to 0 (i wraps to n-1 >= r1 after 0, which ends the loop).
sum:
    const 0 r0              # r0: the sum
    copy r1 r4              # r4: i + 1
sum_loop:
    dec r4                  # r4: i
    comp r1 r4 r5           # i wrapped below 0 (r1 <= i): return
    jumpr r5 r15
    read r4 r6              # r6 <- M[i]
    add r0 r6 r0
    jmp sum_loop
