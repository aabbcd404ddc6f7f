"""Settings of a lecture run: a scale's defaults, a TOML file and command-line options, checked,
saved with the run (``settings.toml`` and ``summary.json``) and read back to rerun it.

A lecture module has ``SCALES`` (name → dict of run settings) and may have ``PARAMS`` (the
model, shared by every scale). The settings of one run are::

    lecture = "ring"       # which lecture
    scale = "small"        # the scale whose defaults were used
    seed = 0
    [model]                # PARAMS, with any changes
    ...
    [run]                  # SCALES[scale], with any changes

Every key of ``[model]`` and ``[run]`` is also an option of ``lowdim lecture NAME``
(``--glauber-beta 3``, ``--cap-n 500,1000``; lists comma-separated). A file may give the keys
in their sections or at its top level. Unknown keys, and values of the wrong type, end in a
:class:`~lowdim.errors.ConfigError` that lists the valid keys. The saved ``settings.toml`` holds
every key, so ``lowdim lecture NAME --config OUT/settings.toml`` reruns the run.
"""

from __future__ import annotations

import copy
import math
import tomllib
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError
from ._common import check_scale

__all__ = ["resolve", "to_toml", "read", "keys", "parse_value", "use_params"]

SECTIONS = ("model", "run")
_TOP = ("lecture", "scale", "seed")


def keys(module, scale: str = "small") -> dict:
    """key → (section, default) of every setting of a lecture module."""
    out = {}
    for k, v in getattr(module, "PARAMS", {}).items():
        out[k] = ("model", v)
    base = module.SCALES.get(scale) or next(iter(module.SCALES.values()))
    for k, v in base.items():
        if k in out:  # pragma: no cover - a module defect, caught by the tests
            raise RuntimeError(f"setting {k!r} is both a model parameter and a scale setting")
        out[k] = ("run", v)
    return out


def _type_name(default) -> str:
    if isinstance(default, bool):
        return "true/false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, list | tuple):
        return "a list"
    if isinstance(default, dict):
        return "a table"
    return type(default).__name__


def _coerce(key: str, value, default):
    """``value`` (from TOML or JSON) as the type of ``default``; ConfigError if it is not."""
    bad = ConfigError(
        f"setting {key} must be {_type_name(default)} like {default!r}, got {value!r}"
    )
    if default is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(default, list | tuple):
        if not isinstance(value, list | tuple):
            raise bad
        proto = default[0] if len(default) else None
        items = [_coerce(f"{key}[{i}]", v, proto) for i, v in enumerate(value)]
        return tuple(items) if isinstance(default, tuple) else items
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise bad
        k0, v0 = next(iter(default.items())) if default else (None, None)
        out = {}
        for k, v in value.items():
            kk = k
            if isinstance(k0, int) and isinstance(k, str):
                try:
                    kk = int(k)
                except ValueError:
                    raise ConfigError(f"setting {key} needs integer keys, got {k!r}") from None
            out[kk] = _coerce(f"{key}[{k}]", v, default.get(kk, v0))
        return out
    return value


def parse_value(key: str, text: str, default):
    """A command-line value: numbers, true/false, lists as ``a,b,c``, tables as TOML
    (``{1000 = 8, 3000 = 4}``) or ``1000:8,3000:4``."""
    if isinstance(default, str) or default is None:
        return text
    if isinstance(default, dict):
        t = text.strip()
        if not t.startswith("{"):
            pairs = [p.partition(":") for p in t.split(",") if p.strip()]
            if any(not sep for _, sep, _ in pairs):
                raise ConfigError(f"--{_flag(key)} takes a table, e.g. '1000:8,3000:4'")
            t = "{" + ", ".join(f'"{a.strip()}" = {_literal(b.strip())}' for a, _, b in pairs) + "}"
        try:
            value = tomllib.loads(f"v = {t}")["v"]
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"--{_flag(key)}: cannot read {text!r} as a table ({e})") from None
        return _coerce(key, value, default)
    if isinstance(default, list | tuple):
        t = text.strip()
        if t.startswith("["):
            body = t
        else:
            body = "[" + ", ".join(_literal(x.strip()) for x in t.split(",") if x.strip()) + "]"
        try:
            value = tomllib.loads(f"v = {body}")["v"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(
                f"--{_flag(key)} takes a comma-separated list like "
                f"{','.join(str(x) for x in _flatten(default))}, got {text!r}"
            ) from None
        return _coerce(key, value, default)
    try:
        value = tomllib.loads(f"v = {_literal(text.strip())}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    return _coerce(key, value, default)


def _flatten(x):
    for v in x:
        if isinstance(v, list | tuple):
            yield from _flatten(v)
        else:
            yield v


def _literal(s: str) -> str:
    """A bare word of the command line as a TOML value (numbers and true/false as they are)."""
    low = s.lower()
    if low in ("true", "false"):
        return low
    if low in ("inf", "+inf", "-inf", "nan"):
        return low
    try:
        float(s)
        return s if not s.startswith("+") else s[1:]
    except ValueError:
        pass
    if s.startswith(("[", "{", '"')):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flag(key: str) -> str:
    return key.replace("_", "-")


def read(path) -> dict:
    """A settings file as a dict (TOML); ConfigError if it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--config: no such file {str(p)!r}")
    try:
        return tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"--config {p}: not a valid TOML file ({e})") from None


def resolve(
    module,
    lecture: str,
    scale: str | None = None,
    seed: int | None = None,
    config=None,
    overrides: dict | None = None,
) -> dict:
    """The settings of a run: the scale's defaults, then the file ``config`` (a path or a dict),
    then ``overrides`` (key → value, from options). ``scale``/``seed`` given here win over the
    file's; otherwise the file's, else "small" and 0."""
    raw = read(config) if isinstance(config, str | Path) else dict(config or {})
    if "lecture" in raw and raw["lecture"] != lecture:
        raise ConfigError(
            f"the settings file is for lecture {raw['lecture']!r}, not {lecture!r}: run "
            f"`lowdim lecture {raw['lecture']} --config FILE` or remove its line lecture = …"
        )
    scale = scale if scale is not None else raw.get("scale", "small")
    check_scale(scale, module.SCALES, f"the {lecture} demo")
    seed = seed if seed is not None else raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be an integer ≥ 0, got {seed!r}")
    known = keys(module, scale)
    valid = ", ".join(sorted(known))
    given = {}
    for k, v in raw.items():
        if k in _TOP:
            continue
        if k in SECTIONS and isinstance(v, dict):
            for kk, vv in v.items():
                if kk not in known or known[kk][0] != k:
                    raise ConfigError(
                        f"unknown setting [{k}] {kk} for the {lecture} lecture; valid: {valid}."
                        + _hint(kk, known)
                    )
                given[kk] = vv
        elif k in known:
            given[k] = v
        else:
            raise ConfigError(
                f"unknown setting {k} for the {lecture} lecture; valid: {valid}." + _hint(k, known)
            )
    for k, v in (overrides or {}).items():
        if k not in known:
            raise ConfigError(
                f"unknown setting {k} for the {lecture} lecture; valid: {valid}." + _hint(k, known)
            )
        given[k] = v
    out = {"lecture": lecture, "scale": scale, "seed": seed, "model": {}, "run": {}}
    for k, (section, default) in known.items():
        v = _coerce(k, given[k], default) if k in given else copy.deepcopy(default)
        out[section][k] = v
    return out


def _hint(word, known) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


# ----------------------------------------------------------------------------- TOML out
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} to TOML")


def to_toml(settings: dict) -> str:
    """The settings as a TOML file (every key; floats written exactly)."""
    lec = settings["lecture"]
    lines = [
        f"# settings of a `lowdim lecture {lec}` run; rerun it with",
        f"#   lowdim lecture {lec} --config settings.toml --out NEW-FOLDER",
        f"lecture = {_toml_value(lec)}",
        f"scale = {_toml_value(settings['scale'])}",
        f"seed = {_toml_value(settings['seed'])}",
    ]
    for sec in SECTIONS:
        if settings.get(sec):
            lines += ["", f"[{sec}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in settings[sec].items()]
    return "\n".join(lines) + "\n"


def jsonable(settings: dict) -> dict:
    """The settings for summary.json (tables with integer keys get string keys)."""

    def conv(v):
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        return v

    return conv(settings)


def from_summary(summary: dict) -> dict:
    """The settings saved in a summary.json (to pass as ``config``)."""
    s = summary.get("settings")
    if not isinstance(s, dict):
        raise ConfigError("this summary.json has no settings (written before lowdim saved them)")

    def conv(v):
        if isinstance(v, str) and v in ("inf", "-inf", "nan"):
            return float(v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return conv(s)


@contextmanager
def use_params(module, params: dict):
    """Within the block, ``module.PARAMS`` is ``params`` (the module's functions read it)."""
    old = module.PARAMS
    module.PARAMS = params
    try:
        yield params
    finally:
        module.PARAMS = old
