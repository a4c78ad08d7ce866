"""The formula language: parsed text evaluates exactly like a reference evaluator of the tree it
was printed from (hypothesis), syntax errors carry positions, functions behave per cell."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from morket.columns.formula import FormulaSyntaxError, evaluate, parse

ROW: dict[str, Any] = {"A": 7, "B": -3, "Name": "Ada", "Empty": None}

# A tiny expression tree: ("num", n) ("str", s) ("ref", name) ("bin", op, l, r) ("neg", e) ("if", c, a, b) ("fn", F, e)
ints = st.integers(min_value=0, max_value=50).map(lambda n: ("num", n))
strs = st.text(alphabet="abcXYZ \"'&{}", max_size=6).map(lambda s: ("str", s))
refs = st.sampled_from(["A", "B"]).map(lambda n: ("ref", n))
text_refs = st.sampled_from(["Name", "Empty"]).map(lambda n: ("ref", n))


def _numeric(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.tuples(st.just("bin"), st.sampled_from(["+", "-", "*"]), children, children),
        st.tuples(st.just("neg"), children),
    )


num_expr = st.recursive(st.one_of(ints, refs), _numeric, max_leaves=8)
text_expr = st.recursive(
    st.one_of(strs, text_refs),
    lambda children: st.one_of(
        st.tuples(st.just("cat"), children, children),
        st.tuples(st.just("fn"), st.sampled_from(["UPPER", "LOWER", "TRIM"]), children),
    ),
    max_leaves=5,
)
bool_expr = st.tuples(st.just("cmp"), st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), num_expr, num_expr)
expr = st.one_of(
    num_expr,
    text_expr,
    bool_expr,
    st.tuples(st.just("if"), bool_expr, num_expr, num_expr),
    st.tuples(st.just("len"), text_expr),
)


def show(node: Any) -> str:
    """Print a tree as formula text, parenthesising every compound operand."""
    kind = node[0]
    if kind == "num":
        return str(node[1])
    if kind == "str":
        return '"' + node[1].replace('"', '""') + '"'
    if kind == "ref":
        return "{" + node[1] + "}"
    if kind == "neg":
        return f"-({show(node[1])})"
    if kind == "bin":
        return f"({show(node[2])}) {node[1]} ({show(node[3])})"
    if kind == "cat":
        return f"({show(node[1])}) & ({show(node[2])})"
    if kind == "fn":
        return f"{node[1].lower()}({show(node[2])})"
    if kind == "cmp":
        return f"({show(node[2])}) {node[1]} ({show(node[3])})"
    if kind == "if":
        return f"IF({show(node[1])}, {show(node[2])}, {show(node[3])})"
    return f"LEN({show(node[1])})"


def reference(node: Any) -> Any:
    """What the spec says, straight in Python."""
    kind = node[0]
    if kind in ("num", "str"):
        return node[1]
    if kind == "ref":
        return ROW[node[1]]
    if kind == "neg":
        return -reference(node[1])
    if kind == "bin":
        a, b = reference(node[2]), reference(node[3])
        return a + b if node[1] == "+" else a - b if node[1] == "-" else a * b
    if kind == "cat":
        return (reference(node[1]) or "") + (reference(node[2]) or "")
    if kind == "fn":
        value = reference(node[2]) or ""
        return {"UPPER": value.upper(), "LOWER": value.lower(), "TRIM": " ".join(value.split())}[node[1]]
    if kind == "cmp":
        a, b = reference(node[2]), reference(node[3])
        return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node[1]]
    if kind == "if":
        return reference(node[2]) if reference(node[1]) else reference(node[3])
    return len(reference(node[1]) or "")


@settings(max_examples=300, deadline=None)
@given(expr)
def test_parsed_text_evaluates_like_the_reference(node: Any) -> None:
    assert evaluate(parse(show(node)), ROW) == reference(node)


# -- the functions of the list, each against its own reference -------------------------------
# ("call", NAME, [argument trees]); printed as NAME(a, b, ...). Values that need construction to
# have a known answer (URLs and emails for DOMAIN, dates) carry it: ("lit", text, expected).

PATTERNS = ["^a", "b$", "[XYZ]", "a.c", "^$", "&", "'"]
SEPARATORS = [",", " ", "ab", "&"]
hosts = st.builds(
    lambda label, tld: f"{label}{tld}",
    st.text(alphabet="abcxyz09", min_size=1, max_size=8),
    st.sampled_from([".com", ".io", ".co.uk"]),
)


def _url(scheme: str, www: bool, host: str, path: str, upper: bool) -> tuple[str, str, str]:
    text = f"{scheme}{'www.' if www else ''}{host}{path}"
    return ("lit", text.upper() if upper else text, host)


urls = st.builds(
    _url,
    st.sampled_from(["", "http://", "https://"]),
    st.booleans(),
    hosts,
    st.sampled_from(["", "/", "/about", "/a?b=1", "#top"]),
    st.booleans(),
)
emails = st.builds(
    lambda local, host: ("lit", f"{local}@{host}", host), st.text(alphabet="abc.+_1", min_size=1, max_size=6), hosts
)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
date_lits = dates.map(lambda d: ("lit", d.isoformat(), d))
small = st.integers(min_value=0, max_value=8).map(lambda n: ("num", n))
split_index = st.sampled_from([-3, -2, -1, 1, 2, 3]).map(lambda n: ("num", n) if n > 0 else ("neg", ("num", -n)))
fn_expr = st.one_of(
    st.tuples(st.just("call"), st.sampled_from(["AND", "OR"]), st.lists(bool_expr, min_size=1, max_size=4)),
    st.tuples(st.just("call"), st.just("NOT"), st.tuples(bool_expr)),
    st.tuples(st.just("call"), st.just("COALESCE"), st.lists(text_expr, min_size=1, max_size=4)),
    st.tuples(st.just("call"), st.just("CONCAT"), st.lists(text_expr, min_size=1, max_size=4)),
    st.tuples(st.just("call"), st.sampled_from(["LEFT", "RIGHT"]), st.tuples(text_expr, small)),
    st.tuples(
        st.just("call"),
        st.just("SPLIT"),
        st.tuples(text_expr, st.sampled_from(SEPARATORS).map(lambda s: ("str", s)), split_index),
    ),
    st.tuples(
        st.just("call"),
        st.just("REGEX_MATCH"),
        st.tuples(text_expr, st.sampled_from(PATTERNS).map(lambda p: ("str", p))),
    ),
    st.tuples(st.just("call"), st.just("DOMAIN"), st.tuples(st.one_of(urls, emails))),
    st.tuples(st.just("call"), st.sampled_from(["YEAR", "MONTH", "DAY"]), st.tuples(date_lits)),
    st.tuples(st.just("call"), st.just("DAYS_BETWEEN"), st.tuples(date_lits, date_lits)),
    st.tuples(st.just("call"), st.just("ABS"), st.tuples(num_expr)),
    st.tuples(st.just("call"), st.just("ROUND"), st.tuples(num_expr, st.integers(0, 2).map(lambda n: ("num", n)))),
)


def show_fn(node: Any) -> str:
    if node[0] == "lit":
        return '"' + node[1].replace('"', '""') + '"'
    if node[0] == "call":
        return f"{node[1]}({', '.join(show_fn(a) for a in node[2])})"
    return show(node)


def _split_ref(text: str, sep: str, index: int) -> str | None:
    parts = text.split(sep)
    try:
        return parts[index - 1 if index > 0 else index]
    except IndexError:
        return None


def reference_fn(node: Any) -> Any:
    if node[0] == "lit":
        return node[2]
    if node[0] != "call":
        return reference(node)
    name, args = node[1], node[2]
    if name == "COALESCE":
        return next((v for v in (reference(a) for a in args) if v is not None and v != ""), None)
    if name == "DOMAIN":
        return args[0][2]
    if name in ("YEAR", "MONTH", "DAY"):
        return getattr(args[0][2], name.lower())
    if name == "DAYS_BETWEEN":
        return (args[1][2] - args[0][2]).days
    values = [reference(a) for a in args]
    text = [v or "" for v in values]
    if name == "AND":
        return all(values)
    if name == "OR":
        return any(values)
    if name == "NOT":
        return not values[0]
    if name == "CONCAT":
        return "".join(text)
    if name == "LEFT":
        return text[0][: values[1]]
    if name == "RIGHT":
        return text[0][-values[1] :] if values[1] else ""
    if name == "SPLIT":
        return _split_ref(text[0], values[1], values[2])
    if name == "REGEX_MATCH":
        return re.search(values[1], text[0]) is not None
    if name == "ABS":
        return abs(values[0])
    return round(float(values[0]), values[1])


@settings(max_examples=400, deadline=None)
@given(fn_expr)
def test_functions_evaluate_like_the_reference(node: Any) -> None:
    assert evaluate(parse(show_fn(node)), ROW) == reference_fn(node)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 * -3", -6),
        ('"a" & 1 + 2', "a3"),
        ("1 + 2 = 3", True),
        ("{A} / 2", 3.5),
        ('IF({Empty} = "", "none", "some")', "none"),
        ('COALESCE({Empty}, {Name}, "x")', "Ada"),
        ("AND({A} > 1, NOT({B} > 0), OR(FALSE, TRUE))", True),
        ('CONCAT(LEFT("morket", 3), RIGHT("abc", 1), SPLIT("a,b,c", ",", 2))', "morcb"),
        ('DOMAIN("https://www.Acme.com/path?q=1")', "acme.com"),
        ('DOMAIN("Ada@Example.org")', "example.org"),
        ('DOMAIN("not a domain")', None),
        ('REGEX_MATCH("order-1234", "[0-9]{4}$")', True),
        ('"abc" = "ABC"', True),
        ('YEAR("2024-03-05") * 100 + MONTH("2024-03-05")', 202403),
        ('DAYS_BETWEEN("2024-01-01", "2024-03-01")', 60),
        ("ROUND(2 / 3, 2)", 0.67),
        ('"10" * 2', 20),
    ],
)
def test_examples(text: str, expected: Any) -> None:
    assert evaluate(parse(text), ROW) == expected


@pytest.mark.parametrize(
    ("text", "column"),
    [("1 +", 4), ("{A} * * 2", 7), ('UPPER("a") & nope(1)', 14), ("IF(1)", 1), ('"open', 1), ("(1 + 2", 7)],
)
def test_syntax_errors_point_at_the_position(text: str, column: int) -> None:
    with pytest.raises(FormulaSyntaxError) as caught:
        parse(text)
    assert caught.value.column == column, caught.value.message
    assert caught.value.offset == column - 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1 / 0", "division by zero"),
        ('"abc" * 2', "is not a number"),
        ('REGEX_MATCH("a", "(")', "bad regular expression"),
        ('SPLIT("a,b", "")', "separator"),
        ('YEAR("soon")', "is not a date"),
    ],
)
def test_cell_errors_are_values_not_failures(text: str, reason: str) -> None:
    from morket.columns.formula import CompiledFormula

    value, error = CompiledFormula(text, parse(text), {}).run({})
    assert value is None and error is not None and reason in error


def test_a_pathological_pattern_is_a_cell_error() -> None:
    from morket.columns.formula import CompiledFormula

    column = uuid.uuid4()
    formula = CompiledFormula("", parse('REGEX_MATCH({T}, "(a|aa)+$")'), {"T": column})
    value, error = formula.run({column: "a" * 5000 + "!"})
    assert value is None and error is not None and "took too long" in error


def test_no_way_out_to_python() -> None:
    for text in ('__import__("os")', "{A}.__class__", "A[0]", "lambda: 1", "open('x')"):
        with pytest.raises(FormulaSyntaxError):
            parse(text)


# -- renames: the expression follows a renamed column ------------------------------------------------

COLUMN_A, COLUMN_B = uuid.uuid4(), uuid.uuid4()
new_names = (
    st.text(st.characters(blacklist_characters="{}\x00", blacklist_categories=["Cs"]), min_size=1, max_size=20)
    .map(str.strip)
    .filter(lambda name: name != "" and name.casefold() not in ("b", "name", "empty"))
)


@settings(max_examples=300, deadline=None)
@given(expr, new_names)
def test_a_renamed_reference_reads_the_same_cells(node: Any, new_name: str) -> None:
    from morket.columns.formula import compile_formula, rename_reference

    text = show(node)
    table = {"A": COLUMN_A, "B": COLUMN_B, "Name": uuid.uuid4(), "Empty": uuid.uuid4()}
    refs = compile_formula(text, table).refs  # what the API stores: the names the formula reads
    renamed, new_refs = rename_reference(text, refs, COLUMN_A, new_name)
    # Same tree but for the name: the same value from the same cells, string literals untouched.
    assert evaluate(parse(renamed), {**ROW, new_name: ROW["A"]}) == reference(node)
    assert new_refs == {(new_name if n == "A" else n): c for n, c in refs.items()}
    # Saving it again with the table's new names resolves to the same columns and the same refs.
    table = {**{n: c for n, c in table.items() if n != "A"}, new_name: COLUMN_A}
    assert compile_formula(renamed, table).refs == new_refs


def test_a_rename_rewrites_references_only() -> None:
    from morket.columns.formula import rename_reference

    text = 'IF({ Domain } = "{Domain}", CONCAT({domain}, "x"), LOWER({Domain Name}))'
    refs = {"Domain": COLUMN_A, "domain": COLUMN_A, "Domain Name": COLUMN_B}
    renamed, new_refs = rename_reference(text, refs, COLUMN_A, "Home page")
    assert renamed == 'IF({Home page} = "{Domain}", CONCAT({Home page}, "x"), LOWER({Domain Name}))'
    assert new_refs == {"Home page": COLUMN_A, "Domain Name": COLUMN_B}


def test_a_name_a_formula_cannot_hold_is_refused() -> None:
    from morket.columns.formula import MAX_FORMULA, rename_reference

    with pytest.raises(FormulaSyntaxError, match="cannot contain"):
        rename_reference("{A} + 1", {"A": COLUMN_A}, COLUMN_A, "a {b}")
    long = " & ".join(["{A}"] * 400)
    assert len(long) < MAX_FORMULA
    with pytest.raises(FormulaSyntaxError, match="more than"):
        rename_reference(long, {"A": COLUMN_A}, COLUMN_A, "x" * 20)
    # A column the formula does not read changes nothing, whatever its name.
    assert rename_reference("{A} + 1", {"A": COLUMN_A}, COLUMN_B, "{}") == ("{A} + 1", {"A": COLUMN_A})
