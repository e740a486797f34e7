"""Explicit linker particles in a periodic box, and the constants that integrate them out.

Model (conventions). n observed particles (a `ParticleMixture`: soft core plus species
wells, the direct interaction U0) each carry one binding face at their centre. Linkers
of species k are ideal point particles with two arms, in a grand-canonical reservoir of
activity z_k (number per unit volume). An arm binds a face through an explicit bond
variable: a face holds at most one arm and an arm at most one face (valence-limited,
which an isotropic well alone would not be). A bond between a face of species a and an
arm of linker k at distance r has weight

$$f_{ak}(r) = e^{-u_{ak}(r)} - 1,\\qquad u_{ak}(r) = -D_{ak}\\, w(r)\\ (r < r_b),$$

w the flattened Morse shape of `well_shape` (1 within `arm_sigma`), and no bond beyond
the arm range r_b. Summing an isolated arm-face pair over its bond variable gives back
the Boltzmann factor e^{-u}: bonds are the Wertheim decomposition of the arm potential.

Integrating the linkers out exactly for two faces a, b at separation r (ideal linkers,
each face one bond) gives the weight (1 + S_a)(1 + S_b) + B(r), with

$$S_a = \\sum_k z_k K_{ak},\\quad K_{ak} = 2\\int f_{ak}\\, d^dr,\\quad
B(r) = 2 \\sum_k z_k (f_{ak} * f_{bk})(r)$$

(the 2 counts which arm binds). A pair is in *contact* when r < 2 r_b (it can be
bridged). Averaging over the contact ball (volume V_c) maps this onto `Linkers`:
e^{-J0_ab} = <e^{-U0_ab}>_contact and, for each linker,

$$v_{abk} = \\frac{2 \\int e^{-U_0}\\, (f_{ak} * f_{bk})\\, d^dr}{V_c\\, e^{-J^0_{ab}}
K_{ak} K_{bk}},$$

so that V_c e^{-J~_ab} (1 + S_a)(1 + S_b) is the exact contact weight. Units: z
[1/volume], K [volume], v [1/volume]; z K and v z K K are dimensionless. All three
constants come from quadrature of the potentials here; `LinkerMonteCarlo` samples the
explicit model and the tests compare. Valid for ideal linkers with one face per
particle; for n > 2 the pair form is the dilute (two-body) approximation.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._model import AbstractEnergyModel
from ..checks import as_finite_float, check_positive_int, check_real
from ..particles._particles import ParticleMixture, well_shape
from ._linkers import Linkers


def _gauss(edges, n):
    """Composite Gauss-Legendre nodes and weights over consecutive `edges`."""
    x, w = np.polynomial.legendre.leggauss(n)
    nodes, weights = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > lo:
            nodes.append(0.5 * (hi - lo) * x + 0.5 * (hi + lo))
            weights.append(0.5 * (hi - lo) * w)
    return np.concatenate(nodes), np.concatenate(weights)


_CHUNK = 1 << 16


@eqx.filter_jit
def _pair_table(mixture, r):
    """U0_ab(r) for a fixed-size chunk of radii: one compilation serves every
    quadrature grid (op-by-op dispatch would compile each primitive per grid shape)."""
    return mixture.pair_energy(r[:, None, None], mixture.depth)


def _sphere_area(dim):
    return 2 * np.pi if dim == 2 else 4 * np.pi


def _ball_volume(dim, r):
    return np.pi * r**2 if dim == 2 else 4 / 3 * np.pi * r**3


class LinkerState(eqx.Module):
    """A configuration of `LinkerParticles` (one chain, or a leading chain axis on every
    field).

    - `position`: (n, dim) observed particles.
    - `linker`: (m, dim) linker slots, m = L * slots; slot s holds linker species
      s // slots.
    - `active`: (m,) which slots hold a linker (the rest are placeholders).
    - `bond`: (n,) the arm each face binds (2 s + h, arm h of slot s) or -1.
    """

    position: Float[Array, "*chains n dim"]
    linker: Float[Array, "*chains m dim"]
    active: Bool[Array, "*chains m"]
    bond: Int[Array, "*chains n"]

    @property
    def ndim(self) -> int:
        """Axes of `position`: 2 for one chain, 3 with a chain axis (how drivers tell a
        batch from one configuration)."""
        return self.position.ndim


class LinkerParticles(AbstractEnergyModel):
    """Observed particles with one face each, bivalent linker particles, explicit bonds.

    An energy model whose configuration is a `LinkerState`: `state_shape` is that of
    the observed positions, (n, dim), and `n_states` is None. Its energy, in kT, is the
    grand-canonical weight over labelled linker slots (module docstring of
    `_monte_carlo`): with N_k active linkers of species k in `slots` slots,

    $$E = U_0(x) - \\sum_{\\text{bonds } i} \\ln f_{s_i k_i}(r_i)
    - \\sum_k \\left[N_k \\ln z_k + \\ln \\frac{(\\text{slots} - N_k)!}{\\text{slots}!}\\right]$$

    (+inf for an impossible state: a bond beyond the arm range, to an empty slot, or
    two faces on one arm).

    **Arguments:**

    - `mixture`: the observed particles and their direct interaction (a
      `ParticleMixture`; one binding face per particle).
    - `activity`: (L,) linker activities z_k >= 0, number per unit volume.
    - `arm_depth`: (q, L) arm-face well depths D_ak >= 0 in kT.
    - `arm_range`: bond range r_b (static: it fixes the contact region 2 r_b); the box
      must be at least 4 r_b so a bridge is unique under the minimum image.
    - `arm_sigma`, `arm_alpha`: flat part and Morse steepness of the arm well.

    **Example:**

    ```python
    model = LinkerParticles(mixture, [0.05], [[3.0], [4.0]])  # q = 2, L = 1
    K, v = model.binding_constants(), model.bridge_factors()
    sampler = LinkerMonteCarlo()
    state, info = sampler.step(key, model, sampler.init(model, positions))
    ```
    """

    mixture: ParticleMixture
    activity: Float[Array, " L"]
    arm_depth: Float[Array, "q L"]
    arm_sigma: Float[Array, ""]
    arm_alpha: Float[Array, ""]
    arm_range: float = eqx.field(static=True)

    def __init__(self, mixture, activity, arm_depth, *, arm_range=0.5, arm_sigma=0.2,
                 arm_alpha=6.0):  # fmt: skip
        if not isinstance(mixture, ParticleMixture):
            raise TypeError(f"mixture must be a ParticleMixture, got {type(mixture).__name__}")
        z = as_finite_float("activity", activity)
        if z.ndim != 1 or z.size < 1:
            raise ValueError(f"activity must be a 1-D array (L,), got shape {z.shape}")
        if np.any(z < 0):
            i = int(np.argwhere(z < 0)[0, 0])
            raise ValueError(
                f"activity must be >= 0 (linkers per volume), got activity[{i}]={z[i]}"
            )
        D = as_finite_float("arm_depth", arm_depth)
        q = mixture.n_species
        if D.shape != (q, z.size):
            raise ValueError(
                f"arm_depth must have shape (q, L) = ({q}, {z.size}) for {q} particle species "
                f"and {z.size} linker species, got {D.shape}"
            )
        if np.any(D < 0):
            raise ValueError(f"arm_depth must be >= 0, got min {D.min()}")
        rb = check_real("arm_range", arm_range)
        sig = check_real("arm_sigma", arm_sigma)
        alpha = check_real("arm_alpha", arm_alpha)
        if not 0 < sig < rb or alpha <= 0:
            raise ValueError(
                f"need 0 < arm_sigma < arm_range and arm_alpha > 0, got arm_sigma={sig}, "
                f"arm_range={rb}, arm_alpha={alpha}"
            )
        if min(mixture.box) < 4 * rb:
            raise ValueError(
                f"box sides must be at least 4 * arm_range = {4 * rb}, got box={list(mixture.box)}"
            )
        self.mixture = mixture
        self.activity = jnp.asarray(z, jnp.float32)
        self.arm_depth = jnp.asarray(D, jnp.float32)
        self.arm_range = rb
        self.arm_sigma = jnp.asarray(sig, jnp.float32)
        self.arm_alpha = jnp.asarray(alpha, jnp.float32)

    @property
    def n_linker_species(self) -> int:
        """L, the number of linker species."""
        return self.activity.shape[0]

    @property
    def state_shape(self) -> tuple[int, int]:
        """(n, dim): the observed positions of a configuration (a `LinkerState`)."""
        return self.mixture.state_shape

    @property
    def n_states(self) -> None:
        """None: positions are continuous."""
        return None

    def energy(self, state: LinkerState) -> Float[Array, ""]:
        """E of one configuration in kT (class docstring); +inf if it is impossible."""
        L = self.n_linker_species
        slots = state.active.shape[0] // L
        slot = jnp.maximum(state.bond, 0) // 2
        bound = state.bond >= 0
        box = jnp.asarray(self.mixture.box, jnp.float32)
        d = state.position - state.linker[slot]
        r = jnp.sqrt(jnp.sum((d - box * jnp.round(d / box)) ** 2, axis=-1))
        log_f = self.log_bond_weight(r, self.arm_depth[self.mixture.species, slot // slots])
        log_f = jnp.sum(jnp.where(bound, log_f, 0.0))
        count = state.active.reshape(L, slots).sum(1).astype(jnp.float32)
        log_z = jnp.where(count > 0, count * jnp.log(self.activity), 0.0)
        log_slots = jax.scipy.special.gammaln(slots - count + 1) - jax.scipy.special.gammaln(
            slots + 1.0
        )
        shared = (state.bond[:, None] == state.bond[None, :]) & bound[:, None]
        ok = jnp.all(~bound | state.active[slot]) & (jnp.sum(shared) == jnp.sum(bound))
        e = self.mixture.energy(state.position) - log_f - jnp.sum(log_z + log_slots)
        return jnp.where(ok, e, jnp.inf)

    def check_state(self, state, name: str = "state") -> LinkerState:
        """`state` validated: a `LinkerState` whose fields fit this model (one chain or
        a leading chain axis), positions finite and inside the box."""
        if not isinstance(state, LinkerState):
            raise TypeError(
                f"{name} must be a LinkerState (from LinkerMonteCarlo(...).init(model, "
                f"positions)), got {type(state).__name__}"
            )
        x = self.mixture.check_state(state.position, f"{name}.position")
        chains, L, dim = x.shape[:-2], self.n_linker_species, self.mixture.dim
        m = state.linker.shape[-2] if jnp.ndim(state.linker) >= 2 else -1
        fits = (
            m > 0
            and m % L == 0
            and state.linker.shape == (*chains, m, dim)
            and state.active.shape == (*chains, m)
            and state.bond.shape == x.shape[:-1]
        )
        if not fits:
            raise ValueError(
                f"{name} fields must be shaped like its positions {x.shape}: linker "
                f"(*chains, L * slots, {dim}), active (*chains, L * slots), bond "
                f"{x.shape[:-1]}, with L = {L}; got {jnp.shape(state.linker)}, "
                f"{jnp.shape(state.active)}, {jnp.shape(state.bond)}"
            )
        return eqx.tree_at(lambda t: t.position, state, x)

    @property
    def contact_range(self) -> float:
        """2 r_b: the largest separation a linker can bridge."""
        return 2 * self.arm_range

    @property
    def volume(self) -> float:
        """Volume (area in 2D) of the box."""
        return float(np.prod(self.mixture.box))

    def log_bond_weight(self, r, depth):
        """ln f(r) = ln(e^{D w(r)} - 1) within the arm range, -inf beyond (no bond)."""
        f = jnp.expm1(depth * well_shape(r, self.arm_sigma, self.arm_alpha))
        return jnp.where(r < self.arm_range, jnp.log(f), -jnp.inf)

    # --- quadrature (concrete parameters, float64) ---

    def _bond_weight_np(self, r):
        """f_ak(r) for radii r: shape r.shape + (q, L) (`well_shape` in float64)."""
        r = np.asarray(r, np.float64)[..., None, None]
        sig, alpha = float(self.arm_sigma), float(self.arm_alpha)
        shape = 1 - (1 - np.exp(-alpha * np.maximum(r - sig, 0))) ** 2
        return np.where(r < self.arm_range, np.expm1(np.asarray(self.arm_depth) * shape), 0.0)

    def _u0(self, r):
        """U0_ab(r) for radii r: shape r.shape + (q, q), float64."""
        r = np.asarray(r, np.float32)
        flat = np.pad(r.ravel(), (0, -r.size % _CHUNK))
        u = [_pair_table(self.mixture, c) for c in flat.reshape(-1, _CHUNK)]
        q = self.mixture.n_species
        return np.concatenate(u)[: r.size].reshape(*r.shape, q, q).astype(np.float64)

    def _arm_nodes(self, n):
        n = check_positive_int("nodes", n)
        return _gauss([0.0, float(self.arm_sigma), self.arm_range], n)

    def binding_constants(self, nodes: int = 48) -> np.ndarray:
        """K_ak = 2 int f_ak d^dr (two arms), shape (q, L), by Gauss-Legendre quadrature."""
        dim = self.mixture.dim
        r, w = self._arm_nodes(nodes)
        integrand = (w * r ** (dim - 1))[:, None, None] * self._bond_weight_np(r)
        return 2 * _sphere_area(dim) * integrand.sum(0)

    def _contact_edges(self, lo, hi):
        m = self.mixture
        pts = [lo, hi] + [x for x in (float(m.sigma), m.onset, m.cutoff) if lo < x < hi]
        return sorted(pts)

    def contact_couplings(self, nodes: int = 48) -> np.ndarray:
        """J0_ab = -ln <e^{-U0_ab}> over the contact ball r < 2 r_b, shape (q, q)."""
        dim, rc = self.mixture.dim, self.contact_range
        nodes = check_positive_int("nodes", nodes)
        r, w = _gauss(self._contact_edges(0.0, rc), nodes)
        z = _sphere_area(dim) * np.einsum("i,iab->ab", w * r ** (dim - 1), np.exp(-self._u0(r)))
        return -np.log(z / _ball_volume(dim, rc))

    def outside_volume(self, nodes: int = 48) -> np.ndarray:
        """int over the box outside the contact ball of e^{-U0_ab}, shape (q, q)."""
        m, dim, rc = self.mixture, self.mixture.dim, self.contact_range
        nodes = check_positive_int("nodes", nodes)
        out = np.full((m.n_species,) * 2, self.volume - _ball_volume(dim, rc))
        if m.cutoff > rc:
            r, w = _gauss(self._contact_edges(rc, m.cutoff), nodes)
            g = np.expm1(-self._u0(r))
            out = out + _sphere_area(dim) * np.einsum("i,iab->ab", w * r ** (dim - 1), g)
        return out

    def bridge_factors(self, nodes: int = 48, angles: int = 128) -> np.ndarray:
        """v_abk (module docstring), shape (q, q, L): 2 int e^{-U0} (f_a * f_b) over
        (V_c e^{-J0} K_a K_b), from a triple quadrature over the two arm radii and
        their relative angle."""
        dim = self.mixture.dim
        angles = check_positive_int("angles", angles, minimum=8)
        r, w = self._arm_nodes(nodes)
        phi, wphi = _gauss(np.linspace(0, np.pi, angles // 8 + 1), 8)
        if dim == 3:
            wphi = 2 * np.pi * wphi * np.sin(phi)
        else:
            wphi = 2 * wphi
        dist = np.sqrt(
            np.maximum(r[:, None, None] ** 2 + r[None, :, None] ** 2
                       - 2 * r[:, None, None] * r[None, :, None] * np.cos(phi), 0.0)
        )  # fmt: skip
        angular = np.einsum("k,ijkab->ijab", wphi, np.exp(-self._u0(dist)))
        fw = (w * r ** (dim - 1))[:, None, None] * self._bond_weight_np(r)  # (i, q, L)
        integral = _sphere_area(dim) * np.einsum("iak,jbk,ijab->abk", fw, fw, angular)
        K = self.binding_constants(nodes)
        contact = _ball_volume(dim, self.contact_range) * np.exp(-self.contact_couplings(nodes))
        denom = contact[:, :, None] * K[:, None, :] * K[None, :, :]
        return np.where(denom > 0, 2 * integral / np.where(denom > 0, denom, 1.0), 0.0)

    def linkers(self, pair: tuple[int, int]) -> Linkers:
        """The integrated-out `Linkers` (z, K and the bridge factor v of `pair`) that
        give the effective coupling J~ of that species pair. `Linkers` holds one v, so
        every linker species must share it for this pair (true for L = 1)."""
        q = self.mixture.n_species
        if (
            not isinstance(pair, tuple | list)
            or len(pair) != 2
            or not all(isinstance(s, int | np.integer) and 0 <= s < q for s in pair)
        ):
            raise ValueError(f"pair must be two species in [0, {q}), got {pair!r}")
        a, b = (int(s) for s in pair)
        v = self.bridge_factors()[a, b]
        if np.ptp(v) > 1e-6 * max(abs(v).max(), 1e-30):
            raise ValueError(
                f"the bridge factors of pair {pair} differ between linker species ({v}); "
                "Linkers holds a single bridge factor"
            )
        return Linkers(np.asarray(self.activity), self.binding_constants(), bridge=float(v[0]))


def pair_prediction(model: LinkerParticles) -> dict[str, np.ndarray]:
    """What the integrated-out model predicts for two observed particles in the box.

    **Arguments:** `model`, a `LinkerParticles` with exactly 2 observed particles.

    **Returns:** a dict of probabilities: `contact` (r < 2 r_b), `bridged` (one linker
    binds both faces), `single` (2,) (a face holds a linker whose other arm is free),
    and `J` (J~_ab) and `S` (2,) (S_a, S_b), the ingredients. From `Linkers`:
    contact weight V_c e^{-J~}, bridged weight V_c (e^{-J~} - e^{-J0}), both times
    (1 + S_a)(1 + S_b) like the rest of the box; an unbridged face is bound with
    probability S / (1 + S).
    """
    if not isinstance(model, LinkerParticles):
        raise TypeError(f"model must be a LinkerParticles, got {type(model).__name__}")
    species = np.asarray(model.mixture.species)
    if species.shape != (2,):
        raise ValueError(f"pair_prediction needs 2 observed particles, got {species.size}")
    a, b = (int(s) for s in species)
    J0 = model.contact_couplings()
    lk = model.linkers((a, b))
    J = float(lk.effective_couplings(jnp.asarray(J0, jnp.float32))[a, b])
    S = np.asarray(lk.single(), np.float64)[[a, b]]
    vc = _ball_volume(model.mixture.dim, model.contact_range)
    inside = vc * np.exp(-J)
    total = inside + model.outside_volume()[a, b]
    bridged = vc * (np.exp(-J) - np.exp(-J0[a, b])) / total
    return {
        "contact": inside / total,
        "bridged": bridged,
        "single": (1 - bridged) * S / (1 + S),
        "J": J,
        "S": S,
    }
