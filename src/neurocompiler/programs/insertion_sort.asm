# insertion_sort: sort M[0..r1-1] in ascending order, in place (stable).
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  M[0..r1-1] sorted ascending. Every other cell is left as it was.
#   preserves r1, r2, r3, r10..r13, r15; clobbers r4..r9, and sets r14 = 0.
# For i = 1 .. r1-1: take key = M[i], shift the larger elements of the sorted prefix
# M[0..i-1] one cell to the right, and drop the key into the gap.
# 19 instructions, so it needs base n >= 19 (a program has at most n instructions).
main:
    const 0 r14             # r14: the constant 0
    const 1 r4              # r4: i
outer:
    le r1 r4 r5             # done when length <= i
    jump r5 done
    read r4 r6              # r6: key = M[i]
    copy r4 r7              # r7: j, the gap
inner:
    eq r7 r14 r5            # gap at the front: place the key
    jump r5 place
    dec r7 r8               # r8: j - 1
    read r8 r9              # r9 <- M[j-1]
    le r9 r6 r5             # M[j-1] <= key: place the key (keeps equal keys in order)
    jump r5 place
    write r9 r7             # M[j] <- M[j-1]
    copy r8 r7              # j <- j - 1
    jmp inner
place:
    write r6 r7             # M[j] <- key
    inc r4
    jmp outer
done:
    halt
