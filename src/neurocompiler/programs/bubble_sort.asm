# bubble_sort: sort M[0..r1-1] in ascending order, in place.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  M[0..r1-1] sorted ascending. Every other cell is left as it was.
#   preserves r1, r2, r3, r12..r14; clobbers r4..r11, and sets r15 = 1.
# Each pass compares neighbours with `min`/`max` (no branch on the comparison) and
# bubbles the largest of M[0..end-1] to M[end-1]; the passes stop when end <= 1.
# 18 instructions, so it needs base n >= 18 (a program has at most n instructions).
main:
    const 1 r15             # r15: the constant 1
    copy r1 r4              # r4: end, the length of the unsorted prefix
outer:
    le r4 r15 r5            # a prefix of length <= 1 is sorted
    jump r5 done
    dec r4                  # r4: last index of this pass; compare j, j+1 for j < r4
    const 0 r6              # r6: j
inner:
    le r4 r6 r5             # pass finished when j >= r4
    jump r5 outer
    read r6 r7              # r7 <- M[j]
    inc r6 r8               # r8: j + 1
    read r8 r9              # r9 <- M[j+1]
    min r7 r9 r10
    max r7 r9 r11
    write r10 r6            # M[j]   <- the smaller
    write r11 r8            # M[j+1] <- the larger
    copy r8 r6              # j <- j + 1
    jmp inner
done:
    halt
