"""The command palette (ctrl+p): every experiment to open, and the main actions."""

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class VibesCommands(Provider):
    def commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        home = app.home
        found = [
            (f"open {row.name}", partial(app.open_experiment, row.name),
             f"{row.type}, {row.events:,} events")
            for row in (home.rows.values() if home else [])
        ]  # fmt: skip
        return [
            *found,
            ("refresh the experiments", app.refresh_experiments, "read the lake again"),
            ("help: keys and screens", app.action_help, "every key binding"),
            ("change theme", app.action_change_theme, "pick a colour theme"),
        ]

    async def discover(self) -> Hits:
        for text, run, help in self.commands():
            yield DiscoveryHit(text, run, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, run, help in self.commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=help)
