#@ function: string_sort
#@ inputs: none
#@ outputs: none
#@ memory: inout M[0..z]
#@ return: r15
# string_sort: sorts the 0-terminated string in memory ASCENDING, in place: M[0..z-1],
# where M[z] is the first cell holding 0 (a read past the last cell gives 0, so z is at
# most the memory size; memory must be smaller than n, as it is for a parse of fewer
# than n cells). The list's length is not an argument: a model that calls this only
# has to copy the string into memory, ending it with a 0, as a C string.
# Preserves r1, r2, r3, r15 and every other cell; clobbers r4..r7, r9..r14.
# Counts z (5 steps per character), then calls insertion_sort with r1 = z.
string_sort:
    copy r1 r13             # keep r1 and r15 for the return
    copy r15 r14
    const 0 r1              # r1: z, the length so far
    const 0 r5
ssort_length:
    read r1 r4
    comp r4 r5 r6           # r6 <- (M[z] <= 0), i.e. M[z] = 0: the terminator
    jump r6 ssort_sort
    inc r1
    jmp ssort_length
ssort_sort:
    call insertion_sort r15 # sorts M[0..r1-1], returns here
    copy r13 r1
    copy r14 r15
    ret r15
