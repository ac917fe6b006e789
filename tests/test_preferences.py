"""Preferences: the theme picked in the dashboard is kept in the config file, safely."""

import os
import stat

import pytest
from textual.command import CommandPalette
from textual.constants import DEFAULT_THEME

from tests.test_tui import settle, until
from vibes_core.config import (
    ConfigError,
    config_file,
    load_config,
    preference,
    save_preference,
)
from vibes_tui.app import VibesApp

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.usefixtures("home"),  # VIBES_HOME and the config directory: temporary
]


@pytest.fixture
def config(home, monkeypatch):
    """The config file the app reads and writes (not there yet), no VIBES_THEME set."""
    monkeypatch.delenv("VIBES_THEME", raising=False)
    monkeypatch.setattr(VibesApp, "start_warm_up", lambda app: None)  # no PyMC here
    path = config_file(os.environ)
    assert str(path).startswith(str(home.parent))  # never the user's own
    return path


async def pick_theme(app, pilot, name: str) -> None:
    """ctrl+t, the theme's name, enter: as a person picks one."""
    await pilot.press("ctrl+t")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), 5)
    await pilot.press(*name)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), 5)
    await pilot.pause()


async def test_the_theme_picked_is_saved_and_the_next_start_uses_it(config):
    assert DEFAULT_THEME != "dracula"
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert not config.exists()  # starting writes nothing
        await pick_theme(app, pilot, "dracula")
        assert app.theme == "dracula"
        assert config.read_text() == 'VIBES_THEME = "dracula"\n'
        assert stat.S_IMODE(os.stat(config).st_mode) == 0o600  # created owner-only

    app = VibesApp()
    assert app.theme == "dracula"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.theme == "dracula"
        assert config.read_text() == 'VIBES_THEME = "dracula"\n'


async def test_the_users_keys_comments_and_permissions_survive(config, home):
    config.parent.mkdir(parents=True)
    mine = f"# my settings\nVIBES_HOME = '{home}'  # the lake\n\nAWS_REGION = \"eu-west-1\"\n"
    config.write_text(mine)
    config.chmod(0o640)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pick_theme(app, pilot, "dracula")
        assert config.read_text() == mine + 'VIBES_THEME = "dracula"\n'
        await pick_theme(app, pilot, "nord")  # the same line changes, in place
        assert config.read_text() == mine + 'VIBES_THEME = "nord"\n'
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o640
    assert os.listdir(config.parent) == ["config.toml"]  # no temporary file left behind
    settings = load_config().settings
    assert settings["AWS_REGION"] == ("eu-west-1", "file")
    assert settings["VIBES_THEME"] == ("nord", "file")


async def test_an_unknown_theme_in_the_file_is_ignored(config):
    config.parent.mkdir(parents=True)
    config.write_text('VIBES_THEME = "no-such-theme"  # removed since\n')
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.is_running and app.theme == DEFAULT_THEME
    assert config.read_text() == 'VIBES_THEME = "no-such-theme"  # removed since\n'


async def test_an_unparseable_file_is_left_untouched(config):
    config.parent.mkdir(parents=True)
    broken = b'VIBES_HOME = "/tmp/unfinished\n# \xff not UTF-8 either\n'
    config.write_bytes(broken)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pick_theme(app, pilot, "dracula")
        assert app.is_running and app.theme == "dracula"  # for this session
        assert config.read_bytes() == broken
        assert any("theme was not saved" in n.message for n in app._notifications)


def test_the_environment_wins_and_a_file_it_cannot_keep_exact_is_not_written(tmp_path):
    file = tmp_path / "vibes.toml"
    env = {"VIBES_CONFIG": str(file)}
    save_preference("VIBES_THEME", "nord", env)
    assert preference("VIBES_THEME", env) == "nord"
    assert preference("VIBES_THEME", {**env, "VIBES_THEME": "dracula"}) == "dracula"
    # The key's line inside a multi-line string: editing it would change another setting.
    tricky = 'VIBES_HOME = """\nVIBES_THEME = "x"\n"""\n'
    file.write_text(tricky)
    with pytest.raises(ConfigError, match="edit it by hand"):
        save_preference("VIBES_THEME", "nord", env)
    assert file.read_text() == tricky


BOM = b"\xef\xbb\xbf"


async def test_a_file_with_a_byte_order_mark_is_read_and_keeps_it(config):
    config.parent.mkdir(parents=True)
    config.write_bytes(BOM + b'# mine\nVIBES_THEME = "nord"\n')
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.theme == "nord"
        await pick_theme(app, pilot, "dracula")
        assert config.read_bytes() == BOM + b'# mine\nVIBES_THEME = "dracula"\n'


async def test_a_read_only_file_is_left_as_it_is_and_the_toast_says_so(config):
    """Renaming a new file over it would replace it whatever its mode: it is not written."""
    config.parent.mkdir(parents=True)
    mine = b'AWS_REGION = "eu-west-1"\n'
    config.write_bytes(mine)
    config.chmod(0o444)
    before = os.stat(config)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pick_theme(app, pilot, "dracula")
        assert app.is_running and app.theme == "dracula"  # for this session
        said = [n.message for n in app._notifications if "theme was not saved" in n.message]
        assert len(said) == 1 and f"{config} is read-only" in said[0].replace("\n", ""), said
    after = os.stat(config)
    assert config.read_bytes() == mine and os.listdir(config.parent) == ["config.toml"]
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (
        before.st_ino,
        before.st_mode,
        before.st_mtime_ns,
    )
