"""Experiments on units in the dashboard: the home headline, the scorecard, a metric's own
view, and the metrics screen. Through Pilot, on a real lake on disk (tests/snapshot_lake.py's
seeded shop: its treatment buys more and harms the errors guardrail)."""

import pytest
from textual.widgets import DataTable, TabbedContent

from tests import snapshot_lake
from tests.test_tui import column, settle, until
from vibes_core import catalog, inference
from vibes_tui.app import VibesApp
from vibes_tui.screens.experiments import ExperimentsScreen, brief
from vibes_tui.screens.scorecard import MetricScreen, ScorecardScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SHOP = snapshot_lake.SHOP


@pytest.fixture
def shop(home, tmp_path):
    with catalog.open_lake() as lake:
        snapshot_lake.build_shop(lake, tmp_path / "files", units=2000)
    return SHOP


def cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def test_the_headline_of_a_scorecard_names_the_harmed_guardrails_in_text():
    card = {
        "type": "assignments",
        "metrics": [
            {
                "name": "purchased",
                "role": "goal",
                "groups": [
                    {"name": "control", "control": True, "p_best": 0.01, "mean": 0.2},
                    {"name": "treatment", "control": False, "p_best": 0.99, "mean": 0.3},
                ],
            },
            {
                "name": "errors",
                "role": "guardrail",
                "groups": [
                    {"name": "control", "control": True, "p_best": 0.9},
                    {"name": "treatment", "control": False, "p_best": 0.1, "status": "harmed"},
                ],
            },
        ],
    }
    assert inference.headline(card) == "treatment 99% ✗errors"
    card["metrics"][1]["groups"][1]["status"] = "within margin"
    assert inference.headline(card) == "treatment 99%"
    # Cut to the list's column, the mark is kept, the leader's name shortened first.
    assert brief("treatment >99% ✗errors") == "treatm… >99% ✗errors"
    assert len(brief("a_very_long_variant_name 97% ✗errors,latency,refunds")) <= 20
    assert "✗" in brief("a_very_long_variant_name 97% ✗errors,latency,refunds")


async def test_home_lists_it_with_its_goal_s_leader_and_the_harmed_guardrail(shop, cli, tmp_path):
    assert (
        cli(
            "experiments",
            "create",
            "bare",
            "--type",
            "assignments",
            "--initial-data-file",
            str(tmp_path / "files" / "assignments.parquet"),
        ).code
        == 0
    )
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        names, results = column(app, "name"), column(app, "result")
        shown = dict(zip(names, results, strict=True))
        assert shown[SHOP].endswith("✗errors") and "%" in shown[SHOP]
        assert shown["bare"] == "no metrics"  # not "error"
        assert column(app, "type")[names.index(SHOP)] == "assignments"
        display = column(app, "display")[names.index(SHOP)]
        assert display == snapshot_lake.SHOP_DISPLAY  # brackets are text


async def test_the_scorecard_tab_then_a_metric_s_view_and_back(shop):
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        home = app.screen
        assert isinstance(home, ExperimentsScreen)
        home.select(SHOP)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ScorecardScreen)
        assert screen.query_one(TabbedContent).active == "scorecard"
        await until(pilot, lambda: screen.summary is not None, 60)
        table = screen.query_one("#card", DataTable)
        headers = [str(c.label) for c in table.ordered_columns]
        assert headers[:2] == ["role", "metric"] and "variant" not in headers  # one treated
        assert headers[-2:] == ["P(better)", "status"]
        rows = cells(table)
        assert [row[1] for row in rows] == ["purchased", "errors ↓", "revenue", "aov"]
        assert rows[0][0] == "goal" and rows[1][0] == "guardrail 5%"
        assert rows[0][-1] == "✓ better" and rows[1][-1] == "✗ harmed"
        bar = rows[0][headers.index("uplift") + 1]
        assert "●" in bar and "┼" in bar  # the median right of zero, on one scale
        assert bar.index("●") > bar.index("┼")
        decision = str(screen.query_one("#card-decision").render())
        assert decision.startswith("Do not ship treatment: purchased +")
        assert "beyond their 5% margin" in decision
        status = str(screen.query_one("#card-status").render())
        assert "exact scorecard" in status
        assert screen.title == snapshot_lake.SHOP_DISPLAY  # the display name, not markup

        await pilot.press("down", "enter")  # errors: its own view
        await settle(app, pilot)
        metric = app.screen
        assert isinstance(metric, MetricScreen) and metric.metric == "errors"
        await until(pilot, lambda: metric.summary is not None, 60)
        assert metric.summary["metric"] == "errors" and metric.summary["method"] == "exact"
        summary = cells(metric.query_one("#summary", DataTable))
        assert [row[0] for row in summary] == ["control*", "treatment"]
        assert metric.sub_title == f"{SHOP}: errors"
        await until(pilot, lambda: metric.history, 60)  # its other tabs load too
        await pilot.press("4")
        await settle(app, pilot)
        await pilot.press("f")  # no MCMC of one metric: said, nothing breaks
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen
        assert screen.query_one("#card", DataTable).cursor_row == 1


async def test_the_metrics_screen_lists_creates_and_deletes(shop):
    from textual.widgets import Select

    from vibes_tui.screens.confirm import Confirm
    from vibes_tui.screens.metrics import MetricForm, MetricsScreen

    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        rows = cells(screen.query_one("#metrics", DataTable))
        assert [row[0] for row in rows] == ["aov", "errors", "purchased", "revenue"]
        by_name = {row[0]: row for row in rows}
        assert by_name["purchased"][1:] == [
            "orders",
            "proportion",
            snapshot_lake.PAID,  # brackets as they are, never markup
            "7d",
            "higher ↑",
            SHOP,
        ]
        assert by_name["errors"][5] == "lower ↓"
        detail = str(screen.query_one("#metric-detail").render())
        assert detail.startswith("aov: the sum of amount over the sum of 1 of orders")
        tables = cells(screen.query_one("#tables", DataTable))
        assert [row[0] for row in tables] == ["errors", "orders"]
        assert tables[1][2] == "unit, timestamp, status, amount, items"

        # Delete: refused while an experiment uses it, said as an error; nothing changes.
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, Confirm)
        assert "used by checkout" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await settle(app, pilot)
        said = [n.message for n in app._notifications]
        assert any("aov is used by the experiment(s) checkout" in m for m in said), said
        assert len(cells(screen.query_one("#metrics", DataTable))) == 4

        # The form: each expression checked as typed, against the chosen table's columns.
        await pilot.press("n")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, MetricForm)
        await pilot.press(*"paid_orders")
        form.query_one("#table", Select).value = "orders"
        form.query_one("#kind", Select).value = "count"
        await pilot.pause()
        form.query_one("#where").focus()
        await pilot.press(*"read_text('/etc/passwd') = ''")
        await pilot.pause()
        error = str(form.query_one("#where-error").render())
        assert "read_text" in error and not form.query_one("#where-error").has_class("hidden")
        await pilot.press("ctrl+s")  # refused: nothing written
        await settle(app, pilot)
        assert app.screen is form
        form.query_one("#where").value = ""
        await pilot.press(*"amount > 10 AND status = 'paid'")
        await pilot.pause()
        assert form.query_one("#where-error").has_class("hidden")
        form.query_one("#window").focus()
        await pilot.press(*"7x")
        await pilot.pause()
        assert "is not a duration" in str(form.query_one("#window-error").render())
        await pilot.press("backspace", "d")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        await until(pilot, lambda: screen.query_one("#metrics", DataTable).row_count == 5, 30)
        row = {r[0]: r for r in cells(screen.query_one("#metrics", DataTable))}["paid_orders"]
        assert row[1:5] == ["orders", "count", "amount > 10 AND status = 'paid'", "7d"]
        assert row[6] == "-"

        # An unused metric is deleted after the confirmation.
        table = screen.query_one("#metrics", DataTable)
        table.move_cursor(row=table.get_row_index("paid_orders"))
        await pilot.press("d")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        await until(pilot, lambda: screen.query_one("#metrics", DataTable).row_count == 4, 30)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ExperimentsScreen)


async def test_the_form_refuses_what_runs_wrong_on_the_table_under_its_field(shop):
    from textual.widgets import Select

    from vibes_tui.screens.metrics import MetricForm

    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.open_metrics()
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, MetricForm)
        await pilot.press(*"spend")
        form.query_one("#table", Select).value = "orders"
        form.query_one("#kind", Select).value = "mean"
        form.query_one("#value").value = "status"  # a string where a number belongs
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form
        assert "must be a number" in str(form.query_one("#value-error").render())


async def test_the_palette_s_metrics_opens_them_from_the_scorecard(shop):
    from tests.test_palette import run
    from vibes_tui.screens.metrics import MetricsScreen

    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # the only experiment: its scorecard
        await settle(app, pilot)
        assert isinstance(app.screen, ScorecardScreen)
        await run(app, pilot, "Metrics")
        await settle(app, pilot)
        assert isinstance(app.screen, MetricsScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ScorecardScreen)


async def test_a_switches_the_adjustment_off_and_on_as_no_adjust_does(shop):
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.screen.select(SHOP)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        await until(pilot, lambda: screen.summary is not None, 60)
        adjusted = [m["adjustment"] for m in screen.summary["metrics"]]
        assert adjusted[0]["method"] == "cuped" and adjusted[-1] is None  # aov: a ratio
        assert "(CUPED)" in str(screen.query_one("#card-legend").render())
        await pilot.press("a")
        await until(pilot, lambda: screen.summary["metrics"][0]["adjustment"] is None, 60)
        with catalog.open_lake() as lake:
            plain = inference.posterior(lake, SHOP, inference.Settings(adjust=False), exact=True)
        assert screen.summary["metrics"][0]["groups"] == plain["metrics"][0]["groups"]
        assert "(CUPED)" not in str(screen.query_one("#card-legend").render())
        await pilot.press("enter")  # the goal's own view, unadjusted as the scorecard
        await settle(app, pilot)
        metric = app.screen
        await until(pilot, lambda: metric.summary is not None, 60)
        assert metric.summary["adjustment"] is None
        await pilot.press("escape", "a")
        await until(pilot, lambda: screen.summary["metrics"][0]["adjustment"] is not None, 60)
