# multi_file_main: a main that calls functions defined in another file,
# multi_file_lib.asm. Link this file first (so `main` is at address 0), then the
# library: the `call`s below are resolved by the linker across files.
#
# Calling convention of the linked program (starts at address 0, ends with `halt`):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  r3 = (M[0] + ... + M[r1-1]) mod n      (lib_sum);
#             r4 = max(M[0..r1-1]), 0 when r1 = 0     (lib_max);
#             M[r1] <- r3, the sum stored just after the list (no effect when r1 >= memory).
#   preserves r1, r2 and M[0..r1-1]; clobbers r5..r7, r15.
main:
    call lib_sum r15
    call lib_max r15
    write r3 r1             # M[r1] <- the sum
    halt
