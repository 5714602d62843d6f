"""A small, safe expression language for routing, filters and piping.

Grammar (lark, LALR): literals (numbers, 'strings', true/false, lists), names of earlier
questions, ``contact.<field>`` for approved display fields, comparisons, ``in``/``not in``,
``and``/``or``/``not``, ``+ - * /``, and a fixed set of functions (``count``, ``answered``,
``dk``, ``refused``, ``len``). There is no attribute access other than ``contact.<field>``,
no calls other than the whitelist, no subscripts, no lambdas: nothing can reach Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from gatehouse.domain.errors import ValidationFailed

MAX_EXPRESSION_LENGTH = 500
MAX_DEPTH = 40

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr
        | or_expr "or" and_expr             -> or_
?and_expr: not_expr
         | and_expr "and" not_expr          -> and_
?not_expr: comparison
         | "not" not_expr                   -> not_
?comparison: sum
           | sum COMP sum                   -> compare
           | sum "in" sum                   -> in_
           | sum "not" "in" sum             -> not_in
?sum: product
    | sum ADDOP product                     -> arith
?product: unary
        | product MULOP unary               -> arith
?unary: atom
      | "-" unary                           -> neg
?atom: NUMBER                               -> number
     | STRING                               -> string
     | "true"                               -> true
     | "false"                              -> false
     | "contact" "." NAME                   -> contact_field
     | NAME "(" [or_expr ("," or_expr)*] ")" -> call
     | NAME                                 -> name
     | "[" [or_expr ("," or_expr)*] "]"     -> list_
     | "(" or_expr ")"
COMP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADDOP: "+" | "-"
MULOP: "*" | "/"
STRING: /'[^'\\]{0,200}'/
NAME: /[a-z_][a-z0-9_]{0,63}/
%import common.NUMBER
%import common.WS
%ignore WS
"""

_KEYWORDS = {"and", "or", "not", "in", "true", "false", "contact"}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


class ExpressionError(ValidationFailed):
    error_id = "invalid-expression"


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: its source, its tree, and the names it reads."""

    source: str
    tree: Tree[Token]
    question_refs: frozenset[str]
    contact_refs: frozenset[str]

    def evaluate(self, env: EvalEnv) -> Any:
        return _Evaluator(env).eval(self.tree, 0)


@dataclass(frozen=True, slots=True)
class EvalEnv:
    """What an expression can see: answers so far and approved display fields."""

    answers: Mapping[str, Any]
    contact: Mapping[str, str]
    special: Mapping[str, int]  # {"dont_know": -8, ...}


FUNCTIONS: frozenset[str] = frozenset({"count", "answered", "dk", "refused", "len"})


@lru_cache(maxsize=4096)
def parse(source: str) -> Expression:
    """Parse (cached: expressions are immutable and scripts reuse them on every step)."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = _parser().parse(source)
    except LarkError as exc:
        raise ExpressionError(f"cannot parse expression {source!r}: {_short(exc)}") from None
    questions: set[str] = set()
    contact: set[str] = set()
    _collect(tree, questions, contact, 0)
    return Expression(source, tree, frozenset(questions), frozenset(contact))


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200]


def _collect(node: Tree[Token] | Token, questions: set[str], contact: set[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ExpressionError("expression nested too deeply")
    if isinstance(node, Token):
        return
    if node.data == "name":
        name = str(node.children[0])
        if name in _KEYWORDS:
            raise ExpressionError(f"{name!r} is a reserved word")
        questions.add(name)
        return
    if node.data == "contact_field":
        contact.add(str(node.children[0]))
        return
    if node.data == "call":
        fname = str(node.children[0])
        if fname not in FUNCTIONS:
            raise ExpressionError(f"unknown function {fname!r}; allowed: {sorted(FUNCTIONS)}")
        for child in node.children[1:]:
            _collect(child, questions, contact, depth + 1)
        return
    for child in node.children:
        _collect(child, questions, contact, depth + 1)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
}


class _Evaluator:
    def __init__(self, env: EvalEnv) -> None:
        self.env = env

    def eval(self, node: Tree[Token] | Token, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ExpressionError("expression nested too deeply")
        if isinstance(node, Token):
            raise ExpressionError(f"unexpected token {node!s}")
        kind = node.data
        kids = node.children
        d = depth + 1
        if kind == "number":
            text = str(kids[0])
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "string":
            return str(kids[0])[1:-1]
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "name":
            return self.env.answers.get(str(kids[0]))
        if kind == "contact_field":
            return self.env.contact.get(str(kids[0]))
        if kind == "list_":
            return [self.eval(k, d) for k in kids]
        if kind == "or_":
            return any(_truthy(self.eval(k, d)) for k in kids)
        if kind == "and_":
            return all(_truthy(self.eval(k, d)) for k in kids)
        if kind == "not_":
            return not _truthy(self.eval(kids[0], d))
        if kind == "neg":
            return -_num(self.eval(kids[0], d))
        if kind == "compare":
            left, op, right = self.eval(kids[0], d), str(kids[1]), self.eval(kids[2], d)
            try:
                return _COMPARE[op](left, right)
            except TypeError:
                return False  # unanswered (None) compares false, never crashes an interview
        if kind in ("in_", "not_in"):
            needle, hay = self.eval(kids[0], d), self.eval(kids[1], d)
            found = _contains(hay, needle)
            return found if kind == "in_" else not found
        if kind == "arith":
            value = _num(self.eval(kids[0], d))
            for i in range(1, len(kids), 2):
                op, rhs = str(kids[i]), _num(self.eval(kids[i + 1], d))
                if op == "+":
                    value += rhs
                elif op == "-":
                    value -= rhs
                elif op == "*":
                    value *= rhs
                else:
                    if rhs == 0:
                        raise ExpressionError("division by zero")
                    value /= rhs
            return value
        if kind == "call":
            return self._call(str(kids[0]), [self.eval(k, d) for k in kids[1:]], kids[1:])
        raise ExpressionError(f"unsupported construct {kind}")

    def _call(self, fname: str, args: list[Any], raw: list[Any]) -> Any:
        if len(args) != 1:
            raise ExpressionError(f"{fname}() takes exactly one argument")
        value = args[0]
        special = self.env.special
        if fname == "answered":
            return value is not None
        if fname == "dk":
            return value == special.get("dont_know")
        if fname == "refused":
            return value == special.get("refused")
        if fname in ("count", "len"):
            if value is None:
                return 0
            if isinstance(value, list | str):
                return len(value)
            return 1
        raise ExpressionError(f"unknown function {fname!r}")


def _truthy(value: Any) -> bool:
    return bool(value)


def _num(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"arithmetic on a non-number ({type(value).__name__})")
    return value


def _contains(hay: Any, needle: Any) -> bool:
    if isinstance(hay, list):
        if isinstance(needle, list):
            return any(n in hay for n in needle)
        return needle in hay
    if isinstance(hay, str) and isinstance(needle, str):
        return needle in hay
    return False
