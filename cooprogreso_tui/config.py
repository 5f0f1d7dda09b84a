"""Where things live and how a deployment is tuned: TOML file < COOPROGRESO_* environment < CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import platformdirs

from backend.core.db import DatabaseUrl, target_of
from backend.core.settings import Settings

APP_NAME = "cooprogreso"
ENV_PREFIX = "COOPROGRESO_"
MAX_CONFIG_BYTES = 2**20


def config_file() -> Path:
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME)


@dataclass(frozen=True)
class AppConfig:
    settings: Settings
    db_path: Path | DatabaseUrl  # a file, or a postgresql:// URL
    export_dir: Path


def load(*, db: str | None = None, overrides: dict[str, str] | None = None, demo: bool = False,
         environ: Mapping[str, str] | None = None, path: Path | None = None) -> AppConfig:
    env: Mapping[str, str] = os.environ if environ is None else environ
    values: dict[str, object] = {}
    named = path or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    # who named it, for the message below (never the path: a member over SSH may read the line)
    where = "indicado" if path else f"indicado en {ENV_PREFIX}CONFIG"
    path = named or config_file()
    if named is not None and not path.exists():
        # a file named on purpose and missing (a typo in a unit file) would start the app on the defaults:
        # an empty co-op in a SQLite file of the service's home instead of the co-op's database
        raise ValueError(f"El archivo de configuración {where} no existe.")
    if path.exists():
        import tomllib  # only when there is a file to read (start-up time)

        from backend.core.errors import ServiceError
        from backend.core.files import read_text_limited

        try:
            values.update(tomllib.loads(read_text_limited(path, max_bytes=MAX_CONFIG_BYTES,
                                                          what="El archivo de configuración")))
        except ServiceError as exc:  # the CLI's one line for a configuration it cannot use
            raise ValueError(exc.message) from None
    names = {f.name for f in fields(Settings)} | {"db"}
    for name in names:
        key = ENV_PREFIX + name.upper()
        if key in env:
            values[name] = env[key]
    values.update(overrides or {})
    db_value = db or values.pop("db", None)
    settings = Settings().with_overrides(values)
    db_path: Path | DatabaseUrl
    if demo:
        db_path = data_dir() / "demo.sqlite3"
    else:
        db_path = target_of(str(db_value)) if db_value else data_dir() / "cooprogreso.sqlite3"
    export_dir = Path(settings.export_dir) if settings.export_dir else data_dir() / "exportaciones"
    return AppConfig(settings, db_path.expanduser(), export_dir.expanduser())
