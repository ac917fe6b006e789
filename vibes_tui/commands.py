"""The command palette (ctrl+p): every experiment to open, and the main actions."""

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from vibes_core.units import counted
from vibes_tui.widgets.data import plain


class VibesCommands(Provider):
    def commands(self) -> list[tuple[str, object, str]]:
        """(text, action, help): an experiment is found by its name or its display name."""
        app = self.app
        home = app.home
        found = [
            (
                f"open {row.name}" + (f": {row.display}" if row.display != row.name else ""),
                partial(app.open_experiment, row.name),
                f"{row.type}, {counted(row.events, 'event')}",
            )
            for row in (home.rows.values() if home else [])
        ]
        return [
            *[(plain(text), run, help) for text, run, help in found],
            ("refresh the experiments", app.refresh_experiments, "read the lake again"),
            ("help: keys and screens", app.action_help, "every key binding"),
            ("change theme", app.action_change_theme, "pick a colour theme"),
        ]

    async def discover(self) -> Hits:
        for text, run, help in self.commands():
            yield DiscoveryHit(Content(text), run, text=text, help=Content(help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, run, help in self.commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, highlight(matcher, text), run, text=text, help=Content(help))


def highlight(matcher: Matcher, text: str) -> Content:
    """Matcher.highlight reads ``text`` as markup (a display name ``[/b]`` would raise):
    the same highlighting, of the text as it is."""
    content = Content(text)
    _, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
