#@ function: count
#@ inputs: r1 r2
#@ outputs: r0
#@ memory: read M[0..r1-1]
#@ return: r15
# count: r0 <- the number of i < r1 with M[i] = r2 (at most r1, so it never wraps);
# 0 <= r1 <= min(memory, n-1). Preserves r1, r2, r3, r15 and memory; clobbers r4..r6.
# Scans i = r1-1 down to 0 (i wraps to n-1 >= r1 after 0, which ends the loop).
count:
    const 0 r0              # r0: the count
    copy r1 r4              # r4: i + 1
count_loop:
    dec r4                  # r4: i
    comp r1 r4 r5           # i wrapped below 0 (r1 <= i): return
    jumpr r5 r15
    read r4 r6              # r6 <- M[i]
    eq r6 r2 r5             # 1 when M[i] = r2
    add r0 r5 r0            # count it
    jmp count_loop
