"""Hand-written heat-bath sweep for square lattices with a checkerboard colouring.

This is the hot kernel of every lattice experiment, so it is written by hand rather
than through the generic neighbour-index path: the two sublattices are strided views
of the (R, C) grid, neighbours are shifts (no gathers), and randomness is drawn as
raw 32-bit words from XLA's native ThreeFry RngBitGenerator, each word serving two
site updates.

Reduced-precision randomness, stated and tested (tests/molcomp/test_checkerboard.py):
each update uses a 16-bit uniform u = (k + 1/2) / 2^16, k uniform in [0, 2^16). The
inverse-CDF draw then realises every cumulative probability rounded to the nearest
multiple of 2^-16, so each transition probability is exact to within 2^-16.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ._base import categorical_from_weights

U16 = 1 << 16


def eligible(lattice) -> bool:
    """Square lattices with an even number of columns (and rows, if periodic)."""
    if lattice.kind != "square":
        return False
    R, C = lattice.shape
    return C % 2 == 0 and (R % 2 == 0 or not lattice.periodic)


def _parity(R: int, ndim: int):
    """Row parity (r odd) as a static (R, 1, ...) mask broadcasting over `ndim` axes."""
    return (np.arange(R) % 2 == 1).reshape((R,) + (1,) * (ndim - 1))


def split(grid, xp=jnp):
    """(R, C, *batch) grid -> (black, white), each (R, C/2, *batch); black: r + c even."""
    R, C = grid.shape[:2]
    p = _parity(R, grid.ndim)
    g = grid.reshape(R, C // 2, 2, *grid.shape[2:])
    even, odd = g[:, :, 0], g[:, :, 1]
    return xp.where(p, odd, even), xp.where(p, even, odd)


def merge(black, white):
    """Inverse of `split`."""
    R, h = black.shape[:2]
    p = _parity(R, black.ndim)
    even = jnp.where(p, white, black)
    odd = jnp.where(p, black, white)
    return jnp.stack([even, odd], axis=2).reshape(R, 2 * h, *black.shape[2:])


def to_planes(config, shape):
    """Config (n,) or (chains, n) -> (black, white) of shape (R, C/2) or (R, C/2, chains).

    The chain axis goes last: a sweep then runs along rows of `chains` contiguous
    values and every neighbour shift is along a major axis, whatever the lattice size.
    """
    R, C = shape
    if config.ndim == 1:
        return split(config.reshape(R, C))
    return split(jnp.moveaxis(config.reshape(-1, R, C), 0, -1))


def from_planes(black, white):
    """Inverse of `to_planes`: the config, (n,) or (chains, n)."""
    grid = merge(black, white)
    R, C = grid.shape[:2]
    if grid.ndim == 2:
        return grid.reshape(R * C)
    return jnp.moveaxis(grid, -1, 0).reshape(-1, R * C)


def _neighbours(other, is_black: bool):
    """The four neighbours (+x, +y, -x, -y) of one sublattice, read from the other."""
    p = _parity(other.shape[0], other.ndim)
    # Periodic shifts as slices of one padded copy, materialised once: a `roll` fused
    # into the update becomes a per-element branch (concatenate) that blocks SIMD.
    pad = jnp.concatenate([other[-1:], other, other[:1]], axis=0)
    pad = jnp.concatenate([pad[:, -1:], pad, pad[:, :1]], axis=1)
    pad = jax.lax.optimization_barrier(pad)
    other = pad[1:-1, 1:-1]
    left, right = pad[1:-1, :-2], pad[1:-1, 2:]
    up, down = pad[2:, 1:-1], pad[:-2, 1:-1]
    if is_black:  # black (r, 2j + p): +x -> white column j + p, -x -> j + p - 1
        px, mx = jnp.where(p, right, other), jnp.where(p, other, left)
    else:  # white (r, 2j + 1 - p): +x -> black column j + 1 - p, -x -> j - p
        px, mx = jnp.where(p, other, right), jnp.where(p, left, other)
    return px, up, mx, down


def _valid(shape, periodic: bool):
    """Per-direction masks of real neighbours, in sublattice layout (numpy, static)."""
    R, C = shape
    r, c = np.indices((R, C))
    if periodic:
        grids = [np.ones((R, C), bool)] * 4
    else:
        grids = [c < C - 1, r < R - 1, c > 0, r > 0]
    return [split(g, np) for g in grids]


def threefry_words(key, shape):
    """Raw uint32 words from XLA's native counter-based ThreeFry-2x32 RngBitGenerator:
    the random numbers of `BlockGibbs`' checkerboard kernel.

    Seeded with 128 bits drawn from the caller's key (2 words of key, 2 of counter), it
    is several times faster on CPU than `jax.random.bits`, whose threefry is built from
    jnp ops, and than the RngBitGenerator default (Philox) here. Under `jax.vmap` each
    key still gives its own words, as it does alone.

    **Arguments:** `key`, a `jax.random` key; `shape`, of the output.

    **Returns:** uint32 words of `shape`.
    """
    return _generator(tuple(shape))(jax.random.bits(key, (4,), jnp.uint32))


@functools.cache
def _generator(shape):
    """seed (4,) uint32 -> words of `shape`, batched as a loop over the seeds.

    XLA's own batching rule of `rng_bit_generator` draws every batch member's words
    from the first member's seed, so a vmapped chain would not be the chain its key
    gives alone; a `lax.map` over the seeds keeps each key's stream.
    """

    @jax.custom_batching.custom_vmap
    def words(seed):
        _, out = jax.lax.rng_bit_generator(
            seed, shape, jnp.uint32, algorithm=jax.lax.RandomAlgorithm.RNG_THREE_FRY
        )
        return out

    @words.def_vmap
    def _batched(axis_size, in_batched, seed):
        if not in_batched[0]:
            return words(seed), False
        return jax.lax.map(words, seed), True

    return words


def uniform16_pairs(key, shape):
    """Two 16-bit midpoint uniforms (k + 1/2) / 2^16 per word of `threefry_words`: the
    uniforms the checkerboard heat bath draws its states from.

    **Arguments:** `key`, a `jax.random` key; `shape`, of each half.

    **Returns:** (hi, lo), float32 arrays of `shape` from the high and low 16 bits.
    """
    words = threefry_words(key, shape)
    scale = np.float32(1.0 / U16)
    hi = ((words >> 16).astype(jnp.float32) + 0.5) * scale
    lo = ((words & 0xFFFF).astype(jnp.float32) + 0.5) * scale
    return hi, lo


def draw_binary(u, de):
    """State 1 with probability sigmoid(-de), de = E(1) - E(0), from uniforms u."""
    return u < jax.nn.sigmoid(-de)


def sweep(key, model, config, tables, free=None):
    """One heat-bath sweep of a single chain (n,); returns the config. With `free` (a
    static boolean mask (n,)) only the free sites are redrawn."""
    black, white = to_planes(config, model.lattice.shape)
    return from_planes(*sweep_planes(key, model, black, white, tables, free))


def sweep_planes(key, model, black, white, tables, free=None):
    """One heat-bath sweep (black then white) of planes from `to_planes`, with or
    without a trailing chain axis; the chains share one draw of random words. With
    `free` (a static boolean mask (n,)) the other sites keep their states: sites of one
    sublattice are conditionally independent, so the free ones still get their exact
    conditionals."""
    lat = model.lattice
    R, C = lat.shape
    T, mu = tables
    dirs = np.asarray(model._directions())[:4]
    extra = (1,) * (black.ndim - 2)  # masks broadcast over the chain axis
    valid = [tuple(m.reshape(m.shape + extra) for m in v) for v in _valid((R, C), lat.periodic)]
    keep = None
    if free is not None:
        keep = [m.reshape(m.shape + extra) for m in split(np.asarray(free).reshape(R, C), np)]
    u_black, u_white = uniform16_pairs(key, black.shape)
    S = model.n_states
    if S == 2:
        # E(1) - E(0) given a neighbour state b in direction d: a two-entry table per d.
        diff = (T[:, 1, :] - T[:, 0, :])[dirs]  # (4, 2)
        dmu = mu[1] - mu[0]
    else:
        cols = jnp.swapaxes(T, 1, 2)[dirs]  # (4, S_nb, S): row b = energies of all s
        # Boltzmann weights as a product of per-neighbour factors exp(-gap) <= 1 (gap:
        # energy above the best state for that neighbour): no exp per site and state.
        # Every weight is >= exp(-G), G the largest possible summed gap, so while
        # G < 80 nothing underflows float32 (normal down to exp(-87)); otherwise the
        # log-domain path runs. G depends on the tables only: one scalar `cond`.
        gaps = cols - jnp.min(cols, axis=-1, keepdims=True)
        factors = jnp.exp(-gaps)
        mu_gap = mu - jnp.max(mu)
        G = jnp.sum(jnp.max(gaps, axis=(1, 2))) - jnp.min(mu_gap)

    def update(this, other, u, is_black):
        new = draw(this, other, u, is_black)
        return new if keep is None else jnp.where(keep[0 if is_black else 1], new, this)

    def draw(this, other, u, is_black):
        nbrs = _neighbours(other, is_black)
        masks = [v[0] if is_black else v[1] for v in valid]
        if S == 2:
            de = -dmu
            for d in range(4):
                term = jnp.where(nbrs[d] == 1, diff[d, 1], diff[d, 0])
                de = de + (term if lat.periodic else jnp.where(masks[d], term, 0.0))
            return draw_binary(u, de).astype(this.dtype)
        idx = [n.astype(jnp.int32) for n in nbrs]

        def product_form():
            w = jnp.exp(mu_gap)
            for d in range(4):
                f = factors[d][idx[d]]  # (R, C/2, S)
                w = w * (f if lat.periodic else jnp.where(masks[d][..., None], f, 1.0))
            return w

        def log_domain():
            e = -mu
            for d in range(4):
                term = cols[d][idx[d]]
                e = e + (term if lat.periodic else jnp.where(masks[d][..., None], term, 0.0))
            return jnp.exp(jnp.min(e, axis=-1, keepdims=True) - e)

        w = jax.lax.cond(G < 80.0, product_form, log_domain)
        return categorical_from_weights(u, w).astype(this.dtype)

    black = update(black, white, u_black, True)
    white = update(white, black, u_white, False)
    return black, white
