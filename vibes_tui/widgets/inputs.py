"""The text field every form uses: Textual's Input, with its editing keys kept in order.

Textual 8.2.8's Input inserts a typed character in its own key handler, but runs a bound key
(ctrl+u, backspace, ←, home, ...) only after the key has bubbled up to the App. Keys that
arrive in one read (a fast typist, a paste without bracketed paste, ``tmux send-keys C-u
abc``, a screen reader) are all queued at the Input before that: ``ctrl+u`` then ``abc``
inserted ``abc`` and then cleared the line, ``abc`` included. (Textual issue #6605.)
"""

from textual import events
from textual.app import ComposeResult
from textual.dom import DOMNode
from textual.widgets import Input as TextualInput
from textual.widgets import Label

from vibes_tui.widgets.data import DataText


class Input(TextualInput):
    """An Input that runs its own key bindings when the key reaches it, in the order typed."""

    async def _on_key(self, event: events.Key) -> None:
        # Runs before Input's own handler (Textual calls each class's, subclass first). A key
        # bound here is the Input's to handle anyway: it is first in the App's binding chain,
        # and priority bindings (tab) were checked before the key was forwarded here.
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return


def checked_field(
    label: str, name: str, value: str = "", placeholder: str = "", compact: bool = False
) -> ComposeResult:
    """A labelled input, and under it where what is wrong with it is said (``#NAME-error``,
    hidden while empty: ``show_field_error``)."""
    yield Label(label)
    yield Input(value, placeholder=placeholder, id=name, compact=compact)
    yield DataText("", id=f"{name}-error", classes="error hidden")


def show_field_error(screen: DOMNode, name: str, message: str) -> None:
    """Say ``message`` under the field ``name`` of ``checked_field`` ("": nothing is wrong)."""
    shown = screen.query_one(f"#{name}-error", DataText)
    shown.update(message)
    shown.set_class(not message, "hidden")
