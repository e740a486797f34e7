"""Task-level grids on a device mesh: recalls (`analog.memory`, and the capacity race's
mixture probes) and simulated classification (`analog.classifier.simulate`) spread over
four host devices return what one device returns for the same key, with each device
holding its block of runs.

The runs happen in one subprocess with `XLA_FLAGS=--xla_force_host_platform_device_count=4`
(the device count is fixed when JAX starts).
"""

import pytest
from host_devices import run_on_host_devices

SCRIPT = r"""
import json
import jax, jax.numpy as jnp, numpy as np
import analog, learning, molcomp
import analog.classifier._simulate as simulate_module
from analog import classifier as clf_mod
from molcomp.sharding import chain_mesh

mesh = chain_mesh()
out = {"devices": len(jax.devices())}

def shards(x):
    return [[s.device.id, s.index[0].start, s.index[0].stop] for s in x.addressable_shards]

# recalls: a 5 x 5 mixture storing two structures, 8 seeded runs
lat = molcomp.lattice.square(5, periodic=False)
structs = molcomp.structures.random(jax.random.key(3), lat, 25, 2)
model = molcomp.PottsModel(
    lat, learning.hebbian.clipped_or(structs, 6.0), jnp.full(25, -8.0), empty=True
)
memory = analog.memory.MixtureMemory(model, molcomp.Metropolis(proposal="neighbour"), structs)
key = jax.random.key(5)
one = analog.memory.seeded_recalls(key, memory, 8, 6, 2)
many = analog.memory.seeded_recalls(key, memory, 8, 6, 2, mesh=mesh)
cues = jnp.stack([analog.memory.seed(structs, a % 2, 2) for a in range(8)])
configs, _ = analog.memory.mixture_recall(key, memory, cues, 6, mesh=mesh)
plain, _ = analog.memory.mixture_recall(key, memory, cues, 6)
out["recall"] = {
    "same_configs": bool(np.array_equal(one.configs, many.configs)),
    "same_fraction": one.fraction == many.fraction,
    "moved": bool(np.any(one.configs != np.asarray(cues))),
    "same_batch": bool(np.array_equal(np.asarray(configs), np.asarray(plain))),
    "shards": shards(configs),
}
# the capacity race's mixture entrant: its probes split over the devices
from benchmarks import capacity_race
ov_one = capacity_race._mixture_evaluate(key, memory, 0.5, 6, 8)
ov_many = capacity_race._mixture_evaluate(key, memory, 0.5, 6, 8, mesh=mesh)
out["capacity_race"] = {
    "same": bool(np.array_equal(np.asarray(ov_one), np.asarray(ov_many))),
    "k": int(ov_one.shape[0]),
}
try:
    analog.memory.seeded_recalls(key, memory, 6, 6, 2, mesh=mesh)
    out["uneven"] = None
except ValueError as e:
    out["uneven"] = str(e)

# simulated classification: 4 images, 2 runs each, one image per device
placed = []
plain_shard = simulate_module.shard_batch

def counting(x, mesh):
    got = plain_shard(x, mesh)
    placed.append(sorted(len(leaf.sharding.device_set) for leaf in jax.tree_util.tree_leaves(got)))
    return got

simulate_module.shard_batch = counting
s6 = molcomp.structures.random(jax.random.key(0), molcomp.lattice.square(6, periodic=False), 36, 2)
clf = clf_mod.NucleationClassifier(s6, clf_mod.AssignmentMap(np.arange(36), 36), k=2)
x = jax.random.uniform(jax.random.key(1), (4, 36))
kw = dict(sweeps=20, repeats=2, check_every=10)
a = clf_mod.simulate(jax.random.key(2), clf, x, **kw)
b = clf_mod.simulate(jax.random.key(2), clf, x, mesh=mesh, **kw)
out["classifier"] = {
    "same_configs": bool(np.array_equal(a.configs, b.configs)),
    "same_sizes": bool(np.array_equal(a.sizes, b.sizes)),
    "same_classes": bool(np.array_equal(a.classes, b.classes)),
    "grown": int(np.max(a.sizes)),
    "placed": placed,
}
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def four_devices():
    """What SCRIPT found on four host devices."""
    got = run_on_host_devices(SCRIPT, 4)
    assert got["devices"] == 4
    return got


def test_recalls_sharded_equal_one_device(four_devices):
    got = four_devices["recall"]
    assert got["moved"]  # the runs did something, so equality is not vacuous
    assert got["same_configs"] and got["same_fraction"] and got["same_batch"]
    # device d holds runs 2d and 2d + 1 of the batch
    assert got["shards"] == [[d, 2 * d, 2 * d + 2] for d in range(4)]


def test_uneven_runs_named(four_devices):
    assert "6 entries" in four_devices["uneven"] and "multiple of 4" in four_devices["uneven"]


def test_classifier_images_sharded_equal_one_device(four_devices):
    got = four_devices["classifier"]
    assert got["grown"] > 0
    assert got["same_configs"] and got["same_sizes"] and got["same_classes"]
    # keys and chemical potentials of the images, each split over all four devices
    assert got["placed"] == [[4, 4]]


def test_capacity_race_mixture_probes_sharded_equal_one_device(four_devices):
    # 8 probes of 2 stored structures: the 2 probed overlaps, equal on 1 and 4 devices
    assert four_devices["capacity_race"] == {"same": True, "k": 2}
