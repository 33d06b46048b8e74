# fibonacci: the k-th Fibonacci number mod n, iteratively.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = k, any value 0..n-1.
#   outputs:  r2 = F(k) mod n, with F(0) = 0, F(1) = 1, F(k) = F(k-1) + F(k-2).
#   preserves r1, r8..r15; clobbers r3..r7.
# Steps: 7 per iteration, 7k + 7 in all.
main:
    const 0 r2              # r2: F(i)
    const 1 r3              # r3: F(i+1)
    copy r1 r4              # r4: iterations left, k - i
    const 0 r6              # r6: the constant 0
loop:
    eq r4 r6 r5             # no iterations left: r2 = F(k)
    jump r5 done
    add r2 r3 r7            # r7 <- F(i+2)
    copy r3 r2
    copy r7 r3
    dec r4
    jmp loop
done:
    halt
