"""Low-rank connectivity: overlaps against the dense matrix, self-terms, norms."""

import numpy as np
import pytest

from lowdim import ConfigError, Tanh, from_arrays, paper


def test_factorized_matches_dense_float64():
    rng = np.random.default_rng(1)
    N, p = 300, 7
    F, G = rng.standard_normal((N, p)), rng.standard_normal((N, p))
    conn = from_arrays(F, G, scale=0.37 / N, dtype=np.float64)
    W = conn.dense()
    assert np.all(np.diag(W) == 0.0)
    a = rng.standard_normal(N)
    np.testing.assert_allclose(np.asarray(conn.recurrent_input(a)), W @ a, rtol=1e-12, atol=1e-13)
    A = rng.standard_normal((N, 3))
    np.testing.assert_allclose(np.asarray(conn.recurrent_input(A)), W @ A, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(conn.row_norms(), np.linalg.norm(W, axis=1), rtol=1e-10)


def test_paper_connectivity_is_eq7():
    phi = Tanh()
    N, p = 400, 5
    conn = paper(N, p, phi, seed=3, dtype=np.float64)
    xi = np.asarray(conn.F)
    J = (xi @ (phi.numpy(xi) - phi.a).T) / (phi.c * N)
    np.fill_diagonal(J, 0.0)
    np.testing.assert_allclose(conn.dense(), J, rtol=1e-10, atol=1e-15)
    # same seed, same loadings; another seed, others
    np.testing.assert_array_equal(np.asarray(paper(N, p, phi, seed=3, dtype=np.float64).F), xi)
    assert not np.array_equal(np.asarray(paper(N, p, phi, seed=4, dtype=np.float64).F), xi)


def test_dense_refuses_large_n():
    rng = np.random.default_rng(0)
    conn = from_arrays(rng.standard_normal((5001, 2)), rng.standard_normal((5001, 2)), 1.0)
    with pytest.raises(ConfigError, match="N ≤ 5000"):
        conn.dense()


def test_from_arrays_validates():
    with pytest.raises(ConfigError, match="same shape"):
        from_arrays(np.ones((4, 2)), np.ones((4, 3)), 1.0)
    with pytest.raises(ConfigError, match="finite"):
        from_arrays(np.full((4, 2), np.nan), np.ones((4, 2)), 1.0)
