"""The mutants of tools/mutate.py: parse a module with ``ast`` and list the one-change mutants that
hide wrong numbers (arithmetic and comparison operator swaps, numeric constants, ``return x ->
return None``), each as a byte span of the source and its replacement. Standard library only."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

BINOP_SWAPS = {ast.Add: (ast.Sub, "+", "-"), ast.Sub: (ast.Add, "-", "+"),
               ast.Mult: (ast.Div, "*", "/"), ast.Div: (ast.Mult, "/", "*")}
CMP_SWAPS = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "=="}
CMP_TOKENS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


@dataclass
class Mutant:
    """One change: bytes ``start:end`` of the file (``original`` there) become ``mutant``."""

    line: int
    col: int
    kind: str
    original: str
    mutant: str
    start: int
    end: int
    where: str = ""  # qualified name of the enclosing function / class

    def apply(self, src: bytes) -> bytes:
        return src[: self.start] + self.mutant.encode() + src[self.end:]

    def describe(self) -> str:
        return f"{self.original} -> {self.mutant}"




def _token_in_gap(src: bytes, a: int, b: int, token: str) -> tuple[int, int] | None:
    """Absolute byte span of the single operator ``token`` between offsets a and b (which hold only
    the operator, brackets, white space and comments), or None when it is not found exactly once."""
    gap = src[a:b].decode()
    text = "\n".join(line.split("#", 1)[0] for line in gap.split("\n"))  # comments out, lengths kept per line
    # the operator itself, not part of a longer one (** // <= >= == != += ...)
    pat = re.compile(r"(?<![*/<>=!+\-])" + re.escape(token) + r"(?![*/<>=])")
    hits = [m.start() for m in pat.finditer(text)]
    if len(hits) != 1:
        return None
    start = a + len(gap[: hits[0]].encode())
    return start, start + len(token.encode())


class _Finder(ast.NodeVisitor):
    def __init__(self, src: bytes, only: tuple[str, ...]) -> None:
        self.src = src
        self.only = only
        self.lines = src.split(b"\n")
        self.offsets = [0]
        for line in self.lines:
            self.offsets.append(self.offsets[-1] + len(line) + 1)
        self.scope: list[str] = []
        self.mutants: list[Mutant] = []

    # positions -------------------------------------------------------------------------------------
    def _pos(self, lineno: int, col: int) -> int:
        return self.offsets[lineno - 1] + col  # col_offset counts UTF-8 bytes

    def _span(self, node: ast.AST) -> tuple[int, int]:
        return self._pos(node.lineno, node.col_offset), self._pos(node.end_lineno, node.end_col_offset)

    def _wanted(self) -> bool:
        if not self.only:
            return True
        name = ".".join(self.scope)
        return any(name == o or name.startswith(o + ".") for o in self.only)

    def _add(self, node: ast.AST, kind: str, start: int, end: int, new: str) -> None:
        if not self._wanted():
            return
        old = self.src[start:end].decode()
        if old == new:
            return
        line = next(i for i, off in enumerate(self.offsets) if off > start)  # 1-based line of start
        self.mutants.append(Mutant(line, start - self.offsets[line - 1], kind, old, new, start, end,
                                   ".".join(self.scope)))

    # what is never mutated -------------------------------------------------------------------------
    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        pass  # f-strings: messages, and inner positions are unreliable before Python 3.12

    def visit_If(self, node: ast.If) -> None:
        t = node.test
        if (isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "__name__"):
            return  # the script entry point
        self.generic_visit(node)

    def _visit_scope(self, node: ast.AST) -> None:
        self.scope.append(node.name)  # type: ignore[attr-defined]
        for field_name, value in ast.iter_fields(node):
            if field_name in ("returns", "decorator_list"):
                continue
            if field_name == "body" and value and _is_docstring(value[0]):
                value = value[1:]
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ast.AST):
                    self.visit(item)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_scope

    def visit_arg(self, node: ast.arg) -> None:
        pass  # annotations only

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    # what is mutated -------------------------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> None:
        swap = BINOP_SWAPS.get(type(node.op))
        if swap is not None:
            span = _token_in_gap(self.src, self._span(node.left)[1], self._span(node.right)[0], swap[1])
            if span:
                self._add(node, "arith", *span, swap[2])
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        swap = BINOP_SWAPS.get(type(node.op))
        if swap is not None:
            span = _token_in_gap(self.src, self._span(node.target)[1], self._span(node.value)[0], swap[1] + "=")
            if span:
                self._add(node, "arith", *span, swap[2] + "=")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if type(op) in CMP_SWAPS:
                span = _token_in_gap(self.src, self._span(left)[1], self._span(right)[0], CMP_TOKENS[type(op)])
                if span:
                    self._add(node, "compare", *span, CMP_SWAPS[type(op)])
            left = right
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return
        start, end = self._span(node)
        try:
            if ast.literal_eval(self.src[start:end].decode()) != v:
                return
        except (ValueError, SyntaxError):
            return
        for new in (v + 1, v * 2, 0 if isinstance(v, int) else 0.0):
            if new != v:
                self._add(node, "constant", start, end, repr(new))

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self._add(node, "return", *self._span(node.value), "None")
        self.generic_visit(node)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def find_mutants(src: bytes, only: tuple[str, ...] = ()) -> list[Mutant]:
    """Every mutant of ``src`` (one change each), in source order; each is checked to parse and to
    change the syntax tree. ``only``: qualified-name prefixes of the functions / classes to mutate."""
    tree = ast.parse(src)
    f = _Finder(src, only)
    body = tree.body[1:] if tree.body and _is_docstring(tree.body[0]) else tree.body
    for stmt in body:
        f.visit(stmt)
    original = ast.dump(tree)
    out, seen = [], set()
    for m in sorted(f.mutants, key=lambda m: (m.start, m.kind, m.mutant)):
        key = (m.start, m.end, m.mutant)
        if key in seen:
            continue
        seen.add(key)
        try:
            if ast.dump(ast.parse(m.apply(src))) == original:
                continue
        except SyntaxError:
            continue
        out.append(m)
    return out
