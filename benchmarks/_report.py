"""results.md (one table per benchmark, ratios to the peers) and PNG bar charts."""

from __future__ import annotations

import io
from pathlib import Path

from ._harness import write_atomic

OURS = "molcomp"


def fmt(value: float) -> str:
    """Three significant digits with an SI suffix for large rates (48.5M, 0.318)."""
    a = abs(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _learners(records: list[dict]) -> list[str]:
    names = sorted({r["learner"] for r in records})
    return sorted(names, key=lambda n: n != OURS)  # ours first


def table(name: str, records: list[dict], relative_to: dict[str, str] | None = None) -> str:
    """Markdown table of one benchmark: a row per (case, metric), a column per learner,
    `molcomp/<peer>` ratios where a peer ran, and `<learner>/<ref>` fractions of a
    reference metric (e.g. site updates per second over uniforms per second)."""
    recs = [r for r in records if r["benchmark"] == name]
    if not recs:
        return f"## {name}\n\n(no records)\n"
    learners = _learners(recs)
    # Learners with only reference records (e.g. a bare random-number generator) are
    # shown as columns but are not peers to take ratios against.
    peers = [
        p
        for p in learners
        if p != OURS and any(r["learner"] == p and r.get("kind") != "reference" for r in recs)
    ]
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    for r in recs:  # insertion order = case order of the run
        rows.setdefault((r["case"], r["metric"]), {})[r["learner"]] = r
    refs = {}
    for metric, ref_metric in (relative_to or {}).items():
        ref = next((r for r in recs if r["metric"] == ref_metric), None)
        if ref is not None:
            refs[metric] = (ref_metric, ref["value"], ref["case"])
    ref_names = sorted({m for m, _, _ in refs.values()})
    ref_cases = {m: c for m, _, c in refs.values()}
    head = ["case", "metric", *learners]
    head += [f"{OURS}/{p}" for p in peers if OURS in learners]
    head += [f"{learner}/{short(m)}" for m in ref_names for learner in learners]
    head.append("unit")
    lines = [f"## {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (case, metric), by in rows.items():
        any_rec = next(iter(by.values()))
        lower = "" if any_rec["higher_is_better"] else " (lower is better)"
        cells = [case, metric + lower]
        cells += [fmt(by[lr]["value"]) if lr in by else "-" for lr in learners]
        if OURS in learners:
            for p in peers:
                ok = OURS in by and p in by and by[p]["value"] != 0
                cells.append(f"{by[OURS]['value'] / by[p]['value']:.3g}" if ok else "-")
        for m in ref_names:
            for lr in learners:
                ref = refs.get(metric)
                ok = ref is not None and ref[0] == m and lr in by and ref[1] > 0
                cells.append(f"{by[lr]['value'] / ref[1]:.3f}" if ok else "-")
        cells.append(any_rec["unit"])
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"`{OURS}/<peer>`: ratio of the values (same case, same run settings)."]
    for m in ref_names:
        notes.append(f"`<learner>/{short(m)}`: the value as a fraction of `{m}` ({ref_cases[m]}).")
    return "\n".join(lines) + "\n\n" + " ".join(notes) + "\n"


def short(metric: str) -> str:
    """`rng_uniforms_per_s` -> `rng`: column names stay narrow."""
    return metric.split("_")[0]


def markdown(meta: dict, sections: list[str]) -> str:
    v, d = meta["versions"], meta["device"]
    head = (
        "# Benchmark results\n\n"
        f"commit {meta['git_commit']}{' (dirty)' if meta.get('git_dirty') else ''}, "
        f"code version {meta['code_version']}, {meta['date']}; "
        f"jax {v['jax']}, thrml {v['thrml']}; {d['count']} x {d['kind']} ({d['platform']}), "
        f"{meta['cpu_count']} CPUs; size {meta['size']}.\n"
    )
    return head + "\n" + "\n".join(sections)


def bar_chart(
    records: list[dict], name: str, metric: str, path: Path, reference: str | None = None
) -> Path | None:
    """Grouped bars of `metric` per case, one colour per learner, log scale when every
    value is positive (linear otherwise: e.g. accuracies of 0 in a smoke run); a dashed
    line at the value of the `reference` metric (e.g. the random-number rate), if
    recorded."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    recs = [r for r in records if r["benchmark"] == name and r["metric"] == metric]
    if not recs:
        return None
    cases = list(dict.fromkeys(r["case"] for r in recs))
    learners = _learners(recs)
    value = {(r["case"], r["learner"]): r["value"] for r in recs}
    fig = Figure(figsize=(max(6.0, 1.1 * len(cases)), 4.0), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(learners)
    for i, learner in enumerate(learners):
        offset = (i - (len(learners) - 1) / 2) * width
        pts = [
            (j + offset, value[c, learner]) for j, c in enumerate(cases) if (c, learner) in value
        ]
        ax.bar([x for x, _ in pts], [y for _, y in pts], width, label=learner)
    ref = next((r for r in records if r["benchmark"] == name and r["metric"] == reference), None)
    if ref is not None:
        ax.axhline(
            ref["value"], color="k", ls="--", lw=1, label=f"{reference} ({fmt(ref['value'])})"
        )
    ax.set_xticks(range(len(cases)), cases, rotation=30, ha="right", fontsize=8)
    if all(r["value"] > 0 for r in recs):
        ax.set_yscale("log")
    ax.set_ylabel(f"{metric} ({recs[0]['unit']})")
    ax.set_title(f"{name}: {metric}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_atomic(path, buf.getvalue())
    return path
