"""Chains, replicas and parameter grids spread over devices with JAX's own sharding.

Nothing here schedules work: the arrays are placed on a one-axis device mesh with
`jax.sharding.NamedSharding`, and `jit` (hence `molcomp.sample`) follows the input
shardings, so the same code runs on one device and on many:

```python
import jax
import molcomp
from molcomp.sharding import chain_mesh, shard_chains

mesh = chain_mesh()  # every visible device, axis "chains"
state = shard_chains(sampler.init(model, configs), mesh)  # configs: (chains, n)
result = molcomp.sample(key, model, sampler, state, steps)
```

The samples do not depend on the number of devices: for the same key, a sharded run
returns the same states as the run on one device (each chain's random numbers come from
its own key, split inside the compiled program). The chain count must be a multiple of
the number of devices. Replica exchange shards the same way: (chains, R, ...) splits
the chains, and a single chain's (R, ...) splits its replicas (swaps then cross
devices). A parameter grid (e.g. a `vmap` over mu x epsilon, or over
seeds) is sharded the same way with `shard_batch` on its leading axis.

On CPU, `XLA_FLAGS=--xla_force_host_platform_device_count=4` (set before JAX starts)
gives four host devices to try this on.

**Several hosts.** Start one process per host, each with the same script and the same
seed; the script calls `jax.distributed.initialize()` before anything else touches
JAX, after which `jax.devices()` lists the devices of every host and `chain_mesh()`
spans them all. On a cluster with a scheduler JAX detects the coordinator itself
(SLURM, Open MPI, TPU pods): run `srun python run.py` (or `mpirun -n HOSTS python
run.py`). Elsewhere, run on each host i = 0 .. H - 1

```bash
JAX_COORDINATOR_ADDRESS=host0:1234 JAX_NUM_PROCESSES=H JAX_PROCESS_ID=i python run.py
```

with `jax.distributed.initialize(os.environ["JAX_COORDINATOR_ADDRESS"],
int(os.environ["JAX_NUM_PROCESSES"]), int(os.environ["JAX_PROCESS_ID"]))` in
`run.py`. Every process builds the same global initial state (same seed); `shard_chains`
then keeps only the slices its own devices hold. Results are global arrays: read them
on every host with `jax.experimental.multihost_utils.process_allgather(x)`, or reduce
them inside the program (e.g. `mean_fn`) first. To try it on one machine, start two
processes with `XLA_FLAGS=--xla_force_host_platform_device_count=2 JAX_PLATFORMS=cpu`,
coordinator `localhost:PORT`, and `jax.config.update("jax_cpu_collectives_implementation",
"gloo")` before `initialize`: they return the one-process samples. CI runs one host.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .checks import check_positive_int

AXIS = "chains"
"""The name of the mesh axis that chains (and batch entries) are spread over."""


def chain_mesh(devices=None) -> Mesh:
    """A one-axis mesh, axis name `"chains"`, over `devices`.

    **Arguments:**

    - `devices`: a sequence of `jax.Device`s, an int n (the first n of
      `jax.devices()`), or None (every visible device, on every host once
      `jax.distributed.initialize()` has run).

    **Returns:** a `jax.sharding.Mesh` of shape {"chains": number of devices}.
    """
    everything = jax.devices()
    if devices is None:
        devices = everything
    elif isinstance(devices, int | np.integer) and not isinstance(devices, bool):
        n = check_positive_int("devices", devices)
        if n > len(everything):
            raise ValueError(f"devices={n} but only {len(everything)} device(s) are visible")
        devices = everything[:n]
    else:
        devices = list(devices)
        if not devices or not all(isinstance(d, jax.Device) for d in devices):
            raise TypeError(
                "devices must be None, a positive int or a non-empty sequence of jax.Device"
            )
        if len(set(devices)) != len(devices):
            raise ValueError("devices lists a device more than once")
    return Mesh(np.asarray(devices), (AXIS,))


def _check_mesh(mesh) -> Mesh:
    if not isinstance(mesh, Mesh) or AXIS not in mesh.axis_names:
        raise TypeError(f"mesh must be a jax.sharding.Mesh with an axis {AXIS!r} (chain_mesh())")
    return mesh


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """The sharding of an array split along its leading axis over the mesh's devices."""
    return NamedSharding(_check_mesh(mesh), PartitionSpec(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """The sharding of an array held whole by every device of the mesh."""
    return NamedSharding(_check_mesh(mesh), PartitionSpec())


def _put(x, sharding: NamedSharding):
    """`x` placed under `sharding`; across hosts, each process keeps its own slices of
    the global value it holds (every process must hold the same `x`)."""
    if jax.process_count() == 1:
        return jax.device_put(x, sharding)
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return jax.device_put(x, sharding)
    host = np.asarray(x) if not jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else None
    if host is None:  # typed keys: place their raw data, then wrap again
        impl = jax.random.key_impl(x)
        data = _put(jax.random.key_data(x), sharding)  # P("chains") leaves the rest whole
        return jax.random.wrap_key_data(data, impl=impl)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _leading(tree) -> int | None:
    for leaf in jax.tree_util.tree_leaves(tree):
        if isinstance(leaf, jax.Array | np.ndarray) and leaf.ndim >= 1:
            return leaf.shape[0]
    return None


def _divisible(name: str, n: int, mesh: Mesh) -> None:
    size = mesh.shape[AXIS]
    if n % size:
        raise ValueError(
            f"{name} has {n} entries along its leading axis, not a multiple of the "
            f"{size} device(s) of the mesh; use a multiple of {size}"
        )


def shard_chains(tree, mesh: Mesh, chains: int | None = None):
    """Place a sampler state (any pytree) on `mesh`, one block of chains per device.

    Every array leaf whose leading axis has `chains` entries is split along it
    (`NamedSharding(mesh, P("chains"))`); every other leaf (scalars, tables shared by all
    chains, a single chain's state) is replicated. Non-array leaves are left alone.

    **Arguments:**

    - `tree`: e.g. `sampler.init(model, configs)` with configs (chains, *state_shape).
    - `mesh`: from `chain_mesh`.
    - `chains`: the number of chains (default: the leading size of the first array
      leaf with at least one axis, i.e. of `state.config` for a `ChainState`).

    **Returns:** `tree` with its arrays placed; pass it to `molcomp.sample` as the state.
    """
    _check_mesh(mesh)
    if chains is None:
        chains = _leading(tree)
    else:
        chains = check_positive_int("chains", chains)
    if chains is not None:
        _divisible("tree", chains, mesh)
    split, whole = batch_sharding(mesh), replicated(mesh)

    def place(leaf):
        if not isinstance(leaf, jax.Array | np.ndarray):
            return leaf
        batched = chains is not None and leaf.ndim >= 1 and leaf.shape[0] == chains
        return _put(leaf, split if batched else whole)

    return jax.tree_util.tree_map(place, tree)


def shard_batch(x, mesh: Mesh):
    """Split every array leaf of `x` along its leading (batch) axis over `mesh`.

    For parameter grids evaluated with `jax.vmap` (mu x epsilon points, seeds, images):
    the vmapped function, once jitted, runs each device's block of the grid where its
    inputs live.

    **Arguments:**

    - `x`: an array or pytree of arrays, all with the same leading size, a multiple of
      the number of devices.
    - `mesh`: from `chain_mesh`.

    **Returns:** `x` with every array split along axis 0.
    """
    _check_mesh(mesh)
    leaves = [
        leaf for leaf in jax.tree_util.tree_leaves(x) if isinstance(leaf, jax.Array | np.ndarray)
    ]
    if not leaves or any(leaf.ndim == 0 for leaf in leaves):
        raise ValueError("x must hold arrays with a leading batch axis (scalars cannot be split)")
    sizes = {leaf.shape[0] for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(f"x's arrays must share one leading batch size, got {sorted(sizes)}")
    _divisible("x", sizes.pop(), mesh)
    split = batch_sharding(mesh)
    return jax.tree_util.tree_map(
        lambda leaf: _put(leaf, split) if isinstance(leaf, jax.Array | np.ndarray) else leaf, x
    )


def device_count(x) -> int:
    """How many devices hold a piece of the array `x` (1 for an unsharded array)."""
    return len(x.sharding.device_set)
