"""lowdim.train: one resumable training driver (optax step keyed by the step index, progress,
checkpoints with an identity) for any parameters and loss."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lowdim
from lowdim import checkpoint as ckpt
from lowdim import training

# ----------------------------------------------------------------------------- a small problem
W_TRUE = jnp.asarray([1.0, -2.0, 0.5, 3.0])


def regression_batches(step, key):
    """32 noisy samples of y = x · w_true + 1 (drawn from the step's key)."""
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (32, 4))
    return {"x": x, "y": x @ W_TRUE + 1.0 + 0.1 * jax.random.normal(ky, (32,))}


def regression_loss(params, batch, key):
    """MSE with a random dropout of samples (uses the loss key) and an aux statistic."""
    keep = jax.random.bernoulli(key, 0.8, (32,))
    err = (batch["x"] @ params["w"] + params["b"] - batch["y"]) ** 2
    mse = jnp.sum(err * keep) / jnp.maximum(jnp.sum(keep), 1)
    return mse, {"kept": jnp.sum(keep), "w_norm": jnp.linalg.norm(params["w"])}


def start():
    return {"w": jnp.zeros(4), "b": jnp.zeros(())}


OPT = optax.adam(0.05)
KEY = jax.random.PRNGKey(3)


def fit(steps, params=None, **kw):
    kw = {"key": KEY, "batches": regression_batches, "progress": False} | kw
    return lowdim.train(start() if params is None else params, regression_loss, OPT, steps, **kw)


def assert_same_run(a, b):
    (pa, ha), (pb, hb) = a, b
    for k in pa:
        np.testing.assert_array_equal(np.asarray(pa[k]), np.asarray(pb[k]))
    assert set(ha) == set(hb) == {"loss", "kept", "w_norm", "seconds"}
    for k in ("loss", "kept", "w_norm"):
        np.testing.assert_array_equal(ha[k], hb[k])


def test_history_shapes_and_the_loss_falls():
    params, hist = fit(60)
    assert hist["loss"].shape == hist["kept"].shape == hist["seconds"].shape == (60,)
    assert hist["loss"].dtype == np.float64 and np.all(np.diff(hist["seconds"]) >= 0)
    # the noise floor is 0.01 (σ = 0.1); from w = 0 the first loss is ≈ |w_true|² + 1 = 15.25
    assert hist["loss"][0] > 5 and hist["loss"][-5:].mean() < 0.1 * hist["loss"][0]
    np.testing.assert_allclose(hist["w_norm"][-1], float(jnp.linalg.norm(params["w"])), 0.1)
    # `kept` is a count of Bernoulli(0.8) out of 32: its mean over steps is within 5 SE of 25.6
    se = math.sqrt(32 * 0.8 * 0.2 / 60)
    assert abs(hist["kept"].mean() - 25.6) < 5 * se


def test_resumed_training_is_bitwise_the_uninterrupted_run(tmp_path):
    """K steps with a checkpoint, then N: the same parameters, losses and aux as N at once; so
    is a run killed after step 7 (checkpoint every step) and run again; and one compile."""
    whole = fit(20)
    n_compiled = training._step._cache_size()
    ck = tmp_path / "fit.ckpt"
    part = fit(8, checkpoint=ck)
    assert ckpt.read(ck)[0]["step"] == 8
    assert_same_run((part[0], part[1]), fit(8))
    again = fit(20, checkpoint=ck)
    assert_same_run(again, whole)
    assert len(again[1]["seconds"]) == 20
    # asked again for 20 steps: nothing to do, the checkpoint's numbers
    assert_same_run(fit(20, checkpoint=ck), whole)

    def kill(step, params, record):
        if step == 6:
            raise KeyboardInterrupt

    ck2 = tmp_path / "killed.ckpt"
    with pytest.raises(KeyboardInterrupt):
        fit(20, checkpoint=ck2, checkpoint_every=0, callback=kill)
    assert ckpt.read(ck2)[0]["step"] == 6  # the checkpoint before the interrupted step's end
    assert_same_run(fit(20, checkpoint=ck2), whole)
    # the same functions and shapes: the first run's compiled step serves all the others
    assert training._step._cache_size() == n_compiled


def test_callback_sees_every_step():
    seen = []
    params, hist = fit(5, callback=lambda s, p, r: seen.append((s, r["loss"], float(r["kept"]))))
    assert [s for s, _, _ in seen] == list(range(5))
    np.testing.assert_array_equal([r for _, r, _ in seen], hist["loss"])
    np.testing.assert_array_equal([k for _, _, k in seen], hist["kept"])


def test_a_rate_network_trained_through_the_solve_holds_a_pulse():
    """A rank-1 rate network (trainable loading G and readout w) learns to hold a pulse's
    amplitude in its readout: on 64 held-out trials the mean paired decrease of the squared
    error is more than 5 standard errors of the per-trial differences."""
    rng = np.random.default_rng(0)
    N, B = 100, 8
    m = rng.standard_normal(N)
    grid = lowdim.Grid(dt=1e-3, steps=100, record_every=10)

    def batches(step, key, trials=B):
        a = 0.5 * jax.random.normal(key, (trials, 1))
        return jnp.zeros((trials, grid.steps, 1)).at[:, 20:30].set(a[:, None]), a

    def readout(params, u, key):
        net = lowdim.Network(
            neurons=N,
            F=m[:, None],
            G=params["G"],
            scale=1 / N,
            kinds=(lowdim.Rate(jnp.tanh),),
            tau=0.01,
            trials=u.shape[0],
            inputs=(lowdim.Drive(u, m[:, None]),),
            readout=params["w"] / N,
        )
        return lowdim.solve(net, grid, key, {"z": lowdim.Readout()})["z"][..., 0]

    def loss(params, batch, key):
        u, a = batch
        return jnp.mean((readout(params, u, key)[:, 6:] - a) ** 2)

    p0 = {"G": 0.8 * m[:, None], "w": m[:, None]}
    params, hist = lowdim.train(p0, loss, optax.adam(0.05), 40, batches=batches, progress=False)
    u, a = batches(0, jax.random.PRNGKey(99), trials=64)

    @jax.jit
    def per_trial(p):
        return jnp.mean((readout(p, u, jax.random.PRNGKey(0))[:, 6:] - a) ** 2, axis=1)

    d = np.asarray(per_trial(p0) - per_trial(params), np.float64)
    assert d.mean() > 5 * d.std(ddof=1) / math.sqrt(d.size), (d.mean(), d.std())
    assert hist["loss"][-5:].mean() < hist["loss"][:5].mean()


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    ck = tmp_path / "a.ckpt"
    fit(6, checkpoint=ck, identity={"lr": 0.05, "data": "regression"})
    with pytest.raises(lowdim.ConfigError, match=r"another training run \(lr differ\)"):
        fit(10, checkpoint=ck, identity={"lr": 0.1, "data": "regression"})
    with pytest.raises(lowdim.ConfigError, match="another training run"):
        fit(10, checkpoint=ck, identity="a string")
    with pytest.raises(lowdim.ConfigError, match="at step 6, beyond steps = 4"):
        fit(4, checkpoint=ck, identity={"lr": 0.05, "data": "regression"})
    p, h = fit(10, checkpoint=ck, identity={"data": "regression", "lr": 0.05})  # key order: same
    assert_same_run((p, h), fit(10))
    # default identity: a hash of the initial parameters and of the key
    ck2 = tmp_path / "b.ckpt"
    fit(3, checkpoint=ck2)
    with pytest.raises(lowdim.ConfigError, match=r"another training run \(params differ\)"):
        fit(5, {"w": jnp.ones(4), "b": jnp.zeros(())}, checkpoint=ck2)
    with pytest.raises(lowdim.ConfigError, match=r"\(key differ\)"):
        fit(5, checkpoint=ck2, key=jax.random.PRNGKey(4))
    # same identity, other parameter shapes
    with pytest.raises(lowdim.ConfigError, match="does not fit"):
        lowdim.train(
            {"w": jnp.zeros(5), "b": jnp.zeros(())},
            lambda p, b, k: jnp.sum(p["w"] ** 2),
            OPT,
            20,
            checkpoint=ck,
            identity={"lr": 0.05, "data": "regression"},
            progress=False,
        )
    # an npz that is not a training checkpoint
    other = tmp_path / "other.ckpt"
    ckpt.write(other, {"format": 2}, {"state/x": np.zeros(3)})
    with pytest.raises(lowdim.ConfigError, match="not a checkpoint of lowdim.train"):
        fit(5, checkpoint=other)


def test_a_diverging_run_stops_with_a_config_error(tmp_path):
    def loss(params, batch, key):
        return jnp.sum(params["w"] ** 2) * jnp.where(jnp.sum(params["w"]) > 1.5, jnp.nan, 1.0)

    ck = tmp_path / "d.ckpt"
    with pytest.raises(lowdim.ConfigError, match="training diverged at step 3 "):
        lowdim.train(
            {"w": jnp.full(2, 0.5)},
            loss,
            optax.sgd(-0.1),  # gradient ascent: w × 1.2 a step, sum(w) = 1, 1.2, 1.44, 1.728
            50,
            checkpoint=ck,
            checkpoint_every=0,
            progress=False,
        )
    meta, arrays = ckpt.read(ck)  # the last finite state, no NaN written
    assert meta["step"] == 3
    np.testing.assert_allclose(arrays["params/['w']"], 0.5 * 1.2**3, rtol=1e-6)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"steps": -1}, "steps must be an integer ≥ 0"),
        ({"steps": 2.5}, "steps must be an integer ≥ 0"),
        ({"steps": True}, "steps must be an integer ≥ 0"),
        ({"loss": "mse"}, "loss must be a function"),
        ({"batches": [1, 2]}, "batches must be a function"),
        ({"callback": 3}, "callback must be a function"),
        ({"optimizer": 0.01}, "optimizer must be an optax GradientTransformation"),
        ({"checkpoint_every": -1.0}, "checkpoint_every must be"),
        ({"checkpoint": 5}, "checkpoint must be a file path"),
        ({"params": {"n": jnp.arange(3)}}, "params must be float arrays"),
        ({"params": {}}, "at least one array"),
        ({"identity": {"f": object()}}, "identity must be a string or a JSON-able dict"),
        ({"identity": 3}, "identity must be a string or a JSON-able dict"),
        ({"key": 3}, "key must be a JAX PRNG key"),
        ({"loss": lambda p, b, k: p["w"]}, "loss must return a scalar"),
        ({"loss": lambda p, b, k: (p["b"], {"loss": p["b"]})}, "are the history's own"),
    ],
)
def test_bad_arguments_are_config_errors(kw, match):
    args = {
        "params": start(),
        "loss": regression_loss,
        "optimizer": OPT,
        "steps": 3,
        "batches": regression_batches,
        "progress": False,
    } | kw
    with pytest.raises(lowdim.ConfigError, match=match):
        lowdim.train(**args)


def test_new_style_keys_and_no_batches():
    """A typed key (jax.random.key) and a loss without data train as well."""

    def loss(params, batch, key):
        assert batch is None
        return jnp.sum((params["x"] - 2.0) ** 2) + 0.0 * jax.random.normal(key)

    params, hist = lowdim.train(
        {"x": jnp.zeros(3)}, loss, optax.sgd(0.25), 10, key=jax.random.key(0), progress=False
    )
    # gradient descent on (x − 2)²: x_k = 2 (1 − (1 − 2 · 0.25)^k)
    np.testing.assert_allclose(np.asarray(params["x"]), 2 * (1 - 0.5**10), rtol=1e-6)
    assert hist["loss"][0] == pytest.approx(12.0)
