"""Where the lake lives: the embedded default under one data directory, or configured services.

The embedded default is a DuckLake catalog in SQLite plus local Parquet files under
``VIBES_HOME`` (default: the platform's user data directory). ``VIBES_CATALOG_URL`` and
``VIBES_DATA_PATH`` point the same program at e.g. a PostgreSQL catalog and an ``s3://`` path.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from vibes_core.errors import ConfigError

CATALOG_KINDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Config:
    home: Path
    catalog_url: str  # DuckLake metadata location without the "ducklake:" prefix
    data_path: str
    auto_init: bool  # the embedded catalog creates itself; a configured one needs `vibes db init`
    mlflow_tracking_uri: str
    mlflow_artifact_location: str | None  # None: the tracking server's default

    @property
    def catalog_kind(self) -> str:
        return self.catalog_url.split(":", 1)[0]


def default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("vibes", appauthor=False))


def normalize_catalog_url(url: str) -> str:
    """Accept ``sqlite:PATH``, ``postgres:<libpq string>`` or a ``postgresql://`` URL."""
    url = url.strip().removeprefix("ducklake:")
    if url.startswith(("postgresql://", "postgres://")):
        return f"postgres:{url}"
    kind = url.split(":", 1)[0]
    if ":" not in url or kind not in CATALOG_KINDS:
        raise ConfigError(
            f"VIBES_CATALOG_URL {kind!r} is not a supported catalog: "
            "use sqlite:PATH, postgres:'dbname=... host=...' or postgresql://user@host/db"
        )
    return url


def load_config(env: os._Environ | dict | None = None) -> Config:
    env = os.environ if env is None else env
    home = Path(env.get("VIBES_HOME") or default_home()).expanduser().absolute()
    catalog = env.get("VIBES_CATALOG_URL")
    data_path = env.get("VIBES_DATA_PATH")
    return Config(
        home=home,
        catalog_url=normalize_catalog_url(catalog)
        if catalog
        else f"sqlite:{home / 'catalog.sqlite'}",
        data_path=data_path or str(home / "data") + "/",
        auto_init=not catalog,
        mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}",
        mlflow_artifact_location=artifact_location(env, home),
    )


def artifact_location(env, home: Path) -> str | None:
    bucket = env.get("MLFLOW_S3_BUCKET_NAME")
    if bucket:
        return f"s3://{bucket}/vibes"
    if env.get("MLFLOW_TRACKING_URI"):
        return None
    return (home / "mlartifacts").as_uri()
