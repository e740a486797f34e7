"""Phase-boundary classifiers: input maps, the window nucleation surrogate and its
gradients, training (relaxed assignment, linear map, swap hill-climbing) on a small mixture
(6 x 6 lattice, 36 species); the simulation readout is in test_classifier_sim.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from analog import classifier as clf_mod

N, SIDE = 36, 6


@pytest.fixture(scope="module")
def structs3():
    lat = molcomp.lattice.square(SIDE, periodic=False)
    return molcomp.structures.random(jax.random.key(3), lat, N, 3)


# ---- input maps ---------------------------------------------------------------------


def test_assignment_map_concentrations():
    species = np.array([5, 0, 7])
    imap = clf_mod.AssignmentMap(species, 10, amplitude=4.0, mu_base=-3.0)
    x = np.array([1.0, 0.25, 0.0], np.float32)
    c = np.asarray(imap.concentrations(x))
    expected = np.ones(10)
    expected[[5, 0, 7]] = 1 + 4.0 * x  # c = c_base (1 + a x)
    np.testing.assert_allclose(c, expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(imap(x)), -3.0 + np.log(expected), rtol=1e-6)
    # (h, w) images are flattened
    lin = clf_mod.LinearMap.from_assignment(clf_mod.AssignmentMap(np.arange(4), 6))
    img = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    # the linearisation slope ln(1 + a) is exact at x in {0, 1}
    ref = clf_mod.AssignmentMap(np.arange(4), 6)(img)
    np.testing.assert_allclose(np.asarray(lin(img)), np.asarray(ref), rtol=1e-6)


def test_linear_map_is_wx_plus_b():
    rng = np.random.default_rng(0)
    w, b, x = rng.normal(size=(5, 3)), rng.normal(size=5), rng.random(3)
    out = clf_mod.LinearMap(w, b)(x)
    np.testing.assert_allclose(np.asarray(out), w @ x + b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: clf_mod.AssignmentMap([0, 1], 4)(np.array([0.5, 1.2])), "x must hold intensities"),
        (lambda: clf_mod.AssignmentMap([0, 1], 4)(np.array([-0.1, 0.2])), "x must hold"),
        (lambda: clf_mod.AssignmentMap([0, 1], 4)(np.zeros(3)), "2 features per image"),
        (lambda: clf_mod.AssignmentMap(np.arange(5), 4), "more features than species"),
        (lambda: clf_mod.AssignmentMap([0, 2, 2], 4), "not injective"),
        (lambda: clf_mod.AssignmentMap([0, 4], 4), r"species in \[0, 4\)"),
        (lambda: clf_mod.AssignmentMap([0, 1], 4, amplitude=0.0), "amplitude must be > 0"),
        (lambda: clf_mod.LinearMap(np.zeros((3, 2)), np.zeros(2)), "bias must have shape"),
    ],
)
def test_input_map_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---- surrogate ----------------------------------------------------------------------


@pytest.mark.parametrize("k", [5, 3])
def test_window_scores_match_brute_force(structs3, k):
    mu = np.asarray(jax.random.normal(jax.random.key(1), (N,)))
    got = np.asarray(clf_mod.window_scores(structs3, mu, k))
    layouts = mu[np.asarray(structs3.arrangements)].reshape(3, SIDE, SIDE)
    for alpha in range(3):
        sums = [
            layouts[alpha, r : r + k, c : c + k].sum()
            for r in range(SIDE - k + 1)
            for c in range(SIDE - k + 1)
        ]
        ref = np.log(np.sum(np.exp(np.array(sums, np.float64))))
        assert abs(got[alpha] - ref) < 1e-4 * max(1.0, abs(ref))


def test_window_errors(structs3):
    with pytest.raises(ValueError, match="does not fit"):
        clf_mod.window_scores(structs3, jnp.zeros(N), 7)
    with pytest.raises(ValueError, match="mu must have shape"):
        clf_mod.window_scores(structs3, jnp.zeros(N + 1))


def _fd_check(f, x, key, n_dirs=3, h=1e-3):
    """Directional derivatives of f (float64) by central differences vs jax.grad."""
    vg = jax.jit(jax.value_and_grad(f))  # one compile serves values and the gradient
    g = vg(x)[1]
    assert float(jnp.abs(g).max()) > 1e-3  # a vanishing gradient would pass trivially

    def f(z):
        return vg(z)[0]

    for kk in jax.random.split(key, n_dirs):
        v = jax.random.normal(kk, x.shape, x.dtype)
        fd = (f(x + h * v) - f(x - h * v)) / (2 * h)
        an = jnp.vdot(g, v)
        # central differences in float64: error O(h^2 f''') ~ 1e-6, far below 1e-4
        assert abs(float(fd - an)) < 1e-4 * max(1.0, abs(float(an))), (float(fd), float(an))


def test_surrogate_gradients_match_finite_differences(structs3):
    with jax.enable_x64(True):
        y = jnp.array([0, 2, 1])
        x = jax.random.uniform(jax.random.key(4), (3, N), jnp.float64)

        def loss_mu(mu):  # through the surrogate
            sc = jax.vmap(lambda m: clf_mod.window_scores(structs3, m))(mu)
            return clf_mod.cross_entropy(sc, y)

        mu0 = -2.0 + jax.random.normal(jax.random.key(5), (3, N), jnp.float64)
        _fd_check(loss_mu, mu0, jax.random.key(6))

        def loss_theta(theta):  # through Sinkhorn and c = c_base (1 + a P^T x)
            mu = -3.0 + jnp.log1p(5.0 * x[:, :30] @ clf_mod.sinkhorn(theta, 20))
            sc = jax.vmap(lambda m: clf_mod.window_scores(structs3, m))(mu)
            return clf_mod.cross_entropy(sc, y)

        theta = jax.random.normal(jax.random.key(9), (30, N), jnp.float64)
        _fd_check(loss_theta, theta, jax.random.key(10))


def test_margins_and_cross_entropy():
    s = jnp.array([[3.0, 1.0, 2.0], [0.0, 5.0, 5.5]])
    y = jnp.array([0, 1])
    np.testing.assert_allclose(np.asarray(clf_mod.margins(s, y)), [1.0, -0.5])
    ref = -np.mean([np.log(np.exp(3) / np.exp(s[0]).sum()), np.log(np.exp(5) / np.exp(s[1]).sum())])
    assert abs(float(clf_mod.cross_entropy(s, y)) - ref) < 1e-5
    # margin gamma: every wrong score raised by gamma before the softmax
    sm = np.array([[3.0, 3.0, 4.0], [2.0, 5.0, 7.5]])
    ref_m = -np.mean(
        [np.log(np.exp(3) / np.exp(sm[0]).sum()), np.log(np.exp(5) / np.exp(sm[1]).sum())]
    )
    assert abs(float(clf_mod.cross_entropy(s, y, 2.0)) - ref_m) < 1e-5


# ---- relaxed assignment and rounding --------------------------------------------------


def test_sinkhorn_is_doubly_stochastic():
    p = np.asarray(clf_mod.sinkhorn(jax.random.normal(jax.random.key(0), (7, 10)), 200))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)  # rows: one species each
    assert p.sum(axis=0).max() <= 1.0 + 1e-4  # columns: at most one feature each


def test_round_assignment_is_a_partial_permutation():
    rng = np.random.default_rng(0)
    for F, Nn in [(5, 5), (7, 12), (30, 36)]:
        soft = rng.random((F, Nn)) ** 4  # many conflicting row maxima
        out = clf_mod.round_assignment(soft)
        assert out.shape == (F,) and out.min() >= 0 and out.max() < Nn
        assert np.unique(out).size == F  # injective
    # a noisy permutation matrix rounds back to the permutation
    perm = rng.permutation(12)[:8]
    soft = 0.3 * rng.random((8, 12))
    soft[np.arange(8), perm] += 0.7
    np.testing.assert_array_equal(clf_mod.round_assignment(soft), perm)
    with pytest.raises(ValueError, match="F <= N"):
        clf_mod.round_assignment(np.ones((4, 3)))


# ---- training -----------------------------------------------------------------------


def _toy_data():
    """Three classes of 25-pixel images: a sparse prototype each, plus weak noise."""
    rng = np.random.default_rng(0)
    protos = (rng.random((3, 25)) < 0.3).astype(np.float32)
    noise = 0.3 * rng.random((12, 25)) * (rng.random((12, 25)) < 0.2)
    x = np.clip(np.repeat(protos, 4, axis=0) + noise, 0, 1).astype(np.float32)
    return x, np.repeat(np.arange(3), 4).astype(np.int32)


STEPS = {"assignment": 80, "linear": 60, "hill_climb": 200}
MU_RANGE = (-12.0, -7.0)
TRAINERS = {
    "assignment": clf_mod.SinkhornAssignment(steps=STEPS["assignment"]),
    "linear": clf_mod.LinearMapDescent(steps=STEPS["linear"], mu_range=MU_RANGE),
    "hill_climb": clf_mod.SwapHillClimb(steps=STEPS["hill_climb"]),
}


@pytest.fixture(scope="module")
def trained(structs3):
    x, y = _toy_data()
    out = {}
    for method, trainer in TRAINERS.items():
        out[method] = clf_mod.train(jax.random.key(2), structs3, x, y, trainer)
    return x, y, out


@pytest.mark.parametrize("method", list(STEPS))
def test_train_separates_training_set(trained, method):
    x, y, out = trained
    clf, hist = out[method]
    assert hist.loss[-1] < 0.5 * hist.loss[0]  # chance is ln 3 = 1.1
    pred = np.asarray(clf_mod.predict(clf, x))
    np.testing.assert_array_equal(pred, y)
    assert hist.train_accuracy == 1.0 and hist.worst_margin > 0
    b = len(y)
    steps = STEPS[method]
    # counting rule: a gradient on b images costs 2 b, a loss b, the final check b
    expected = b * (steps + 1) + b if method == "hill_climb" else 2 * b * steps + b
    assert hist.model_evaluations == expected
    assert np.all(np.diff(hist.evaluations) > 0)


def test_fitted_assignments_are_injective(trained, structs3):
    _, _, out = trained
    for method in ("assignment", "hill_climb"):
        species = np.asarray(out[method][0].input_map.species)
        assert species.shape == (25,) and np.unique(species).size == 25
        assert species.min() >= 0 and species.max() < structs3.n_species
    # hill climbing only accepts moves that do not raise the loss
    assert np.all(np.diff(out["hill_climb"][1].loss) <= 1e-6)


def test_linear_training_keeps_mu_in_range(trained):
    x, _, out = trained
    mu = np.asarray(jax.vmap(out["linear"][0].mu)(x))
    # a quadratic penalty d^2 on the excursion d balances a cross-entropy gradient of
    # at most 1 per species at d <= 1/2; unpenalised, mu spreads far wider
    assert mu.min() > MU_RANGE[0] - 0.5 and mu.max() < MU_RANGE[1] + 0.5, (mu.min(), mu.max())


def test_predict_accepts_images_and_matches_scores(trained):
    x, _, out = trained
    clf = out["linear"][0]
    scores = np.asarray(clf_mod.batch_scores(clf, x))
    np.testing.assert_array_equal(np.asarray(clf_mod.predict(clf, x)), scores.argmax(-1))
    np.testing.assert_array_equal(
        np.asarray(clf_mod.predict(clf, x.reshape(-1, 5, 5))), scores.argmax(-1)
    )


def test_train_errors(structs3):
    x, y = _toy_data()
    key = jax.random.key(0)
    one = clf_mod.SinkhornAssignment(steps=1)
    # a method string where a trainer object belongs: the error lists the trainers
    with pytest.raises(TypeError, match="trainer must be a trainer object.*SwapHillClimb"):
        clf_mod.train(key, structs3, x, y, "linear")
    with pytest.raises(ValueError, match=r"y must hold classes in \[0, 3\)"):
        clf_mod.train(key, structs3, x, y + 1, one)
    with pytest.raises(ValueError, match="only 36 species"):
        clf_mod.train(key, structs3, np.zeros((2, 40), np.float32), y[:2], one)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        clf_mod.train(key, structs3, x, y, one, margin=-1.0)
    for make in (clf_mod.SinkhornAssignment, clf_mod.LinearMapDescent, clf_mod.SwapHillClimb):
        with pytest.raises(ValueError, match="steps must be an integer >= 1"):
            make(steps=0)
    with pytest.raises(ValueError, match="mu_range must be"):
        clf_mod.LinearMapDescent(steps=1, mu_range=(-5.0, -9.0))
    with pytest.raises(ValueError, match="temperature must be two positive numbers"):
        clf_mod.SinkhornAssignment(temperature=(1.0, 0.0))
    with pytest.raises(TypeError, match="optimizer must be an optax"):
        clf_mod.LinearMapDescent(optimizer="adam")
