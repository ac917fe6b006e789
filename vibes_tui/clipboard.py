"""Where `y` copies to, and an honest sentence about it (no Textual here).

A terminal never answers OSC 52 (the escape sequence that sets its clipboard), so the dashboard
cannot know that a copy arrived: it says "sent", not "copied", unless it put the text somewhere
itself. Inside tmux it does: tmux's paste buffer, which tmux passes on to the terminal's
clipboard when its set-clipboard option and the terminal allow (by default, set-clipboard
external, tmux drops OSC 52 from programs: "copied" used to be untrue there). The Linux console
has no clipboard at all: nothing is sent there.
"""

import base64
import os
import shutil
import subprocess
from dataclasses import dataclass

from vibes_tui.terminal import PLAIN_TERMINALS, plain_terminal

TMUX_PASTE = "prefix ] pastes it"


@dataclass(frozen=True)
class Copy:
    """How to copy here: ``via`` is "tmux" (its buffer, through the tmux command: what to say
    is known once tmux answers, see ``copy_to_tmux``), "osc52" (the sequence to write,
    ``sequence``) or "none"; ``said``: the toast."""

    via: str
    sequence: str = ""
    said: str = ""


def osc52(text: str) -> str:
    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\a"


def how_to_copy(text: str, what: str) -> Copy:
    """From the environment alone: the innermost of tmux ($TMUX) or GNU screen ($STY) first."""
    term = os.environ.get("TERM", "")
    if os.environ.get("TMUX"):
        return Copy("tmux")
    if os.environ.get("STY"):  # screen passes a DCS string's contents on to the terminal
        return Copy(
            "osc52",
            f"\x1bP{osc52(text)}\x1b\\",
            f"sent {what} through GNU screen to your terminal's clipboard (OSC 52)",
        )
    if plain_terminal():
        return Copy(
            "none",
            said=f"{what} was not copied: this console (TERM={term}) has no clipboard; "
            "in tmux, y copies to tmux's buffer",
        )
    if term.startswith(("tmux", "screen")):  # tmux or screen on the other side of SSH
        return Copy(
            "osc52",
            osc52(text),
            f"sent {what} to your terminal's clipboard (OSC 52); a tmux on the way passes it "
            "on only with set -g set-clipboard on",
        )
    return Copy("osc52", osc52(text), f"sent {what} to your terminal's clipboard (OSC 52)")


def tmux(*args: str, text: str | None = None) -> str:
    """A tmux command to the server in $TMUX; its output. OSError if tmux refused it."""
    command = shutil.which("tmux")
    if command is None:
        raise OSError("tmux is not on the PATH")
    try:
        done = subprocess.run(
            [command, *args],
            input=text or "",
            capture_output=True,
            text=True,
            timeout=5,
            start_new_session=True,  # no terminal, no signals from ours
        )
    except subprocess.TimeoutExpired as error:
        raise OSError("tmux did not answer in 5 s") from error
    if done.returncode:
        raise OSError(done.stderr.strip().splitlines()[0] if done.stderr.strip() else "failed")
    return done.stdout.strip()


def copy_to_tmux(text: str, what: str) -> str:
    """``text`` into tmux's paste buffer and, unless set-clipboard is off, on to the terminal's
    clipboard as tmux does it (``load-buffer -w``, tmux 3.2 and later): the toast. OSError if
    tmux did not take it."""
    buffered = f"copied {what} to tmux's buffer ({TMUX_PASTE})"
    if tmux("show-options", "-gv", "set-clipboard") == "off":  # the user's wish: buffer only
        tmux("load-buffer", "-", text=text)
        return f"{buffered}; for your system clipboard too: set -g set-clipboard on"
    try:
        tmux("load-buffer", "-w", "-", text=text)
    except OSError:
        tmux("load-buffer", "-", text=text)
        return f"{buffered}; this tmux (before 3.2) cannot pass it on to your system clipboard"
    terminal = tmux("display-message", "-p", "#{client_termname}")
    features = tmux("display-message", "-p", "#{client_termfeatures}").split(",")
    if not terminal:  # keys sent by `tmux send-keys` to a detached session
        return f"{buffered}; no terminal is attached to tmux to pass it on to"
    if terminal in PLAIN_TERMINALS:
        return f"{buffered}; your console (TERM={terminal}) has no clipboard beyond it"
    if "clipboard" not in features:
        return (
            f"{buffered}; tmux does not know that your terminal ({terminal}) takes OSC 52: "
            f"set -as terminal-features ',{terminal}:clipboard'"
        )
    return f"{buffered} and sent it on to your terminal's clipboard"
