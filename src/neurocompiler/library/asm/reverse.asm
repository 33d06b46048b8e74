#@ function: reverse
#@ inputs: r1
#@ outputs: none
#@ memory: inout M[0..r1-1]
#@ return: r15
# reverse: reverses M[0..r1-1] in place; 0 <= r1 <= min(memory, n-1).
# Preserves r1, r2, r3, r15 and every other cell; clobbers r4..r9.
# Two pointers: i from the left, j one past the right; swap M[i], M[j-1] while
# i + 1 < j (as programs/reverse.asm, returning instead of halting).
reverse:
    const 0 r4              # r4: i
    copy r1 r5              # r5: j, one past the right end
reverse_loop:
    inc r4 r6               # r6: i + 1
    comp r5 r6 r7           # j <= i + 1: at most one cell left in the middle, return
    jumpr r7 r15
    dec r5                  # j <- j - 1, the right cell
    read r4 r8
    read r5 r9
    write r9 r4             # M[i] <- old M[j]
    write r8 r5             # M[j] <- old M[i]
    copy r6 r4              # i <- i + 1
    jmp reverse_loop
