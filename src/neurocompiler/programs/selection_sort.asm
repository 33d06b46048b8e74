# selection_sort: sort M[0..r1-1] in ascending order, in place.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  M[0..r1-1] sorted ascending. Every other cell is left as it was.
#   preserves r1, r2, r3, r10..r15; clobbers r4..r9.
# 22 instructions, so it needs base n >= 22 (a program has at most n instructions);
# all indices stay <= r1 <= n-1, so nothing wraps. See exchange_sort.asm for base 16.
main:
    const 0 r4              # r4: i, the position being filled
outer:
    le r1 r4 r5             # done when length <= i
    jump r5 done
    copy r4 r6              # r6: index of the smallest value seen so far
    read r4 r7              # r7: that value
    inc r4 r8               # r8: j = i + 1
inner:
    le r1 r8 r5             # j reached the end: swap the smallest into place
    jump r5 swap
    read r8 r9              # r9 <- M[j]
    lt r9 r7 r5             # is M[j] smaller?
    inc r5                  # negate the flag: 1 -> 2 (no jump), 0 -> 1 (jump)
    jump r5 next
    copy r9 r7              # new smallest
    copy r8 r6
next:
    inc r8
    jmp inner
swap:
    read r4 r9              # r9 <- M[i]
    write r7 r4             # M[i] <- smallest
    write r9 r6             # M[index of smallest] <- old M[i]
    inc r4
    jmp outer
done:
    halt
