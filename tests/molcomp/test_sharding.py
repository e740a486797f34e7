"""`molcomp.sharding`: chains and parameter grids split over a device mesh give the
same results as on one device, and each device holds its own block.

The four-device checks run in a subprocess with four host CPU devices
(`XLA_FLAGS=--xla_force_host_platform_device_count=4`), since the device count is fixed
when JAX starts; the checks of arguments run here, on this process's devices.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from host_devices import run_on_host_devices

import molcomp
from molcomp import interactions, lattice
from molcomp.sharding import chain_mesh, shard_batch, shard_chains

SCRIPT = r"""
import json
import jax, jax.numpy as jnp, numpy as np
import molcomp
from molcomp import interactions, lattice
from molcomp.sharding import chain_mesh, shard_batch, shard_chains

mesh = chain_mesh()
model = molcomp.PottsModel(lattice.square(8), interactions.potts(1.0, 3), beta=1.0)
configs = jax.random.randint(jax.random.key(0), (8, 64), 0, 3)
key = jax.random.key(1)
out = {"devices": len(jax.devices())}

def frac0(model, config):
    return jnp.mean(config == 0)

def shards(x):
    return [
        [s.device.id, s.index[0].start, s.index[0].stop, list(np.shape(s.data))]
        for s in x.addressable_shards
    ]

for sampler in (molcomp.BlockGibbs(), molcomp.Metropolis()):
    state = sampler.init(model, configs)
    one = molcomp.sample(key, model, sampler, state, 6, mean_fn=frac0, progress=False)
    placed = shard_chains(state, mesh)
    many = molcomp.sample(key, model, sampler, placed, 6, mean_fn=frac0, progress=False)
    out[type(sampler).__name__] = {
        "input_shards": shards(placed.config),
        "same_state": bool(np.array_equal(one.state.config, many.state.config)),
        "same_mean": bool(np.array_equal(one.mean, many.mean)),
        "same_acceptance": bool(np.array_equal(one.acceptance, many.acceptance)),
        "shards": shards(many.state.config),
        "mean_shards": shards(many.mean),
    }

# One replica-exchange chain with its 4 replicas split over the devices (swaps cross them).
small = molcomp.PottsModel(lattice.square(4), interactions.potts(1.0, 3), beta=1.0)
pt = molcomp.ReplicaExchange(molcomp.BlockGibbs(), betas=jnp.linspace(0.5, 1.5, 4))
state = pt.init(small, configs[:4, :16])
one = molcomp.sample(key, small, pt, state, 6, progress=False)
many = molcomp.sample(key, small, pt, shard_chains(state, mesh), 6, progress=False)
out["replicas"] = {
    "same_state": bool(np.array_equal(one.state.config, many.state.config)),
    "swap_rel_diff": float(np.max(np.abs(one.info.swap_acceptance - many.info.swap_acceptance)
                                  / np.abs(one.info.swap_acceptance))),
    "same_swapped": bool(np.array_equal(one.info.swapped, many.info.swapped)),
    "shards": shards(many.state.config),
}

# A parameter grid: 8 chemical potentials, vmapped and jitted.
mus = jnp.linspace(-2.0, 2.0, 8)
config = configs[0].astype(jnp.int8)
grid = jax.jit(jax.vmap(lambda mu: model.energy(config) - mu * jnp.sum(config == 1)))
plain, split = grid(mus), grid(shard_batch(mus, mesh))
out["grid"] = {"same": bool(np.array_equal(plain, split)), "shards": shards(split)}

try:
    shard_chains(molcomp.BlockGibbs().init(model, configs[:6]), mesh)
    out["uneven"] = None
except ValueError as e:
    out["uneven"] = str(e)
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def four_devices():
    """What SCRIPT found on four host devices."""
    return run_on_host_devices(SCRIPT, 4, timeout=300)


BLOCKS = [[d, 2 * d, 2 * d + 2, [2, 64]] for d in range(4)]


@pytest.mark.parametrize("sampler", ["BlockGibbs", "Metropolis"])
def test_sharded_sample_equals_one_device(four_devices, sampler):
    got = four_devices[sampler]
    assert four_devices["devices"] == 4
    assert got["input_shards"] == BLOCKS
    assert got["same_state"] and got["same_mean"] and got["same_acceptance"]


@pytest.mark.parametrize("sampler", ["BlockGibbs", "Metropolis"])
def test_each_device_holds_its_chains(four_devices, sampler):
    """The final states stay split: device d holds chains 2d and 2d + 1, and nothing else."""
    got = four_devices[sampler]
    assert got["shards"] == BLOCKS
    assert [s[:3] for s in got["mean_shards"]] == [b[:3] for b in BLOCKS]


def test_replicas_split_over_devices(four_devices):
    got = four_devices["replicas"]
    assert got["same_state"] and got["same_swapped"]
    # Swap probabilities come from energies summed over the replicas' devices: float32
    # sums in another order (JAX 0.12 does so) differ in the last bits, never more.
    assert got["swap_rel_diff"] < 1e-5
    assert got["shards"] == [[d, d, d + 1, [1, 16]] for d in range(4)]


def test_parameter_grid_sharded(four_devices):
    grid = four_devices["grid"]
    assert grid["same"]
    assert grid["shards"] == [[d, 2 * d, 2 * d + 2, [2]] for d in range(4)]


def test_uneven_chains_named(four_devices):
    assert "6 entries" in four_devices["uneven"] and "multiple of 4" in four_devices["uneven"]


# ---- on this process's devices ---------------------------------------------------
def test_one_device_same_path():
    """The same calls on a mesh of one device: the result equals the unsharded run."""
    mesh = chain_mesh(1)
    assert mesh.shape == {"chains": 1}
    model = molcomp.PottsModel(lattice.square(4), interactions.ising(1.0), beta=0.4)
    sampler = molcomp.BlockGibbs()
    state = sampler.init(model, jax.random.randint(jax.random.key(0), (2, 16), 0, 2))
    key = jax.random.key(3)
    one = molcomp.sample(key, model, sampler, state, 3, progress=False)
    placed = molcomp.sample(key, model, sampler, shard_chains(state, mesh), 3, progress=False)
    np.testing.assert_array_equal(one.state.config, placed.state.config)


def test_replicates_what_has_no_chain_axis():
    mesh = chain_mesh()
    tree = {"x": jnp.zeros((len(jax.devices()), 3)), "s": jnp.float32(1.0), "n": 4}
    placed = shard_chains(tree, mesh)
    assert placed["n"] == 4
    assert placed["s"].sharding.is_fully_replicated
    assert len(placed["x"].sharding.device_set) == len(jax.devices())


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="devices=999"):
        chain_mesh(999)
    with pytest.raises(ValueError, match="devices"):
        chain_mesh(0)
    with pytest.raises(TypeError, match="devices"):
        chain_mesh(["cpu"])
    with pytest.raises(TypeError, match="mesh"):
        shard_chains(jnp.zeros(2), "mesh")
    with pytest.raises(ValueError, match="scalars"):
        shard_batch(jnp.float32(1.0), chain_mesh())
    with pytest.raises(ValueError, match="leading batch size"):
        shard_batch({"a": jnp.zeros(2), "b": jnp.zeros(3)}, chain_mesh())
