#@ function: copy
#@ inputs: r1 r2
#@ outputs: none
#@ memory: read M[0..r1-1], write M[r2..r2+r1-1]
#@ return: r15
# copy: M[r2 + i] <- M[i] for every i < r1: copies the list M[0..r1-1] to
# M[r2..r2+r1-1]. The ranges must not overlap and the copy must fit in memory:
# r1 <= r2 and r2 + r1 <= min(memory, n). (Since it copies from the last cell down,
# an overlapping move to the right, 0 < r2 < r1, happens to work too, but is not part
# of the contract.) Preserves r1, r2, r3, r15 and every cell outside M[r2..r2+r1-1];
# clobbers r4..r7.
copy:
    copy r1 r4              # r4: i + 1
copy_loop:
    dec r4                  # r4: i
    comp r1 r4 r5           # i wrapped below 0 (r1 <= i): return
    jumpr r5 r15
    read r4 r6              # r6 <- M[i]
    add r4 r2 r7            # r7: r2 + i
    write r6 r7             # M[r2 + i] <- M[i]
    jmp copy_loop
