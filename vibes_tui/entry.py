"""The `vibes` command's entry point: the dashboard straight away, everything else via Typer.

`vibes tui` (or `vibes` alone on a terminal) skips building the Typer command tree, which
costs a fifth of a second of the dashboard's start-up.
"""

import sys


def main() -> int:
    args = sys.argv[1:]
    if args == ["tui"] or (not args and sys.stdin.isatty() and sys.stdout.isatty()):
        return dashboard()
    from vibes_tui.cli import main as cli

    return cli(args)


def dashboard() -> int:
    from vibes_core import catalog
    from vibes_core.errors import VibesError

    try:
        # Opening the lake before Textual starts keeps the two from competing for the GIL;
        # a lake that cannot be opened is a one-line error, as for any command.
        lake = catalog.open_lake()
    except VibesError as error:
        print(f"vibes: error: {error}", file=sys.stderr)
        return 1
    from vibes_tui.app import VibesApp

    VibesApp(lake).run()
    return 0
