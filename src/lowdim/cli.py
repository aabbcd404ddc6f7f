"""The ``lowdim`` command line (typer + rich).

Bad input ends with one line ``error: …`` that says what to change, exit code 2, no traceback,
and no partial output.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import shlex
import signal
import sys
import threading
import time
import typing
from pathlib import Path

import jax
import typer
from rich.table import Table

from . import bench as bench_mod
from . import cli_extra, experiments, record
from ._version import __version__
from .checkpoint import check_path
from .cli_extra import console
from .errors import ConfigError
from .experiments import settings as st
from .experiments.times import RUN_TIMES
from .io import (
    RESUMABLE,
    Terminated,
    atomic_write_json,
    check_disk_space,
    check_output_folder,
    staged_output,
)
from .paper import RunConfig, config_table
from .paper.preflight import config_from
from .paper.simulation import cost, describe_cost, is_large
from .paper.simulation import simulate as simulate_paper
from .results import fmt, from_json
from .runs import SUMMARY_KEYS, compare, read_run, summary_of, write_run  # noqa: F401
from .sweep import SweepError, check_scheduler

try:  # typer ≥ 0.2x vendors click
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover
    from click import exceptions as click_exc

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="""Low-dimensional dynamics in large recurrent networks of rate and spiking neurons.

    Every run writes its figures, data (NetCDF), summary.json and an index.html report into its
    output folder (--out). `lowdim COMMAND --help` explains a command, with examples.

    \b
    Examples:
      lowdim demo                          # a paired SNN/RNN run, under a minute
      lowdim simulate -N 100000 -p 100 --duration 1 --out runs/a
      lowdim reproduce fig2 --scale small  # the paper's Fig. 2
      lowdim lecture list                  # the lecture's systems
      lowdim export nwb runs/a             # spikes and traces as NWB
      lowdim doctor                        # what is installed, what is missing
    """,
)


def _show_version(value: bool) -> None:
    if value:
        print(f"lowdim {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="print the version and exit",
    ),
):
    """Options of every command (see `lowdim COMMAND --help`)."""


def _print_run(summary: dict, title: str) -> None:
    """A paired run's key numbers (its structured results: lowdim.runs.results_of) as a table."""
    _results_table(summary, title)
    session = summary.get("session_wall_seconds")
    if session is not None and session < summary.get("wall_seconds", session):
        console.print(
            f"wall time {session:.1f} s (this session), {summary['wall_seconds']:.1f} s in total"
        )


def _run_config(
    cfg,
    out: Path,
    progress: bool,
    figure: bool,
    title: str,
    *,
    overwrite: bool = False,
    checkpoint: Path | None = None,
    keep_checkpoint: bool = False,
    connectivity=None,
    previous=None,
    **run_options,
) -> dict:
    """Check every input and path (lowdim.paper.preflight), then run into a staged --out folder.

    Everything that can fail is checked before the first step: the output folder (the rule:
    refused if it holds results unless --overwrite) and the checkpoint path here; the inputs,
    memory and disk once the run has planned its program (``on_plan``: planned once, memory
    checked once)."""
    keep = _check_paths(out, checkpoint, overwrite)
    check_output_folder(out, overwrite=overwrite, keep=keep)
    t0 = time.perf_counter()
    live = _live_traces(out, cfg) if progress else None  # OUT-live.png while it runs
    live_ctx = live if live is not None else contextlib.nullcontext()  # removed on any exit
    with staged_output(out, keep=keep, overwrite=overwrite) as tmp, live_ctx:
        ds = simulate_paper(
            cfg,
            connectivity,
            progress=progress,
            checkpoint=checkpoint,
            on_chunk=live,
            on_plan=lambda prog: _check_cost(cfg, prog, out, checkpoint),
            **run_options,
        )
        summary = write_run(tmp, ds, connectivity, figure)
        if checkpoint is not None:  # said in summary.json; removed once the results are in place
            summary["checkpoint"] = "kept" if keep_checkpoint else "removed"
            summary["checkpoint_path"] = str(checkpoint)
            atomic_write_json(tmp / "summary.json", summary)
    ckpt_note = ""
    if checkpoint is not None:
        if not keep_checkpoint:
            Path(checkpoint).unlink(missing_ok=True)
        ckpt_note = f"; checkpoint {checkpoint} " + (
            "kept (--keep-checkpoint)" if keep_checkpoint else "removed (the run has finished)"
        )
    _print_run(summary, title)
    console.print(
        f"wrote {out}/summary.json, run.nc" + (", traces.png" if figure else "") + ckpt_note
    )
    _html_report(out, t0)
    if previous is not None:
        diffs = compare(previous, ds)
        if diffs:
            raise RunDiffers(
                f"the rerun differs from the saved run in {', '.join(diffs)} (saved with "
                f"{_made_with(previous.attrs)}; rerun with {_made_with(ds.attrs)})"
            )
        console.print("the rerun is bitwise identical to the saved run")
    return summary


class RunDiffers(Exception):
    """A rerun did not reproduce its saved run bitwise (exit code 1)."""


def _made_with(attrs) -> str:
    return ", ".join(
        f"{k} {attrs.get(k)}" for k in ("jax_version", "device", "device_count", "git_commit")
    )


def _check_paths(out: Path, checkpoint: Path | None, overwrite: bool) -> tuple:
    """The resumable entries of --out (a sweep store, a checkpoint inside it); raises
    ConfigError now if --checkpoint cannot be written."""
    keep = RESUMABLE
    if checkpoint is not None:
        ck = check_path(checkpoint, "--checkpoint")
        folder = Path(os.path.abspath(out))
        if ck == folder:
            raise ConfigError(
                f"--checkpoint {str(checkpoint)!r} is the --out folder itself; give a file such "
                f"as {str(Path(out) / 'run.ckpt')!r}"
            )
        if folder in ck.parents:  # kept when the folder is rewritten
            keep = keep + (ck.relative_to(folder).parts[0],)
    return keep


def _check_cost(cfg, prog, out: Path, checkpoint: Path | None) -> None:
    """Disk space for the results (and checkpoint) of the planned program ``prog`` of ``cfg``;
    the estimate is printed for large runs."""
    c = cost(prog)
    advice = (
        "free some space, choose another --out, or record less (--record-neurons, "
        "--record-dt, --duration)"
    )
    check_disk_space(out, c["disk"], "the results (run.nc)", advice)
    if checkpoint is not None:
        ckpt_bytes = c["disk"] + c["memory"]["state"]
        check_disk_space(Path(checkpoint).parent, ckpt_bytes, "the checkpoint", advice)
    if is_large(c):
        print(describe_cost(cfg, c), file=sys.stderr, flush=True)


@app.command()
def demo(
    out: Path = typer.Option(Path("lowdim-out/demo"), help="output folder"),
    seed: int = typer.Option(0, help="random seed"),
    overwrite: bool = typer.Option(False, help="replace the results already in --out"),
):
    """A paired SNN/RNN run of the paper's network (N = 20 000, p = 20, 1 s): figure, data, summary.

    \b
    Examples:
      lowdim demo
      lowdim demo --seed 3 --out runs/demo3
    """
    cfg = RunConfig(neurons=20_000, rank=20, duration=1.0, seed=seed).validated()
    _run_config(
        cfg,
        out,
        progress=True,
        figure=True,
        title="lowdim demo: paired SNN / RNN",
        overwrite=overwrite,
    )


@app.command()
def simulate(
    neurons: int = typer.Option(None, "--neurons", "-N", help="number of neurons N"),
    rank: int = typer.Option(None, "--rank", "-p", help="rank p (number of patterns)"),
    load: float = typer.Option(None, "--load", help="load α = p/N (instead of --rank)"),
    duration: float = typer.Option(None, help="simulated time (s)"),
    dt: float = typer.Option(None, help="time step (s)"),
    seed: int = typer.Option(None, help="random seed"),
    sigma: float = typer.Option(None, help="input standard deviation σ (Eq. 9)"),
    networks: str = typer.Option(None, help="both | snn | rnn"),
    method: str = typer.Option(
        None,
        help="auto | dense | event: auto (default) runs --networks snn event-driven (exact, "
        "O(N max φ dt p) per step), everything else dense; event needs --networks snn",
    ),
    noise_time_unit: str = typer.Option(
        None, help="time unit of the input Brownian motions: s | ms | tau"
    ),
    dtype: str = typer.Option(None, help="float32 | float64"),
    loadings: str = typer.Option(
        None, help="stored | procedural (regenerated from the seed, O(N) memory)"
    ),
    loadings_dtype: str = typer.Option(
        None, help="storage of F, G: float32 | bfloat16 | float16 | float64"
    ),
    devices: int = typer.Option(None, help="number of devices to shard the neurons over"),
    spike_seed: int = typer.Option(None, help="seed of the spike noise alone (default: --seed)"),
    input_seed: int = typer.Option(None, help="seed of the input noise alone (default: --seed)"),
    checkpoint: Path = typer.Option(
        None, help="checkpoint file: written periodically; rerun to resume"
    ),
    checkpoint_every: float = typer.Option(300.0, help="seconds of wall time between checkpoints"),
    keep_checkpoint: bool = typer.Option(
        False, help="keep the checkpoint file after the run has finished (default: removed)"
    ),
    record_dt: float = typer.Option(None, help="record interval (s), a multiple of --dt"),
    record_neurons: int = typer.Option(None, help="neurons whose potentials are recorded"),
    burn_in: float = typer.Option(
        None, help="time (s) left out of the averages, e.g. Δ (default 0.1)"
    ),
    tile_rows: int = typer.Option(None, help="rows per block of the loadings (× 1024)"),
    config: Path = typer.Option(None, "--config", help="TOML file with the same settings"),
    out: Path = typer.Option(Path("lowdim-out/simulate"), help="output folder"),
    overwrite: bool = typer.Option(False, help="replace the results already in --out"),
    figure: bool = typer.Option(True, help="write traces.png"),
):
    """A paired run of the paper's network; writes summary.json, run.nc and traces.png into --out.

    Times in seconds. Give the rank with --rank or the load α = p/N with --load. Long runs:
    --checkpoint FILE resumes after an interruption; --loadings procedural needs O(N) memory.

    \b
    Examples:
      lowdim simulate -N 20000 -p 20 --duration 1 --out runs/a
      lowdim simulate -N 1000000 --load 1e-4 --loadings-dtype bfloat16 --out runs/big
      lowdim simulate --config run.toml --checkpoint runs/b.ckpt --out runs/b
    """
    opts = {
        "neurons": neurons,
        "rank": rank,
        "load": load,
        "duration": duration,
        "dt": dt,
        "seed": seed,
        "sigma": sigma,
        "networks": networks,
        "method": method,
        "noise_time_unit": noise_time_unit,
        "dtype": dtype,
        "loadings": loadings,
        "loadings_dtype": loadings_dtype,
        "devices": devices,
        "spike_seed": spike_seed,
        "input_seed": input_seed,
        "record_dt": record_dt,
        "record_neurons": record_neurons,
        "burn_in": burn_in,
        "tile_rows": tile_rows,
    }
    if rank is not None and load is not None:
        raise ConfigError("give either --rank or --load, not both")
    if config is not None:
        table = config_table(config, **opts)
    else:
        table = {k: v for k, v in opts.items() if v is not None}
        if "load" in table:
            table["rank"] = None
    cfg = config_from(table, flag="--devices")  # devices first, then every setting
    if checkpoint is not None and not 0 <= checkpoint_every < float("inf"):
        raise ConfigError("--checkpoint-every must be a number of seconds ≥ 0")
    if keep_checkpoint and checkpoint is None:
        raise ConfigError("--keep-checkpoint needs --checkpoint FILE; add one or leave it out")
    _run_config(
        cfg,
        out,
        progress=True,
        figure=figure,
        title="lowdim simulate",
        overwrite=overwrite,
        checkpoint=checkpoint,
        keep_checkpoint=keep_checkpoint,
        checkpoint_every=checkpoint_every,
    )


@app.command()
def rerun(
    run_dir: Path = typer.Argument(..., help="folder of a run (written by simulate or demo)"),
    out: Path = typer.Option(None, help="output folder (default RUN_DIR-rerun)"),
    overwrite: bool = typer.Option(False, help="replace the results already in --out"),
    figure: bool = typer.Option(True, help="write traces.png"),
):
    """Run a saved run again from its own files and check that the records are the same.

    Reads RUN_DIR/run.nc (configuration, method, recorded neurons) and, for runs made with
    custom loadings, RUN_DIR/loadings.npz (checked against the saved fingerprint); writes the
    new run into --out and compares: exit code 0 when bitwise identical, 1 otherwise (other
    device or library versions can change the last bits).

    \b
    Examples:
      lowdim rerun lowdim-out/simulate
      lowdim rerun runs/a --out runs/a-again
    """
    previous, table, conn, options = read_run(run_dir)
    out = out or Path(str(run_dir).rstrip("/\\") + "-rerun")
    if os.path.abspath(out) == os.path.abspath(run_dir):
        raise ConfigError("--out must differ from RUN_DIR (the saved run is compared with it)")
    cfg = config_from(table, flag="devices (the run's)")
    _run_config(
        cfg,
        out,
        progress=True,
        figure=figure,
        title="lowdim rerun",
        overwrite=overwrite,
        connectivity=conn,
        previous=previous,
        **options,
    )


@app.command()
def info():
    """Version, JAX backend and devices (`lowdim doctor` checks the whole installation)."""
    console.print(f"lowdim {__version__}")
    console.print(f"jax {jax.__version__}, backend: {jax.default_backend()}")
    for d in jax.devices():
        console.print(f"  device {d.id}: {d.platform} {getattr(d, 'device_kind', '')}")


def _reproduce_times() -> str:
    """The epilog of `lowdim reproduce --help`: the run time of each figure's scales."""

    lines = ["\b", "Run times on 2 CPU cores:"]
    for fig in ("fig1", "fig2"):
        for scale, t in RUN_TIMES.get(fig, {}).items():
            if scale != "test":
                lines.append(f"  {fig} --scale {scale}: {t}")
    return "\n".join(lines)


@app.command(epilog=_reproduce_times())
def reproduce(
    figure: str = typer.Argument(..., help="which figure: fig1 | fig2"),
    scale: str = typer.Option("small", help="small | medium | paper (see each figure's docs)"),
    out: Path = typer.Option(None, help="output folder (default lowdim-out/FIGURE)"),
    scheduler: str = typer.Option(None, help="Dask scheduler address for sweeps (fig2)"),
    workers: int = typer.Option(None, help="local worker processes for sweeps (fig2)"),
    overwrite: bool = typer.Option(False, help="replace the results already in --out"),
):
    """Reproduce a figure of the paper: panels, data, report.md and summary.json.

    fig1: correlation densities, duplicate bounds, weight norms, paired traces. fig2: Δ vs α
    sweeps (resumable: a rerun skips finished points; OUT-live.png fills in as it runs).

    \b
    Examples:
      lowdim reproduce fig1
      lowdim reproduce fig2 --scale medium --workers 2
      lowdim reproduce fig2 --scale paper --scheduler tcp://head-node:8786
    """
    if figure not in experiments.REGISTRY:
        raise ConfigError(
            f"unknown figure {figure!r}; choose one of {sorted(experiments.REGISTRY)}."
            + _did_you_mean(figure, experiments.REGISTRY)
        )
    if figure not in experiments.available():
        raise ConfigError(f"{figure} is not available in this installation")
    out = out or Path("lowdim-out") / figure
    run = experiments.get(figure).run
    params = inspect.signature(run).parameters
    takes_any = any(v.kind is inspect.Parameter.VAR_KEYWORD for v in params.values())
    kwargs = {}
    for name, value in (("scheduler", scheduler), ("workers", workers)):
        if value is not None:
            if name not in params and not takes_any:
                raise ConfigError(f"--{name} is not used by {figure}; leave it out")
            kwargs[name] = value
    if scheduler is not None:
        check_scheduler(scheduler, flag="--scheduler")
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers must be ≥ 0 (0: run in this process), got {workers}")
    t0 = time.perf_counter()
    with _staged(out, overwrite) as tmp:  # the output folder rule (lowdim.io)
        summary = run(scale=scale, out=tmp, progress=True, **kwargs)
    _print_summary(summary)
    console.print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    _html_report(out, t0)


def _print_summary(summary: dict) -> None:
    """A study's summary on stdout: its numbers as JSON, then its key numbers (the structured
    results) as a table."""
    console.print_json(
        json.dumps({k: v for k, v in summary.items() if k != "results"}, default=str)
    )
    _results_table(summary, "key numbers")


def _results_table(summary: dict, title: str) -> None:
    """The ``results`` of a summary (lowdim.results) as a table: quantity, measured, theory with
    its reference, interval, units (columns left out when no result has them)."""
    rows = from_json(summary.get("results"))
    if not rows:
        return
    has_theory = any(r.theory is not None for r in rows)
    has_ci = any(r.interval is not None for r in rows)
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("measured", justify="right")
    if has_theory:
        table.add_column("theory", justify="right")
    if has_ci:
        table.add_column("interval")
    table.add_column("units")
    for r in rows:
        cells = [r.quantity, fmt(r.value, 6)]
        if has_theory:
            ref = f" {r.reference}" if r.reference and r.theory is not None else ""
            cells.append(fmt(r.theory, 6) + ref)
        if has_ci:
            ci = "–" if r.interval is None else f"[{fmt(r.interval[0])}, {fmt(r.interval[1])}]"
            cells.append(ci)
        table.add_row(*cells, r.units)
    console.print(table)


def _staged(out: Path, overwrite: bool):
    """Stage an experiment's output: checked now (refused if it holds results, unless
    --overwrite), moved into place when the run has finished, removed on error or signal; a
    sweep store in it is carried through the run and kept."""
    return staged_output(out, carry=True, overwrite=overwrite)


def _option_type(hint):
    """int, float, bool or str from a (possibly optional) annotation."""
    for t in (hint, *typing.get_args(hint)):
        if t in (bool, int, float, str):
            return t
    return str


def _extra_options(args: list[str], run, what: str) -> dict:
    """``--name value`` (or ``--name=value``; ``--flag`` for booleans) → keyword arguments of
    ``run``, converted with the types of its signature."""
    params = inspect.signature(run).parameters
    hints = typing.get_type_hints(run)
    skip = {"scale", "out", "progress", "seed"}
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    allowed = {
        k: _option_type(hints.get(k, str))
        for k, p in params.items()
        if k not in skip and p.kind in kinds
    }
    names = ", ".join(f"--{k.replace('_', '-')}" for k in allowed) or "none"
    kwargs, i = {}, 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            raise ConfigError(f"unexpected argument {a!r} for {what}; its options: {names}")
        key, _, value = a[2:].partition("=")
        key = key.replace("-", "_")
        flag = f"--{key.replace('_', '-')}"
        if key not in allowed:
            hint = _did_you_mean(flag, [f"--{k.replace('_', '-')}" for k in allowed])
            raise ConfigError(f"{what} has no option {flag}; its options: {names}.{hint}")
        typ = allowed[key]
        if not _:
            if typ is bool:
                kwargs[key] = True
                i += 1
                continue
            if i + 1 >= len(args):
                raise ConfigError(f"{flag} needs a value")
            value = args[i + 1]
            i += 1
        try:
            if typ is bool:
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                kwargs[key] = value.lower() in ("true", "1", "yes")
            else:
                kwargs[key] = typ(value)
        except ValueError:
            raise ConfigError(f"{flag} must be {typ.__name__}, got {value!r}") from None
        i += 1
    return kwargs


@app.command(
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "help_option_names": [],
    }
)
def lecture(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="which system: see `lowdim lecture list`"),
    scale: str = typer.Option(
        None, help="small | large | test (default small, or the --config file's)"
    ),
    out: Path = typer.Option(None, help="output folder (default lowdim-out/lecture-NAME)"),
    seed: int = typer.Option(None, help="random seed (default 0, or the --config file's)"),
    config: Path = typer.Option(
        None, help="settings from a TOML file (e.g. a run's OUT/settings.toml: reruns it)"
    ),
    overwrite: bool = typer.Option(False, help="replace the results already in --out"),
    show_help: bool = typer.Option(
        False, "--help", help="show this message; `lowdim lecture NAME --help`: NAME's options"
    ),
):
    """Run a system of the lecture (Hopfield memory, ring attractor, latent κ, field limit,
    manifolds, context-dependent decisions): figures, data, report.md, summary.json and
    settings.toml (every setting of the run; `--config OUT/settings.toml` reruns it).

    Each system has its own options (its model and its scale's settings, e.g. `--glauber-beta 3`
    for hopfield, `--kernel cosine` for ring, `--train-steps 200` for context-dm), listed with
    the run time of each scale by `lowdim lecture NAME --help`; the same keys can be given in
    a TOML file (--config). `lowdim lecture list` lists the systems of this installation.

    \b
    Examples:
      lowdim lecture list
      lowdim lecture hopfield
      lowdim lecture hopfield --help
      lowdim lecture hopfield --dynamics async --criterion overlap --level 0.9
      lowdim lecture ring --scale large --out runs/ring
      lowdim lecture ring --config runs/ring/settings.toml --out runs/ring-again
    """
    have = experiments.available(experiments.LECTURES)
    if name is None:
        console.print(ctx.get_help(), highlight=False, markup=False)
        console.print(_lecture_times_table(have), highlight=False, markup=False, soft_wrap=True)
        if show_help:
            return
        raise ConfigError("which system? `lowdim lecture NAME` with NAME one of " + ", ".join(have))
    name = experiments.LECTURE_ALIASES.get(name, name)
    if name == "list":
        for n in have:
            console.print(n)
        return
    if name not in experiments.LECTURES:
        raise ConfigError(
            f"unknown lecture system {name!r}; choose one of {have}."
            + _did_you_mean(name, experiments.LECTURES)
        )
    if name not in have:
        raise ConfigError(f"lecture system {name!r} is not available in this installation")
    module = experiments.get(name, experiments.LECTURES)
    if show_help:
        console.print(_lecture_help(name, module), highlight=False, markup=False, soft_wrap=True)
        return
    run = module.run
    kwargs = _lecture_options(list(ctx.args), module, name)
    settings = kwargs.pop("settings", None)

    takes = inspect.signature(run).parameters
    if "config" in takes:
        kwargs["config"] = config
        kwargs["settings"] = settings or {}
        kwargs["seed"] = seed
    else:
        if config is not None:
            raise ConfigError(f"lecture {name} takes no --config file; give its options instead")
        kwargs["seed"] = 0 if seed is None else seed
    out = out or Path("lowdim-out") / f"lecture-{name}"
    t0 = time.perf_counter()
    with _staged(out, overwrite) as tmp:  # the output folder rule (lowdim.io)
        if "config" not in takes:
            scale = scale or "small"
        summary = run(scale=scale, out=tmp, progress=True, **kwargs)
    _print_summary(summary)
    console.print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    _html_report(out, t0)


def _lecture_options(args: list[str], module, name: str) -> dict:
    """The options after ``lowdim lecture NAME``: those of its ``run`` (e.g. --train-steps)
    and its settings (keys of SCALES / PARAMS, returned under "settings")."""

    run = module.run
    if "config" not in inspect.signature(run).parameters:
        return _extra_options(args, run, f"lecture {name}")

    known = st.keys(module)
    flags = {f"--{k.replace('_', '-')}": k for k in known}
    values, rest, i = {}, [], 0
    while i < len(args):
        a = args[i]
        flag, eq, value = a.partition("=")
        if flag in flags:
            key = flags[flag]
            if not eq:
                if i + 1 >= len(args):
                    raise ConfigError(f"{flag} needs a value")
                value = args[i + 1]
                i += 1
            values[key] = st.parse_value(key, value, known[key][1])
        else:
            rest.append(a)
        i += 1
    own = {f"--{k.replace('_', '-')}" for k in inspect.signature(run).parameters}
    for a in rest:
        flag = a.partition("=")[0]
        if flag.startswith("--") and flag not in own:
            hint = _did_you_mean(flag, sorted(flags))
            raise ConfigError(
                f"lecture {name} has no option {flag}; `lowdim lecture {name} --help` lists "
                f"its options.{hint}"
            )
    kwargs = _extra_options(rest, _without(run, {"config", "settings"}), f"lecture {name}")
    if values:
        kwargs["settings"] = values
    return kwargs


def _without(run, names):
    """``run`` with a signature that leaves out ``names`` (for the options check)."""

    sig = inspect.signature(run)

    @functools.wraps(run)
    def f(*a, **k):  # pragma: no cover - never called
        return run(*a, **k)

    f.__signature__ = sig.replace(
        parameters=[p for n, p in sig.parameters.items() if n not in names]
    )
    return f


def _lecture_times_table(have) -> str:

    lines = ["Run times on 2 CPU cores (per scale):"]
    for n in have:
        t = RUN_TIMES.get(n, {})
        lines.append(f"  {n}: " + "; ".join(f"{s} {v}" for s, v in t.items()))
    return "\n".join(lines)


def _lecture_help(name: str, module) -> str:
    """`lowdim lecture NAME --help`: what NAME does, its scales with run times, its options."""

    doc = (module.__doc__ or "").strip().split("\n\n")[0]
    L = [f"Usage: lowdim lecture {name} [OPTIONS]", "", doc, ""]
    L.append("Scales (--scale) and run times on 2 CPU cores:")
    times = RUN_TIMES.get(name, {})
    for s in module.SCALES:
        L.append(f"  {s:<8} {times.get(s, 'not measured')}")
    L += [
        "",
        "Options of every lecture:",
        "  --scale NAME         one of " + ", ".join(module.SCALES) + " (default small)",
        f"  --out DIR            output folder (default lowdim-out/lecture-{name})",
        "  --seed INTEGER       random seed (default 0)",
        "  --overwrite          replace the results already in --out",
    ]
    run = module.run
    params = inspect.signature(run).parameters
    if "config" in params:
        L.append("  --config FILE.toml   settings from a file ([model] and [run] tables of the")
        L.append("                       keys below; a run's OUT/settings.toml reruns it)")
        base = st.keys(module, "small")
        for sec, title in (("model", "the model"), ("run", "the run (defaults of --scale small)")):
            ks = [k for k, (s, _) in base.items() if s == sec]
            if not ks:
                continue
            L += ["", f"Options of {name}: {title} — also keys of [{sec}] in --config:"]
            for k in ks:
                d = base[k][1]
                L.append(f"  --{k.replace('_', '-'):<22} {_show_default(d)}")
                doc_k = getattr(module, "SETTING_HELP", {}).get(k)
                if doc_k:
                    L.append(f"  {'':<24} {doc_k}")
    else:
        hints = typing.get_type_hints(run)
        skip = {"scale", "out", "progress", "seed"}
        ks = [k for k in params if k not in skip]
        if ks:
            L += ["", f"Options of {name}:"]
            for k in ks:
                t = _option_type(hints.get(k, str)).__name__
                d = params[k].default
                flag = f"--{k.replace('_', '-')} {t.upper()}"
                shown = "the scale's" if d is None else repr(d)
                L.append(f"  {flag:<24} default: {shown}")
    L += ["", "Examples:", f"  lowdim lecture {name}", f"  lowdim lecture {name} --scale test"]
    if "config" in params:
        L.append(
            f"  lowdim lecture {name} --config lowdim-out/lecture-{name}/settings.toml --out again"
        )
    return "\n".join(L)


def _show_default(d) -> str:
    if isinstance(d, dict):
        return "table, default " + ", ".join(f"{k}:{v}" for k, v in d.items())
    if isinstance(d, list | tuple):
        return "list, default " + ",".join(str(x) for x in d)
    return f"default {d!r}" if isinstance(d, str) else f"default {d}"


@app.command()
def bench(
    large: bool = typer.Option(False, help="add N = 4·10⁶"),
    out: Path = typer.Option(None, help="write DIR/bench.json"),
    overwrite: bool = typer.Option(False, help="replace the results already in --out"),
    repeats: int = typer.Option(
        3, help="alternated repetitions of every measurement; ratios: median and best"
    ),
):
    """Speed of the engines (SNN event-driven and dense, RNN, paired) next to NumPy and Brian2.

    Exit code 1 (with its reason, also in bench.json's brian2_error) when Brian2 is installed
    (the bench extra) but gave no measurement.

    \b
    Examples:
      lowdim bench
      lowdim bench --large --out bench-results
    """
    if out is None:
        res = bench_mod.main(large=large, out=None, repeats=repeats)
    else:
        with _staged(out, overwrite) as tmp:  # the output folder rule (lowdim.io)
            res = bench_mod.main(large=large, out=tmp, repeats=repeats)
    if res["brian2_error"]:
        raise bench_mod.PeerFailed(res["brian2_error"])


_html_report = cli_extra.html_report  # out/index.html (lowdim.report)
_live_traces = cli_extra.live_traces  # OUT-live.png while a run works (lowdim.live)
_did_you_mean = cli_extra.did_you_mean

cli_extra.register(app)  # doctor, export nwb, report (after this module's commands)


def cli_reference_markdown(width: int = 100) -> str:
    """The help of ``lowdim`` and of every (sub-)command as Markdown: one section per command
    with its ``--help`` text, made from the command line's own definitions (the documentation's
    CLI reference is generated from this, so it cannot drift from the program)."""
    import typer.main

    try:
        import click
    except ImportError:  # pragma: no cover — typer vendors click
        from typer import _click as click

    root = typer.main.get_command(app)
    parts = []

    def walk(cmd, path, parent_ctx):
        ctx = click.Context(
            cmd,
            info_name=path[-1],
            parent=parent_ctx,
            terminal_width=width,
            max_content_width=width,
        )
        title = " ".join(path)
        parts.append(f"## `{title}`\n\n```text\n{cmd.get_help(ctx).rstrip()}\n```\n")
        for name in getattr(cmd, "commands", {}):
            walk(cmd.commands[name], [*path, name], ctx)

    walk(root, ["lowdim"], None)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input ends with one line ``error: …`` and exit code 2; a failure of the
    run itself (disk, sweep points, a rerun that differs) with one line and exit code 1; Ctrl-C
    (130) and SIGTERM (143) leave nothing half-written."""
    args = list(sys.argv[1:] if argv is None else argv)
    record.COMMAND = shlex.join(["lowdim", *args])  # recorded in every result's provenance
    # Ctrl-C and SIGTERM raise Terminated (a KeyboardInterrupt): staged output is removed on the
    # way out. typer turns a KeyboardInterrupt into exit code 130, so the signal is noted here.
    received: list[int] = []

    def on_signal(signum, frame):
        received.append(signum)
        if len(received) == 1:  # a second Ctrl-C does not interrupt the cleanup
            raise Terminated(signum)

    old_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old_handlers[sig] = signal.signal(sig, on_signal)
    keep = "a --checkpoint or a sweep store keeps the work done so far: run the same command "
    keep += "again to resume"
    code = 0
    try:
        rv = app(args=args, standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
        if received:
            raise Terminated(received[0])
    except ConfigError as e:  # one line per problem (RunConfig reports every bad setting)
        for line in str(e).splitlines() or [""]:
            print(f"error: {line}", file=sys.stderr)
        code = 2
    except click_exc.NoArgsIsHelpError as e:
        print(e.ctx.get_help() if e.ctx else "", file=sys.stderr)
        code = 0
    except click_exc.UsageError as e:
        print(f"error: {e.format_message()} (see --help)".replace("\n", " "), file=sys.stderr)
        code = 2
    except (SweepError, RunDiffers, bench_mod.PeerFailed) as e:
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        code = 1
    except (typer.Abort, KeyboardInterrupt) as e:
        term = e if isinstance(e, Terminated) else e.__cause__ or e.__context__
        if isinstance(term, Terminated) and term.signum != signal.SIGINT:
            print(
                f"error: terminated by signal {term.signum}; nothing half-written is left ({keep})",
                file=sys.stderr,
            )
            code = 128 + int(term.signum)
        else:
            print(f"error: interrupted; nothing half-written is left ({keep})", file=sys.stderr)
            code = 130
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        code = 1
    except Exception as e:  # noqa: BLE001 — device memory exhausted: one line; bugs re-raised
        if "RESOURCE_EXHAUSTED" not in str(e):
            raise
        first = str(e).strip().splitlines()[0][:300]
        print(
            f"error: out of device memory ({first}); see `lowdim simulate --help` for "
            "--loadings procedural, --loadings-dtype bfloat16 and --devices",
            file=sys.stderr,
        )
        code = 1
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        record.COMMAND = None
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
