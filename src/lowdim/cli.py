"""The ``lowdim`` command line (typer + rich).

Bad input ends with one line ``error: …`` that says what to change, exit code 2, no traceback,
and no partial output.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .errors import ConfigError

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
console = Console()

SUMMARY_KEYS = (
    "neurons",
    "rank",
    "load",
    "duration",
    "dt",
    "seed",
    "sigma",
    "noise_time_unit",
    "a",
    "c",
    "distance_rec",
    "distance_in",
    "rate_snn_hz",
    "rate_rnn_hz",
    "wall_seconds",
    "backend",
    "lowdim_version",
)


def summary_of(ds) -> dict:
    """The summary.json content of a paired run (SI units)."""
    from .record import config_of

    cfg = config_of(ds)
    out = {k: ds.attrs[k] for k in SUMMARY_KEYS if k in ds.attrs}
    out["sigma"] = cfg["sigma"]
    out["networks"] = cfg["networks"]
    for k, v in list(out.items()):
        if hasattr(v, "item"):
            out[k] = v.item()
    return out


def _write_run(ds, out: Path, figure: bool) -> dict:
    from .io import atomic_write_json, save, staged_output

    summary = summary_of(ds)
    with staged_output(out) as tmp:
        save(ds, tmp / "run.nc")
        if figure:
            from .plotting import paired_traces, savefig

            savefig(paired_traces(ds), tmp / "traces.png")
        atomic_write_json(tmp / "summary.json", summary)
    return summary


def _print_summary(summary: dict, title: str) -> None:
    table = Table(title=title, show_header=True)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    labels = {
        "neurons": "N",
        "rank": "p",
        "load": "α = p/N",
        "duration": "duration (s)",
        "dt": "dt (s)",
        "a": "a = E[φ(z)] (Hz)",
        "c": "c = Var[φ(z)] (Hz²)",
        "distance_rec": "Δ_N^rec",
        "distance_in": "Δ_N^in",
        "rate_snn_hz": "SNN mean rate (Hz)",
        "rate_rnn_hz": "RNN mean rate (Hz)",
        "wall_seconds": "wall time (s)",
    }
    for k, label in labels.items():
        if k in summary:
            v = summary[k]
            table.add_row(label, f"{v:.6g}" if isinstance(v, float) else str(v))
    console.print(table)


def _run_config(cfg, out: Path, progress: bool, figure: bool, title: str, **run_options) -> dict:
    from .engine import check_memory, simulate
    from .io import check_output_folder

    # fail on an unwritable folder or a run that cannot fit before spending time on the run
    check_output_folder(out)
    check_memory(cfg)
    t0 = time.perf_counter()
    ds = simulate(cfg, progress=progress, **run_options)
    summary = _write_run(ds, out, figure)
    _print_summary(summary, title)
    console.print(f"wrote {out}/summary.json, run.nc" + (", traces.png" if figure else ""))
    _html_report(out, t0)
    return summary


@app.command()
def demo(
    out: Path = typer.Option(Path("lowdim-out/demo"), help="output folder"),
    seed: int = typer.Option(0, help="random seed"),
):
    """A paired SNN/RNN run of the paper's network (N = 20 000, p = 20, 1 s): figure, data, summary.

    \b
    Examples:
      lowdim demo
      lowdim demo --seed 3 --out runs/demo3
    """
    from .config import RunConfig

    cfg = RunConfig(neurons=20_000, rank=20, duration=1.0, seed=seed).validated()
    _run_config(cfg, out, progress=True, figure=True, title="lowdim demo: paired SNN / RNN")


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
    config: Path = typer.Option(None, "--config", help="TOML file with the same settings"),
    out: Path = typer.Option(Path("lowdim-out/simulate"), help="output folder"),
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
    from .config import RunConfig, load_config

    opts = {
        "neurons": neurons,
        "rank": rank,
        "load": load,
        "duration": duration,
        "dt": dt,
        "seed": seed,
        "sigma": sigma,
        "networks": networks,
        "noise_time_unit": noise_time_unit,
        "dtype": dtype,
        "loadings": loadings,
        "loadings_dtype": loadings_dtype,
        "devices": devices,
        "spike_seed": spike_seed,
        "input_seed": input_seed,
    }
    if rank is not None and load is not None:
        raise ConfigError("give either --rank or --load, not both")
    if config is not None:
        cfg = load_config(config, **opts)
    else:
        base = {k: v for k, v in opts.items() if v is not None}
        if "load" in base:
            base["rank"] = None
        cfg = RunConfig(**base).validated()
    if checkpoint is not None and not checkpoint_every >= 0:
        raise ConfigError("--checkpoint-every must be a number of seconds ≥ 0")
    _run_config(
        cfg,
        out,
        progress=True,
        figure=figure,
        title="lowdim simulate",
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
    )


@app.command()
def info():
    """Version, JAX backend and devices (`lowdim doctor` checks the whole installation)."""
    import jax

    from . import __version__

    console.print(f"lowdim {__version__}")
    console.print(f"jax {jax.__version__}, backend: {jax.default_backend()}")
    for d in jax.devices():
        console.print(f"  device {d.id}: {d.platform} {getattr(d, 'device_kind', '')}")


@app.command()
def reproduce(
    figure: str = typer.Argument(..., help="which figure: fig1 | fig2"),
    scale: str = typer.Option("small", help="small | medium | paper (see each figure's docs)"),
    out: Path = typer.Option(None, help="output folder (default lowdim-out/FIGURE)"),
    scheduler: str = typer.Option(None, help="Dask scheduler address for sweeps (fig2)"),
    workers: int = typer.Option(None, help="local worker processes for sweeps (fig2)"),
):
    """Reproduce a figure of the paper: panels, data, report.md and summary.json.

    fig1: correlation densities, duplicate bounds, weight norms, paired traces. fig2: Δ vs α
    sweeps (resumable: a rerun skips finished points; OUT/store/live.png fills in as it runs).

    \b
    Examples:
      lowdim reproduce fig1
      lowdim reproduce fig2 --scale medium --workers 2
      lowdim reproduce fig2 --scale paper --scheduler tcp://head-node:8786
    """
    from . import experiments

    if figure not in experiments.REGISTRY:
        raise ConfigError(
            f"unknown figure {figure!r}; choose one of {sorted(experiments.REGISTRY)}."
            + _did_you_mean(figure, experiments.REGISTRY)
        )
    if figure not in experiments.available():
        raise ConfigError(f"{figure} is not available in this installation")
    out = out or Path("lowdim-out") / figure
    import inspect

    run = experiments.get(figure).run
    params = inspect.signature(run).parameters
    takes_any = any(v.kind is inspect.Parameter.VAR_KEYWORD for v in params.values())
    kwargs = {}
    for name, value in (("scheduler", scheduler), ("workers", workers)):
        if value is not None:
            if name not in params and not takes_any:
                raise ConfigError(f"--{name} is not used by {figure}; leave it out")
            kwargs[name] = value
    t0 = time.perf_counter()
    summary = run(scale=scale, out=out, progress=True, **kwargs)
    console.print_json(json.dumps(summary, default=str))
    console.print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    _html_report(out, t0)


def _option_type(hint):
    """int, float, bool or str from a (possibly optional) annotation."""
    import typing

    for t in (hint, *typing.get_args(hint)):
        if t in (bool, int, float, str):
            return t
    return str


def _extra_options(args: list[str], run, what: str) -> dict:
    """``--name value`` (or ``--name=value``; ``--flag`` for booleans) → keyword arguments of
    ``run``, converted with the types of its signature."""
    import inspect
    import typing

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


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def lecture(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="which system: see `lowdim lecture list`"),
    scale: str = typer.Option("small", help="small | paper (see each demo's docs)"),
    out: Path = typer.Option(None, help="output folder (default lowdim-out/lecture-NAME)"),
    seed: int = typer.Option(0, help="random seed"),
):
    """Run a system of the lecture (Hopfield memory, ring attractor, latent κ, field limit,
    manifolds, context-dependent decisions): figures, data, report.md, summary.json.

    Options of a demo are passed on, e.g. `lowdim lecture context-dm --train-steps 200`.
    `lowdim lecture list` lists the systems of this installation.

    \b
    Examples:
      lowdim lecture list
      lowdim lecture hopfield
      lowdim lecture ring --scale paper --out runs/ring
    """
    from . import experiments

    have = experiments.available(experiments.LECTURES)
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
    run = experiments.get(name, experiments.LECTURES).run
    kwargs = _extra_options(list(ctx.args), run, f"lecture {name}")
    out = out or Path("lowdim-out") / f"lecture-{name}"
    t0 = time.perf_counter()
    summary = run(scale=scale, out=out, progress=True, seed=seed, **kwargs)
    console.print_json(json.dumps(summary, default=str))
    console.print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    _html_report(out, t0)


@app.command()
def bench(
    large: bool = typer.Option(False, help="add N = 4·10⁶"),
    out: Path = typer.Option(None, help="write DIR/bench.json"),
):
    """Speed of the engines (SNN event-driven and dense, RNN, paired) next to NumPy and Brian2.

    \b
    Examples:
      lowdim bench
      lowdim bench --large --out bench-results
    """
    from . import bench as bench_mod
    from .io import check_output_folder

    if out is not None:
        check_output_folder(out)
    bench_mod.main(large=large, out=out)


def _html_report(out: Path, t0: float) -> None:
    from .cli_extra import html_report  # out/index.html (lowdim.report)

    html_report(out, t0)


def _did_you_mean(word: str, choices) -> str:
    from .cli_extra import did_you_mean

    return did_you_mean(word, choices)


from . import cli_extra  # noqa: E402, F401  (registers doctor, export nwb, report)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input ends with one line ``error: …`` and exit code 2."""
    code = 0
    try:
        rv = app(args=argv, standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        code = 2
    except click_exc.NoArgsIsHelpError as e:
        print(e.ctx.get_help() if e.ctx else "", file=sys.stderr)
        code = 0
    except click_exc.UsageError as e:
        print(f"error: {e.format_message()} (see --help)".replace("\n", " "), file=sys.stderr)
        code = 2
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
