"""The physical-vs-neural summary and the main job's benchmark list."""

import contextlib
import io

from benchmarks import _registry, _summary


def _rec(benchmark, learner, metric, value, kind="neural", case="c", **params):
    return dict(
        benchmark=benchmark,
        case=case,
        learner=learner,
        kind=kind,
        metric=metric,
        value=value,
        unit="u",
        higher_is_better=True,
        seed=0,
        wall_s=1.0,
        params=params,
    )


def _records():
    d, g = "digits_classification", "generative_modelling"
    return [
        _rec(
            d,
            "phase_boundary",
            "test_accuracy",
            0.9,
            "physical",
            readout="simulation",
            n_simulated=100,
        ),
        _rec(d, "phase_boundary", "test_accuracy_stderr", 0.03, "physical"),
        _rec(d, "phase_boundary", "n_parameters", 6500, "physical"),
        _rec(
            d,
            "phase_boundary",
            "paired_difference_vs_linear_map",
            -0.05,
            "physical",
            versus="linear_map",
            of="test_accuracy",
            seeds=1,
        ),
        _rec(d, "phase_boundary", "paired_difference_vs_linear_map_stderr", 0.02, "physical"),
        _rec(d, "lagrangian_mlp", "test_accuracy", 0.97),
        _rec(d, "logistic_regression", "test_accuracy", 0.96, "reference"),
        _rec(
            "capacity_race",
            "molcomp",
            "capacity_alpha",
            0.08,
            "physical",
            "mixture metropolis N=100",
            rule="mixture",
            kinetics="metropolis",
            N=100,
            lower_bound=False,
        ),
        _rec(
            "capacity_race",
            "molcomp",
            "capacity_alpha",
            0.14,
            "neural",
            "hebbian N=100",
            rule="hebbian",
            N=100,
            lower_bound=False,
        ),
        _rec(
            "capacity_race",
            "molcomp",
            "capacity_alpha",
            2.0,
            "neural",
            "modern N=100",
            rule="modern",
            N=100,
            lower_bound=True,
        ),
        _rec(
            "capacity_race",
            "molcomp",
            "capacity_alpha",
            0.1,
            "neural",
            "hebbian N=500",
            rule="hebbian",
            N=500,
            lower_bound=False,
        ),
        _rec(g, "potts_mixture", "heldout_log_likelihood", -4.4, "physical"),
        _rec(g, "rbm", "heldout_log_likelihood", -6.3),
        _rec("sampler_throughput", "molcomp", "site_updates_per_s", 100.0, "physical", "L=64"),
        _rec("sampler_throughput", "thrml", "site_updates_per_s", 20.0, "peer", "L=64"),
        _rec("sampler_throughput", "molcomp", "build_s", 0.1, "physical", "build"),
        _rec("sampler_throughput", "thrml", "build_s", 2.0, "peer", "build"),
    ]


def test_summary_table_paired_lines_and_ratios(tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        text = _summary.report(_records(), tmp_path)
    assert text.startswith("# physical vs neural") and text in buf.getvalue()
    lines = text.splitlines()
    row = next(x for x in lines if "phase_boundary (simulation, 100 images)" in x)
    assert "| physical |" in row and "0.9 +- 0.03" in row and "6.5k" in row
    assert any("| baseline | logistic_regression |" in x for x in lines)
    # the memory rows share the mixture's N; a capacity at the cap reads as a bound
    memory = [x for x in lines if x.startswith("| associative memory (N = 100)")]
    assert len(memory) == 3 and any("> 2" in x for x in memory)
    assert "phase_boundary - linear_map on test_accuracy = -0.05 +- 0.02" in text
    ratios = {(q["case"], q["metric"]): q["ratio"] for q in _summary.ratios(_records())}
    assert ratios == {("L=64", "site_updates_per_s"): 5.0, ("build", "build_s"): 20.0}
    assert text.index("# physical vs neural") < text.index("## throughput against the peers")
    assert (tmp_path / "summary.md").read_text() == text
    assert (tmp_path / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_summary_is_empty_without_its_tasks(tmp_path):
    assert _summary.report([_rec("multifarious", "molcomp", "m_max", 3.0)], tmp_path) == ""
    assert not (tmp_path / "summary.md").exists()


def test_main_job_leaves_out_the_full_only_benchmarks():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        quick = _registry.default_names(_registry.BENCHMARKS, "quick")
    assert not set(quick) & set(_registry.FULL_ONLY)
    assert {"capacity_race", "digits_classification", "generative_modelling"} <= set(quick)
    assert all(name in buf.getvalue() for name in _registry.FULL_ONLY)
    assert _registry.default_names(_registry.BENCHMARKS, "full") == list(_registry.BENCHMARKS)
    assert _registry.default_names(_registry.BENCHMARKS, "smoke") == list(_registry.BENCHMARKS)
