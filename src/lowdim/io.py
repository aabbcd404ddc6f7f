"""Saving and loading results: xarray ↔ NetCDF (h5netcdf) or Zarr, written atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import xarray as xr

from .errors import ConfigError

__all__ = ["save", "load", "atomic_write_text", "atomic_write_json"]


def _engine(path: Path) -> str:
    if path.suffix == ".nc":
        return "netcdf"
    if path.suffix == ".zarr":
        return "zarr"
    raise ConfigError(f"unknown result format {path.suffix!r} for {str(path)!r}; use .nc or .zarr")


def save(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to ``path`` (.nc or .zarr) via a temporary name and an atomic rename."""
    path = Path(path)
    kind = _engine(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        target = tmp / path.name
        if kind == "netcdf":
            ds.to_netcdf(target, engine="h5netcdf")
        else:
            try:
                import zarr  # noqa: F401
            except ImportError:
                raise ConfigError("saving .zarr needs the zarr package: pip install zarr") from None
            ds.to_zarr(target, mode="w")
        if path.is_dir() and kind == "zarr":
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load(path: str | Path) -> xr.Dataset:
    """Read a dataset written by :func:`save` (into memory)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no result at {str(path)!r}")
    if _engine(path) == "netcdf":
        return xr.load_dataset(path, engine="h5netcdf")
    return xr.open_zarr(path).load()


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
