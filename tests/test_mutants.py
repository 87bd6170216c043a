"""tools/mutants.py: the mutants of a small module, listed by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SRC = (b'"""Doc 1."""\nX = 2 ** 3\n\n\ndef f(a, b):\n    """Doc 2."""\n    if a < b:  # a < b\n'
       b'        return a + 1\n    print(f"{a - 1}")\n    return b\n\n\nif __name__ == "__main__":\n    f(1, 2)\n')


def _mutants():
    path = Path(__file__).resolve().parent.parent / "tools" / "mutants.py"
    spec = importlib.util.spec_from_file_location("mutants", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["mutants"] = mod  # a dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod


def test_find_mutants_lists_each_one_change_by_hand():
    """Constants (c + 1, c * 2, 0; the duplicate 1 * 2 = 1 + 1 once), the '<' of the test (not the one
    in its comment), '+' (never the '**'), the two returns; nothing from the docstrings, the f-string or
    the __main__ guard."""
    got = [(m.line, m.kind, m.original, m.mutant, m.where) for m in _mutants().find_mutants(SRC)]
    assert got == [
        (2, "constant", "2", "0", ""), (2, "constant", "2", "3", ""), (2, "constant", "2", "4", ""),
        (2, "constant", "3", "0", ""), (2, "constant", "3", "4", ""), (2, "constant", "3", "6", ""),
        (7, "compare", "<", "<=", "f"), (8, "return", "a + 1", "None", "f"), (8, "arith", "+", "-", "f"),
        (8, "constant", "1", "0", "f"), (8, "constant", "1", "2", "f"), (10, "return", "b", "None", "f"),
    ]


def test_a_mutant_changes_its_span_only_and_only_filters_by_name():
    mod = _mutants()
    compare = next(m for m in mod.find_mutants(SRC) if m.kind == "compare")
    assert compare.apply(SRC) == SRC.replace(b"if a < b:", b"if a <= b:")
    assert compare.apply(SRC).count(b"<") == SRC.count(b"<")  # the comment's '<' untouched
    assert {m.where for m in mod.find_mutants(SRC, only=("f",))} == {"f"}
    assert mod.find_mutants(SRC, only=("g",)) == []
