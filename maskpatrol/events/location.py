"""Where the event log is: the variables and the default file, without importing SQLAlchemy,
so a page can ask whether there is a log before it loads the database layer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

URL_ENV_VAR = "MASKPATROL_DB_URL"
DATA_HOME_ENV_VAR = "MASKPATROL_DATA_HOME"
DB_FILE_NAME = "events.sqlite3"


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the embedded SQLite log lives when neither ``--db`` nor ``MASKPATROL_DB_URL`` is given."""
    env = os.environ if env is None else env
    home = env.get(DATA_HOME_ENV_VAR)
    if home:
        return Path(home).expanduser() / DB_FILE_NAME
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "maskpatrol" / DB_FILE_NAME


def configured_url(env: Mapping[str, str] | None = None) -> str | None:
    """The event log a reader (the History page, ``GET /api/v1/events``) should open:
    ``MASKPATROL_DB_URL``, else the default SQLite file if a watch process has made one,
    else None (no log here; readers never create one)."""
    env = os.environ if env is None else env
    url = env.get(URL_ENV_VAR, "").strip()
    if url:
        return url
    path = default_db_path(env)
    return f"sqlite:///{path.resolve()}" if path.is_file() else None


def resolve_url(url_or_path: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL from ``--db``'s value: a URL as is, a path as SQLite, None as
    ``MASKPATROL_DB_URL`` or :func:`default_db_path`."""
    if url_or_path is None:
        url_or_path = os.environ.get(URL_ENV_VAR) or default_db_path()
    text_value = os.fspath(url_or_path)
    if "://" in text_value:
        return text_value
    path = Path(text_value).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"
