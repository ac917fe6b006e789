"""Where the lake lives: the embedded default under one data directory, or configured services.

The embedded default is a DuckLake catalog in SQLite plus local Parquet files under
``VIBES_HOME`` (default: the platform's user data directory). ``VIBES_CATALOG_URL`` and
``VIBES_DATA_PATH`` point the same program at e.g. a PostgreSQL catalog and an ``s3://`` path.

Every setting is an environment variable, or the same key in a TOML file: ``$VIBES_CONFIG``,
else ``config.toml`` in the platform's user config directory (``~/.config/vibes/`` on Linux).
The environment wins over the file. The dashboard writes its preferences (``VIBES_THEME``)
back into that file: see ``save_preference``.
"""

import codecs
import contextlib
import json
import os
import re
import tempfile
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from vibes_core.errors import ConfigError

CATALOG_KINDS = ("sqlite", "postgres")
KEYS = (
    "VIBES_HOME",
    "VIBES_CATALOG_URL",
    "VIBES_DATA_PATH",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_S3_BUCKET_NAME",
    "MLFLOW_S3_ENDPOINT_URL",
    "VIBES_THEME",  # the dashboard's colour theme (a preference: it saves the one picked)
)
# What boto3 (MLflow's S3 artifacts) reads from the process environment itself.
EXPORTED = tuple(key for key in KEYS if key.startswith(("AWS_", "MLFLOW_S3_")))


@dataclass(frozen=True)
class S3:
    """Where S3 is and how to sign in (lake.use_s3 makes it a DuckDB secret)."""

    key_id: str | None
    secret: str | None
    region: str | None
    endpoint: str | None  # e.g. http://localhost:9000; None: AWS itself


@dataclass(frozen=True)
class Config:
    home: Path
    catalog_url: str  # DuckLake metadata location without the "ducklake:" prefix
    data_path: str  # absolute, or a URL
    auto_init: bool  # the embedded catalog creates itself; a configured one needs `vibes db init`
    mlflow_tracking_uri: str
    mlflow_artifact_location: str | None  # None: the tracking server's default
    s3: S3 | None = None  # set when the data path is on S3
    # VIBES_DATA_PATH was relative: resolved against the working directory to create a lake,
    # but an existing lake's own (absolute) data path wins over it.
    relative_data_path: bool = False
    settings: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (value, source)
    file: Path | None = None  # the config file read, if any

    def export_environment(self) -> None:
        """Settings from the file that boto3 and MLflow read from the environment only."""
        for key in EXPORTED:
            value, source = self.settings.get(key, (None, None))
            if source == "file":
                os.environ.setdefault(key, value)

    @property
    def artifact_s3(self) -> S3:
        """Where MLflow's artifacts on S3 are and how to sign in: the lake's keys, at
        MLFLOW_S3_ENDPOINT_URL if it has its own endpoint."""
        env = {key: value for key, (value, _) in self.settings.items()}
        return s3_of(env, env.get("MLFLOW_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL"))

    @property
    def catalog_kind(self) -> str:
        return self.catalog_url.split(":", 1)[0]

    @property
    def sqlite_file(self) -> Path | None:
        """The embedded catalog's file; None for a PostgreSQL catalog."""
        return Path(self.catalog_url.split(":", 1)[1]) if self.catalog_kind == "sqlite" else None


# Set by the CLI when the user presses Ctrl-C. DuckDB can swallow the KeyboardInterrupt of a
# query it was running; the lake looks here before committing, so no write commits after it.
INTERRUPTED = threading.Event()
# Set once a write of this process has committed, so that a Ctrl-C landing after it is not
# reported as having rolled it back.
COMMITTED = threading.Event()
# Set while a write commits: a Ctrl-C then only sets INTERRUPTED, and lands once it is noted.
HOLDING = threading.Event()


def s3_of(env: dict, endpoint: str | None) -> S3:
    return S3(
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
        env.get("AWS_REGION"),
        endpoint,
    )


def private_dir(folder: Path, home: Path) -> None:
    """Create ``folder`` if missing; under (or at) ``home`` with owner-only permissions (0700),
    ``home`` first, so that nobody else can read the lake or the cache inside."""
    inside = folder == home or home in folder.parents
    if not inside:
        folder.mkdir(parents=True, exist_ok=True)
        return
    home.parent.mkdir(parents=True, exist_ok=True)
    # Home down to the folder, each made owner-only: mkdir(parents=True) would give the ones
    # between the default mode.
    for step in [*reversed(folder.parents), folder]:
        if step == home or home in step.parents:
            step.mkdir(mode=0o700, exist_ok=True)


def default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("vibes", appauthor=False))


def normalize_catalog_url(url: str) -> str:
    """Accept ``sqlite:PATH``, ``postgres:<libpq string>`` or a ``postgresql://`` URL."""
    url = url.strip().removeprefix("ducklake:")
    if url.startswith(("postgresql://", "postgres://")):
        return f"postgres:{url}"
    kind, _, rest = url.partition(":")
    if not rest or kind not in CATALOG_KINDS:
        raise ConfigError(
            f"VIBES_CATALOG_URL {mask(kind)!r} is not a supported catalog: "
            "use sqlite:PATH, postgres:'dbname=... host=...' or postgresql://user@host/db"
        )
    if kind == "sqlite":  # resolved once, like any relative path: not again in each directory
        return f"sqlite:{Path(rest).expanduser().absolute()}"
    return url


def absolute_data_path(data_path: str) -> str:
    """A local VIBES_DATA_PATH made absolute, against the working directory of the command
    that reads the configuration: DuckLake would store a relative one as it is and resolve it
    again in every directory a command runs in, spreading one experiment's files over several."""
    if "://" in data_path:
        return data_path
    return str(Path(data_path).expanduser().absolute()).rstrip("/") + "/"


def config_file(env) -> Path:
    if env.get("VIBES_CONFIG"):
        return Path(env["VIBES_CONFIG"]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("vibes", appauthor=False)) / "config.toml"


def read_file(path: Path, required: bool) -> dict[str, str]:
    if not path.is_file():
        if required:
            raise ConfigError(f"VIBES_CONFIG {path} does not exist: create it or unset it")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM (Notepad's) is no key
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read the config file {path}: {error}") from error
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}")
    wrong = [key for key, value in data.items() if not isinstance(value, str)]
    if wrong:
        raise ConfigError(f"{path}: {wrong[0]} must be a string (in quotes)")
    return data


def load_config(env: os._Environ | dict | None = None) -> Config:
    env = os.environ if env is None else env
    path = config_file(env)
    from_file = read_file(path, required=bool(env.get("VIBES_CONFIG")))
    settings = {key: (from_file[key], "file") for key in from_file}
    settings |= {key: (env[key], "environment") for key in KEYS if env.get(key)}
    env = {key: value for key, (value, _) in settings.items()}
    home = Path(env.get("VIBES_HOME") or default_home()).expanduser().absolute()
    catalog = env.get("VIBES_CATALOG_URL")
    data_path = env.get("VIBES_DATA_PATH")
    return Config(
        home=home,
        catalog_url=normalize_catalog_url(catalog)
        if catalog
        else f"sqlite:{home / 'catalog.sqlite'}",
        data_path=absolute_data_path(data_path) if data_path else str(home / "data") + "/",
        auto_init=not catalog,
        mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}",
        mlflow_artifact_location=artifact_location(env, home),
        s3=s3_of(env, env.get("AWS_ENDPOINT_URL"))
        if (data_path or "").startswith("s3://")
        else None,
        relative_data_path=bool(data_path)
        and "://" not in data_path
        and not Path(data_path).expanduser().is_absolute(),
        settings=settings,
        file=path if from_file else None,
    )


def preference(key: str, env: os._Environ | dict | None = None) -> str | None:
    """A preference (e.g. ``VIBES_THEME``) from the environment, else the config file; None
    if unset or if the file cannot be read (a preference never stops anything)."""
    env = os.environ if env is None else env
    if env.get(key):
        return env[key]
    try:
        return read_file(config_file(env), required=False).get(key)
    except ConfigError:
        return None


def save_preference(key: str, value: str, env: os._Environ | dict | None = None) -> Path:
    """Set ``key = "value"`` in the config file, every other line (keys, comments, layout)
    kept as it is; the file if written. There is no TOML writer in the standard library: the
    key's line is edited (or appended), and the result must parse to the same settings but
    for ``key``, or nothing is written. Atomic: a temporary file renamed over it, with its
    permissions (owner-only when created) and its byte order mark if it starts with one. A file
    that does not parse, or that is read-only, is left untouched (ConfigError)."""
    env = os.environ if env is None else env
    path = Path(os.path.realpath(config_file(env)))  # a symlinked dotfile stays a symlink
    try:
        raw = path.read_bytes() if path.exists() else b""
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        text = raw.removeprefix(bom).decode()
        before = tomllib.loads(text)
        unwritable = path.exists() and read_only(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read the config file {path}: {error}") from error
    if unwritable:
        raise ConfigError(
            f"the config file {path} is read-only: left as it is; make it writable to save {key}"
        )
    quoted = json.dumps(value, ensure_ascii=False)  # a TOML basic string, checked below
    line = re.compile(
        rf"""^([ \t]*(?:{key}|"{key}"|'{key}')[ \t]*=[ \t]*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*')""",
        re.MULTILINE,
    )
    if line.search(text):
        after = line.sub(lambda match: match[1] + quoted, text, count=1)
    else:
        newline = "\r\n" if "\r\n" in text else "\n"
        ended = not text or text.endswith("\n")
        after = text + ("" if ended else newline) + f"{key} = {quoted}{newline}"
    try:
        same = tomllib.loads(after) == before | {key: value}
    except tomllib.TOMLDecodeError:
        same = False
    if not same:
        raise ConfigError(f"cannot set {key} in {path} without rewriting it: edit it by hand")
    try:
        mode = os.stat(path).st_mode & 0o7777 if path.exists() else 0o600
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(bom + after.encode())
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        raise ConfigError(f"cannot write the config file {path}: {error}") from error
    return path


def read_only(path: Path) -> bool:
    """A file its owner made read-only, or that this process may not write. Renaming another
    file over it would replace it all the same (the directory's permission decides that)."""
    return not os.stat(path).st_mode & 0o222 or not os.access(path, os.W_OK)


def artifact_location(env, home: Path) -> str | None:
    bucket = env.get("MLFLOW_S3_BUCKET_NAME")
    if bucket:
        return f"s3://{bucket}/vibes"
    if env.get("MLFLOW_TRACKING_URI"):
        return None
    return (home / "mlartifacts").as_uri()


SECRET_KEYS = ("AWS_SECRET_ACCESS_KEY",)
HIDDEN = "****"
# A key whose value is a secret, in libpq's "key = value" strings, URL query strings and TOML
# lines: password, sslpassword, secret_access_key, X-Amz-Security-Token, ... with its "=".
# Every quantifier is possessive and the lookahead atomic, so no text makes it backtrack: it
# reads each word once from its start (the lookbehind fails at once inside a word).
SECRET_KEY = re.compile(
    r"(?<![\w-])(?=[\w-]*?(?:password|passwd|pwd|secret|token))[\w-]++\s*+=\s*+", re.IGNORECASE
)
# A value after its key: quoted (libpq's \' and \\ inside; unclosed, to the end), else up to a
# space unless escaped (libpq), or, in a query string, up to the next "&" or the end of the line.
QUOTED = {q: re.compile(rf"{q}(?:[^{q}\\]|\\.)*+{q}?", re.DOTALL) for q in ("'", '"')}
UNQUOTED = re.compile(r"(?:\\.|[^\s\\])*+")
QUERY_VALUE = re.compile(r"[^&\n]*+")


def mask(text: str) -> str:
    """``text`` with every secret in it hidden: passwords in URLs (``user:password@``,
    ``?password=``) and in libpq strings (``password=...``, quoted or not), tokens, keys.

    The one function for anything that shows a URL, a setting or an error that may quote one.
    Data reaches it (names quoted in errors), so it takes time linear in the text's length.
    """
    spans = sorted([*url_passwords(text), *secret_values(text)])
    out, done = [], 0
    for start, end in spans:
        if start > done or not out:  # a new span; one overlapping the last only extends it
            out += [text[done:start], HIDDEN]
        done = max(done, end)
    return "".join(out) + text[done:]


def url_passwords(text: str):
    """Where the passwords of ``scheme://user:password@host`` are. A password may hold "@",
    "/", "#", ":" and spaces unencoded, so a URL's userinfo is taken to run to the last "@"
    on its line (more than a parser would take, never less): all of it after its first ":"."""
    start = 0
    while (found := text.find("://", start)) >= 0:
        begin = found + 3
        line_end = text.find("\n", begin)
        line_end = len(text) if line_end < 0 else line_end
        at = text.rfind("@", begin, line_end)
        if at < 0:  # no userinfo on the rest of the line
            start = line_end
            continue
        colon = text.find(":", begin, at)
        if colon >= 0:
            yield colon + 1, at
        # Any other "://" before that "@" holds a ":", so it is hidden now or has no password.
        start = at


def secret_values(text: str):
    """Where the values of secret keys (``password=...``, ``?X-Amz-Security-Token=...``) are."""
    start = 0
    while key := SECRET_KEY.search(text, start):
        begin = key.end()
        quote = text[begin : begin + 1]
        if quote in QUOTED:
            value = QUOTED[quote].match(text, begin)
        elif text[key.start() - 1 : key.start()] in ("?", "&", ";"):
            value = QUERY_VALUE.match(text, begin)
        else:
            value = UNQUOTED.match(text, begin)
        yield begin, value.end()
        start = value.end()


def shown(key: str, value: str) -> str:
    """A setting as `vibes config show` prints it: secrets masked."""
    if key in SECRET_KEYS:
        return "****"
    if key == "AWS_ACCESS_KEY_ID":
        return value[:4] + "****" if len(value) > 8 else "****"
    return mask(value)
