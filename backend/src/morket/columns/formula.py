"""Formula columns: a spreadsheet expression language, parsed by lark and evaluated by a small
tree walker (never Python `eval`: there is no way from a formula to a Python object, attribute or
builtin; only the functions in FUNCTIONS exist).

    IF({Domain} = "", "no domain", LOWER(CONCAT({First name}, ".", {Last name}, "@", DOMAIN({Website}))))

- References: `{Column name}` (any characters but braces), resolved to column ids when the
  formula is saved.
- Literals: numbers (`12`, `1.5`), strings in double quotes (`""` inside is a quote), TRUE, FALSE.
- Operators, loosest first: comparison `= <> != < <= > >=`, `&` (text concatenation), `+ -`,
  `* /`, unary `-`; parentheses group.
- An empty cell is empty text in text contexts and 0 in arithmetic; text that reads as a number
  is a number in arithmetic. Comparisons of text ignore case (as spreadsheets do).
- Errors (a division by zero, `"abc" * 2`, a bad regular expression, ...) are per cell: the
  cell is empty and its state says why; the request that caused the recompute never fails.
- A syntax error is a 422 with the position (line, column, offset) of the bad token.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import regex  # type: ignore[import-untyped]
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

MAX_FORMULA = 4000
MAX_TEXT = 100_000
REGEX_TIMEOUT = 0.05  # seconds per match: a pathological pattern is a cell error, not a stuck worker

GRAMMAR = r"""
?start: comparison
?comparison: concat (COMP_OP concat)?
?concat: sum ("&" sum)*         -> concat
?sum: product (ADD_OP product)*  -> arith
?product: unary (MUL_OP unary)*  -> arith
?unary: "-" unary                -> neg
      | atom
?atom: NUMBER                    -> number
     | STRING                    -> string
     | REF                       -> ref
     | TRUE                      -> true
     | FALSE                     -> false
     | NAME "(" [comparison ("," comparison)*] ")" -> call
     | "(" comparison ")"
COMP_OP: "<>" | "!=" | "<=" | ">=" | "=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
TRUE.2: /TRUE\b/i
FALSE.2: /FALSE\b/i
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /\d+(\.\d+)?([eE][+-]?\d+)?/
STRING: /"([^"]|"")*"/
REF: /\{[^{}]+\}/
%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


class FormulaError(Exception):
    """A value could not be computed; the message is shown in the cell."""


class FormulaSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.offset = offset


Node = tuple[
    Any, ...
]  # ("num", 1.0) ("str", "a") ("bool", True) ("ref", name) ("neg", n) ("op", op, a, b) ("call", NAME, [args])


@v_args(inline=True)
class _Build(Transformer[Token, Node]):
    def number(self, tok: Token) -> Node:
        value = float(tok)
        return ("num", int(value) if value.is_integer() and abs(value) < 2**53 else value)

    def string(self, tok: Token) -> Node:
        return ("str", str(tok)[1:-1].replace('""', '"'))

    def ref(self, tok: Token) -> Node:
        return ("ref", str(tok)[1:-1].strip())

    def true(self, _tok: Token) -> Node:
        return ("bool", True)

    def false(self, _tok: Token) -> Node:
        return ("bool", False)

    def neg(self, node: Node) -> Node:
        return ("neg", node)

    def comparison(self, left: Node, op: Token, right: Node) -> Node:
        return ("op", "<>" if str(op) == "!=" else str(op), left, right)

    def concat(self, *parts: Node) -> Node:
        node = parts[0]
        for part in parts[1:]:
            node = ("op", "&", node, part)
        return node

    def arith(self, *items: Any) -> Node:
        node: Node = items[0]
        for index in range(1, len(items), 2):
            node = ("op", str(items[index]), node, items[index + 1])
        return node

    def call(self, name: Token, *args: Node) -> Node:
        return ("call", str(name).upper(), [a for a in args if a is not None])


def _position(exc: UnexpectedInput, text: str) -> FormulaSyntaxError:
    offset = int(getattr(exc, "pos_in_stream", None) or 0)
    if isinstance(exc, UnexpectedEOF):
        offset = len(text)
    line = int(getattr(exc, "line", 0) or 0) or 1
    column = int(getattr(exc, "column", 0) or 0) or offset + 1
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        offset, line, column = len(text), text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]) + 1
    if isinstance(exc, UnexpectedToken):
        found = f"unexpected {exc.token!s}" if exc.token.type != "$END" else "the formula ends too early"
    elif isinstance(exc, UnexpectedCharacters):
        found = f"unexpected character {text[offset]!r}" if offset < len(text) else "unexpected character"
    else:
        found = "the formula ends too early"
    return FormulaSyntaxError(f"{found} at line {line}, column {column}", line, column, offset)


def _locate(error: FormulaSyntaxError, text: str, name: str) -> FormulaSyntaxError:
    """Point a function-level error at the function's name in the text."""
    match = re.search(rf"\b{re.escape(name)}\s*\(", text, re.IGNORECASE)
    if match is None:
        return error
    before = text[: match.start()]
    line = before.count("\n") + 1
    column = match.start() - (before.rfind("\n") + 1) + 1
    return FormulaSyntaxError(error.message, line, column, match.start())


def parse(text: str) -> Node:
    """The formula's tree, or FormulaSyntaxError with the position of the problem."""
    if len(text) > MAX_FORMULA:
        raise FormulaSyntaxError(f"a formula has at most {MAX_FORMULA} characters", 1, MAX_FORMULA + 1, MAX_FORMULA)
    if "\x00" in text:
        offset = text.index("\x00")
        raise FormulaSyntaxError("a formula cannot contain a NUL character", 1, offset + 1, offset)
    try:
        tree = _PARSER.parse(text)
        node: Node = _Build().transform(tree)
    except UnexpectedInput as exc:
        raise _position(exc, text) from None
    except VisitError as exc:  # a number too large for a float, ...
        raise FormulaSyntaxError(f"cannot read the formula: {exc.orig_exc}", 1, 1, 0) from None
    try:
        _check_calls(node)
    except FormulaSyntaxError as exc:
        raise _locate(
            exc, text, exc.message.split()[2] if exc.message.startswith("unknown") else exc.message.split()[0]
        ) from None
    return node


def _check_calls(node: Node) -> None:
    kind = node[0]
    if kind == "call":
        name, args = node[1], node[2]
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise FormulaSyntaxError(f"unknown function {name}", 1, 1, 0)
        if not spec.min_args <= len(args) <= spec.max_args:
            raise FormulaSyntaxError(f"{name} takes {spec.arity_text()} argument(s), not {len(args)}", 1, 1, 0)
        for arg in args:
            _check_calls(arg)
    elif kind == "op":
        _check_calls(node[2])
        _check_calls(node[3])
    elif kind == "neg":
        _check_calls(node[1])


def references(node: Node) -> list[str]:
    """Column names the formula reads, in order of first use."""
    found: list[str] = []

    def walk(n: Node) -> None:
        if n[0] == "ref":
            if n[1] not in found:
                found.append(n[1])
        elif n[0] == "op":
            walk(n[2])
            walk(n[3])
        elif n[0] == "neg":
            walk(n[1])
        elif n[0] == "call":
            for arg in n[2]:
                walk(arg)

    walk(node)
    return found


# -- values ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        raise FormulaError("a JSON value cannot be used as text")
    return str(value)


def _number(value: Any) -> float | int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            raise FormulaError(f"{value[:40]!r} is not a number") from None
    raise FormulaError(f"a {type(value).__name__} is not a number")


def _truthy(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        upper = value.strip().upper()
        if upper in ("TRUE", "FALSE"):
            return upper == "TRUE"
        return True
    return bool(value)


def _finite(value: float | int) -> float | int:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FormulaError("the number is too large")
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(op: str, left: Any, right: Any) -> bool:
    a, b = left, right
    if isinstance(a, date | datetime) or isinstance(b, date | datetime):
        a, b = _as_date(a), _as_date(b)
    elif _is_number(a) or _is_number(b):
        if a is None or a == "" or b is None or b == "":
            a, b = _text(a).casefold(), _text(b).casefold()
        else:
            a, b = _number(a), _number(b)
    else:
        a, b = _text(a).casefold(), _text(b).casefold()
    if op == "=":
        return bool(a == b)
    if op == "<>":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
        except ValueError:
            raise FormulaError(f"{value[:40]!r} is not a date") from None
    raise FormulaError("a date is needed")


Evaluator = Callable[[Any], Any]  # a row: a mapping, or a tuple for positional references


def evaluate(node: Node, row: Mapping[Any, Any]) -> Any:
    """The formula's value for one row (`row`: column name -> value); FormulaError per cell."""
    return build(node)(row)


def _arith(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    if op == "+":
        return lambda row: _finite(_number(left(row)) + _number(right(row)))
    if op == "-":
        return lambda row: _finite(_number(left(row)) - _number(right(row)))
    if op == "*":
        return lambda row: _finite(_number(left(row)) * _number(right(row)))

    def divide(row: Mapping[Any, Any]) -> Any:
        a, b = _number(left(row)), _number(right(row))
        if b == 0:
            raise FormulaError("division by zero")
        return _finite(a / b)

    return divide


def build(node: Node, key: Callable[[str], Any] | None = None, *, positional: bool = False) -> Evaluator:
    """The tree as nested closures (built once per formula, run once per row). `key` maps a
    reference's name to the row's key (names by default; column ids, or tuple positions with
    `positional`, for stored rows)."""
    kind = node[0]
    if kind in ("num", "str", "bool"):
        constant = node[1]
        return lambda row: constant
    if kind == "ref":
        ref = node[1] if key is None else key(node[1])
        if positional:
            return lambda row: row[ref]
        return lambda row: row.get(ref)
    if kind == "neg":
        inner = build(node[1], key, positional=positional)
        return lambda row: _finite(-_number(inner(row)))
    if kind == "op":
        op = node[1]
        left, right = build(node[2], key, positional=positional), build(node[3], key, positional=positional)
        if op == "&":

            def concat(row: Any) -> str:
                text = _text(left(row)) + _text(right(row))
                if len(text) > MAX_TEXT:
                    raise FormulaError(f"the text is longer than {MAX_TEXT} characters")
                return text

            return concat
        if op in ("+", "-", "*", "/"):
            return _arith(op, left, right)
        return lambda row: _compare(op, left(row), right(row))
    spec = FUNCTIONS[node[1]]
    args = [build(a, key, positional=positional) for a in node[2]]
    if spec.lazy:
        return lambda row: spec.fn(row, *args)
    fn = spec.fn
    if len(args) == 1:
        only = args[0]
        return lambda row: fn(only(row))
    return lambda row: fn(*(a(row) for a in args))


def _limit(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise FormulaError(f"the text is longer than {MAX_TEXT} characters")
    return text


# -- functions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int
    lazy: bool = False  # receives (row, *argument evaluators) and runs what it needs

    def arity_text(self) -> str:
        if self.min_args == self.max_args:
            return str(self.min_args)
        if self.max_args >= 100:
            return f"at least {self.min_args}"
        return f"{self.min_args} to {self.max_args}"


def _if(row: Mapping[Any, Any], cond: Evaluator, then: Evaluator, otherwise: Evaluator | None = None) -> Any:
    if _truthy(cond(row)):
        return then(row)
    return otherwise(row) if otherwise is not None else None


def _coalesce(row: Mapping[Any, Any], *args: Evaluator) -> Any:
    for arg in args:
        value = arg(row)
        if value is not None and value != "":
            return value
    return None


def _left(text: Any, count: Any = 1) -> str:
    n = int(_number(count))
    if n < 0:
        raise FormulaError("LEFT needs a count of 0 or more")
    return _text(text)[:n]


def _right(text: Any, count: Any = 1) -> str:
    n = int(_number(count))
    if n < 0:
        raise FormulaError("RIGHT needs a count of 0 or more")
    return _text(text)[-n:] if n else ""


def _split(text: Any, separator: Any, index: Any = 1) -> str | None:
    sep = _text(separator)
    if not sep:
        raise FormulaError("SPLIT needs a separator")
    parts = _text(text).split(sep)
    i = int(_number(index))
    if i == 0:
        raise FormulaError("SPLIT counts parts from 1 (or from -1 at the end)")
    try:
        return parts[i - 1 if i > 0 else i]
    except IndexError:
        return None


def _regex_match(text: Any, pattern: Any) -> bool:
    try:
        compiled = regex.compile(_text(pattern))
        return compiled.search(_text(text), timeout=REGEX_TIMEOUT) is not None
    except regex.error as exc:
        raise FormulaError(f"bad regular expression: {exc}") from None
    except TimeoutError:
        raise FormulaError("the regular expression took too long") from None


_HOST = re.compile(r"^[a-z0-9.-]+$")


def _domain(value: Any) -> str | None:
    """The registrable-looking host of a URL or an email: `https://www.Acme.com/x` -> `acme.com`."""
    text = _text(value).strip().lower()
    if not text:
        return None
    if "@" in text and "/" not in text:
        host = text.rsplit("@", 1)[1]
    elif not any(ch in text for ch in "/:?#[]"):
        host = text  # a bare host: no URL parsing needed
    else:
        try:
            host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
        except ValueError:
            return None
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if host and "." in host and _HOST.match(host) else None


def _year(value: Any) -> int | None:
    return None if value in (None, "") else _as_date(value).year


def _month(value: Any) -> int | None:
    return None if value in (None, "") else _as_date(value).month


def _day(value: Any) -> int | None:
    return None if value in (None, "") else _as_date(value).day


def _days_between(start: Any, end: Any) -> int | None:
    if start in (None, "") or end in (None, ""):
        return None
    return (_as_date(end) - _as_date(start)).days


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _round(value: Any, digits: Any = 0) -> float | int:
    return _finite(round(float(_number(value)), int(_number(digits))))


FUNCTIONS: dict[str, Function] = {
    "IF": Function(_if, 2, 3, lazy=True),
    "AND": Function(lambda *a: all(_truthy(v) for v in a), 1, 100),
    "OR": Function(lambda *a: any(_truthy(v) for v in a), 1, 100),
    "NOT": Function(lambda v: not _truthy(v), 1, 1),
    "COALESCE": Function(_coalesce, 1, 100, lazy=True),
    "CONCAT": Function(lambda *a: _limit("".join(_text(v) for v in a)), 1, 100),
    "LOWER": Function(lambda v: _text(v).lower(), 1, 1),
    "UPPER": Function(lambda v: _text(v).upper(), 1, 1),
    "TRIM": Function(lambda v: " ".join(_text(v).split()), 1, 1),
    "LEN": Function(lambda v: len(_text(v)), 1, 1),
    "LEFT": Function(_left, 1, 2),
    "RIGHT": Function(_right, 1, 2),
    "SPLIT": Function(_split, 2, 3),
    "REGEX_MATCH": Function(_regex_match, 2, 2),
    "DOMAIN": Function(_domain, 1, 1),
    "ROUND": Function(_round, 1, 2),
    "ABS": Function(lambda v: _finite(abs(_number(v))), 1, 1),
    "TODAY": Function(_today, 0, 0),
    "YEAR": Function(_year, 1, 1),
    "MONTH": Function(_month, 1, 1),
    "DAY": Function(_day, 1, 1),
    "DAYS_BETWEEN": Function(_days_between, 2, 2),
}


@dataclass(frozen=True)
class CompiledFormula:
    expression: str
    tree: Node
    refs: dict[str, uuid.UUID]  # column name as written -> column id

    @cached_property
    def evaluator(self) -> Evaluator:
        return build(self.tree, self.refs.__getitem__)

    def over_tuples(self, position: Mapping[uuid.UUID, int]) -> Evaluator:
        """An evaluator over row tuples, each reference read at `position[its column id]`."""
        return build(self.tree, lambda name: position[self.refs[name]], positional=True)

    def run(self, values_by_id: Any, evaluator: Evaluator | None = None) -> tuple[Any, str | None]:
        """(value, None) or (None, the reason the cell could not be computed)."""
        try:
            return (evaluator or self.evaluator)(values_by_id), None
        except FormulaError as exc:
            return None, str(exc)
        except (RecursionError, OverflowError, ValueError, TypeError) as exc:
            return None, f"cannot compute: {type(exc).__name__}"


def compile_formula(expression: str, columns_by_name: Mapping[str, uuid.UUID]) -> CompiledFormula:
    """Parse and resolve references (case-insensitive names); unknown names are FormulaSyntaxError."""
    tree = parse(expression)
    folded = {name.casefold(): column_id for name, column_id in columns_by_name.items()}
    refs: dict[str, uuid.UUID] = {}
    for name in references(tree):
        column_id = folded.get(name.casefold())
        if column_id is None:
            offset = expression.find("{" + name)
            raise FormulaSyntaxError(f"no column named {name!r}", 1, max(offset, 0) + 1, max(offset, 0))
        refs[name] = column_id
    return CompiledFormula(expression, tree, refs)


def rename_reference(
    expression: str, refs: Mapping[str, uuid.UUID], column_id: uuid.UUID, new_name: str
) -> tuple[str, dict[str, uuid.UUID]]:
    """The expression with every reference to `column_id` written `{new_name}`, and its `refs`
    (name as written -> column id) to match; text in strings and other references stay as they
    are. FormulaSyntaxError when the new name cannot be written in a formula (braces) or the
    formula would grow past MAX_FORMULA."""
    if column_id not in refs.values():
        return expression, dict(refs)
    if "{" in new_name or "}" in new_name:
        raise FormulaSyntaxError("a column name in a formula cannot contain { or }", 1, 1, 0)
    pieces: list[str] = []
    done = 0
    for token in _PARSER.lex(expression):
        start, end = token.start_pos, token.end_pos
        if token.type != "REF" or start is None or end is None:
            continue
        if refs.get(str(token)[1:-1].strip()) == column_id:
            pieces += [expression[done:start], "{" + new_name + "}"]
            done = end
    text = "".join([*pieces, expression[done:]])
    if len(text) > MAX_FORMULA:
        raise FormulaSyntaxError(
            f"with the new name the formula would have more than {MAX_FORMULA} characters", 1, 1, 0
        )
    return text, {(new_name if ref == column_id else name): ref for name, ref in refs.items()}


def names(seq: Sequence[tuple[str, uuid.UUID]]) -> dict[str, uuid.UUID]:
    return dict(seq)
