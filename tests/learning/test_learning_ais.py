"""Annealed importance sampling of ln Z against exact enumeration."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import learning
import molcomp


@eqx.filter_jit
def ais(key, model, sampler, *, chains, temperatures):
    return learning.AIS(chains, temperatures).log_partition(key, model, sampler)


def test_ais_log_partition_16_spins(ising16):
    target, _ = ising16
    exact = float(molcomp.exact.log_partition(target))
    log_z, info = ais(
        jax.random.key(0), target, learning.neural.SequentialGibbs(), chains=128, temperatures=1000
    )
    err = abs(float(log_z) - exact)
    assert err < 0.05  # the accuracy target, in nats
    # and consistent with AIS's own error bar (5 standard errors; the bias is ~stderr^2)
    assert err < 5 * float(info.stderr) + 1e-3
    assert float(info.ess) > 64


def test_ais_log_partition_potts():
    """Tempering a Potts model scales couplings and chemical potentials together."""
    rng = np.random.default_rng(11)
    couplings = molcomp.Couplings.oriented(0.8 * rng.normal(size=(2, 3, 3)))
    model = molcomp.PottsModel(molcomp.lattice.square(3), couplings, mu=jnp.array([0.5, -0.3, 0.1]))
    exact = float(molcomp.exact.log_partition(model))
    log_z, info = ais(jax.random.key(1), model, molcomp.BlockGibbs(), chains=64, temperatures=600)
    assert abs(float(log_z) - exact) < 5 * float(info.stderr) + 1e-3
    assert abs(float(log_z) - exact) < 0.1
