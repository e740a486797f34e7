"""Coupled learning on flow (resistor) networks (Stern, Hexner, Rocks and Liu 2021).

Node pressures p minimise the dissipated power, the network's energy,

$$P(p; k) = \\tfrac12 \\sum_{e=(u,v)} k_e (p_u - p_v)^2,$$

with some nodes held fixed: Kirchhoff's law on the free nodes is the linear solve
L_UU p_U = -L_UF p_F, L = B^T diag(k) B the weighted graph Laplacian.

Learning is the same two-phase contrast as equilibrium propagation and sleep-wake: a
free state (inputs held; sleep-wake's model phase, EP's s_0) and a clamped state whose
outputs are nudged a fraction eta toward the target (the data phase, EP's s_beta). The
local rule dk_e ~ (dp_e^free)^2 - (dp_e^clamped)^2 is d(P_clamped - P_free)/dk at fixed
states (both are power minima, so no state derivative enters), divided by eta. For
small eta it points along the gradient of the output error (it ignores how the clamped
values move with p_free, so it is not that gradient exactly). `coupled_grad` returns
it with the sign of d loss / d k, for optax; `clip` keeps k >= 0.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
from jaxtyping import Array, Float, Int

from molcomp.checks import (
    as_finite_float,
    check_fraction,
    check_nonnegative_int,
    check_positive_int,
    check_real,
    is_concrete,
)


class FlowNetwork(eqx.Module):
    """A flow network: `edges` (E, 2) node indices, `conductances` k_e >= 0 (trained).

    **Arguments:**

    - `edges`: (E, 2) node indices, E >= 1.
    - `conductances`: (E,) or a scalar broadcast to every edge, >= 0.
    - `n_nodes`: number of nodes.

    Build from any networkx graph with `FlowNetwork.from_graph(graph, conductances)`.
    """

    conductances: Float[Array, " e"]
    edges: Int[Array, "e 2"]
    n_nodes: int = eqx.field(static=True)

    def __init__(self, edges, conductances, n_nodes: int):
        self.n_nodes = check_positive_int("n_nodes", n_nodes)
        raw = np.asarray(edges)
        if raw.ndim != 2 or raw.shape[1] != 2 or raw.shape[0] < 1:
            raise ValueError(f"edges must have shape (E, 2) with E >= 1, got {raw.shape}")
        if not np.issubdtype(raw.dtype, np.integer):
            raise ValueError(f"edges must hold integer node indices, got dtype {raw.dtype}")
        if raw.min() < 0 or raw.max() >= self.n_nodes:
            raise ValueError(
                f"edges must hold node indices in [0, n_nodes) = [0, {self.n_nodes}), got "
                f"values in [{raw.min()}, {raw.max()}]"
            )
        e = jnp.asarray(raw, jnp.int32)
        if is_concrete(conductances):
            k = as_finite_float("conductances", conductances)
            if np.any(k < 0):
                raise ValueError(f"conductances must be >= 0, got min {k.min()}")
            try:
                k = np.broadcast_to(k, (e.shape[0],))
            except ValueError as err:
                raise ValueError(
                    f"conductances must be a scalar or have shape ({e.shape[0]},) (one per "
                    f"edge), got {k.shape}"
                ) from err
        k = jnp.broadcast_to(jnp.asarray(conductances, jnp.float32), (e.shape[0],))
        self.edges, self.conductances = e, k

    @classmethod
    def from_graph(cls, graph: nx.Graph, conductances=1.0) -> FlowNetwork:
        """Nodes are numbered in `graph.nodes` order."""
        if not isinstance(graph, nx.Graph):
            raise TypeError(f"graph must be a networkx Graph, got {type(graph).__name__}")
        index = {v: i for i, v in enumerate(graph.nodes)}
        edges = np.array([(index[u], index[v]) for u, v in graph.edges], np.int32)
        if edges.size == 0:
            raise ValueError("graph has no edges")
        return cls(edges, conductances, len(index))

    def laplacian(self) -> Float[Array, "n n"]:
        """The weighted graph Laplacian L = B^T diag(k) B (B: edge-node incidence)."""
        b = jax.nn.one_hot(self.edges[:, 0], self.n_nodes) - jax.nn.one_hot(
            self.edges[:, 1], self.n_nodes
        )
        return b.T @ (self.conductances[:, None] * b)

    def drops(self, p) -> Float[Array, " e"]:
        """Pressure drop dp_e = p_u - p_v on every edge."""
        return p[self.edges[:, 0]] - p[self.edges[:, 1]]

    def power(self, p) -> Float[Array, ""]:
        """The energy P = 1/2 sum_e k_e dp_e^2."""
        return 0.5 * jnp.sum(self.conductances * self.drops(p) ** 2)

    def solve(self, fixed: tuple[int, ...], values) -> Float[Array, " n"]:
        """Pressures with nodes `fixed` held at `values`, the rest by Kirchhoff's law."""
        fixed_idx = np.asarray(fixed, np.int64)
        free_idx = np.setdiff1d(np.arange(self.n_nodes), fixed_idx)
        lap = self.laplacian()
        rhs = -lap[np.ix_(free_idx, fixed_idx)] @ values
        p_free = jnp.linalg.solve(lap[np.ix_(free_idx, free_idx)], rhs)
        p = jnp.zeros(self.n_nodes, p_free.dtype)
        return p.at[fixed_idx].set(values).at[free_idx].set(p_free)


class CoupledTask(eqx.Module):
    """Which nodes are inputs (held at the example's values), which one is ground
    (held at 0) and which are outputs (trained toward targets). Node indices static."""

    inputs: tuple[int, ...] = eqx.field(static=True)
    outputs: tuple[int, ...] = eqx.field(static=True)
    ground: int = eqx.field(static=True)

    def __check_init__(self):
        for name in ("inputs", "outputs"):
            nodes = getattr(self, name)
            if not isinstance(nodes, tuple):
                raise TypeError(f"{name} must be a tuple of node indices, got {nodes!r}")
            for v in nodes:
                check_nonnegative_int(name, v)
        check_nonnegative_int("ground", self.ground)
        nodes = (*self.inputs, *self.outputs, self.ground)
        if len(set(nodes)) != len(nodes):
            raise ValueError(f"inputs, outputs and ground must be distinct nodes, got {nodes}")
        if not self.inputs or not self.outputs:
            raise ValueError("need at least one input and one output node")

    def check_network(self, net) -> FlowNetwork:
        """`net` if it is a `FlowNetwork` holding every node of the task, else an error."""
        if not isinstance(net, FlowNetwork):
            raise TypeError(f"net must be a FlowNetwork, got {type(net).__name__}")
        top = max(*self.inputs, *self.outputs, self.ground)
        if top >= net.n_nodes:
            raise ValueError(
                f"task node {top} does not exist in a network of n_nodes={net.n_nodes}"
            )
        return net

    def free(self, net: FlowNetwork, x) -> Float[Array, " n"]:
        """Pressures of the free state: inputs held at `x`, ground at 0."""
        return net.solve((*self.inputs, self.ground), jnp.append(x, 0.0))

    def outputs_of(self, net: FlowNetwork, x) -> Float[Array, " o"]:
        """Free-state pressures at the output nodes for input `x`."""
        return self.free(net, x)[jnp.asarray(self.outputs)]

    def error(self, net: FlowNetwork, xs, ys) -> Float[Array, ""]:
        """Mean over examples of 1/2 |p_out^free - y|^2."""
        out = jax.vmap(lambda x: self.outputs_of(net, x))(xs)
        return 0.5 * jnp.mean(jnp.sum((out - ys) ** 2, -1))


def coupled_grad(net: FlowNetwork, task: CoupledTask, xs, ys, eta: float = 0.1):
    """The coupled-learning gradient, averaged over examples (xs, ys).

    Clamped outputs p_C = p_F + eta (y - p_F); grads on the conductances are
    ((dp^C)^2 - (dp^F)^2) / (2 eta) = d(P_C - P_F)/dk / eta, i.e. minus the classical
    update (dp^F)^2 - (dp^C)^2: optax descends it.

    **Arguments:**

    - `net`: the `FlowNetwork`; `task`: its `CoupledTask`.
    - `xs`: (b, inputs) input pressures; `ys`: (b, outputs) target output pressures.
    - `eta`: the nudge, a fraction in (0, 1] of the way to the target.

    **Returns:** `(grads, error)`: grads shaped like the trainable part of `net` (the
    conductances), and the free state's mean error.
    """
    eta = check_fraction("eta", eta, open_low=True)
    if not isinstance(task, CoupledTask):
        raise TypeError(f"task must be a CoupledTask, got {type(task).__name__}")
    task.check_network(net)
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    if xs.ndim != 2 or xs.shape[1] != len(task.inputs):
        raise ValueError(
            f"xs must have shape (b, {len(task.inputs)}) (one value per input node), got {xs.shape}"
        )
    if ys.shape != (xs.shape[0], len(task.outputs)):
        raise ValueError(
            f"ys must have shape ({xs.shape[0]}, {len(task.outputs)}) (one target per output "
            f"node), got {ys.shape}"
        )
    fixed = (*task.inputs, task.ground, *task.outputs)
    out = jnp.asarray(task.outputs)

    def one(x, y):
        p_free = task.free(net, x)
        nudged = p_free[out] + eta * (y - p_free[out])
        p_clamp = net.solve(fixed, jnp.concatenate([x, jnp.zeros(1), nudged]))
        return (net.drops(p_clamp) ** 2 - net.drops(p_free) ** 2) / (2 * eta)

    g = jnp.mean(jax.vmap(one)(jnp.asarray(xs), jnp.asarray(ys)), axis=0)
    # Shaped like the trainable part of the network (edges are structure, not trained).
    grads = eqx.tree_at(lambda n: n.conductances, eqx.filter(net, eqx.is_inexact_array), g)
    return grads, task.error(net, xs, ys)


def clip(net: FlowNetwork, minimum: float = 1e-6) -> FlowNetwork:
    """Conductances kept >= `minimum` (>= 0; a small floor keeps the solve regular)."""
    if not isinstance(net, FlowNetwork):
        raise TypeError(f"net must be a FlowNetwork, got {type(net).__name__}")
    if is_concrete(minimum):
        check_real("minimum", minimum, minimum=0.0)
    return eqx.tree_at(lambda n: n.conductances, net, jnp.maximum(net.conductances, minimum))
