"""What every screen with workers shares, and the App too: workers whose errors are reported."""

from typing import TypeVar

from textual.screen import Screen
from textual.worker import Worker, WorkerState

Result = TypeVar("Result")  # what the screen gives back when dismissed


class SurvivesWorkers:
    """For the App and every screen: a worker that raises is reported (a toast and the log),
    and the app goes on. Textual's workers exit the app on an error by default, each one
    unless told otherwise: this is the one place that tells them all."""

    def run_worker(self, work, *args, **options) -> Worker:
        return super().run_worker(work, *args, **{**options, "exit_on_error": False})

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.worker_failed(event.worker, event.worker.error)

    def worker_failed(self, worker: Worker, error: BaseException) -> None:
        """Screens that have a status line also show it there."""
        self.app.report_error(error, f"{type(self).__name__}.{worker.name}")


class WorkerScreen(SurvivesWorkers, Screen[Result]):
    def with_lake(self, work):
        """``work(lake)`` on a lake of this thread's own (from a worker), closed after."""
        lake = self.app.lake()
        try:
            return work(lake)
        finally:
            lake.close()

    def from_worker(self, callback, *args, **kwargs) -> None:
        """From a worker thread: ``callback`` on the UI thread, unless this screen has been
        closed meanwhile (a worker's answer can come after escape, to widgets now gone). An
        error in it is reported like the worker's own: one bad answer must not end the app."""

        def if_open() -> None:
            if self.is_attached:
                try:
                    callback(*args, **kwargs)
                except Exception as error:
                    self.app.report_error(
                        error, f"{type(self).__name__}.{getattr(callback, '__name__', 'callback')}"
                    )

        self.app.call_from_thread(if_open)
