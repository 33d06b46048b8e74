# gcd: greatest common divisor by Euclid's algorithm with `mod`.
#
# Calling convention (a whole program: it starts at address 0 and ends with `halt`;
# no return-address register):
#   inputs:   r1 = a, r2 = b, any values 0..n-1.
#   outputs:  r3 = gcd(a, b), defined as Python's math.gcd: gcd(a, 0) = a,
#             gcd(0, b) = b, gcd(0, 0) = 0.
#   preserves r1, r2, r9..r15; clobbers r4..r8.
# Loop: while b != 0: (a, b) <- (b, a mod b). Terminates because b strictly decreases.
main:
    copy r1 r4              # r4: a
    copy r2 r5              # r5: b
    const 0 r6              # r6: the constant 0
loop:
    eq r5 r6 r7             # b = 0: a is the answer
    jump r7 done
    mod r4 r5 r8            # r8 <- a mod b
    copy r5 r4              # a <- b
    copy r8 r5              # b <- a mod b
    jmp loop
done:
    copy r4 r3
    halt
