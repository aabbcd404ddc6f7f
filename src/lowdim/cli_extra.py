"""Commands of ``lowdim`` beside the runs: ``doctor``, ``export nwb``, ``report``; the HTML report
written after every run; "did you mean" for names the command line checks itself.

:func:`register` adds the commands to :data:`lowdim.cli.app` (this module imports nothing of
:mod:`lowdim.cli`: the command line sits above it).
"""

from __future__ import annotations

import difflib
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

from .doctor import run_checks
from .errors import ConfigError
from .live import LiveTraces
from .nwb import export_nwb
from .report import render_report, report_after_run

__all__ = ["did_you_mean", "html_report", "live_traces", "register", "console"]

#: the console of the command line (lowdim.cli.console is this one)
console = Console()


def did_you_mean(word: str, choices) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices`` (empty string when none is close)."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=2, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def html_report(out: Path, t0: float | None = None) -> None:
    """Write ``out/index.html`` after a successful run (a failure here is a warning only)."""
    wall = time.perf_counter() - t0 if t0 is not None else None
    path = report_after_run(out, wall_seconds=wall, command=["lowdim", *sys.argv[1:]])
    if path is not None:
        console.print(f"report: {path}")


def live_traces(out: Path, cfg):
    """The live figure of a paired run into ``out``: ``OUT-live.png`` beside the folder (it is
    drawn after 10 s of wall time, redrawn every 5 s, and removed when the run has finished)."""
    out = Path(out)
    return LiveTraces(
        out.parent / f"{out.name}-live.png", cfg.steps_per_record * cfg.dt, cfg.n_steps * cfg.dt
    )


def doctor(
    out: Path = typer.Option(Path("."), help="folder whose write access to check"),
):
    """Check this installation: Python, JAX backend and devices, memory, write access, and the
    optional extras (dask, brian2, pynwb, neo, mkdocs, chromium); say what to install.

    Exit code 1 when lowdim itself cannot run here, 0 otherwise (a missing extra only disables
    the feature that needs it).

    \b
    Examples:
      lowdim doctor
      lowdim doctor --out /scratch/runs
    """
    from rich.markup import escape
    from rich.table import Table

    checks = run_checks(out)
    table = Table(title="lowdim doctor", show_header=True)
    table.add_column("check")
    table.add_column("status")
    table.add_column("found")
    table.add_column("note / what to do")
    style = {"ok": "green", "warn": "yellow", "missing": "yellow", "fail": "bold red"}
    for c in checks:
        table.add_row(
            c.name, f"[{style[c.status]}]{c.status}[/]", escape(c.found), escape(c.advice)
        )
    console.print(table)
    failed = [c.name for c in checks if c.status == "fail"]
    missing = [c for c in checks if c.status == "missing"]
    if missing:
        extras = sorted(
            {
                a.split("lowdim[")[1].split("]")[0]
                for c in missing
                for a in [c.advice]
                if "lowdim[" in a
            }
        )
        if extras:
            console.print(
                escape(
                    "to install every missing extra: python3 -m pip install -c requirements.lock "
                    f'"lowdim[{",".join(extras)}]"'
                )
            )
    if failed:
        console.print(f"[bold red]lowdim cannot run here: {', '.join(failed)}[/]")
        raise typer.Exit(1)
    console.print("lowdim can run here.")


def export_nwb_cmd(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="output folder of lowdim simulate or demo (or a .nc file)"
    ),
    out: Path = typer.Option(None, help="NWB file to write (default RUN_DIR/run.nwb)"),
):
    """Export a run's spikes, traces and parameters as NWB (pynwb; archive-ready).

    Spike times of the recorded neurons go to the Units table (resolution = dt, population as a
    column), potentials, overlaps and rates to TimeSeries in the processing module "lowdim",
    every parameter to the table processing/lowdim/parameters.

    \b
    Examples:
      lowdim simulate -N 20000 -p 20 --out runs/a
      lowdim export nwb runs/a                  # writes runs/a/run.nwb
      lowdim export nwb runs/a --out a.nwb
      nwbinspector runs/a/run.nwb               # the archive's checks
    """
    t0 = time.perf_counter()
    path = export_nwb(run_dir, out)
    console.print(f"wrote {path} in {time.perf_counter() - t0:.1f} s")


def report(
    folder: Path = typer.Argument(..., metavar="FOLDER", help="output folder of a lowdim command"),
):
    """(Re)write FOLDER/index.html: figures, key numbers next to theory, configuration,
    provenance. Every run writes it by itself; use this for folders made from Python.

    \b
    Examples:
      lowdim report lowdim-out/fig1
      python3 -m webbrowser lowdim-out/fig1/index.html
    """
    if not folder.is_dir():
        raise ConfigError(f"{str(folder)!r} is not a folder; give an output folder of lowdim")
    console.print(f"wrote {render_report(folder)}")


def register(app: typer.Typer) -> None:
    """Add ``doctor``, ``export nwb`` and ``report`` to ``app`` (:mod:`lowdim.cli` calls it
    once, after its own commands)."""
    app.command()(doctor)
    export_app = typer.Typer(
        no_args_is_help=True,
        help="Write a run in another format (NWB for the DANDI archive and NWB tools).",
    )
    export_app.command("nwb")(export_nwb_cmd)
    app.add_typer(export_app, name="export")
    app.command()(report)
