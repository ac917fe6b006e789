"""A child process that stores one fit in MLflow: started when a lookup misses, it imports
MLflow and opens its store (3 s) on the other core while the parent samples, then stores what
the parent sends it and says so. See cache.Cache.start_storing.

Protocol, one JSON line each way: the parent writes the store call's arguments (the posterior
as a file path) and which store it means; the child answers {"run_id": ...}, {"error": ...},
or {} when its configuration names another store (it stored nothing: the parent stores).
Started but never sent anything (the fit failed, the parent was interrupted), it stores
nothing and exits.
"""

import json
import signal
import sys
from pathlib import Path


def main() -> int:
    # Ctrl-C at a terminal reaches the whole process group: the parent says what happened, and
    # this child ends without a word (a traceback of the import it was in said nothing).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from vibes_core.cache import Cache, CacheError
    from vibes_core.config import load_config

    cache = Cache(load_config())
    try:
        cache.connect()
        started = None
    except CacheError as error:
        started = str(error)
    request = sys.stdin.readline()
    if not request:
        return 0
    if started is not None:
        answer = {"error": started}
    else:
        call = json.loads(request)
        store = call.pop("store")
        if store != [cache.config.mlflow_tracking_uri, cache.config.mlflow_artifact_location]:
            answer = {}  # not stored: the parent stores it in its own
        else:
            call["posterior_path"] = Path(call["posterior_path"])
            try:
                answer = {"run_id": cache.store(**call)}
            except CacheError as error:
                answer = {"error": str(error)}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
