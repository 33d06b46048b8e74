# exchange_sort: sort M[0..r1-1] in ascending order, in place, in 16 instructions (so
# it runs at base 16). For each position i, every later cell j is compare-exchanged
# with it (M[i] <- min, M[j] <- max, branch-free), which leaves the minimum of
# M[i..r1-1] at M[i]: a selection sort that swaps as it scans.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  M[0..r1-1] sorted ascending. Every other cell is left as it was.
#   preserves r1, r2, r3, r11..r15; clobbers r4..r10.
main:
    const 0 r4              # r4: i
pass:
    copy r4 r8              # r8: j, starts at i + 1 below
scan:
    inc r8
    le r1 r8 r5             # j >= length: next i
    jump r5 next
    read r4 r6              # r6 <- M[i]
    read r8 r7              # r7 <- M[j]
    min r6 r7 r9
    max r6 r7 r10
    write r9 r4             # M[i] <- the smaller
    write r10 r8            # M[j] <- the larger
    jmp scan
next:
    inc r4
    lt r4 r1 r5             # more positions to fill?
    jump r5 pass
    halt
