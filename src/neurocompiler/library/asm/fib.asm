#@ function: fib
#@ inputs: r1 r2 r3
#@ outputs: r0
#@ memory: none
#@ return: r15
# fib: the paper's sequential Fibonacci (§4.1, "Impact of Recursion Depth on
# Trainability via Fibonacci"). x_0 = a = r1, x_1 = b = r2, x_{k+1} = x_k + x_{k-1}
# (mod n); after d = r3 additions it returns r0 = x_{d+1} (depth 1 gives a + b).
# Needs 1 <= d <= n - 1; d = 0 is treated as depth 1.
# Preserves r1, r2, r3, r15; clobbers r5..r8.
#
# Steps: depth d takes exactly 8*d interpreter steps from `fib` to the halt reached
# when `jumpr r8 r15` leaves the program (the halt counts as a step, as the
# interpreter counts it), so depth 1 is 8 steps, depth 2 is 16, ... as §4.1 counts them.
# The loop is one cycle of 8 instructions, fib_loop .. jmp fib_loop, with its exit
# test in the middle. The setup (three instructions) does the work of the cycle's last
# three (the first addition, the shift, the count), so the first pass is 3 + 4 steps,
# every later one 8, and the exit costs the `jumpr` and the halt:
#   8d = 3 + 4 + 8 (d - 1) + 1.
fib:
    add r1 r2 r0            # r0: x_2 = a + b, the first addition
    copy r2 r5              # r5: x_1
    const 1 r7              # r7: additions done
fib_loop:                   # here r5 = x_{k-1}, r0 = x_k, r7 = k - 1 additions done
    copy r0 r6              # r6: x_k
    lt r7 r3 r8             # 1 while additions remain ...
    inc r8                  # ... negated by `inc` (1 -> 2, 0 -> 1), as in the paper's listings
    jumpr r8 r15            # all d additions done: return r0 = x_{d+1}
    add r5 r6 r0            # r0: x_{k+1} = x_k + x_{k-1}
    copy r6 r5              # r5: x_k
    inc r7
    jmp fib_loop
