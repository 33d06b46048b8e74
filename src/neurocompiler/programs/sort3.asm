# sort3: sort three registers, branch-free (a min/max sorting network).
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1, r2, r3, any values 0..n-1.
#   outputs:  r4 <= r5 <= r6, the inputs in ascending order.
#   preserves r1, r2, r3, r10..r15 and memory; clobbers r7..r9.
# Straight-line code: every run takes exactly 10 steps.
main:
    min r1 r2 r4            # r4: min(r1, r2)
    max r1 r2 r5            # r5: max(r1, r2)
    min r5 r3 r6            # r6: min(max(r1, r2), r3)
    max r5 r3 r7            # r7: the largest
    min r4 r6 r8            # r8: the smallest
    max r4 r6 r9            # r9: the middle one
    copy r8 r4
    copy r9 r5
    copy r7 r6
    halt
