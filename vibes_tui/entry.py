"""The `vibes` command's entry point: the dashboard straight away, everything else via Typer.

`vibes tui` (or `vibes` alone on a terminal) skips building the Typer command tree, which
costs a fifth of a second of the dashboard's start-up.
"""

import os
import sys


def main() -> int:
    from vibes_core.errors import VibesError

    args = sys.argv[1:]
    # A shell asking for completions runs `vibes` with no arguments, perhaps on the terminal
    # (fish's --condition, or by hand): Typer answers it, the dashboard must not start.
    completing = "_VIBES_COMPLETE" in os.environ
    try:
        if args == ["tui"] or (
            not args and not completing and sys.stdin.isatty() and sys.stdout.isatty()
        ):
            from vibes_tui.dashboard import dashboard

            return dashboard()
        from vibes_tui.cli import main as cli

        return cli(args)
    except VibesError as error:  # e.g. a module in VIBES_TYPES that cannot be imported
        print(f"vibes: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting, before the CLI handles it itself
        print("vibes: interrupted", file=sys.stderr)
        return 130
