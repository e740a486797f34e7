"""The "physical vs neural" summary of a run: one table of every task where a physical
learner meets neural learners and baselines, the paired differences, the throughput
ratios against the peer libraries, and one figure (`DIR/summary.png`).

Built from the records alone (any run, any subset of benchmarks): a task whose records
are missing is left out. Printed at the end of `python -m benchmarks run` and written to
`DIR/summary.md`.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from ._harness import write_atomic
from ._report import fmt

ROLES = {"physical": "physical", "neural": "neural", "reference": "baseline", "peer": "peer"}
# (task, benchmark, metric, learners in table order): learners are record learners, or
# capacity_race rules.
DIGITS = (
    "digits (8x8, 10 classes)",
    "digits_classification",
    "test_accuracy",
    (
        "phase_boundary",
        "lagrangian_mlp",
        "equilibrium_propagation",
        "rbm_linear",
        "linear_map",
        "logistic_regression",
    ),
)
GENERATIVE = (
    "generative (structures 2x3)",
    "generative_modelling",
    "heldout_log_likelihood",
    ("potts_mixture", "rbm", "boltzmann_machine", "independent_sites", "teacher"),
)
MEMORY = "associative memory"
HEAD = ("task", "role", "learner", "metric", "value +- SE", "parameters", "train s", "s/example")


def _find(records, benchmark, metric, learner=None, case=None):
    for r in records:
        if r["benchmark"] != benchmark or r["metric"] != metric:
            continue
        if learner is not None and r["learner"] != learner:
            continue
        if case is not None and r["case"] != case:
            continue
        return r
    return None


def _value(v: float, se: float | None) -> str:
    if se is None:
        return fmt(v)
    return f"{fmt(v)} +- {fmt(se)}" if se > 0 else fmt(v)


def _costs(records, benchmark, learner, case=None) -> list[str]:
    out = []
    for metric in ("n_parameters", "train_wall_s", "inference_s_per_example"):
        r = _find(records, benchmark, metric, learner, case)
        out.append("-" if r is None else fmt(r["value"]))
    return out


def _learner_rows(records, task) -> list[dict]:
    """Rows of a task whose learners are record learners (digits, generative)."""
    name, benchmark, metric, learners = task
    rows = []
    for learner in learners:
        r = _find(records, benchmark, metric, learner)
        if r is None:
            continue
        se = _find(records, benchmark, metric + "_stderr", learner)
        label = learner
        if learner == "phase_boundary":
            p = r["params"]
            label += f" ({p.get('readout')}, {p.get('n_simulated')} images)"
        if learner == "teacher":
            label += " (the data's own distribution: the ceiling)"
        rows.append(
            dict(
                task=name,
                role=ROLES[r["kind"]],
                learner=label,
                metric=metric,
                value=r["value"],
                se=None if se is None else se["value"],
                costs=_costs(records, benchmark, learner),
            )
        )
    return rows


def _memory_rows(records) -> list[dict]:
    """capacity_alpha of every entrant at the mixture's smallest N (all entrants share
    the criterion); value prefixed >= where the search hit its cap."""
    recs = [r for r in records if r["benchmark"] == "capacity_race"]
    alphas = [r for r in recs if r["metric"] == "capacity_alpha"]
    mixture = [r["params"]["N"] for r in alphas if r["params"].get("rule") == "mixture"]
    if not mixture:
        return []
    n = min(mixture)
    rows = []
    for r in sorted(alphas, key=lambda r: r["kind"] != "physical"):
        p = r["params"]
        if p["N"] != n:
            continue
        label = p["rule"] + (f" ({p['kinetics']})" if p.get("kinetics") else "")
        value = ("> " if p.get("lower_bound") else "") + fmt(r["value"])
        rows.append(
            dict(
                task=f"{MEMORY} (N = {n})",
                role=ROLES[r["kind"]],
                learner=label,
                metric="capacity_alpha",
                value=r["value"],
                text=value,
                se=None,
                costs=_costs(records, "capacity_race", r["learner"], r["case"]),
            )
        )
    return rows


def rows(records: list[dict]) -> list[dict]:
    """Every row of the physical-vs-neural table, in task order."""
    return (
        _learner_rows(records, DIGITS) + _memory_rows(records) + _learner_rows(records, GENERATIVE)
    )


def paired(records: list[dict]) -> list[str]:
    """One line per paired difference recorded (`paired_difference_vs_*`)."""
    out = []
    for r in records:
        m = r["metric"]
        if not m.startswith("paired_difference_vs_") or m.endswith("_stderr"):
            continue
        se = _find(records, r["benchmark"], m + "_stderr", r["learner"], r["case"])
        p = r["params"]
        seeds = p.get("seeds", p.get("runs", 1))
        over = f"{seeds} seed(s)" if r["benchmark"] != "sleep_wake_training" else f"{seeds} runs"
        out.append(
            f"- {r['benchmark']}: {r['learner']} - {p.get('versus')} on {p.get('of')} = "
            f"{_value(r['value'], None if se is None else se['value'])} {r['unit']} ({over})"
        )
    return out


def ratios(records: list[dict]) -> list[dict]:
    """molcomp's rate over each peer's, case by case (> 1: molcomp is faster): dicts of
    benchmark, case, metric, peer, ours, theirs and ratio."""
    out = []
    for benchmark, metric, higher in (
        ("sampler_throughput", "site_updates_per_s", True),
        ("sampler_throughput", "build_s", False),
        ("md_throughput", "particle_steps_per_s", True),
        ("sleep_wake_training", "time_to_kl_s", False),
    ):
        ours = {
            r["case"]: r
            for r in records
            if r["benchmark"] == benchmark and r["metric"] == metric and r["learner"] == "molcomp"
        }
        for r in records:
            if r["benchmark"] != benchmark or r["metric"] != metric or r["kind"] != "peer":
                continue
            mine = ours.get(r["case"])
            if mine is None or not (mine["value"] > 0 and r["value"] > 0):
                continue
            ratio = mine["value"] / r["value"] if higher else r["value"] / mine["value"]
            if math.isfinite(ratio):
                out.append(
                    dict(
                        benchmark=benchmark, case=r["case"], metric=metric, peer=r["learner"],
                        ours=mine["value"], theirs=r["value"], ratio=ratio,
                    )
                )  # fmt: skip
    return out


def peer_lines(records: list[dict]) -> list[str]:
    """The ratios as markdown list items, then sleep-wake's paired speed-up."""
    out = [
        f"- {q['benchmark']} {q['case']}: {q['metric']} molcomp {fmt(q['ours'])}, "
        f"{q['peer']} {fmt(q['theirs'])}: molcomp {q['ratio']:.3g}x as fast"
        for q in ratios(records)
    ]
    speed = _find(records, "sleep_wake_training", "speedup_vs_thrml", "molcomp")
    if speed is not None:
        se = _find(records, "sleep_wake_training", "speedup_vs_thrml_log_stderr", "molcomp")
        f = math.exp(se["value"]) if se is not None else None
        out.append(
            f"- sleep_wake_training: geometric mean speed-up over thrml, run by run: "
            f"{speed['value']:.3g}x" + (f" (x/ {f:.3g}, one standard error)" if f else "")
        )
    return out


def markdown(records: list[dict]) -> str:
    """The summary as markdown; empty when the records hold no task of the table."""
    table = rows(records)
    pairs, peers = paired(records), peer_lines(records)
    if not (table or peers):
        return ""
    lines = ["# physical vs neural", ""]
    if table:
        lines += ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        for row in table:
            value = row.get("text") or _value(row["value"], row["se"])
            cells = [row["task"], row["role"], row["learner"], row["metric"], value, *row["costs"]]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            "value +- SE: the standard error stated by each benchmark (binomial over test "
            "images, or over seeds); capacity has no SE (one search, resolution 1/N). "
            "Costs: trainable parameters, training seconds, seconds per example at "
            "inference (a recall, a prediction, a held-out score).",
        ]
    if pairs:
        lines += ["", "Paired differences (same images, seeds or runs):", "", *pairs]
    if peers:
        lines += ["", "## throughput against the peers", "", *peers]
    return "\n".join(lines) + "\n"


def figure(records: list[dict], path: Path) -> Path | None:
    """Four panels: digits accuracy, memory capacity, held-out log-likelihood (each with
    its error bars, coloured by role) and molcomp's speed over each peer."""
    from matplotlib.figure import Figure

    table = rows(records)
    speeds = ratios(records)
    if not (table or speeds):
        return None
    colours = {"physical": "tab:red", "neural": "tab:blue", "baseline": "tab:gray"}
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (task, metric, log) in zip(
        axes[:3],
        (
            (DIGITS[0], "test_accuracy", False),
            (MEMORY, "capacity_alpha", True),
            (GENERATIVE[0], "heldout_log_likelihood", False),
        ),
    ):
        mine = [r for r in table if r["task"].startswith(task)]
        if not mine:
            ax.set_axis_off()
            continue
        names = [r["learner"].split(" (")[0] + _kinetics(r) for r in mine]
        values, errors = [r["value"] for r in mine], [r["se"] or 0.0 for r in mine]
        cs = [colours.get(r["role"], "k") for r in mine]
        if metric == "heldout_log_likelihood":  # negative: points, not bars from 0
            for i, (v, e, c) in enumerate(zip(values, errors, cs)):
                ax.errorbar(v, i, xerr=e, fmt="o", color=c)
        else:
            ax.barh(range(len(mine)), values, xerr=errors, color=cs)
        ax.set_yticks(range(len(mine)), names, fontsize=8)
        ax.invert_yaxis()
        if log and all(r["value"] > 0 for r in mine):
            ax.set_xscale("log")
        if metric == "test_accuracy":
            ax.set_xlim(min(r["value"] for r in mine) - 0.1, 1.0)
        ax.set_title(f"{mine[0]['task']}: {metric}", fontsize=9)
    ax = axes[3]
    if speeds:
        names = [f"{q['benchmark'].split('_')[0]} {q['case']} ({q['peer']})" for q in speeds]
        ax.barh(range(len(speeds)), [q["ratio"] for q in speeds], color="tab:green")
        ax.set_yticks(range(len(speeds)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="k", lw=1)
        ax.set_title("molcomp speed / peer speed (> 1: molcomp faster)", fontsize=9)
    else:
        ax.set_axis_off()
    fig.suptitle("physical (red) vs neural (blue) and baselines (grey); error bars: 1 SE")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_atomic(path, buf.getvalue())
    return path


def _kinetics(row: dict) -> str:
    text = row["learner"]
    return f" ({text.split('(')[1]}" if row["metric"] == "capacity_alpha" and "(" in text else ""


def report(records: list[dict], out: Path) -> str:
    """Print the summary, write `out/summary.md` and `out/summary.png`; returns the
    markdown (empty, and nothing written, when no task of the summary ran)."""
    text = markdown(records)
    if not text:
        return text
    print()
    print(text)
    write_atomic(Path(out) / "summary.md", text.encode())
    figure(records, Path(out) / "summary.png")
    return text
