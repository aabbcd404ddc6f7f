"""Neuron kinds own their step (lowdim.kinds) and the solve's input plan is typed records.

Each kind's ``emit`` and ``advance`` are checked against the equations of lowdim.network's
docstring computed here by hand (float64, exact up to rounding: rtol 1e-12), on a minimal
program object (the protocol is duck-typed); the flags the planner asks are checked per kind;
the engine modules are checked to dispatch on no kind class; the input plan of a Program is
checked field by field.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest

import lowdim
from lowdim import Along, Binary, Drive, Grid, MembraneNoise, Network, Noise, Poisson, Rate
from lowdim import kinds as kinds_mod
from lowdim import network as network_mod
from lowdim.errors import ConfigError
from lowdim.solve import DriveTerm, MembraneTerm, NoiseTerm, Program

PHI = lowdim.Sigmoid()
SRC = Path(lowdim.__file__).resolve().parent
ENGINE = ["solve", "plan", "kernels", "loop", "event", "views", "integrators", "network"]


def test_kinds_are_the_same_classes_everywhere():
    for name in ("Rate", "Poisson", "Binary"):
        cls = getattr(kinds_mod, name)
        assert getattr(network_mod, name) is cls
        assert getattr(lowdim, name) is cls
        assert issubclass(cls, kinds_mod.Kind)
    assert network_mod.KINDS == (kinds_mod.Rate, kinds_mod.Poisson, kinds_mod.Binary)


def test_the_flags_the_planner_asks():
    rate, poi = Rate(PHI), Poisson(PHI)
    table = {
        "rate": (rate, False, False, False, True, True, None),
        "poisson": (poi, True, False, True, False, True, PHI.max * 1e-3),
        "sync": (Binary("sync"), False, False, False, False, False, 1e-3 / 0.02),
        "async": (Binary("async"), False, True, True, False, False, 1e-3 / 0.02),
        "continuous": (Binary("continuous"), False, True, True, False, False, 1e-3 / 0.02),
    }
    for name, (k, spiking, seq, event, ode, pairable, cand) in table.items():
        got = (k.spiking, k.sequential, k.event_method, k.ode, k.pairable)
        assert got == (spiking, seq, event, ode, pairable), name
        assert k.candidate_rate(1e-3, 0.02) == cand, name


def _prog(**kw):
    """The part of a Program the kinds' protocol reads (duck typing)."""
    base = dict(dt=1e-3, tau=0.02, decay=math.exp(-1e-3 / 0.02), sparse_spikes=False, membrane=None)
    base.update(kw)
    return SimpleNamespace(**base)


def _arrays(n=6, b=2, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, b))
    field = rng.standard_normal((n, b))
    I = rng.standard_normal((n, b))
    gamma = rng.standard_normal(n)
    P = {"gamma": jnp.asarray(gamma), "scale": jnp.asarray(0.5), "masks": {}}
    return v, field, I, gamma, P


def test_rate_emit_and_advance_are_the_documented_step():
    with lowdim.float64():
        v, field, I, gamma, P = _arrays()
        prog, k = _prog(), jnp.int32(3)
        em = Rate(PHI).emit(prog, jnp.asarray(v), k, P, None)
        r = PHI.numpy(v)
        np.testing.assert_allclose(em.act, r * prog.dt, rtol=1e-12)
        np.testing.assert_allclose(em.rate, r, rtol=1e-12)
        np.testing.assert_allclose(em.self_term, gamma[:, None] * r * prog.dt, rtol=1e-12)
        assert em.counts is None and em.overlaps is None
        new = Rate(PHI).advance(
            prog, jnp.asarray(v), jnp.asarray(field), jnp.asarray(I), k, P, None
        )
        np.testing.assert_allclose(new, prog.decay * v + field / prog.tau + I, rtol=1e-12)
        none = Rate(PHI).advance(prog, jnp.asarray(v), jnp.asarray(field), None, k, P, None)
        np.testing.assert_allclose(none, prog.decay * v + field / prog.tau, rtol=1e-12)


def test_rate_emit_smooths_phi_on_the_membrane_noise_population():
    with lowdim.float64():
        v, _, _, _, P = _arrays()
        mask = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
        P["masks"]["A"] = jnp.asarray(mask)
        mem = SimpleNamespace(input=MembraneNoise(0.8, "A"), population="A")
        prog = _prog(membrane=mem, membrane_variance=lambda inp, k: 0.3)
        em = Rate(PHI).emit(prog, jnp.asarray(v), jnp.int32(2), P, None)
        smooth = np.asarray(PHI.smoothed(jnp.asarray(v), 0.3))
        want = np.where(mask[:, None] > 0, smooth, PHI.numpy(v))
        np.testing.assert_allclose(em.rate, want, rtol=1e-12)
        assert np.abs(smooth - PHI.numpy(v)).max() > 1e-3  # the smoothing is visible


def test_poisson_emits_counts_and_their_sparse_overlaps():
    with lowdim.float64():
        v, field, I, gamma, P = _arrays()
        counts = jnp.asarray(np.array([[0, 1], [2, 0], [0, 0], [1, 1], [0, 3], [0, 0]], float))
        msum = jnp.ones((3, 2))
        calls = []

        def spikes(kind, vk, k, keys, P=None):
            calls.append(P is not None)
            return (counts, msum) if P is not None else counts

        kind = Poisson(PHI)
        for sparse in (False, True):
            prog = _prog(sparse_spikes=sparse, spikes=spikes)
            em = kind.emit(prog, jnp.asarray(v), jnp.int32(0), P, None)
            np.testing.assert_array_equal(em.act, counts)
            np.testing.assert_array_equal(em.counts, counts)
            np.testing.assert_allclose(em.rate, np.asarray(counts) / prog.dt, rtol=1e-12)
            np.testing.assert_allclose(em.self_term, gamma[:, None] * np.asarray(counts))
            if sparse:
                np.testing.assert_allclose(em.overlaps, 0.5 * np.ones((3, 2)))
            else:
                assert em.overlaps is None
        assert calls == [False, True]


def test_poisson_advance_adds_membrane_noise_on_its_population_only():
    with lowdim.float64():
        v, field, I, _, P = _arrays()
        mask = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
        P["masks"]["A"] = jnp.asarray(mask)
        inp = MembraneNoise(0.7, "A", time_unit=1e-3)
        xi = np.random.default_rng(5).standard_normal((6, 2))
        prog = _prog(
            membrane=SimpleNamespace(input=inp, population="A"),
            per_trial=lambda stream, k, fn: jnp.asarray(xi),
        )
        keys = {"membrane": None}
        new = Poisson(PHI).advance(
            prog, jnp.asarray(v), jnp.asarray(field), jnp.asarray(I), jnp.int32(1), P, keys
        )
        scale = 0.7 * math.sqrt(prog.dt * 1e-3) / prog.tau
        want = prog.decay * v + field / prog.tau + I + scale * xi * mask[:, None]
        np.testing.assert_allclose(new, want, rtol=1e-12)


def test_binary_emit_and_advance():
    with lowdim.float64():
        _, field, I, gamma, P = _arrays()
        s = np.sign(np.random.default_rng(2).standard_normal((6, 2)))
        prog = _prog()
        em = Binary().emit(prog, jnp.asarray(s), jnp.int32(0), P, None)
        np.testing.assert_array_equal(em.act, s)
        np.testing.assert_array_equal(em.rate, s)
        np.testing.assert_allclose(em.self_term, gamma[:, None] * s)
        h = field + I
        new = Binary().advance(prog, jnp.asarray(s), jnp.asarray(field), jnp.asarray(I), 0, P, {})
        np.testing.assert_array_equal(new, np.where(h > 0, 1.0, np.where(h < 0, -1.0, s)))
        # Glauber: the uniforms come from the spikes stream, S = +1 where u < g(β h)
        u = np.random.default_rng(3).uniform(size=(6, 2))
        prog = _prog(per_trial=lambda stream, k, fn: jnp.asarray(u))
        g = Binary(beta=0.7).advance(
            prog, jnp.asarray(s), jnp.asarray(field), None, 0, P, {"spikes": None}
        )
        p_up = 0.5 * (1.0 + np.tanh(0.7 * field))
        np.testing.assert_array_equal(g, np.where(u < p_up, 1.0, -1.0))
        assert Binary().activity(jnp.asarray(s)) is not None
        np.testing.assert_allclose(Rate(PHI).activity(jnp.asarray(s)), PHI.numpy(s), rtol=1e-12)


def _isinstance_kind_calls(path: Path) -> list[int]:
    names = {"Rate", "Poisson", "Binary", "KINDS"}
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            used = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            if used & names:
                out.append(node.lineno)
    return out


def test_the_engine_asks_the_kind_not_its_class():
    found = {m: _isinstance_kind_calls(SRC / f"{m}.py") for m in ENGINE}
    assert not any(found.values()), found


def test_the_scan_finds_an_isinstance_chain(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f(k):\n    return isinstance(k, Rate) or isinstance(k, (Poisson, int))\n")
    assert _isinstance_kind_calls(f) == [2, 2]


def test_an_unknown_kind_is_refused():
    with pytest.raises(ConfigError, match="unknown neuron kind"):
        Network(neurons=4, F=np.ones((4, 1)), G=np.ones((4, 1)), kinds=("rate",)).validate()
    with pytest.raises(ConfigError, match="cannot be paired"):
        Network(
            neurons=4, F=np.ones((4, 1)), G=np.ones((4, 1)), kinds=(Rate(PHI), Binary())
        ).validate()


def test_the_input_plan_is_typed_records_in_the_order_of_the_inputs():
    n, p, T = 10, 3, 5
    rng = np.random.default_rng(0)
    inputs = (
        Noise(0.3, Along(0.5), "A"),
        Drive(jnp.ones((T, 2)), Along(jnp.ones((p, 2)))),
        MembraneNoise(0.2),
        Drive(lambda t: jnp.ones(1), "uniform", "A"),
        Noise(0.1, jnp.asarray(rng.standard_normal((n, 4)))),
        Drive(jnp.ones((3, T, 1)), jnp.ones((n, 1))),
    )
    net = Network(
        neurons=n,
        F=rng.standard_normal((n, p)),
        G=rng.standard_normal((n, p)),
        kinds=(Rate(PHI), Poisson(PHI)),
        inputs=inputs,
        populations={"A": np.arange(4)},
    )
    prog = Program(net, Grid(1e-3, T), {}, method="dense")
    t = prog.inputs
    assert [type(x) for x in t] == [
        NoiseTerm,
        DriveTerm,
        MembraneTerm,
        DriveTerm,
        NoiseTerm,
        DriveTerm,
    ]
    assert [x.index for x in t] == list(range(6))
    assert all(x.input is inp for x, inp in zip(t, inputs, strict=True))
    assert (t[0].vectors, t[0].width, t[0].z, t[0].scalar, t[0].population) == (
        "along",
        p,
        (0, p),
        True,
        "A",
    )
    assert (t[1].vectors, t[1].width, t[1].u, t[1].scalar) == ("along", 2, "array2", False)
    assert (t[3].vectors, t[3].width, t[3].u) == ("uniform", 1, "fn")
    assert (t[4].vectors, t[4].width, t[4].z) == ("array", 4, (p, p + 4))
    assert (t[5].vectors, t[5].u) == ("array", "array3")
    assert prog.noise_width == p + 4
    assert prog.membrane is t[2] and prog.terms == [t[0], t[1], t[3], t[4], t[5]]
    assert prog.along == [t[0], t[1]]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t[0].width = 1
    # one coefficient per term, from the one place that computes them (noise: σ √(dt) z)
    k = jnp.int32(0)
    P = prog.prepare(net)
    z = jnp.ones((1, prog.noise_width))
    coefs = prog.term_coefficients(k, P["inputs"], z)
    assert [c[0] for c in coefs] == prog.terms
    np.testing.assert_allclose(coefs[0][1], np.full((1, p), math.sqrt(1e-3) * 0.3 * 0.5), 1e-6)
    e = math.exp(-1e-3 / net.tau)
    np.testing.assert_allclose(coefs[2][1], np.full((3, 1), 1.0 - e), rtol=1e-6)  # 3 trials


def test_equal_kinds_give_equal_programs():
    # kinds are compared by value (frozen dataclasses): one compile for equal descriptions
    net = Network(
        neurons=4, F=np.ones((4, 1)), G=np.ones((4, 1)), kinds=(Rate(PHI),), x0=np.zeros(4)
    )
    a = Program(net, Grid(1e-3, 3), {})
    b = Program(net.replace(kinds=(Rate(PHI),)), Grid(1e-3, 3), {})
    assert a == b and hash(a) == hash(b)
    c = Program(net.replace(kinds=(Rate(lowdim.Tanh()),)), Grid(1e-3, 3), {})
    assert a != c
