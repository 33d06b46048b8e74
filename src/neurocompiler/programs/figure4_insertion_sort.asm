# The paper's Figure 4 "Insertion Sort" listing (Saldyt & Kambhampati, arXiv 2407.04899),
# transcribed line for line into the language of shared/spec/ISA.md.
#
# Transcription notes:
# - The OCR'd listing writes `call L r8 r7`; the ISA's `call L x` takes only the
#   return-address register, which is the last one (scan returns via `jumpr r3 r7`,
#   swap via `jumpr r5 r10`), so r8 is dropped.
# - `K x` is the ISA's shorthand for `const K x`; `comp` is the alias of `le`.
# - Each pass scans M[r9..r1-1] for the element to move to position r9. With the
#   ISA's `comp` (a <= b), `inc` negates the flag, so the scan replaces its candidate
#   when M[r2] > candidate: the listing sorts the first r1 = 8 cells in DESCENDING order.
# - The two instructions after `halt` are unreachable, as in the listing.
main:
    8 r1                    # length of the list in M[0..7]
    0 r9                    # r9: the position being filled
sort:
    copy r9 r2
    call scan_init r7
    call swap r10
    inc r9
    comp r1 r9 r3
    jump r3 finish
    1 r5
    jump r5 sort            # sort the rest
swap:
    read r9 r3              # r3 <- M[r9]
    read r6 r4              # r4 <- M[r6], the selected element
    write r4 r9             # M[r9] <- r4
    write r3 r6             # M[r6] <- r3
    1 r5
    jumpr r5 r10            # return
scan_init:
    read r2 r5              # r5: the candidate's value
    copy r2 r6              # r6: the candidate's address
scan:                       # assumes r1 holds the length
    comp r1 r2 r3
    jumpr r3 r7             # return when r2 >= length
    read r2 r4
    comp r4 r5 r3
    inc r3
    jump r3 scan_replace    # taken when M[r2] > candidate
scan_end:
    inc r2
    1 r3
    jump r3 scan
scan_replace:
    copy r4 r5
    copy r2 r6
    1 r3
    jump r3 scan_end
finish:
    halt
    1 r5
    jump r5 finish
