"""Guard against JAX releases that miscompile molcomp's kernels.

jax/jaxlib 0.10.2 silently miscompiles, on CPU, a vmapped matrix-vector product followed
by a reduction (jax-ml/jax#39103) - the shape of a pair-energy sum. The reproducer
below has an exactly known answer, so jit, eager and the truth must agree bit for bit.
"""

import importlib.metadata

import jax
import jax.numpy as jnp
import numpy as np
import pytest

# Keep in sync with the exclusions on jax/jaxlib in pyproject.toml.
EXCLUDED = {"0.10.0", "0.10.1", "0.10.2", "0.11.0", "0.11.1"}


@pytest.mark.parametrize("package", ["jax", "jaxlib"])
def test_jax_version_not_excluded(package):
    version = importlib.metadata.version(package)
    assert version not in EXCLUDED, (
        f"{package} {version} is excluded in pyproject.toml (miscompiles or aborts: "
        "jax-ml/jax#39103, #39264); reinstall with the project's version constraints"
    )


def _row_energies(x, matrix):
    # Per row: sum_k (M @ x_row)_k^2, vmapped over rows, as in the upstream report.
    return jax.vmap(lambda row: jnp.sum((matrix @ row) ** 2))(x)


# float32 sizes: 2^14 + 1 rows (the float64 report: jit gave 267911424, not 2^28)
# and 2^15 + 1 rows (the float32 report: jit gave 1071645696, not 2^30).
@pytest.mark.parametrize("n", [2**14 + 1, 2**15 + 1])
def test_vmapped_matvec_reduction_jit_matches_eager(n):
    i = jnp.arange(n, dtype=jnp.float32)
    x = jnp.stack([i, jnp.zeros_like(i), jnp.zeros_like(i)], axis=1)
    matrix = jnp.eye(3, dtype=jnp.float32)
    exact = float((n - 1) ** 2)  # a power of two: exact in float32
    eager = _row_energies(x, matrix)
    jitted = jax.jit(_row_energies)(x, matrix)
    assert float(eager[-1]) == exact
    assert float(jitted[-1]) == exact
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(eager))


def test_pair_sum_pattern_total():
    # The same pattern reduced to a scalar, as an energy is: sum over rows of
    # sum_k (ones(3, 3) @ row)_k with rows (1, 1, 1) gives 9 per row, exactly.
    n = 2**15 + 1
    x = jnp.ones((n, 3), jnp.float32)
    matrix = jnp.ones((3, 3), jnp.float32)

    def total(x):
        return jnp.sum(jax.vmap(lambda row: jnp.sum(matrix @ row))(x))

    exact = 9.0 * n  # 294921: an integer below 2^24, exact in float32
    assert float(total(x)) == exact
    assert float(jax.jit(total)(x)) == exact
