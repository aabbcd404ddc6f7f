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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


class staged_output:
    """Write a folder's files under a temporary name; move them into place only on success.

    ``with staged_output(out) as tmp: ...`` — files written into ``tmp`` appear in ``out`` when the
    block ends without error; on error nothing is left behind. Raises ConfigError at once when
    ``out`` cannot be written.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)

    def __enter__(self) -> Path:
        out = self.out
        if out.exists() and not out.is_dir():
            raise ConfigError(
                f"output {str(out)!r} exists and is not a folder; choose another --out"
            )
        parent = out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        except OSError as e:
            raise ConfigError(
                f"cannot write to output folder {str(out)!r} ({e.strerror}); choose another --out"
            ) from None
        if out.exists() and not os.access(out, os.W_OK):
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise ConfigError(f"output folder {str(out)!r} is not writable; choose another --out")
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.out.mkdir(parents=True, exist_ok=True)
                for item in self.tmp.iterdir():
                    dest = self.out / item.name
                    if dest.is_dir():
                        shutil.rmtree(dest)
                    os.replace(item, dest)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def check_output_folder(out: str | Path) -> None:
    """Raise ConfigError now if ``out`` could not be written; creates nothing that stays."""
    stage = staged_output(out)
    stage.__enter__()
    shutil.rmtree(stage.tmp, ignore_errors=True)
