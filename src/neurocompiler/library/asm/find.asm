#@ function: find
#@ inputs: r1 r2
#@ outputs: r0
#@ memory: read M[0..r1-1]
#@ return: r15
# find: r0 <- the first index i < r1 with M[i] = r2, or r1 when there is none;
# 0 <= r1 <= min(memory, n-1). Preserves r1, r2, r3, r15 and memory; clobbers r5, r6.
# Reads M[0..i] only, stopping at the first match.
find:
    const 0 r0              # r0: i
find_loop:
    comp r1 r0 r5           # i reached the length: return r0 = r1
    jumpr r5 r15
    read r0 r6              # r6 <- M[i]
    eq r6 r2 r5             # found: return r0 = i
    jumpr r5 r15
    inc r0
    jmp find_loop
