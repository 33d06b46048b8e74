# multi_file_lib: a library function for multi_file_main.asm, linked after it (so
# every address here, including the loop label, is offset by the main file's length).

# lib_sum_max: r3 <- (M[0] + ... + M[r1-1]) mod n; r4 <- max(M[0..r1-1]), 0 when r1 = 0.
# Inputs: r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1].
# Return address in r15. Clobbers r5..r7; preserves memory.
lib_sum_max:
    const 0 r3              # r3: the sum
    const 0 r4              # r4: the maximum so far
    const 0 r5              # r5: i
lib_loop:
    le r1 r5 r6             # i >= length: return
    jumpr r6 r15
    read r5 r7
    add r3 r7 r3
    max r4 r7 r4
    inc r5
    jmp lib_loop
