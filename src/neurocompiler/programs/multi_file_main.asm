# multi_file_main: a main that calls a function defined in another file,
# multi_file_lib.asm. Link this file first (so `main` is at address 0), then the
# library; the linker resolves the `call` across the two files.
#
# Calling convention of the linked program (starts at address 0, ends with `halt`):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  r3 = (M[0] + ... + M[r1-1]) mod n and r4 = max(M[0..r1-1]), 0 when
#             r1 = 0 (both from lib_sum_max); M[r1] <- r3, the sum stored just
#             after the list (no effect when r1 >= memory). The rest of memory is kept.
#   preserves r1, r2, r8..r14; clobbers r5..r7, r15.
main:
    call lib_sum_max r15
    write r3 r1             # M[r1] <- the sum
    halt
