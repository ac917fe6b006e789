"""vibes_core: experiments on a DuckLake lakehouse, with no user interface.

Nothing heavy is imported here; see ``catalog`` (experiments), ``lake`` (the connection),
``ingest`` (event files) and ``types`` (the experiment types).
"""

from vibes_core.errors import VibesError

__all__ = ["VibesError"]
