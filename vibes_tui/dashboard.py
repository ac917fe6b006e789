"""``vibes tui``: the lake opened while Textual is imported, then the app until it quits."""

import os
import sys


def dashboard() -> int:
    import threading

    opened: dict = {}

    def open_lake() -> None:
        from vibes_core import catalog
        from vibes_core.types import registry

        try:
            registry()  # a plugin in VIBES_TYPES that cannot load stops it here, in one line
            opened["lake"] = catalog.open_lake()
        except Exception as error:  # handed to the main thread
            opened["error"] = error

    # DuckDB opens the lake (mostly native code) while Textual is imported (Python): the two
    # overlap on two cores. Textual starts only after, so that it does not compete with it.
    opening = threading.Thread(target=open_lake, name="open-lake")
    opening.start()
    from vibes_tui.app import VibesApp

    opening.join()
    from vibes_core.errors import VibesError

    error = opened.get("error")
    if isinstance(error, VibesError):  # a one-line error, as for any command
        print(f"vibes: error: {error}", file=sys.stderr)
        return 1
    if error:
        raise error
    app = VibesApp(opened["lake"])
    app.run()
    if app.stopped_by:
        print(app.stopped_by, file=sys.stderr)
    code = app.return_code or 0  # 1 after an error that stopped it
    if not app.models_ready.is_set():
        # Quit while PyMC was still importing: the interpreter would wait seconds for that
        # thread. Nothing else can be working yet (a fit waits for the imports): leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
