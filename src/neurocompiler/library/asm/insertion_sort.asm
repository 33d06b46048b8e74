#@ function: insertion_sort
#@ inputs: r1
#@ outputs: none
#@ memory: inout M[0..r1-1]
#@ return: r15
# insertion_sort: sorts M[0..r1-1] ASCENDING in place; 0 <= r1 <= min(memory, n-1).
# Preserves r1, r2, r3, r15 and every other cell; clobbers r4..r7, r9..r12.
#
# The paper's Figure 4 "Insertion Sort" listing (see programs/figure4_insertion_sort.asm
# for the line-for-line transcription), adapted to the library ABI. Its structure is
# kept: an outer loop over the position r9 to fill, which calls isort_scan_init (return
# address r7) to find the element that belongs there, then isort_swap (return address
# r10) to move it there; the inner functions return with `jumpr`/`ret`, as in the listing.
# Changes from the listing:
# - Ascending: the scan replaces its candidate when M[r11] < candidate (the listing's
#   `comp r4 r5 r3` becomes `comp r5 r4 r12`, still negated by `inc`), so each pass
#   selects the FIRST smallest element of M[r9..r1-1]. (Under the ISA's `comp` = le the
#   listing itself sorts descending.)
# - ABI: the length comes in r1 (no `8 r1`); the outer loop tests r9 < r1 at its top,
#   so an empty list reads and writes nothing, and returns with `jumpr r12 r15` where
#   the listing jumped to `finish: halt`.
# - Registers: the listing's r2 (scan index) is r11 and its r3 (flag / swap temporary)
#   is r12, so the argument registers r2, r3 are preserved.
# - `1 r5; jump r5 L` and `1 r3; jump r3 L` (unconditional jumps) are `jmp L`, and
#   swap's `1 r5; jumpr r5 r10` is `ret r10`; the unreachable tail after `halt` is gone.
# - Labels carry an `isort_` prefix so they stay unique in the linked library.
insertion_sort:
    const 0 r9              # r9: the position being filled
isort_sort:
    comp r1 r9 r12          # all positions filled (r1 <= r9): return
    jumpr r12 r15
    copy r9 r11             # r11: scan index, from r9
    call isort_scan_init r7 # r6 <- address of the smallest of M[r9..r1-1]
    call isort_swap r10     # exchange M[r9] and M[r6]
    inc r9
    jmp isort_sort
isort_swap:
    read r9 r12             # r12 <- M[r9]
    read r6 r4              # r4 <- M[r6], the selected element
    write r4 r9             # M[r9] <- r4
    write r12 r6            # M[r6] <- r12
    ret r10                 # return
isort_scan_init:
    read r11 r5             # r5: the candidate's value
    copy r11 r6             # r6: the candidate's address
isort_scan:                 # assumes r1 holds the length
    comp r1 r11 r12
    jumpr r12 r7            # return when r11 >= length
    read r11 r4
    comp r5 r4 r12          # candidate <= M[r11]: keep the candidate ...
    inc r12
    jump r12 isort_scan_replace  # ... else (M[r11] < candidate) replace it
isort_scan_end:
    inc r11
    jmp isort_scan
isort_scan_replace:
    copy r4 r5
    copy r11 r6
    jmp isort_scan_end
