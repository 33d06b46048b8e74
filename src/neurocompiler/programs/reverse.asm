# reverse: reverse M[0..r1-1] in place.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  M[0..r1-1] reversed. Every other cell is left as it was.
#   preserves r1, r2, r3, r10..r15; clobbers r4..r9.
# Two pointers: i from the left, j one past the right; swap M[i], M[j-1] while
# i + 1 < j.
main:
    const 0 r4              # r4: i
    copy r1 r5              # r5: j, one past the right end
loop:
    inc r4 r6               # r6: i + 1
    le r5 r6 r7             # j <= i + 1: at most one cell left in the middle
    jump r7 done
    dec r5                  # j <- j - 1, the right cell
    read r4 r8
    read r5 r9
    write r9 r4             # M[i] <- old M[j]
    write r8 r5             # M[j] <- old M[i]
    copy r6 r4              # i <- i + 1
    jmp loop
done:
    halt
