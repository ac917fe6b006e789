"""The command palette (ctrl+p): every experiment to open, and the main actions.

An action is offered where its key works: new, delete and sort on the home screen, refit,
clear cached fits, export, options and planning the next one in an experiment, upload in both (to
the selected or the open experiment). Opening, refreshing, metrics, planning an experiment, help
and the theme are offered everywhere; of Textual's own
commands VibesApp.get_system_commands keeps quit and screenshot (its theme, keys panel and
maximize would stand beside ours).
"""

import sys
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from vibes_core.units import counted
from vibes_tui.widgets.data import plain


class VibesCommands(Provider):
    def commands(self) -> list[tuple[str, object, str]]:
        """(text, action, help): an experiment is found by its name or its display name."""
        from vibes_tui.screens.experiments import COLUMNS

        # Not imported for the palette: no experiment is open until it is.
        inspect = sys.modules.get("vibes_tui.screens.inspect")
        app, screen = self.app, self.screen  # the screen the palette was opened over
        home = app.home
        found = [
            (
                f"open {row.name}" + (f": {row.display}" if row.display != row.name else ""),
                partial(home.open, row.name),
                f"{row.type}, {counted(row.events, 'event')}",
            )
            for row in (home.rows.values() if home else [])
        ]
        if screen is home and home is not None:
            found.append(("new experiment", home.action_create, "create one (n)"))
            selected = home.selected_name()
            if selected:
                events = counted(home.rows[selected].events, "event")
                found += [
                    (f"upload events to {selected}", home.action_upload, "a file (u)"),
                    (f"delete {selected}", home.action_delete, f"{events}; asks first (d)"),
                ]
            found += [
                (
                    f"sort by {column.label}",
                    partial(home.action_sort, column.key),
                    f"reverse it: now {column.orders[home.sort_reverse]} (S)"
                    if column.key == home.sort_column
                    else f"{column.orders[0]} (s)",
                )
                for column in COLUMNS
            ]
            found.append(("refresh the experiments", app.refresh_experiments, "read the lake (r)"))
        elif inspect and isinstance(screen, inspect.InspectScreen):
            name = screen.experiment
            found += [
                (f"upload events to {name}", screen.action_upload, "a file (u)"),
                (f"refit {name}", screen.action_refit, "MCMC again, not from the cache (f)"),
                (f"clear cached fits of {name}", screen.action_clear_cache, "from MLflow (c)"),
            ]
            found += [
                (f"export {name}", screen.action_export, "CSV, JSON, Markdown (ctrl+e)"),
                (f"options of {name}", screen.action_options, "control, HDI, prior, ... (o)"),
                (
                    f"plan the next experiment like {name}",
                    partial(app.open_plan, name),
                    "units and days to find a lift (P)",
                ),
            ]
        found += [
            ("Metrics", app.open_metrics, "metrics and event tables; define, delete (m)"),
            (
                "Plan an experiment",
                app.open_plan,
                "units per variant and days to find a lift: from numbers or a metric",
            ),
            ("help: keys and screens", app.action_help, "every key binding (?)"),
            ("change theme", app.action_change_theme, "pick a colour theme, kept (ctrl+t)"),
        ]
        return [(plain(text), run, help) for text, run, help in found]

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
