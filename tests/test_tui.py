"""The dashboard's first screen: the experiments in the lake, loaded without blocking."""

from textual.widgets import DataTable

from vibes_tui.app import VibesApp


async def test_lists_experiments(home, ab_test):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one(DataTable)
        assert table.row_count == 1
        assert [str(cell) for cell in table.get_row_at(0)][:4] == ["ab", "ab", "ab-test", "200"]
        await pilot.press("q")
    assert app.return_code == 0


async def test_empty_lake_says_how_to_start(home):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "no experiments yet" in status
