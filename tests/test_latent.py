"""The latent reduction κ (lowdim.models.latent) against closed forms, a plain NumPy loop, and
N-neuron networks (first-order 1/√N theory for the tolerances)."""

from __future__ import annotations

import jax
import numpy as np

import lowdim


def test_runs_that_differ_only_in_input_arrays_do_not_share_them():
    """Regression (engine): two runs of networks with equal shapes but different drive arrays,
    input vectors or Along coefficients share one compiled program; each must use its own
    arrays (Program.prepare reads them from the network it is given)."""
    N = 200
    rng = np.random.default_rng(0)
    F = rng.standard_normal((N, 2))
    grid = lowdim.Grid(1e-3, 50, 10)
    finals = []
    for amp in (1.0, 3.0):
        u = np.full((50, 2), amp, np.float32)
        V = amp * rng.standard_normal((N, 1))
        net = lowdim.Network(
            neurons=N,
            F=F,
            G=0.5 * F,
            scale=1 / N,
            kinds=(lowdim.Rate(lowdim.Tanh()),),
            inputs=(
                lowdim.Drive(u, lowdim.Along(amp * np.eye(2))),
                lowdim.Drive(u[:, :1], V),
            ),
        )
        got = lowdim.run(net, grid, {"x": lowdim.Potentials()}).x.values[-1]
        fresh = lowdim.solve(net, grid, jax.random.PRNGKey(0), {"x": lowdim.Potentials()})["x"][-1]
        np.testing.assert_allclose(got, np.asarray(fresh), rtol=1e-6, atol=1e-6)
        finals.append(got)
    assert not np.allclose(finals[0], finals[1])
