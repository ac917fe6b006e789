"""The dashboard in real terminals: keys that arrive in one read, the clipboard inside tmux,
the Linux console's glyphs, long paths in toasts."""

import base64
import contextlib
import fcntl
import itertools
import os
import pty
import re
import shlex
import shutil
import struct
import subprocess
import tempfile
import termios
import threading
import time

import pytest
from textual._xterm_parser import XTermParser
from textual.geometry import Region
from textual.widgets import Input as TextualInput
from textual.widgets._toast import Toast

from tests.conftest import VIBES
from tests.test_tui import settle, until
from vibes_core.analysis import Analysis
from vibes_tui.app import VibesApp
from vibes_tui.screens.create import CreateScreen
from vibes_tui.screens.experiments import ExperimentsScreen
from vibes_tui.screens.export import ExportScreen
from vibes_tui.screens.options import OptionsScreen
from vibes_tui.screens.upload import UploadScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (80, 24)

# --- keys that arrive in one read ---------------------------------------------------------

# What a terminal sends for: ctrl+e (end of line), ctrl+u (clear to its start), "12",
# backspace, "3", ← and "4". Typed one by one the field ends as "143".
BURST = "\x05\x15" + "12" + "\x7f" + "3" + "\x1b[D" + "4"


def form(kind: str, name: str):
    """Each screen with text fields, for the experiment ``name``."""
    if kind == "create":
        return CreateScreen()
    if kind == "upload":
        return UploadScreen(name)
    if kind == "options":
        return OptionsScreen(name, "ab-test", ["A", "B"], Analysis())
    from vibes_core import catalog, inference

    with catalog.open_lake() as lake:
        return ExportScreen(name, inference.posterior(lake, name, exact=True, plots=True))


async def type_at_once(app, pilot, keys: str) -> None:
    """``keys`` as the terminal driver hands them over after one read: every event queued
    at the App before any is handled, through Textual's own parser."""
    for event in XTermParser().feed(keys):
        event.set_sender(app)
        app.post_message(event)
    for _ in range(3):  # the keys, then what they bubble up
        await pilot.pause()


@pytest.mark.parametrize("kind", ["home", "create", "upload", "options", "export"])
async def test_editing_keys_sent_in_one_burst_with_text_apply_in_order(home, ab_test, kind):
    """ctrl+u then text in one read cleared the text too (`tmux send-keys C-u abc`; a fast
    typist): Textual ran the Input's bound keys after those typed behind them."""
    app = VibesApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        if kind != "home":
            app.push_screen(form(kind, ab_test))
            await until(pilot, lambda: not isinstance(app.screen, ExperimentsScreen), 30)
            await settle(app, pilot)
        fields = list(app.screen.query(TextualInput))
        assert fields
        for field in fields:
            for node in field.ancestors_with_self:  # fields another choice would show
                node.remove_class("hidden")
            await pilot.pause()
            field.focus()
            await pilot.pause()
            assert app.focused is field
            await type_at_once(app, pilot, BURST)
            assert field.value == "143", f"#{field.id}"


# --- y, the clipboard, per terminal -------------------------------------------------------


def toasts(app) -> list[str]:
    return [notification.message for notification in app._notifications]


async def press_y_on_home(app, pilot) -> str:
    """The toast that `y` on the first row brings; the row is what Textual's clipboard holds."""
    await settle(app, pilot)
    await pilot.press("y")
    await until(pilot, lambda: toasts(app), 10)
    assert app.clipboard.startswith("ab\tab-test\t200\t")
    return toasts(app)[-1]


@pytest.fixture
def terminal(monkeypatch):
    """Outside tmux and screen, in an xterm; each test says where it runs instead."""
    for name in ("TMUX", "STY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    return monkeypatch


@pytest.mark.parametrize(
    ("environment", "said"),
    [
        ({}, "sent ab's row to your terminal's clipboard (OSC 52)"),
        (
            {"TERM": "linux"},
            "ab's row was not copied: this console (TERM=linux) has no clipboard; "
            "in tmux, y copies to tmux's buffer",
        ),
        (
            {"TERM": "screen.xterm-256color", "STY": "1234.pts-0.host"},
            "sent ab's row through GNU screen to your terminal's clipboard (OSC 52)",
        ),
        (
            {"TERM": "tmux-256color"},  # tmux on the other side of SSH: it cannot be asked
            "sent ab's row to your terminal's clipboard (OSC 52); a tmux on the way passes it "
            "on only with set -g set-clipboard on",
        ),
    ],
    ids=["xterm", "linux-console", "screen", "tmux-over-ssh"],
)
async def test_y_says_where_the_copy_went_never_copied_when_unknown(
    home, ab_test, terminal, environment, said
):
    for name, value in environment.items():
        terminal.setenv(name, value)
    app = VibesApp()
    async with app.run_test(size=SIZE) as pilot:
        assert await press_y_on_home(app, pilot) == said


TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(TMUX is None, reason="tmux is not installed here")


def tmux(socket: str, *args: str) -> str:
    done = subprocess.run(
        [TMUX, "-S", socket, "-f", os.devnull, *args], capture_output=True, text=True, timeout=10
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Terminal:
    """A terminal attached to a tmux server: a pseudo-terminal whose output is kept, and
    which answers none of tmux's queries (tmux knows it by $TERM alone)."""

    def __init__(self, socket: str, term: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**os.environ, "TERM": term}
        env.pop("TMUX")
        self.client = subprocess.Popen(
            [TMUX, "-S", socket, "-f", os.devnull, "attach"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master, self.received = master, bytearray()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        with contextlib.suppress(OSError):  # the client has gone
            while data := os.read(self.master, 65536):
                self.received += data

    def close(self) -> None:
        self.client.kill()
        self.client.wait()
        os.close(self.master)


@pytest.fixture
def tmux_server(terminal):
    """A tmux server of the test's own (its own socket, no config file), the dashboard in it
    as far as $TMUX says; ``attach(term)`` attaches a Terminal to it."""
    terminals: list[Terminal] = []
    with tempfile.TemporaryDirectory(prefix="vibes-tmux-") as folder:  # a socket's path is short
        socket = f"{folder}/socket"
        tmux(socket, "new-session", "-d", "sleep 600")
        terminal.setenv("TMUX", f"{socket},{tmux(socket, 'display', '-p', '#{pid}').strip()},0")

        def attach(term: str) -> Terminal:
            terminals.append(Terminal(socket, term))
            for _ in range(100):
                if tmux(socket, "list-clients").strip():
                    return terminals[-1]
                time.sleep(0.05)
            raise AssertionError("the terminal did not attach")

        try:
            yield socket, attach
        finally:
            for attached in terminals:
                attached.close()
            subprocess.run([TMUX, "-S", socket, "kill-server"], capture_output=True)


def osc52(text: str) -> bytes:
    """What tmux writes to set the terminal's clipboard (xterm's Ms: selection, base64 text)."""
    return b"\x1b]52;;" + base64.b64encode(text.encode()) + b"\x07"


@needs_tmux
async def test_y_in_tmux_with_set_clipboard_off_copies_to_its_buffer_and_says_how_to_go_on(
    home, ab_test, tmux_server
):
    socket, attach = tmux_server
    tmux(socket, "set", "-g", "set-clipboard", "off")
    xterm = attach("xterm-256color")
    app = VibesApp()
    async with app.run_test(size=SIZE) as pilot:
        said = await press_y_on_home(app, pilot)
        assert said == (
            "copied ab's row to tmux's buffer (prefix ] pastes it); "
            "for your system clipboard too: set -g set-clipboard on"
        )
        assert tmux(socket, "show-buffer") == app.clipboard
        assert osc52(app.clipboard) not in xterm.received


@needs_tmux
async def test_y_in_tmux_by_default_reaches_the_terminal_it_is_attached_to(
    home, ab_test, tmux_server
):
    """tmux's default (set-clipboard external) drops OSC 52 from programs: "copied" was
    untrue. Through tmux's buffer, the terminal outside gets it."""
    socket, attach = tmux_server
    assert tmux(socket, "show", "-gv", "set-clipboard").strip() == "external"
    xterm = attach("xterm-256color")
    app = VibesApp()
    async with app.run_test(size=SIZE) as pilot:
        said = await press_y_on_home(app, pilot)
        assert said == (
            "copied ab's row to tmux's buffer (prefix ] pastes it) "
            "and sent it on to your terminal's clipboard"
        )
        assert tmux(socket, "show-buffer") == app.clipboard
        await until(pilot, lambda: osc52(app.clipboard) in xterm.received, 10)


@needs_tmux
@pytest.mark.parametrize(
    ("term", "said"),
    [
        (
            "screen",  # a terminal tmux does not know to take OSC 52
            "; tmux does not know that your terminal (screen) takes OSC 52: "
            "set -as terminal-features ',screen:clipboard'",
        ),
        ("linux", "; your console (TERM=linux) has no clipboard beyond it"),
        (None, "; no terminal is attached to tmux to pass it on to"),
    ],
)
async def test_y_in_tmux_says_why_tmux_did_not_pass_the_copy_on(
    home, ab_test, tmux_server, term, said
):
    socket, attach = tmux_server
    if term:
        attach(term)
    app = VibesApp()
    async with app.run_test(size=SIZE) as pilot:
        assert await press_y_on_home(app, pilot) == (
            f"copied ab's row to tmux's buffer (prefix ] pastes it){said}"
        )
        assert tmux(socket, "show-buffer") == app.clipboard


# --- toasts -------------------------------------------------------------------------------


def drawn_lines(widget) -> list[str]:
    """The text ``widget`` draws, line by line, its border and padding stripped."""
    region = Region(0, 0, *widget.outer_size)
    return [
        "".join(segment.text for segment in strip).strip(" ▊▎▌▐")
        for strip in widget.render_lines(region)
    ]


def toast_lines(app, start: str) -> list[str]:
    """The lines of the one toast shown, once it is the one that starts with ``start``."""
    toasts = list(app.screen.query(Toast))
    drawn = [line for line in drawn_lines(toasts[0]) if line] if len(toasts) == 1 else []
    return drawn if drawn and drawn[0].startswith(start) else []


@pytest.mark.parametrize("size", [SIZE, (81, 24), (100, 30), (200, 50)])
async def test_a_toast_breaks_lines_between_words_and_a_long_path_after_its_separators(home, size):
    path = "/srv/experiments/exported-summaries/checkout_button_redesign/summary-2026-12.md"
    message = (
        "the summary of the test was written to a file that replaced the one that was there "
        f"before it: {path}, which had been written by an earlier run of the dashboard"
    )
    app = VibesApp()
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(app, pilot)
        for shift in range(1, 13):  # each line's end falls on each letter of a word once
            said = f"{'w' * shift} {message}"
            app.clear_notifications()
            app.notify(said, timeout=30)

            await until(pilot, lambda said=said: toast_lines(app, said[:14]), 10)
            toast, shown = app.screen.query_one(Toast), toast_lines(app, said[:14])
            assert len(shown) > 3
            joined = shown[0]
            for before, line in itertools.pairwise(shown):
                # A path goes on after its "/", anything else after a space; and each line is
                # as full as it can be: what the next one starts with did not fit.
                in_path = before.endswith("/")
                joined += line if in_path else f" {line}"
                first = re.match(r"[^/]*/?" if in_path else r"\S+", line)[0]
                assert len(before) + (0 if in_path else 1) + len(first) > toast.size.width
            assert joined == said


# --- the Linux console's font -------------------------------------------------------------


def pane_once(socket: str, shown: str, seconds: float = 60) -> str:
    """The pane's text once ``shown`` is on it."""
    for _ in range(int(seconds * 10)):
        text = tmux(socket, "capture-pane", "-p")
        if shown in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{shown!r} never showed:\n{text}")


@needs_tmux
@pytest.mark.parametrize(("term", "circles"), [("xterm-256color", "⭘●"), ("linux", "o*")])
def test_on_the_linux_console_the_header_and_radio_buttons_draw_no_glyph_its_font_lacks(
    home, ab_test, term, circles
):
    """The real `vibes tui` in a tmux pane, as TERM says: the Header's icon and a chosen radio
    button's dot are circles the console's fonts do not have (each showed as a box)."""
    icon, dot = circles
    with tempfile.TemporaryDirectory(prefix="vibes-tmux-") as folder:
        socket = f"{folder}/socket"
        env = {
            "TERM": term,
            "VIBES_HOME": str(home),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        }
        command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), VIBES, "tui"])
        tmux(socket, "new-session", "-d", "-x", "80", "-y", "24", command)
        try:
            home_screen = pane_once(socket, "1 experiment")
            assert home_screen.splitlines()[0].split() == [icon, "vibes"]
            tmux(socket, "send-keys", "n")
            form = pane_once(socket, "a file")
            assert f"▐{dot}▌ a file" in form
            assert not {"⭘", "●"} & set(form + home_screen) - set(circles)
        finally:
            subprocess.run([TMUX, "-S", socket, "kill-server"], capture_output=True)
