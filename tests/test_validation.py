"""Every input is checked before any work: generated bad values through the command line, TOML
files and the Python API end in one clear error, never in a traceback or a silent change.

Property-based (hypothesis): the CLI is called in-process (``lowdim.cli.main``), so an example
costs milliseconds (validation never starts a simulation; if one did, the example would take
seconds and fail its exit-code assertion)."""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import lowdim
from lowdim import ConfigError, RunConfig
from lowdim.cli import main

BASE = ["simulate", "-N", "200", "-p", "2", "--duration", "0.05", "--burn-in", "0.01"]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def cli(argv: list[str], cwd: Path) -> tuple[int, list[str], str]:
    """(exit code, non-empty stderr lines, stderr) of ``lowdim ARGV`` run in-process in cwd."""
    err = io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main(argv)
                code = 0
            except SystemExit as e:
                code = e.code
    finally:
        os.chdir(old)
    text = err.getvalue()
    return code, [ln for ln in text.splitlines() if ln.strip()], text


def assert_refused(argv: list[str], cwd: Path, words: str | None = None) -> str:
    before = sorted(os.listdir(cwd))
    code, lines, text = cli(argv, cwd)
    assert code == 2, (argv, text)
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, text)
    assert "Traceback" not in text
    assert sorted(os.listdir(cwd)) == before, (argv, "left", sorted(os.listdir(cwd)))
    if words is not None:
        assert words in lines[0], (argv, lines[0])
    return lines[0]


# ----------------------------------------------------------------------------- strategies
_printable = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
    min_size=1,
    max_size=12,
)
_not_number = _printable.filter(lambda s: not _parses_as_float(s))


def _parses_as_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _not_whole(ratio: float) -> bool:
    return abs(ratio - round(ratio)) > 1e-6 * max(1.0, ratio)


_fl = st.floats(allow_nan=False, allow_infinity=False)
#: x < 0 as bounds, not ``_fl.filter(lambda x: x < 0)``: Hypothesis rewrites that filter into
#: max_value=0, exclude_max=True, and its next float below 0.0 is −0.0, a valid σ or burn-in
#: (a rare false failure: ('--sigma', '-0.0') ran a simulation)
_negative = st.floats(max_value=-math.ulp(0.0), allow_nan=False, allow_infinity=False)


def _num(x) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


_nonfinite = st.sampled_from(["nan", "inf", "-inf"])
#: for each flag of `lowdim simulate`, values that must be refused with the base settings
#: (N = 200, p = 2, duration 0.05 s, dt 1e-4 s, record_dt 1 ms, burn-in 0.01 s)
BAD_FLAG_VALUES = {
    "--neurons": st.one_of(st.integers(max_value=1), st.integers(min_value=2**31), _not_number),
    "--rank": st.one_of(st.integers(max_value=0), st.integers(201, 10**6), _not_number),
    "--seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32), _not_number),
    "--spike-seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32)),
    "--input-seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32)),
    "--duration": st.one_of(
        _fl.filter(lambda x: x <= 0),
        _nonfinite,
        st.floats(0.0005, 2.0).filter(lambda x: _not_whole(x / 1e-3)),
    ),
    "--dt": st.one_of(
        _fl.filter(lambda x: x <= 0 or x >= 0.01),
        _nonfinite,
        st.floats(1e-6, 9.9e-4).filter(lambda x: _not_whole(1e-3 / x)),
    ),
    "--sigma": st.one_of(_negative, _nonfinite),
    "--burn-in": st.one_of(
        _negative,
        st.floats(min_value=0.05, allow_nan=False, allow_infinity=False),
        _nonfinite,
        st.floats(0.0, 0.049).filter(lambda x: _not_whole(x / 1e-4)),
    ),
    "--record-dt": st.one_of(
        st.floats(1e-8, 9.9e-5),
        st.floats(1e-4, 0.05).filter(lambda x: _not_whole(x / 1e-4)),
        _nonfinite,
    ),
    "--record-neurons": st.one_of(st.integers(max_value=-1), st.integers(101, 10**6)),
    "--tile-rows": st.one_of(
        st.integers(max_value=1023), st.integers(1025, 10**6).filter(lambda x: x % 1024)
    ),
    "--devices": st.one_of(st.integers(max_value=0), st.integers(min_value=64)),
    "--networks": _printable.filter(lambda s: s not in ("both", "snn", "rnn")),
    "--noise-time-unit": _printable.filter(lambda s: s not in ("s", "ms", "tau")),
    "--dtype": _printable.filter(lambda s: s not in ("float32", "float64")),
    "--loadings": _printable.filter(lambda s: s not in ("stored", "procedural")),
    "--loadings-dtype": st.one_of(
        st.just("float64"),
        _printable.filter(lambda s: s not in ("float64", "float32", "bfloat16", "float16")),
    ),
}


@st.composite
def bad_flag(draw):
    flag = draw(st.sampled_from(sorted(BAD_FLAG_VALUES)))
    value = draw(BAD_FLAG_VALUES[flag])
    return flag, _num(value)


def test_negative_strategy_never_draws_zero():
    """−0.0 passes ``x < 0``'s rewritten bounds; the bounds of ``_negative`` exclude it."""
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    with pytest.raises(NoSuchExample):
        find(_negative, lambda x: x == 0, settings=settings(max_examples=2000, database=None))


@SETTINGS
@given(bad=bad_flag())
def test_generated_bad_flags_end_in_one_error_line(bad):
    """Exit 2, one ``error:`` line, no traceback, nothing written; the flag named when the
    value reached lowdim's checks."""
    flag, value = bad
    with tempfile.TemporaryDirectory() as d:
        line = assert_refused([*BASE, f"{flag}={value}", "--out", "out"], Path(d))
    assert flag in line or flag.lstrip("-").replace("-", "_") in line or "Invalid value" in line


@st.composite
def bad_path(draw):
    kind = draw(
        st.sampled_from(
            [
                "out_under_file",
                "checkpoint_under_file",
                "out_is_file",
                "checkpoint_is_folder",
                "out_has_results",
                "out_foreign",
                "checkpoint_not_a_checkpoint",
                "config_bytes",
            ]
        )
    )
    data = draw(st.binary(min_size=1, max_size=64))
    return kind, data


@SETTINGS
@given(case=bad_path())
def test_paths_are_checked_before_the_run(case):
    """Every path a run writes (output folder, checkpoint) or reads (config) is checked first:
    e.g. ``--checkpoint afile/run.ckpt`` with ``afile`` a file fails before the first step."""
    kind, data = case
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "afile").write_bytes(data)
        (d / "folder").mkdir()
        (d / "done").mkdir()
        (d / "done" / "summary.json").write_text("{}")
        (d / "mine").mkdir()
        (d / "mine" / "notes.txt").write_text("mine")
        args = {
            "out_under_file": ["--out", "afile/sub"],
            "checkpoint_under_file": ["--checkpoint", "afile/run.ckpt", "--out", "o"],
            "out_is_file": ["--out", "afile"],
            "checkpoint_is_folder": ["--checkpoint", "folder", "--out", "o"],
            "out_has_results": ["--out", "done"],
            "out_foreign": ["--out", "mine", "--overwrite"],
            "checkpoint_not_a_checkpoint": ["--checkpoint", "afile", "--out", "o"],
            "config_bytes": ["--config", "afile", "--out", "o"],
        }[kind]
        if kind == "config_bytes":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                import tomllib

                try:
                    table = tomllib.loads(text)
                except tomllib.TOMLDecodeError:
                    table = None
                assume(table is None or set(table) - set(RunConfig().to_dict()))
        assert_refused([*BASE, *args], d)
        assert (d / "afile").read_bytes() == data  # inputs untouched


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + "}"


_scalar = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
)
ANY_TOML = st.one_of(
    _scalar,
    st.lists(_scalar, max_size=3),
    st.dictionaries(st.text(alphabet="abcdefgh", min_size=1, max_size=4), _scalar, max_size=2),
)
FIELDS = sorted(RunConfig.__dataclass_fields__)
TOML_BASE = {"neurons": 200, "rank": 2, "duration": 0.05, "burn_in": 0.01}


def _valid(table: dict) -> bool:
    try:
        RunConfig.from_dict(table)
    except ConfigError:
        return False
    return True


#: values whose ratios to dt overflow to inf (round(inf) raised OverflowError, issue 18, item 16)
EXTREME = [
    ("duration", 1.7976931348623157e308),
    ("duration", 1e306),
    ("record_dt", 1.7976931348623157e308),
    ("burn_in", 1.7976931348623157e308),
    ("dt", 5e-324),
]


@SETTINGS
@given(key=st.sampled_from(FIELDS + ["rnak", "seeds", "Neurons"]), value=ANY_TOML)
@example(key="duration", value=1.7976931348623157e308)
@example(key="record_dt", value=1.7976931348623157e308)
@example(key="burn_in", value=1.7976931348623157e308)
@example(key="dt", value=5e-324)
def test_generated_bad_toml_values_end_in_one_error_line(key, value):
    """A TOML config with one generated value: refused with one line (exit 2) unless valid."""
    table = {**TOML_BASE, key: value}
    if key == "load":
        table.pop("rank")
    assume(not _valid(table))
    body = "\n".join(f"{k} = {_toml_value(v)}" for k, v in table.items()) + "\n"
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "run.toml").write_text(body)
        assert_refused(["simulate", "--config", "run.toml", "--out", "o"], Path(d))


# ----------------------------------------------------------------------------- Python API
ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),
    st.dictionaries(st.integers(), st.integers(), max_size=2),
    st.tuples(st.floats()),
)
GOOD = {"neurons": 200, "rank": 2, "duration": 0.05, "burn_in": 0.01}
INNER = (TypeError, KeyError, AttributeError, IndexError, OverflowError, ZeroDivisionError)


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(FIELDS), value=ANY)
@example(key="duration", value=1e306)
@example(key="step_start", value=1.7976931348623157e308)
def test_python_config_is_valid_or_a_config_error(key, value):
    """``RunConfig.from_dict``, ``replace`` and ``validated`` with any value of any field: a
    valid config or a ConfigError (a ValueError) — never an error from inside."""
    table = {**GOOD, key: value}
    for build in (
        lambda: RunConfig.from_dict(table),
        lambda: RunConfig(**GOOD).replace(**{key: value}),
        lambda: RunConfig(**table).validated(),
    ):
        try:
            cfg = build()
        except ConfigError:
            continue
        except INNER as e:  # pragma: no cover - the failure this test looks for
            raise AssertionError(f"{key}={value!r}: {type(e).__name__}: {e}") from e
        # accepted: nothing was changed silently
        assert cfg.n_steps * cfg.dt == pytest.approx(cfg.duration, rel=1e-9)
        assert cfg.steps_per_record * cfg.dt == pytest.approx(cfg.record_dt, rel=1e-9)
        assert cfg.load is None or cfg.p == pytest.approx(cfg.load * cfg.neurons, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(FIELDS + ["nuerons", 3]), value=ANY)
def test_simulate_refuses_bad_dicts_before_any_work(key, value):
    """``lowdim.simulate(dict)`` raises ConfigError for every dict that from_dict refuses."""
    table = {**GOOD, key: value}
    assume(not (isinstance(key, str) and key in FIELDS and _valid(table)))
    with pytest.raises(ConfigError):
        lowdim.simulate(table)


_bad_simulate_kwargs = st.one_of(
    st.builds(lambda v: {"connectivity": v}, st.one_of(st.text(), st.integers(), st.just({}))),
    st.builds(
        lambda v: {"method": v},
        st.one_of(st.text().filter(lambda s: s not in ("dense", "event")), st.integers()),
    ),
    st.builds(lambda v: {"block": v}, st.one_of(st.integers(max_value=0), st.floats(), st.text())),
    st.builds(
        lambda v: {"record_indices": v},
        st.one_of(
            st.lists(st.integers(200, 10**6), min_size=1, max_size=3),
            st.lists(st.integers(max_value=-1), min_size=1, max_size=3),
            st.lists(st.floats(0.1, 0.9), min_size=1, max_size=3),
            st.text(min_size=1),
            st.just([[1, 2], [3, 4]]),
            st.just([1, 1]),
        ),
    ),
    st.builds(lambda v: {"checkpoint": v}, st.one_of(st.integers(), st.just("afile/c.npz"))),
    st.builds(
        lambda v: {"checkpoint_every": v},
        st.one_of(st.floats(max_value=-1e-9), st.text(), st.just(float("nan"))),
    ),
    st.builds(
        lambda v: {"checkpoint_steps": v},
        st.one_of(st.integers(max_value=0), st.floats(), st.text()),
    ),
    st.builds(lambda v: {"on_chunk": v}, st.one_of(st.integers(), st.text())),
    st.builds(lambda v: {"keep_records": v}, st.one_of(st.integers(), st.text(), st.none())),
)


@settings(max_examples=60, deadline=None)
@given(kwargs=_bad_simulate_kwargs)
def test_simulate_refuses_bad_arguments_before_any_work(kwargs, tmp_path_factory):
    """Bad connectivity, method, block, recorded neurons, checkpoint path or options of
    ``lowdim.simulate``: a ConfigError before any work."""
    d = tmp_path_factory.mktemp("sim")
    (d / "afile").write_text("x")
    kw = dict(kwargs)
    conn = kw.pop("connectivity", None)
    if kw.get("checkpoint") == "afile/c.npz":
        kw["checkpoint"] = d / "afile" / "c.npz"
    with pytest.raises(ConfigError):
        lowdim.simulate(RunConfig(**GOOD), conn, **kw)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=200))
def test_load_of_any_bytes_is_a_config_error(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("ld") / "x.nc"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match="cannot read"):
        lowdim.load(path)


@settings(max_examples=40, deadline=None)
@given(
    attrs=st.dictionaries(
        st.sampled_from(["config", "title", "seed"]),
        st.one_of(
            st.text(max_size=20), st.integers(), st.just("{"), st.just("[1]"), st.just('"x"')
        ),
        max_size=3,
    )
)
def test_config_of_a_foreign_dataset_is_a_config_error(attrs):
    ds = xr.Dataset({"a": ("x", np.arange(3))}, attrs=attrs)
    try:
        out = lowdim.config_of(ds)
    except ConfigError:
        return
    assert isinstance(out, dict)


# ----------------------------------------------------------------------------- no silent change
@pytest.mark.parametrize(
    "changes, words",
    [
        ({"dt": 3e-4}, "--dt 0.00025"),  # records would come every 0.9 ms
        ({"rank": None, "load": 0.0001, "neurons": 2000}, "--rank 1"),  # α would become 0.0005
        ({"neurons": 2000, "record_neurons": 5000}, "--record-neurons 1000"),
        ({"duration": 0.1503}, "--duration 0.15 or --duration 0.151"),
        ({"burn_in": 0.10005}, "--burn-in 0.1"),
        ({"record_dt": 1.5e-4}, "--record-dt 0.0001"),
        ({"seed": 2**63}, "[0, 2³²)"),
        ({"seed": 2**32}, "[0, 2³²)"),  # JAX would alias it to seed 0
        ({"spike_seed": 2**40}, "--spike-seed"),
        ({"rank": 5, "load": 0.0027, "neurons": 2000}, "disagree"),
        ({"duration": 1e6}, "2³¹ − 1 steps"),
        ({"tile_rows": 1000}, "--tile-rows 1024"),
        ({"input": "step", "step_start": 0.00016}, "step_start = 0.0002"),  # was moved to the grid
    ],
)
def test_no_silent_change(changes, words):
    """What used to be rounded silently is refused with a value to use instead."""
    with pytest.raises(ConfigError) as e:
        RunConfig(**changes).validated()
    assert words in str(e.value)


def test_exact_settings_are_kept():
    """Whole multiples are accepted and run exactly what was asked."""
    cfg = RunConfig(neurons=2000, rank=None, load=0.005, dt=2.5e-4, duration=0.15).validated()
    assert cfg.p == 10 and cfg.steps_per_record == 4 and cfg.n_steps == 600
    assert RunConfig(seed=2**32 - 1).validated().seed == 2**32 - 1


def test_devices_beyond_the_machine_are_named_before_divisibility():
    with pytest.raises(ConfigError, match="JAX sees"):
        lowdim.simulate(RunConfig(neurons=20_000, rank=20, devices=64))


def test_memory_advice_names_the_records_and_cli_flags():
    """A huge --duration is large because of its records; the advice says so, in flags."""
    from lowdim.paper import check_memory

    with pytest.raises(lowdim.MemoryBudgetError) as e:
        check_memory(RunConfig(neurons=2000, rank=5, duration=2e5))
    msg = str(e.value)
    assert "records are what is large" in msg and "--record-neurons" in msg
    assert "record_neurons" not in msg.replace("--record-neurons", "")


def test_large_runs_are_estimated_without_allocating():
    """Steps, memory by part (loadings, state, records) and the results' size on disk, for a
    run far too large to allocate in a test (N = 10⁶, p = 100: F and G alone are 800 MB)."""
    from lowdim.paper.simulation import cost, describe_cost, is_large

    cfg = RunConfig(neurons=1_000_000, rank=100, duration=1.0)
    c = cost(cfg)
    assert c["steps"] == 10_000 and c["element_steps"] == 10**12 and is_large(c)
    assert c["memory"]["loadings"] >= 2 * 10**6 * 100 * 4  # F and G in float32 at least
    line = describe_cost(cfg, c)
    for word in ("10,000 steps", "loadings", "state", "records", "on disk"):
        assert word in line
    assert not is_large(cost(RunConfig(neurons=20_000, rank=20, duration=1.0)))  # the demo


@pytest.mark.parametrize("key, value", EXTREME)
def test_extreme_times_are_a_config_error(key, value):
    """Ratios such as duration / dt that overflow to inf are refused with a message, not an
    OverflowError from round(inf) (the cause of a rare failure of the TOML property test)."""
    with pytest.raises(ConfigError, match="2³¹ − 1 steps|no time to measure"):
        RunConfig(**{**GOOD, key: value}).validated()


def test_hypothesis_profile_follows_ci():
    """CI (CI set) runs the derandomized profile, so that a failure there reproduces; locally
    the examples are random. Both print the failing example's reproduction blob."""
    from hypothesis import settings as hs

    ci, dev = hs.get_profile("ci"), hs.get_profile("dev")
    assert ci.derandomize and ci.deadline is None and ci.print_blob
    assert not dev.derandomize and dev.print_blob
    assert hs.default.derandomize == bool(os.environ.get("CI"))


def test_every_bad_setting_is_reported_at_once():
    """A short --duration no longer hides the other mistakes behind the burn-in message: one
    line per bad setting, and a check that depends on a bad setting is left out."""
    with pytest.raises(ConfigError) as e:
        RunConfig(
            duration=0.05, sigma=-1.0, seed=-3, dtype="float16", record_neurons=10**6
        ).validated()
    lines = str(e.value).splitlines()
    assert len(lines) == 5, lines
    for words in ("burn_in = 0.1 s (the default)", "seed", "sigma", "dtype", "record_neurons"):
        assert any(words in ln for ln in lines), (words, lines)
    # a bad dt: its dependants (record interval, burn-in, spikes per step) are not reported
    with pytest.raises(ConfigError) as e:
        RunConfig(dt=0.02).validated()
    assert str(e.value).count("\n") == 0 and "dt = 0.02 s must be smaller than τ" in str(e.value)


def test_cli_reports_every_bad_option(tmp_path):
    code, lines, text = cli(
        [*BASE, "--duration", "0.005", "--sigma", "-1", "--seed", "-1", "--out", "o"], tmp_path
    )
    assert code == 2 and "Traceback" not in text
    assert len(lines) == 3 and all(ln.startswith("error: ") for ln in lines), lines
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------------- memory advice
def _need(cfg) -> int:
    from lowdim.paper.simulation import estimate_memory

    return estimate_memory(cfg)


def _advice(cfg, have, monkeypatch) -> str:
    from lowdim import engine
    from lowdim.paper import simulation

    monkeypatch.setattr(engine, "available_memory", lambda: int(have))
    with pytest.raises(lowdim.MemoryBudgetError) as e:
        simulation.check_memory(cfg)
    return str(e.value)


@pytest.mark.parametrize("fraction", [0.15, 0.3, 0.5, 0.7, 0.9])
def test_memory_advice_suggests_only_what_fits(fraction, monkeypatch):
    """With a small fake budget, each remedy is in the message exactly when the run with it
    applied fits (estimated afresh from its own config), and the N named is the largest that
    fits."""
    import re

    cfg = RunConfig(neurons=400_000, rank=50, duration=0.01, burn_in=0.0)
    have = fraction * _need(cfg) / 0.9
    msg = _advice(cfg, have, monkeypatch)
    fits = lambda c: _need(c) <= 0.9 * int(have)  # noqa: E731
    short = msg.split(" would not be enough")[0].split("; ")[-1] if "enough" in msg else ""
    for remedy, change, words in (
        ("--loadings procedural", {"loadings": "procedural"}, "procedural loadings"),
        ("--loadings-dtype bfloat16", {"loadings_dtype": "bfloat16"}, "bfloat16 storage"),
    ):
        ok = fits(cfg.replace(**change))
        assert (remedy in msg) == ok and (words in short) != ok, msg
    n = int(re.search(r"--neurons (\d+) or fewer", msg).group(1))
    assert fits(cfg.replace(neurons=n)) and not fits(cfg.replace(neurons=n + 1)), (n, msg)


def test_memory_advice_when_the_state_alone_exceeds_memory(monkeypatch):
    """No loadings remedy is suggested when the state alone does not fit; the message says so
    and names the N that fits."""
    from lowdim.engine import memory_parts
    from lowdim.paper.simulation import program_of

    cfg = RunConfig(neurons=10**6, rank=2, duration=0.01, burn_in=0.0)
    state = memory_parts(program_of(cfg))["state"]
    msg = _advice(cfg, 0.8 * state / 0.9, monkeypatch)
    assert "state alone" in msg and "--neurons" in msg and "--devices" not in msg
    assert "--loadings" not in msg and "procedural loadings and bfloat16 storage would not" in msg


def test_memory_advice_names_the_device_count_that_fits():
    """On accelerators (memory per device), the smallest device count whose share fits."""
    import re

    from lowdim.engine import memory_advice, memory_parts
    from lowdim.paper import MEMORY_HINTS
    from lowdim.paper.simulation import program_of

    cfg = RunConfig(neurons=10**6, rank=100, duration=0.01, burn_in=0.0)
    prog = program_of(cfg)
    parts = memory_parts(prog)
    sharded = parts["loadings"] + parts["state"]
    have = (sharded / 5.5 + parts["records"]) / 0.9  # 6 devices fit, 5 do not
    msg = memory_advice(prog, int(have), per_device=True, hints=MEMORY_HINTS)
    k = int(re.search(r"--devices (\d+)", msg).group(1))
    assert k == 6, msg
    assert -(-sharded // k) + parts["records"] <= 0.9 * int(have)
    assert -(-sharded // (k - 1)) + parts["records"] > 0.9 * int(have)


def test_devices_beyond_the_machine_come_with_the_other_mistakes(tmp_path):
    """--devices beyond the machine is named first, then the other bad options (checked with one
    device, so that no divisibility message follows from the device count)."""
    code, lines, text = cli(
        ["simulate", "-N", "1001", "-p", "2", "--devices", "64", "--sigma", "-1", "--out", "o"],
        tmp_path,
    )
    assert code == 2 and len(lines) == 2, text
    assert "JAX sees" in lines[0] and "sigma" in lines[1] and "divisible" not in text
