"""Configuration: the embedded default, overrides, and configured catalogs that need `db init`."""

import pytest

from tests.conftest import lake_state, run_vibes
from vibes_core.config import load_config, mask, normalize_catalog_url
from vibes_core.errors import ConfigError


def test_embedded_default_lives_under_vibes_home(tmp_path):
    config = load_config({"VIBES_HOME": str(tmp_path)})
    assert config.catalog_url == f"sqlite:{tmp_path / 'catalog.sqlite'}"
    assert config.data_path == f"{tmp_path / 'data'}/"
    assert config.auto_init


def test_overrides_are_configuration_not_code(tmp_path):
    config = load_config(
        {
            "VIBES_HOME": str(tmp_path),
            "VIBES_CATALOG_URL": "postgresql://postgres@127.0.0.1:5432/ducklake",
            "VIBES_DATA_PATH": "s3://ducklake/data/",
        }
    )
    assert config.catalog_url == "postgres:postgresql://postgres@127.0.0.1:5432/ducklake"
    assert config.catalog_kind == "postgres" and config.data_path == "s3://ducklake/data/"
    assert not config.auto_init
    assert normalize_catalog_url("ducklake:postgres:dbname=x") == "postgres:dbname=x"


def test_unknown_catalog_kind_is_a_clear_error():
    with pytest.raises(ConfigError, match="not a supported catalog"):
        normalize_catalog_url("mysql:db=x")


def test_configured_catalog_is_not_created_implicitly(cli, tmp_path, monkeypatch):
    catalog_file = tmp_path / "team" / "catalog.sqlite"
    monkeypatch.setenv("VIBES_CATALOG_URL", f"sqlite:{catalog_file}")
    monkeypatch.setenv("VIBES_DATA_PATH", str(tmp_path / "team" / "data") + "/")
    listed = cli("experiments", "list")
    assert listed.code == 1 and "run `vibes db init`" in listed.err
    assert not catalog_file.exists()
    assert cli("db", "init").json()["created"] is True
    assert cli("experiments", "list").json() == []


def test_first_use_creates_the_embedded_lake(cli, home):
    assert not home.exists()
    assert cli("experiments", "list").json() == []
    assert (home / "catalog.sqlite").exists()
    assert lake_state(home)[1] == {"vibes.experiments": 0}


def test_unwritable_home_is_a_clear_error(cli, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("VIBES_HOME", str(blocker / "home"))
    result = cli("experiments", "list")
    assert result.code == 1
    assert result.err.startswith("vibes: error: cannot create") and "VIBES_HOME" in result.err


def test_a_missing_extension_fails_with_what_to_install(home, tmp_path):
    """DuckDB must not download: an extension wheel that lacks its file is a one-line error."""
    shadow = tmp_path / "shadow" / "duckdb_extension_sqlite_scanner"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    env = {"PYTHONPATH": str(shadow.parent)}
    result = run_vibes("experiments", "list", env=env)
    assert result.code == 1
    assert result.err.strip() == (
        "vibes: error: DuckDB extension 'sqlite_scanner' is not installed: "
        "pip install duckdb-extension-sqlite-scanner==1.5.5"
    )


def test_extension_signatures_are_checked_once_per_file(home):
    """The first process checks each extension's signature; later ones trust the same,
    unchanged file, and any change to it brings the check back."""
    import json

    from vibes_core import catalog

    def checks_signatures() -> bool:
        with catalog.open_lake() as lake:
            setting = "SELECT current_setting('allow_unsigned_extensions')"
            return not lake.con.execute(setting).fetchone()[0]

    record = home / "cache" / "checked-extensions.json"
    assert checks_signatures() and record.exists()
    assert not checks_signatures()
    files = json.loads(record.read_text())
    assert len(files) == 2 and all(name.endswith(".duckdb_extension") for name in files)
    changed = {name: [size + 1, *rest] for name, (size, *rest) in files.items()}
    record.write_text(json.dumps(changed))
    assert checks_signatures()
    assert json.loads(record.read_text()) == files


def test_a_config_file_is_read_and_the_environment_wins(tmp_path):
    file = tmp_path / "vibes.toml"
    file.write_text(
        f'VIBES_HOME = "{tmp_path / "from-file"}"\n'
        'VIBES_DATA_PATH = "s3://bucket/data/"\n'
        'AWS_REGION = "eu-west-1"\n'
    )
    config = load_config({"VIBES_CONFIG": str(file), "AWS_REGION": "us-east-1"})
    assert config.home == tmp_path / "from-file" and config.data_path == "s3://bucket/data/"
    assert config.s3.region == "us-east-1"
    assert config.settings["AWS_REGION"] == ("us-east-1", "environment")
    assert config.settings["VIBES_DATA_PATH"] == ("s3://bucket/data/", "file")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('VIBES_HOME = "/tmp/x"\nVIBES_COLOUR = "blue"\n', "unknown key 'VIBES_COLOUR'"),
        ("VIBES_HOME = /tmp/x\n", "cannot read the config file"),
        ("AWS_REGION = 3\n", "AWS_REGION must be a string"),
    ],
)
def test_a_bad_config_file_is_one_line_and_exit_1(home, tmp_path, text, says):
    file = tmp_path / "vibes.toml"
    file.write_text(text)
    result = run_vibes("experiments", "list", env={"VIBES_CONFIG": str(file)})
    assert result.code == 1 and says in result.err
    assert len(result.err.strip().splitlines()) == 1
    missing = run_vibes("config", "show", env={"VIBES_CONFIG": str(tmp_path / "nope.toml")})
    assert missing.code == 1 and "does not exist" in missing.err


def test_passwords_never_show():
    assert mask("postgres:dbname=x host=h user=u password=s3cret port=5") == (
        "postgres:dbname=x host=h user=u password=**** port=5"
    )
    assert mask("postgresql+psycopg2://user:s3cret@host:5432/mlflow") == (
        "postgresql+psycopg2://user:****@host:5432/mlflow"
    )
    assert mask("at postgres:dbname=x password='a b': refused") == (
        "at postgres:dbname=x password=****: refused"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # A password may hold "#", spaces, "@", "/", ":" and "?" unencoded: a URL's userinfo
        # runs to the last "@" on its line.
        ("postgresql://u:pa#ss@h/db", "postgresql://u:****@h/db"),
        ("postgresql://u:p w@h/db", "postgresql://u:****@h/db"),
        ("postgresql://u:p@w x@h/db: refused", "postgresql://u:****@h/db: refused"),
        ("postgresql://u:a/b?c:d@h:5432/db", "postgresql://u:****@h:5432/db"),
        ("postgresql://u v:pw@h/db", "postgresql://u v:****@h/db"),
        ("mysql://:p#w @h", "mysql://:****@h"),
        # ... but not into the next line.
        ("http://h:9000/x\nwrite to a@b", "http://h:9000/x\nwrite to a@b"),
        # A query string's value runs to the next "&": "#", spaces and ";" included.
        ("postgresql://h/db?password=pa#ss", "postgresql://h/db?password=****"),
        (
            "postgresql://h/db?password=p w;x&sslmode=require",
            "postgresql://h/db?password=****&sslmode=require",
        ),
        ("postgresql://u@h/db?password=x&email=a@b", "postgresql://u@h/db?password=****&email=a@b"),
        # libpq's unquoted value ends at a space, its last character hidden as the others.
        ("postgres:password=ab' host=h", "postgres:password=**** host=h"),
        ("postgres:password=\\'x\\ y host=h", "postgres:password=**** host=h"),
        ('postgres:password="a \\" b" host=h', "postgres:password=**** host=h"),
        ("postgres:password='never closed host=h", "postgres:password=****"),
        # A TOML line quoted in an error.
        ('line 2: AWS_SECRET_ACCESS_KEY = "k/y+z"', "line 2: AWS_SECRET_ACCESS_KEY = ****"),
    ],
)
def test_passwords_with_any_character_never_show(text, masked):
    assert mask(text) == masked


ADVERSARIAL = 200_000  # characters: the old patterns took minutes on these (16 s at 40k)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("a" * ADVERSARIAL, "a" * ADVERSARIAL),
        ("a://b:" * (ADVERSARIAL // 6), "a://b:" * (ADVERSARIAL // 6)),
        (
            "a://b:" * (ADVERSARIAL // 6) + "postgresql://u:pw@h/db",
            "a://b:****@h/db",
        ),
        ("?" + "password" * (ADVERSARIAL // 8), "?" + "password" * (ADVERSARIAL // 8)),
        (
            "?" + "password" * (ADVERSARIAL // 8) + "=pw&x=1",
            "?" + "password" * (ADVERSARIAL // 8) + "=****&x=1",
        ),
        ("password=" * (ADVERSARIAL // 9) + "\\", "password=****\\"),
        (
            "x password" * (ADVERSARIAL // 10) + "=pw y",
            "x password" * (ADVERSARIAL // 10) + "=**** y",
        ),
        ("x://u:@" * (ADVERSARIAL // 7), "x://u:****@"),
    ],
    ids=[
        "letters",
        "schemes",
        "schemes-then-url",
        "query-key",
        "query-key-then-value",
        "libpq-keys",
        "libpq-words",
        "at-signs",
    ],
)
def test_masking_is_linear_on_adversarial_text(text, masked):
    """Data reaches mask() (a name quoted in an error): texts that make a backtracking pattern
    scan the rest of the text from each of many starts get their answer, the right one."""
    assert mask(text) == masked


def test_a_config_file_starting_with_a_byte_order_mark_is_read(home, tmp_path):
    """Editors on Windows save UTF-8 with a BOM: it is not part of the first key."""
    file = tmp_path / "vibes.toml"
    file.write_bytes(b'\xef\xbb\xbfAWS_REGION = "eu-west-1"\nVIBES_THEME = "nord"\n')
    env = {"VIBES_CONFIG": str(file)}
    shown = run_vibes("config", "show", env=env)
    assert shown.code == 0, shown.err
    assert shown.json()["settings"]["AWS_REGION"] == {"value": "eu-west-1", "source": "file"}
    listed = run_vibes("experiments", "list", env=env)
    assert listed.code == 0 and listed.json() == [], listed.err
