"""What every screen with workers shares."""

from typing import TypeVar

from textual.screen import Screen

Result = TypeVar("Result")  # what the screen gives back when dismissed


class WorkerScreen(Screen[Result]):
    def from_worker(self, callback, *args, **kwargs) -> None:
        """From a worker thread: ``callback`` on the UI thread, unless this screen has been
        closed meanwhile (a worker's answer can come after escape, to widgets now gone)."""

        def if_open() -> None:
            if self.is_attached:
                callback(*args, **kwargs)

        self.app.call_from_thread(if_open)
