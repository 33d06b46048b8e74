# nested_calls: functions calling functions, two levels deep, each function with its
# own return-address register.
#
#   main -> sum_of_squares (returns via r15) -> square (returns via r14)
#   main -> max3           (returns via r15) -> max2   (returns via r13)
#
# Calling convention of the whole program (starts at address 0, ends with `halt`):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  r3 = (M[0]^2 + ... + M[r1-1]^2) mod n;
#             r4 = max(M[0], M[1], M[2]) (whatever those cells hold, whatever r1 is).
#   preserves r1, r2 and memory; clobbers r5..r15.
main:
    call sum_of_squares r15
    call max3 r15
    halt

# sum_of_squares: r3 <- sum of M[i]^2 for i < r1, mod n.
# Inputs r1 (length) and M[0..r1-1]. Return address in r15. Clobbers r5..r8, r14.
sum_of_squares:
    const 0 r3              # r3: the sum
    const 0 r5              # r5: i
sos_loop:
    le r1 r5 r6             # i >= length: return
    jumpr r6 r15
    read r5 r7              # r7 <- M[i]
    call square r14         # r8 <- M[i]^2
    add r3 r8 r3
    inc r5
    jmp sos_loop

# square: r8 <- r7 * r7 mod n. Return address in r14. Clobbers only r8.
square:
    mul r7 r7 r8
    ret r14

# max3: r4 <- max(M[0], M[1], M[2]). Return address in r15. Clobbers r6, r9..r13.
max3:
    const 0 r9              # r9: the address
    read r9 r10             # r10 <- M[0]
    inc r9
    read r9 r11             # r11 <- M[1]
    call max2 r13           # r12 <- max(M[0], M[1])
    copy r12 r10
    inc r9
    read r9 r11             # r11 <- M[2]
    call max2 r13           # r12 <- max of all three
    copy r12 r4
    ret r15

# max2: r12 <- max(r10, r11), by a comparison and a conditional return.
# Return address in r13. Clobbers r6, r12.
max2:
    copy r10 r12
    le r11 r10 r6           # r11 <= r10: r10 is the maximum, return
    jumpr r6 r13
    copy r11 r12
    ret r13
