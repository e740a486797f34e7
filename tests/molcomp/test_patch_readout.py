"""The patch-bond readout uses the lattice readout's definitions: hand-built bond graphs
with known answers, and equality with `molcomp.structures` on lattice configurations
read as patch-bond graphs (every contact a bond)."""

import numpy as np
import pytest

import molcomp
from molcomp import structures as st
from molcomp.particles import patch_bond_list, patch_readout

LAT = molcomp.lattice.square(3, periodic=False)  # +x: site + 1, +y: site + 3
A = np.arange(9)
B = np.array([4, 0, 8, 2, 6, 1, 3, 7, 5])


def _partners(lat, config, n_species):
    """Particles on the occupied sites (site order), every contact a patch bond."""
    config = np.asarray(config)
    sites = np.flatnonzero(config < n_species)
    index = np.full(lat.n_sites, -1)
    index[sites] = np.arange(sites.size)
    nb, mask = np.asarray(lat.neighbours)[sites], np.asarray(lat.mask)[sites]
    partners = np.where(mask, index[nb], -1)
    return config[sites], partners, sites


@pytest.fixture(scope="module")
def structs():
    return st.from_arrays(LAT, np.stack([A, B]))


def test_placed_structure_is_read_as_itself(structs):
    species, partners, _ = _partners(LAT, A, 9)
    out = patch_readout(structs, species, partners)
    np.testing.assert_allclose(out.coverage, [1.0, 1 / 9])  # B: no bond, a lone particle
    assert out.overlaps[0] == 1.0 and out.overlaps[1] == 0.0
    assert out.error == 0.0 and out.retrieved == 0 and not out.chimera
    assert out.cluster.n_bonds == 12 and out.cluster.sites.size == 9
    pairs, keys, member = patch_bond_list(structs, species, partners)
    assert pairs.shape == (12, 2) and member[:, 0].all() and not member[:, 1].any()


def test_cut_structure_and_wrong_bonds(structs):
    species, partners, _ = _partners(LAT, A, 9)
    # cut column 2 off (particles 2, 5, 8): bonds 1-2, 4-5, 7-8 broken at both ends
    cut = partners.copy()
    for i, j in ((1, 2), (4, 5), (7, 8)):
        cut[i, 0] = cut[j, 2] = -1
    out = patch_readout(structs, species, cut)
    assert out.coverage[0] == pytest.approx(6 / 9)  # the larger piece: columns 0-1
    assert out.overlaps[0] == pytest.approx(9 / 12)
    # a bond reported at one end only (the backward patch) still counts once
    half = cut.copy()
    half[1, 0] = -1
    half[2, 2] = 1
    assert patch_readout(structs, species, half).overlaps[0] == pytest.approx(10 / 12)
    # an undesigned bond (species 0 to the right of 2) joins nothing
    wrong = cut.copy()
    wrong[2, 0], wrong[0, 2] = 0, 2
    out = patch_readout(structs, species, wrong)
    assert out.coverage[0] == pytest.approx(6 / 9) and out.cluster.sites.size == 6


def test_chimera_of_two_structures(structs):
    # a dimer of A's bond (0 -> 1 along +x) joined to a dimer of B's bond (4 -> 0 along
    # +x): the chain 4 - 0 - 1 holds one bond of each structure, a chimera at 0.2
    species = np.array([4, 0, 1])
    partners = np.full((3, 4), -1)
    partners[0, 0], partners[1, 2] = 1, 0  # 4 -> 0 (+x)
    partners[1, 0], partners[2, 2] = 2, 1  # 0 -> 1 (+x)
    out = patch_readout(structs, species, partners)
    np.testing.assert_allclose(out.cluster.fractions, [0.5, 0.5])
    assert out.chimera and out.cluster.n_bonds == 2
    np.testing.assert_allclose(out.coverage, [2 / 9, 2 / 9])
    assert not patch_readout(structs, species, partners, threshold=0.6).chimera


def test_equals_lattice_readout_on_lattice_configs(structs):
    # 40 random lattice configurations (half the sites empty on average, species
    # repeated): the patch readout of their contact graph must give the lattice
    # overlaps, error and largest cluster (size, bonds, fractions, chimera) exactly.
    rng = np.random.default_rng(0)
    lat = molcomp.lattice.square(5, periodic=False)
    big = st.from_arrays(lat, np.stack([A, B]), n_species=9, patch=(3, 3))
    seen_chimera = 0
    for _ in range(40):
        config = np.where(rng.random(25) < 0.5, rng.integers(0, 9, 25), 9)
        if rng.random() < 0.5:  # plant most of a structure so that clusters are large
            config[np.asarray(big.sites)] = np.where(rng.random(9) < 0.8, B, 9)
        species, partners, sites = _partners(lat, config, 9)
        out = patch_readout(big, species, partners)
        np.testing.assert_allclose(out.overlaps, st.bond_overlaps(big, config), atol=1e-6)
        ref = st.largest_cluster(big, config)
        assert out.cluster.sites.size == ref.sites.size
        assert out.cluster.n_bonds == ref.n_bonds and out.chimera == ref.chimera
        np.testing.assert_allclose(out.cluster.fractions, ref.fractions)
        seen_chimera += ref.chimera
    assert seen_chimera >= 1  # the comparison covered a chimera


def test_bad_input(structs):
    with pytest.raises(ValueError, match="partners must have shape"):
        patch_readout(structs, np.arange(3), np.full((3, 6), -1))
    with pytest.raises(ValueError, match="partners must hold"):
        patch_readout(structs, np.arange(3), np.full((3, 4), 7))
    with pytest.raises(TypeError, match="structs"):
        patch_readout(A, np.arange(3), np.full((3, 4), -1))
