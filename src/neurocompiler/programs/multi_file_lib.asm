# multi_file_lib: a small library of list functions, linked after multi_file_main.asm.
# Each function takes the list in M[0..r1-1] (r1 = length, 0 <= r1 <= min(memory, n-1))
# and returns via the address in r15.

# lib_sum: r3 <- (M[0] + ... + M[r1-1]) mod n. Return address in r15.
# Clobbers r5..r7; preserves memory.
lib_sum:
    const 0 r3              # r3: the sum
    const 0 r5              # r5: i
lib_sum_loop:
    le r1 r5 r6             # i >= length: return
    jumpr r6 r15
    read r5 r7
    add r3 r7 r3
    inc r5
    jmp lib_sum_loop

# lib_max: r4 <- max(M[0..r1-1]), 0 when r1 = 0. Return address in r15.
# Clobbers r5..r7; preserves memory.
lib_max:
    const 0 r4              # r4: the maximum so far
    const 0 r5              # r5: i
lib_max_loop:
    le r1 r5 r6             # i >= length: return
    jumpr r6 r15
    read r5 r7
    max r4 r7 r4
    inc r5
    jmp lib_max_loop
