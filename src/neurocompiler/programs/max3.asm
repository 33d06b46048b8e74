# max3: the largest of three registers, by a function that calls another:
#   main -> max3 (return address r15) -> max2 (return address r14), called twice.
#
# Calling convention of the whole program (starts at address 0, ends with `halt`):
#   inputs:   r1, r2, r3, any values 0..n-1.
#   outputs:  r4 = max(r1, r2, r3).
#   preserves r1, r2, r3, r5, r7..r9, r13 and memory; clobbers r6, r10..r12, r14, r15.
main:
    call max3 r15
    halt

# max3: r4 <- max(r1, r2, r3). Return address in r15.
# Clobbers r6, r10..r12 and r14 (it calls max2).
max3:
    copy r1 r10
    copy r2 r11
    call max2 r14           # r12 <- max(r1, r2)
    copy r12 r10
    copy r3 r11
    call max2 r14           # r12 <- max(max(r1, r2), r3)
    copy r12 r4
    ret r15

# max2: r12 <- max(r10, r11), by a comparison and a conditional return (not `max`).
# Inputs r10, r11. Return address in r14. Clobbers r6, r12.
max2:
    copy r10 r12
    le r11 r10 r6           # r11 <= r10: r10 is the maximum, return
    jumpr r6 r14
    copy r11 r12
    ret r14
