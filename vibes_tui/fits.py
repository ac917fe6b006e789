"""MCMC fits that outlive the screen that started them.

A fit takes 20-30 s. One started by an experiment's screen runs in an app-level worker, keyed by
what it fits (experiment, model, snapshot, prior, likelihood), so that leaving the screen
neither stops it nor throws it away: it finishes and is cached, and the screen opened again
follows it (its progress, then its result) instead of starting another. Fits stop only when the
app quits.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.worker import get_current_worker

from vibes_core.errors import VibesError, first_line
from vibes_core.schema import Summary
from vibes_tui.wording import field_name

FitKey = tuple  # (experiment, model, as_of, prior, likelihood): what one fit's draws depend on


class FitStopped(Exception):
    """Raised inside a fit's progress callback when the app quits: sampling stops."""


@dataclass(eq=False)
class FitJob:
    """One fit's state, written by its worker and read by the screens that follow it."""

    key: FitKey
    progress: float = 0.0  # of sampling done
    summary: Summary | None = None  # when done, if it succeeded
    error: str | None = None  # when done, if it failed: one line
    warnings: list[str] = field(default_factory=list)
    done: bool = False
    started_with: object = None  # what its starter will compare its result with (options)


class Fits:
    """The app's fits in progress, one per key."""

    def __init__(self, app) -> None:
        self.app = app
        self.running: dict[FitKey, FitJob] = {}
        self.lock = threading.Lock()

    def get(self, key: FitKey) -> FitJob | None:
        with self.lock:
            return self.running.get(key)

    def find(self, prefix: tuple) -> FitJob | None:
        """A fit in progress whose key starts with ``prefix``."""
        with self.lock:
            return next((j for k, j in self.running.items() if k[: len(prefix)] == prefix), None)

    def start(self, key: FitKey, fit: Callable, started_with: object = None) -> FitJob:
        """The fit of ``key`` in progress, else a new one running ``fit(progress, warn)``
        (call it on the UI thread)."""
        with self.lock:
            job = self.running.get(key)
            if job is not None:
                return job
            job = self.running[key] = FitJob(key, started_with=started_with)
        self.app.run_worker(lambda: self.run(job, fit), thread=True, group="fits", name="fit")
        return job

    def run(self, job: FitJob, fit) -> None:
        worker = get_current_worker()

        def progress(done: float) -> None:
            if worker.is_cancelled:  # the app is quitting
                raise FitStopped
            job.progress = done

        try:
            job.summary = fit(progress, job.warnings.append)
        except FitStopped:
            job.error = "stopped"
        except VibesError as error:
            job.error = error.words(field_name)
        except Exception as error:  # unexpected: said where the fit shows, and logged
            job.error = f"{type(error).__name__}: {first_line(error)}"
            if not worker.is_cancelled:
                self.app.call_from_thread(self.app.log_error, error, f"the fit of {job.key[0]}")
        finally:
            with self.lock:
                del self.running[job.key]
            job.done = True
