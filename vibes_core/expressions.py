"""Metric expressions are data, not code: the SQL a metric's ``--value``, ``--denominator`` and
``--where`` hold, checked before it reaches DuckDB.

A metric is kept in the shared catalog and runs in every teammate's process, so its
expressions are parsed (sqlglot, DuckDB's dialect) and every node of the tree must be of an
allowed kind: the table's columns, unqualified; literals; parentheses and unary minus;
``+ - * / %``; comparisons; ``AND``/``OR``/``NOT``; ``CASE``; ``COALESCE``; ``NULLIF``;
``IN`` a list; ``BETWEEN``; ``LIKE``/``ILIKE``; ``IS [NOT] NULL``; ``CAST``/``TRY_CAST``/``::``
to one of ``CAST_TYPES``; and the pure scalar functions of ``FUNCTIONS``. Anything else —
subqueries, table functions, other functions, aggregates, windows, parameters, several
statements — is refused in one line. Only the SQL sqlglot regenerates from the checked tree,
every identifier quoted, ever reaches DuckDB: checked on create and again on read.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from vibes_core.errors import InvalidOption, option
from vibes_core.names import quoted, shown
from vibes_core.text import has_control

# The scalar functions an expression may call: pure (no files, settings, clock or randomness),
# per event. sqlglot reads a few other spellings as the same function (ceiling, len,
# char_length, ltrim, rtrim, if); DuckDB's log(x) is log10(x) and log(b, x) is to base b.
FUNCTIONS: tuple[str, ...] = (
    "abs",
    "round",
    "floor",
    "ceil",
    "sqrt",
    "ln",
    "log",
    "log10",
    "exp",
    "least",
    "greatest",
    "lower",
    "upper",
    "length",
    "trim",
    "starts_with",
    "ends_with",
    "contains",
)
# The types a CAST may name (DuckDB's aliases of them too: INT, TEXT, REAL, NUMERIC, ...).
CAST_TYPES: tuple[str, ...] = (
    "BOOLEAN",
    "INTEGER",
    "BIGINT",
    "DOUBLE",
    "FLOAT",
    "VARCHAR",
    "DECIMAL(p,s)",
)
MAX_LENGTH = 1_000
SHOWN = 60  # characters of an expression quoted in a message
# Levels of parentheses and prefix operators (NOT, -): the parser recurses once per level, so
# how deep it may go would otherwise depend on the interpreter's recursion limit.
MAX_NESTING = 64
# What an expression may use, in a message.
ALLOWED = (
    "columns, literals, + - * / %, comparisons, AND/OR/NOT, CASE, COALESCE, NULLIF, IN, "
    "BETWEEN, LIKE, IS NULL, CAST and the functions " + ", ".join(FUNCTIONS)
)


class InvalidExpression(InvalidOption):
    """A metric expression that is not one allowed SQL expression over the table's columns."""


@dataclass(frozen=True)
class Expression:
    text: str  # what the user wrote, stripped
    sql: str  # regenerated from the checked tree, identifiers quoted: what DuckDB runs
    columns: frozenset[str]  # the table's columns it reads, in the table's spelling


def checked(text: str, columns: Iterable[str], what: str) -> Expression:
    """``text`` as an expression over a table of ``columns``, or ``InvalidExpression``.

    ``what`` is the option it was given as (``"where"``, ``"value"``; ``"--where"`` is read
    as ``"where"``): the message names it as ``option(what)``, which the CLI words ``--where``.
    """
    import sqlglot

    what = what.lstrip("-").replace("-", "_")
    text = text.strip()
    if not text:
        raise InvalidExpression(
            f"{option(what)} is empty: write an SQL expression over the table's columns"
        )
    said = f'{option(what)} "{shown(text, SHOWN)}"'
    if has_control(text):
        raise InvalidExpression(f"{said}: control characters are not allowed in an expression")
    if len(text) > MAX_LENGTH:
        raise InvalidExpression(
            f"{said}: {len(text):,} characters; an expression is at most {MAX_LENGTH:,}"
        )
    spelling = {column.lower(): column for column in columns}
    try:
        # A trailing ';' parses as nothing: look for one among the tokens (never in a string).
        tokens = sqlglot.tokenize(text, read="duckdb")
        if any(token.token_type == sqlglot.TokenType.SEMICOLON for token in tokens):
            raise InvalidExpression(f"{said}: one expression only (no ';')")
        if nesting(tokens, sqlglot.TokenType) > MAX_NESTING:
            raise InvalidExpression(f"{said}: nested too deeply (over {MAX_NESTING} levels)")
        # Parsed as a condition, not a statement: SELECT, DROP, SET... are not even read.
        tree = sqlglot.parse_one(text, read="duckdb", into=sqlglot.exp.Condition)
        for node in tree.walk():
            if refused := refusal(node, spelling):
                raise InvalidExpression(f"{said}: {refused}")
        for column in tree.find_all(sqlglot.exp.Column):  # DuckDB's names are case-insensitive
            column.this.set("this", spelling[column.name.lower()])
        used = frozenset(column.name for column in tree.find_all(sqlglot.exp.Column))
        sql = tree.sql(dialect="duckdb", identify=True, comments=False)
    except sqlglot.errors.SqlglotError as error:
        at = getattr(error, "errors", None) and error.errors[0].get("col")  # not a TokenError's
        near = f" (near character {at})" if at else ""
        raise InvalidExpression(
            f"{said}: not one SQL expression{near}; write one over the table's columns, "
            "e.g. status = 'paid'"
        ) from None
    except RecursionError:  # the parser and generator recurse once per level of nesting
        raise InvalidExpression(f"{said}: nested too deeply") from None
    return Expression(text=text, sql=sql, columns=used)


def nesting(tokens, kinds) -> int:
    """How deep the parser would recurse: open parentheses, and prefix operators in a row."""
    prefix = (kinds.NOT, kinds.DASH, kinds.PLUS)
    depth = deepest = run = 0
    for token in tokens:
        depth += {kinds.L_PAREN: 1, kinds.R_PAREN: -1}.get(token.token_type, 0)
        run = run + 1 if token.token_type in prefix else 0
        deepest = max(deepest, depth + run)
    return deepest


def refusal(node, spelling: dict[str, str]) -> str | None:
    """Why ``node`` (a sqlglot node) is not allowed, or None."""
    from sqlglot import exp

    if isinstance(node, exp.Column):
        if len(node.parts) > 1 or not isinstance(node.this, exp.Identifier):
            return (
                f"{shown(node.sql(dialect='duckdb'), SHOWN)} is a qualified column; "
                f"name the column alone (amount, not orders.amount)"
            )
        if node.name.lower() in spelling:
            return None
        return (
            f"no column {shown(node.name, SHOWN)} in the table (its columns: "
            f"{', '.join(map(shown, spelling.values()))})"
        )
    if isinstance(node, exp.Cast) and node.to.this not in cast_types():
        return (
            f"a cast to {shown(node.to.sql(dialect='duckdb'), SHOWN)} is not allowed; "
            f"cast to {', '.join(CAST_TYPES)}"
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() in FUNCTIONS:
        return None
    if type(node) in allowed_nodes():  # the class itself: a subclass may mean more
        return None
    if isinstance(node.parent, parts().get(type(node), ())):
        return None
    if isinstance(node, (exp.Query, exp.SubqueryPredicate)):
        return "a subquery is not allowed; an expression reads the event's own columns"
    if isinstance(node, exp.Window):
        return "a window function (OVER) is not allowed; an expression is computed per event"
    if isinstance(node, exp.AggFunc):
        return (
            f"the aggregate {node.sql_name().lower()} is not allowed; an expression is computed "
            "per event, and the metric's kind aggregates it"
        )
    if isinstance(node, exp.Star):
        return "* is not allowed; name one column"
    if isinstance(node, (exp.Placeholder, exp.Parameter)):
        return "parameters (?, $1) are not allowed; write the value"
    sql = node.sql(dialect="duckdb")
    # Named only when it reads as a call: sqlglot reads some operators as functions too
    # (x -> y, COLLATE), and some calls under another name (random() as rand).
    if isinstance(node, exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
        if sql.upper().startswith(f"{name.upper()}("):
            return (
                f"the function {shown(name.lower(), SHOWN)} is not allowed in a metric "
                f"expression; allowed: {', '.join(FUNCTIONS)}"
            )
    return f"{quoted(sql, SHOWN)} is not allowed in a metric expression; it may use {ALLOWED}"


def parts() -> dict[type, type]:
    """Nodes allowed only as a part of another: a column's name, a cast's type."""
    from sqlglot import exp

    return {exp.Identifier: exp.Column, exp.DataType: exp.Cast, exp.DataTypeParam: exp.DataType}


def allowed_nodes() -> frozenset[type]:
    from sqlglot import exp

    operators = (exp.Paren, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
    comparisons = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.And, exp.Or, exp.Not)
    predicates = (exp.In, exp.Between, exp.Like, exp.ILike, exp.Is)
    conditionals = (exp.Case, exp.If, exp.Coalesce, exp.Nullif)  # If: a CASE's WHEN
    casts = (exp.Cast, exp.TryCast)  # to a type of cast_types(), checked before
    functions = (
        exp.Abs,
        exp.Round,
        exp.Floor,
        exp.Ceil,
        exp.Sqrt,
        exp.Ln,
        exp.Log,  # log and log10
        exp.Exp,
        exp.Least,
        exp.Greatest,
        exp.Lower,
        exp.Upper,
        exp.Length,
        exp.Trim,
        exp.StartsWith,
        exp.EndsWith,
        exp.Contains,
    )
    literals = (exp.Literal, exp.Boolean, exp.Null)
    return frozenset(
        operators + comparisons + predicates + conditionals + casts + functions + literals
    )


def cast_types() -> set:
    from sqlglot import exp

    kind = exp.DataType.Type
    return {
        kind.BOOLEAN,
        kind.INT,
        kind.BIGINT,
        kind.DOUBLE,
        kind.FLOAT,
        kind.VARCHAR,
        kind.TEXT,
        kind.DECIMAL,
    }
