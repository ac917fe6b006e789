"""Metric expressions are data, not code: hostile ones are refused in one line, and the allowed
ones run in DuckDB, regenerated, with the meaning of what was written."""

import subprocess
import sys

import duckdb
import pytest
from rich.markup import escape
from rich.text import Text

from vibes_core.errors import InvalidOption
from vibes_core.expressions import FUNCTIONS, Expression, InvalidExpression, checked
from vibes_core.text import has_control

COLUMNS = ("unit", "timestamp", "status", "amount", "items", "paid")
EVENTS = """
CREATE TABLE events (
    unit VARCHAR, timestamp TIMESTAMP, status VARCHAR, amount DOUBLE, items BIGINT, paid BOOLEAN
);
INSERT INTO events VALUES
    ('u1', '2024-01-01 10:00', 'paid', 12.5, 2, TRUE),
    ('u2', '2024-01-01 13:00', 'refunded', -3.0, 0, FALSE),
    ('u3', '2024-01-02 09:30', ' Paid ', 0.0, 5, NULL),
    ('u4', '2024-01-03 18:00', NULL, NULL, NULL, TRUE),
    ('u5', '2024-01-04 07:15', 'pending', 100.25, 1, FALSE);
"""

ALLOWED = [
    # columns, any case, quoted or not; literals; parentheses; unary minus
    "amount",
    "AMOUNT",
    '"Amount"',
    "timestamp IS NOT NULL",
    "unit = 'u1'",
    "1",
    "2.5",
    "'it''s'",
    "'back\\slash\\'",  # DuckDB reads no escapes in a string: nor must the regenerated SQL
    "TRUE",
    "FALSE",
    "NULL",
    "(amount + 1) * 2",
    "-amount",
    # arithmetic, comparisons, logic
    "amount + items - 1",
    "amount * items",
    "amount / 4",
    "items % 2",
    "amount = 12.5",
    "status <> 'paid'",
    "status != 'paid'",
    "amount < 1",
    "amount <= 0",
    "amount > 10",
    "amount >= 0",
    "paid AND amount > 0",
    "paid OR items > 1",
    "NOT paid",
    # CASE (both forms), COALESCE, NULLIF, IN, BETWEEN, LIKE, IS
    "CASE WHEN status = 'paid' THEN amount ELSE 0 END",
    "CASE status WHEN 'paid' THEN 1 WHEN 'refunded' THEN -1 END",
    "COALESCE(amount, 0)",
    "NULLIF(items, 0)",
    "status IN ('paid', 'pending')",
    "status NOT IN ('paid', 'pending')",
    "items IN (1, 5, amount)",
    "amount BETWEEN 0 AND 20",
    "amount NOT BETWEEN 0 AND 20",
    "status LIKE 'p%'",
    "status NOT LIKE 'p%'",
    "status ILIKE '%PAID%'",
    "status NOT ILIKE '%PAID%'",
    "status IS NULL",
    "status IS NOT NULL",
    "paid IS TRUE",
    # casts to the allowed types
    "CAST(amount AS INTEGER)",
    "TRY_CAST(status AS INTEGER)",
    "amount::BIGINT",
    "items::DOUBLE",
    "amount::FLOAT",
    "items::VARCHAR",
    "amount::DECIMAL(10,2)",
    "paid::INTEGER",
    "TRY_CAST(status AS BOOLEAN)",
    # the functions, and spellings sqlglot reads as one of them
    "abs(amount)",
    "round(amount)",
    "round(amount, 1)",
    "floor(amount)",
    "ceil(amount)",
    "ceiling(amount)",
    "sqrt(abs(amount))",
    "ln(abs(amount) + 1)",
    "log(abs(amount) + 1)",
    "log(2, abs(amount) + 1)",
    "log10(abs(amount) + 1)",
    "exp(items)",
    "least(amount, items)",
    "greatest(amount, items, 1)",
    "lower(status)",
    "upper(status)",
    "length(status)",
    "len(status)",
    "trim(status)",
    "starts_with(status, 'p')",
    "ends_with(status, 'd')",
    "contains(status, 'ai')",
    # a ';' in a string is a character; a comment is dropped
    "status = 'a;b'",
    "amount /* the price */ + 1",
]


@pytest.fixture(scope="module")
def events():
    connection = duckdb.connect()
    connection.execute(EVENTS)
    yield connection
    connection.close()


@pytest.mark.parametrize("text", ALLOWED)
def test_an_allowed_expression_runs_and_means_what_was_written(events, text):
    expression = checked(text, COLUMNS, "value")

    def rows(sql: str) -> list[tuple]:
        return events.sql(f"SELECT {sql}, typeof({sql}) FROM events ORDER BY unit").fetchall()

    # The text run by hand, as written, and the regenerated SQL: the same values, same types.
    assert rows(expression.sql) == rows(text)
    assert expression.text == text


def test_every_allowed_function_is_tried():
    tried = " ".join(ALLOWED).lower()
    assert [name for name in FUNCTIONS if f"{name}(" not in tried] == []


def test_columns_are_quoted_in_the_tables_spelling_and_listed():
    expression = checked('  CASE WHEN PAID THEN "Amount" END  ', COLUMNS, "value")
    assert expression == Expression(
        text='CASE WHEN PAID THEN "Amount" END',
        sql='CASE WHEN "paid" THEN "amount" END',
        columns=frozenset({"paid", "amount"}),
    )
    assert checked("1", COLUMNS, "denominator").columns == frozenset()


HOSTILE = [
    ("1; DROP TABLE orders", "one expression only (no ';')"),
    ("amount;", "one expression only (no ';')"),
    ("SELECT amount FROM orders", "not one SQL expression"),
    ("(SELECT 1)", "a subquery is not allowed"),
    ("amount IN (SELECT 1)", "a subquery is not allowed"),
    ("EXISTS (SELECT 1)", "a subquery is not allowed"),
    ("read_text('/etc/passwd')", "the function read_text is not allowed"),
    ("getenv('HOME')", "the function getenv is not allowed"),
    ("read_csv('x')", "the function read_csv is not allowed"),
    ("glob('*')", "the function glob is not allowed"),
    ("current_setting('threads')", "the function current_setting is not allowed"),
    ("getvariable('x')", "the function getvariable is not allowed"),
    ("now()", "the function now is not allowed"),
    ("random()", "'RANDOM()' is not allowed"),
    ("sum(amount)", "the aggregate sum is not allowed"),
    ("count(*)", "the aggregate count is not allowed"),
    ("row_number() OVER ()", "a window function (OVER) is not allowed"),
    ("sum(amount) OVER (PARTITION BY unit)", "a window function (OVER) is not allowed"),
    ("orders.amount", "orders.amount is a qualified column"),
    ("main.orders.amount", "main.orders.amount is a qualified column"),
    ("*", "* is not allowed"),
    (
        "amout",
        "no column amout in the table (its columns: unit, timestamp, status, amount, items, paid)",
    ),
    ("amount::JSON", "a cast to JSON is not allowed"),
    ("CAST(amount AS VARCHAR[])", "a cast to TEXT[] is not allowed"),
    ("DATE '2024-01-01'", "a cast to DATE is not allowed"),
    ("?", "parameters (?, $1) are not allowed"),
    ("$1", "parameters (?, $1) are not allowed"),
    ("status COLLATE nocase", "'status COLLATE nocase' is not allowed"),
    ("list_transform([1], x -> x + 1)", "is not allowed in a metric expression"),
    ("amount ^ 2", "the function power is not allowed"),  # sqlglot reads ^ as power()
    ("status SIMILAR TO 'p.*'", "is not allowed in a metric expression"),
    ("amount +", "not one SQL expression"),
    ("'unterminated", "not one SQL expression"),
    ("(" * 200 + "amount" + ")" * 200, "nested too deeply"),
    ("x" * 2000, "2,000 characters; an expression is at most 1,000"),
    ("amount\x1b]52;c;aGk=\x07", "control characters are not allowed"),
    ('"[/b]" > 1', "no column [/b] in the table"),
    ("", "is empty"),
    ("   ", "is empty"),
]


@pytest.mark.parametrize(("text", "problem"), HOSTILE)
def test_a_hostile_expression_is_refused_in_one_safe_line(text, problem):
    with pytest.raises(InvalidExpression) as raised:
        checked(text, COLUMNS, "where")
    message = str(raised.value)
    assert problem in message
    assert isinstance(raised.value, InvalidOption)
    assert message.startswith("where ")  # the option, in the core's words
    assert raised.value.words(lambda name: f"--{name}").startswith("--where ")  # the CLI's
    assert "\n" not in message and not has_control(message)
    assert len(message) < 400
    assert Text.from_markup(escape(message)).plain == message  # shown as itself, not markup


def test_the_users_text_is_shown_escaped_and_cut():
    with pytest.raises(InvalidExpression) as raised:
        checked("amount\x1b[2J", COLUMNS, "--where")  # a flag is read as its option
    assert str(raised.value) == (
        'where "amount\\x1b[2J": control characters are not allowed in an expression'
    )
    with pytest.raises(InvalidExpression) as raised:
        checked("amount + " * 200 + "1", COLUMNS, "value")
    assert str(raised.value).startswith('value "' + ("amount + " * 7)[:60] + '...": ')


def test_importing_the_module_does_not_import_sqlglot():
    probe = "import sys, vibes_core.expressions; print('sqlglot' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
