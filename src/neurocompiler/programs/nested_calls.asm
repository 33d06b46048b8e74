# nested_calls: calls nested two levels deep, each function with its own
# return-address register:  main -> sum_of_squares (via r15) -> square (via r14).
#
# Calling convention of the whole program (starts at address 0, ends with `halt`):
#   inputs:   r1 = length, 0 <= r1 <= min(memory, n-1); M[0..r1-1] = the values.
#   outputs:  r3 = (M[0]^2 + ... + M[r1-1]^2) mod n.
#   preserves r1, r2, r4, r9..r13 and memory; clobbers r5..r8, r14, r15.
main:
    call sum_of_squares r15
    halt

# sum_of_squares: r3 <- (M[0]^2 + ... + M[r1-1]^2) mod n.
# Inputs: r1 = length, M[0..r1-1]. Return address in r15.
# Clobbers r5..r8 and r14 (it calls square); preserves memory.
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

# square: r8 <- r7 * r7 mod n. Input r7. Return address in r14. Clobbers only r8.
square:
    mul r7 r7 r8
    ret r14
