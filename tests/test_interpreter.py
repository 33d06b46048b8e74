"""The reference interpreter: exact semantics from shared/spec/ISA.md, and every program
of the table in tests/programs.py against its pure-Python reference."""

from __future__ import annotations

import math
from functools import lru_cache

import pytest
from programs import (BASES, CASES, CASES_BY_NAME, INPUTS_PER_BASE, ProgramCase, mismatches,
                      program_names, program_path)

from neurocompiler.asm import Program, assemble
from neurocompiler.config import MachineConfig
from neurocompiler.errors import AsmError
from neurocompiler.interpreter import run


@lru_cache(maxsize=None)
def _program(name: str, base: int) -> Program:
    return CASES_BY_NAME[name].assemble(base)


def _run_text(text: str, base: int = 16, memory_cells: int | None = None, **kwargs):
    program = assemble(text, MachineConfig(base=base, memory=memory_cells))
    return run(program, **kwargs)


# ------------------------------------------------------------------ the program table

@pytest.mark.parametrize("case,base", [pytest.param(c, b, id=f"{c.name}-{b}")
                                       for c in CASES for b in BASES if c.runs_at(b)])
def test_case_matches_reference(case: ProgramCase, base: int) -> None:
    program = _program(case.name, base)
    for registers, memory in case.inputs(base):
        result = run(program, registers, memory, max_steps=case.max_steps)
        where = f"{case.name} at base {base}, registers={registers}, memory={memory}"
        assert result.halted, f"{where}: no halt within {case.max_steps} steps"
        diff = mismatches(case.expected(registers, memory, base), result.registers,
                          result.memory)
        assert not diff, f"{where}: " + "; ".join(diff)


def test_table_shape() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert INPUTS_PER_BASE == 100 and BASES == (16, 128, 256)
    listed = {f for c in CASES for f in c.files}
    assert listed == set(program_names()), "every shipped program has a case, and back"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_min_base_and_size(case: ProgramCase) -> None:
    program = case.assemble(case.min_base)
    assert len(program) < 60
    assert case.min_base == max(16, len(program))
    if case.min_base > 16:  # one instruction too many for the next smaller base
        with pytest.raises(AsmError, match="program longer than base"):
            case.assemble(case.min_base - 1)
    for name in case.files:  # a header comment documents the calling convention
        assert program_path(name).read_text(encoding="utf-8").startswith("#")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_inputs_are_deterministic_and_fit_base_16(case: ProgramCase) -> None:
    for base in BASES:
        assert case.inputs(base, count=5) == case.inputs(base, count=5)
        for registers, memory in case.inputs(base):
            assert len(memory) <= 16
            assert all(0 <= v < base for v in [*registers.values(), *memory])


@pytest.mark.parametrize("case", [c for c in CASES if c.branch_free], ids=lambda c: c.name)
def test_branch_free_cases_are_straight_line(case: ProgramCase) -> None:
    program = _program(case.name, 16)
    ops = [ins.op for ins in program.instructions]
    assert not {"jump", "jumpr", "jmp", "call", "ret"} & set(ops)
    assert ops.index("halt") == len(ops) - 1
    for registers, memory in case.inputs(16, count=10):
        assert run(program, registers, memory).steps == len(program)


def test_gcd_exhaustive_at_base_16() -> None:
    program = _program("gcd", 16)
    for a in range(16):
        for b in range(16):
            result = run(program, {1: a, 2: b}, max_steps=200)
            assert result.halted and result.registers[3] == math.gcd(a, b), (a, b)


def test_fibonacci_whole_domain() -> None:
    for base in (16, 256):
        program = _program("fibonacci", base)
        f, g = 0, 1
        for k in range(base):
            result = run(program, {1: k}, max_steps=2000)
            assert result.halted and result.registers[2] == f % base, (base, k)
            assert result.steps == 7 * k + 7  # as its header says
            f, g = g, f + g


def test_multi_file_links_across_files() -> None:
    program = _program("multi_file", 16)
    files = [ins.loc.file for ins in program.instructions]
    main_len = files.count("multi_file_main.asm")
    assert main_len and files == ["multi_file_main.asm"] * main_len + \
        ["multi_file_lib.asm"] * (len(files) - main_len)
    assert program.labels["main"] == 0
    assert program.labels["lib_sum_max"] == main_len
    call = program.instructions[0]
    assert call.op == "call" and call.target == main_len


# ------------------------------------------------------------------ exact semantics

def test_sub_wraps_around() -> None:
    r = _run_text("const 0 r1\nconst 1 r2\nsub r1 r2 r3\nhalt", base=16)
    assert r.registers[3] == 15
    r = _run_text("const 0 r1\ndec r1\nhalt", base=256)
    assert r.registers[1] == 255


def test_add_mul_inc_wrap_around() -> None:
    r = _run_text("const 15 r1\ninc r1 r2\nadd r1 r1 r3\nmul r1 r1 r4\nhalt", base=16)
    assert r.registers[2:5] == [0, 14, 1]  # 15 + 1, 30 mod 16, 225 mod 16


def test_div_and_mod_by_zero_give_zero() -> None:
    r = _run_text("const 7 r1\ndiv r1 r2 r3\nmod r1 r2 r4\nconst 2 r2\ndiv r1 r2 r5\n"
                  "mod r1 r2 r6\nhalt", registers={3: 9, 4: 9})
    assert r.registers[3:7] == [0, 0, 3, 1]


def test_comparisons_min_max() -> None:
    r = _run_text("const 3 r1\nconst 5 r2\nmin r2 r1 r3\nmax r1 r2 r4\neq r1 r1 r5\n"
                  "eq r1 r2 r6\nlt r1 r2 r7\nlt r2 r1 r8\nlt r1 r1 r9\nle r1 r1 r10\n"
                  "le r2 r1 r11\nhalt")
    assert r.registers[3:12] == [3, 5, 1, 0, 1, 0, 0, 1, 0]


def test_read_beyond_memory_gives_zero() -> None:
    r = _run_text("const 10 r1\nread r1 r2\nconst 3 r3\nread r3 r4\nhalt",
                  memory_cells=4, registers={2: 7}, memory=[1, 2, 3, 4])
    assert r.registers[2] == 0 and r.registers[4] == 4


def test_write_beyond_memory_changes_nothing() -> None:
    r = _run_text("const 9 r1\nconst 4 r2\nwrite r1 r2\nconst 15 r2\nwrite r1 r2\n"
                  "const 0 r2\nwrite r1 r2\nhalt", memory_cells=4, memory=[1, 2, 3, 4])
    assert r.memory == [9, 2, 3, 4] and r.halted


def test_memory_defaults_to_base_and_write_is_value_then_address() -> None:
    r = _run_text("const 5 r1\nconst 15 r2\nwrite r1 r2\nhalt", base=16)
    assert len(r.memory) == 16 and r.memory[15] == 5 and sum(r.memory) == 5


@pytest.mark.parametrize("flag,taken", [(0, False), (1, True), (2, False), (15, False)])
def test_jump_flag_is_true_only_on_exactly_one(flag: int, taken: bool) -> None:
    text = "jump r1 skip\nconst 7 r2\nskip:\nhalt"
    r = _run_text(text, registers={1: flag})
    assert r.registers[2] == (0 if taken else 7)
    assert r.steps == (2 if taken else 3)
    # jumpr likewise: r3 holds the address of `halt`
    r = _run_text("jumpr r1 r3\nconst 7 r2\nhalt", registers={1: flag, 3: 2})
    assert r.registers[2] == (0 if taken else 7)


def test_inc_negates_a_flag_as_in_the_paper() -> None:
    r = _run_text("inc r1\njump r1 yes\nconst 1 r2\nhalt\nyes:\nconst 2 r2\nhalt",
                  registers={1: 1})
    assert r.registers[2] == 1  # flag 1 -> 2: no jump
    r = _run_text("inc r1\njump r1 yes\nconst 1 r2\nhalt\nyes:\nconst 2 r2\nhalt",
                  registers={1: 0})
    assert r.registers[2] == 2  # flag 0 -> 1: jump


def test_jmp_is_unconditional() -> None:
    r = _run_text("jmp end\nconst 7 r2\nend:\nhalt")
    assert r.registers[2] == 0 and r.steps == 2


def test_running_past_the_end_halts_and_counts_one_step() -> None:
    r = _run_text("const 3 r1\nconst 4 r2")
    assert r.halted and r.steps == 3 and r.registers[1:3] == [3, 4]
    r = _run_text("")  # the empty program: only the implicit halt
    assert r.halted and r.steps == 1


def test_halt_alone_takes_one_step() -> None:
    r = _run_text("halt")
    assert r.halted and r.steps == 1
    r = _run_text("halt\nconst 1 r1")
    assert r.halted and r.steps == 1 and r.registers[1] == 0


def test_jumping_outside_the_program_halts() -> None:
    r = _run_text("jumpr r1 r2\nconst 7 r3\nhalt", registers={1: 1, 2: 12})
    assert r.halted and r.steps == 2 and r.registers[3] == 0
    r = _run_text("ret r2\nconst 7 r3\nhalt", registers={2: 200}, base=256)
    assert r.halted and r.steps == 2 and r.registers[3] == 0
    r = _run_text("jump r1 9\nconst 7 r3\nhalt", registers={1: 1})  # literal address
    assert r.halted and r.steps == 2 and r.registers[3] == 0


def test_max_steps_stops_a_run_that_does_not_halt() -> None:
    r = _run_text("loop:\njmp loop", max_steps=10)
    assert not r.halted and r.steps == 10
    r = _run_text("const 1 r1\nhalt", max_steps=1)
    assert not r.halted and r.steps == 1 and r.registers[1] == 1


def test_call_ret_and_store_values() -> None:
    text = """
        const 0 r1          # 0
        call f r5           # 1: r5 <- 2
        store r6            # 2: r6 <- 2
        halt                # 3
    f:  store r7            # 4: r7 <- 4
        inc r1              # 5
        ret r5              # 6: back to 2
    """
    r = _run_text(text, trace=True)
    assert r.halted and r.registers[5:8] == [2, 2, 4] and r.registers[1] == 1
    assert [s.pc for s in r.trace] == [0, 1, 4, 5, 6, 2, 3]
    assert r.steps == 7


def test_nested_call_with_separate_return_registers() -> None:
    text = """
        call f r15
        halt
    f:  call g r14
        inc r1
        ret r15
    g:  inc r1
        inc r1
        ret r14
    """
    r = _run_text(text)
    assert r.halted and r.registers[1] == 3 and r.registers[14:16] == [3, 1]


def test_const_shorthand_comp_alias_and_inc_dec_default() -> None:
    r = _run_text("7 r1\nconst 7 r2\ncomp r1 r2 r3\nle r1 r2 r4\ncomp r3 r0 r5\n"
                  "inc r1\ndec r2\nhalt")
    assert r.registers[1:6] == [8, 6, 1, 1, 0]
    r = _run_text("3 r1\ninc r1 r2\ndec r1 r3\nhalt")
    assert r.registers[1:4] == [3, 4, 2]  # with x given, a is unchanged


def test_copy_and_registers_start_at_zero() -> None:
    r = _run_text("copy r1 r2\ncopy r3 r4\nhalt", registers={1: 9, 4: 5})
    assert r.registers[2] == 9 and r.registers[4] == 0
    assert r.registers[5:] == [0] * 11 and r.memory == [0] * 16


def test_entry_label() -> None:
    program = assemble("const 1 r1\nstart:\nconst 2 r2\nhalt", MachineConfig(base=16),
                       entry="start")
    r = run(program)
    assert r.registers[1:3] == [0, 2] and r.steps == 2
