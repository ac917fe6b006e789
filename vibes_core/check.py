"""`vibes config check`: each configured service reached for real, and what is wrong if not."""

from pathlib import Path

from vibes_core.config import Config, mask
from vibes_core.errors import NoLake, VibesError, first_line


def check(config: Config) -> list[dict]:
    """One entry per service: ``service``, ``ok``, ``detail`` (what to do when not ok) and
    ``note`` (ok, with something to do first: a catalog not initialized yet), every secret
    in it masked."""
    return [
        probe("catalog", lambda: catalog(config)),
        probe("data", lambda: data(config)),
        probe("mlflow", lambda: mlflow(config)),
        probe("mlflow artifacts", lambda: artifacts(config)),
    ]


def probe(service: str, run) -> dict:
    try:
        return {"service": service, "ok": True, "note": False, "detail": mask(run())}
    except NoLake as error:  # reachable: the next step is `vibes db init`, as the README says
        return {"service": service, "ok": True, "note": True, "detail": mask(first_line(error))}
    except Exception as error:  # every failure is a finding, not a crash
        return {"service": service, "ok": False, "note": False, "detail": mask(first_line(error))}


def catalog(config: Config) -> str:
    from vibes_core.lake import Lake

    if config.auto_init and not config.sqlite_file.exists():
        return f"{mask(config.catalog_url)}: created on first use"
    with Lake(config, create=False) as lake:
        return f"{mask(config.catalog_url)}: snapshot {lake.snapshot_id()}"


def data(config: Config) -> str:
    if not config.data_path.startswith("s3://"):
        folder = Path(config.data_path)
        if folder.exists() and not folder.is_dir():
            raise VibesError(f"{mask(str(folder))} is a file, not a directory: set VIBES_DATA_PATH")
        return f"{mask(config.data_path)}: local files"
    return f"{mask(config.data_path)}: {s3_listing(config)}"


def s3_listing(config: Config) -> str:
    import duckdb

    from vibes_core.lake import extension_file, probe_data_path, sql_literal, use_s3

    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute(f"LOAD {sql_literal(extension_file('httpfs'))}")  # signature checked
        use_s3(con, config.s3)
        probe_data_path(con, config.data_path)
        return "reachable"
    finally:
        con.close()


def mlflow(config: Config) -> str:
    from vibes_core.cache import Cache

    Cache(config).connect()
    return f"{mask(config.mlflow_tracking_uri)}: reachable"


def artifacts(config: Config) -> str:
    location = config.mlflow_artifact_location
    if not location or not location.startswith("s3://"):
        return mask(location or "the tracking server default")
    import boto3
    import botocore.exceptions

    from vibes_core.lake import bucket_of, no_bucket

    config.export_environment()
    bucket = bucket_of(location)
    endpoint = config.artifact_s3.endpoint
    try:
        boto3.client("s3", endpoint_url=endpoint).head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchBucket"):
            raise VibesError(no_bucket(bucket)) from error
        raise VibesError(f"S3 refused access to {bucket!r} ({code}): check the AWS keys") from error
    except botocore.exceptions.BotoCoreError as error:
        raise VibesError(
            f"cannot reach S3 at {mask(str(endpoint))}: {first_line(error)}"
        ) from error
    return f"{mask(location)}: bucket reachable"
