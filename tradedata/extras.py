"""Optional extras: a missing one is reported as ``pip install "tradedata[NAME]"``, not a traceback.

``widgets`` (ipywidgets, plotly, anywidget), ``zipline`` (zipline-reloaded) and ``parquet``
(pyarrow, fsspec, s3fs) are optional;
:func:`require` checks that an extra's modules can be imported and raises
:class:`~tradedata.errors.MissingExtraError` (also an ``ImportError``) naming the command that
installs them; :func:`hint_for` turns a ``ModuleNotFoundError`` met later into the same error.
"""

from __future__ import annotations

import importlib.util

from tradedata.errors import MissingExtraError

__all__ = ["EXTRAS", "hint_for", "require"]

#: extra name -> the top-level modules it installs
EXTRAS: dict[str, tuple[str, ...]] = {
    "widgets": ("ipywidgets", "plotly", "anywidget"),
    "zipline": ("zipline",),
    "parquet": ("pyarrow", "fsspec"),  # s3fs too, for s3:// destinations
}


def _message(extra: str, missing: str, feature: str) -> str:
    return (
        f'{feature} needs the "{extra}" extra ({missing} is not installed): '
        f'pip install "tradedata[{extra}]"'
    )


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(extra: str, feature: str | None = None) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``extra`` can be imported."""
    for module in EXTRAS[extra]:
        if not _importable(module):
            raise MissingExtraError(_message(extra, module, feature or f"tradedata.{extra}"))


def hint_for(exc: ModuleNotFoundError, feature: str) -> MissingExtraError | None:
    """The :class:`MissingExtraError` for ``exc`` if it is a module of an extra, else None."""
    top = (exc.name or "").split(".")[0]
    for extra, modules in EXTRAS.items():
        if top in modules:
            return MissingExtraError(_message(extra, top, feature))
    return None
