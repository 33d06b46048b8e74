# count: how many of M[0..r1-1] equal r2.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values;
#             r2 = the value to count.
#   outputs:  r3 = the number of i < r1 with M[i] = r2 (at most r1, so it never wraps).
#   preserves r1, r2, r7, r8, r11..r15 and memory; clobbers r4..r6, r9, r10.
# The loop is closed with `store` and `jumpr` rather than a label: `store r9` puts the
# address of the loop head in r9, and `jumpr r10 r9` (r10 = 1) goes back to it.
main:
    const 0 r3              # r3: the count
    const 0 r4              # r4: i
    const 1 r10             # r10: an always-true flag
loop:
    store r9                # r9 <- address of this instruction, the loop head
    le r1 r4 r5             # done when length <= i
    jump r5 done
    read r4 r6              # r6 <- M[i]
    eq r6 r2 r5             # 1 when M[i] = r2
    add r3 r5 r3            # count it
    inc r4
    jumpr r10 r9            # back to the loop head
done:
    halt
