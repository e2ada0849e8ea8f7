"""Reports over one or more runs: a Markdown table with one row per run (so base vs
fine-tuned, or our server vs another endpoint, read side by side) and a bar chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional


def load_run(path: str) -> dict:
    run = json.loads(Path(path).read_text())
    run.setdefault("meta", {}).setdefault("label", Path(path).stem)
    return run


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _secs(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.2f}"


def _num(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.0f}"


def categories(runs: list[dict]) -> list[str]:
    """Every category of every run, in the order they first appear."""
    seen: dict[str, None] = {}
    for run in runs:
        seen.update(dict.fromkeys(run["metrics"]["per_category"]))
    return list(seen)


def summary(run: dict) -> str:
    o = run["metrics"]["overall"]
    return (f"{run['meta'].get('label', '')}: {o['cases']} cases, name {_pct(o['name_accuracy'])}, "
            f"name+arguments {_pct(o['full_accuracy'])}, valid calls {_pct(o['valid_call_rate'])}, "
            f"errors {o['errors']}, latency p50 {_secs(o['latency_p50'])}s p95 {_secs(o['latency_p95'])}s")


def markdown(runs: list[dict]) -> str:
    cats = categories(runs)
    lines = ["# Function-calling evaluation", ""]
    lines += ["| run | set | tool_choice | cases | name | name+args | valid calls | errors "
              "| latency mean / p50 / p95 (s) | prompt tok | completion tok |", "|---" * 11 + "|"]
    for run in runs:
        m, o = run["meta"], run["metrics"]["overall"]
        lines.append(f"| {m.get('label', '')} | {Path(str(m.get('dataset', ''))).stem} | {m.get('tool_choice', '')} "
                     f"| {o['cases']} | {_pct(o['name_accuracy'])} | {_pct(o['full_accuracy'])} "
                     f"| {_pct(o['valid_call_rate'])} | {o['errors']} | {_secs(o['latency_mean'])} / "
                     f"{_secs(o['latency_p50'])} / {_secs(o['latency_p95'])} | {_num(o['prompt_tokens_mean'])} "
                     f"| {_num(o['completion_tokens_mean'])} |")
    for title, key in (("Name + arguments accuracy by category", "full_accuracy"),
                       ("Function-name accuracy by category", "name_accuracy")):
        lines += ["", f"## {title}", "", "| run | " + " | ".join(cats) + " |", "|---" * (len(cats) + 1) + "|"]
        for run in runs:
            per = run["metrics"]["per_category"]
            cells = [_pct(per[c][key]) + f" ({per[c]['cases']})" if c in per else "–" for c in cats]
            lines.append(f"| {run['meta'].get('label', '')} | " + " | ".join(cells) + " |")
    lines += ["", "## Latency by category (s, mean / p50 / p95)", "", "| run | " + " | ".join(cats) + " |",
              "|---" * (len(cats) + 1) + "|"]
    for run in runs:
        per = run["metrics"]["per_category"]
        cells = [" / ".join(_secs(per[c].get(k)) for k in ("latency_mean", "latency_p50", "latency_p95"))
                 if c in per else "–" for c in cats]
        lines.append(f"| {run['meta'].get('label', '')} | " + " | ".join(cells) + " |")
    lines += ["", "## Tokens per request by category (prompt / completion, mean)", "",
              "| run | " + " | ".join(cats) + " |", "|---" * (len(cats) + 1) + "|"]
    for run in runs:
        per = run["metrics"]["per_category"]
        cells = [f"{_num(per[c].get('prompt_tokens_mean'))} / {_num(per[c].get('completion_tokens_mean'))}"
                 if c in per else "–" for c in cats]
        lines.append(f"| {run['meta'].get('label', '')} | " + " | ".join(cells) + " |")
    misses = [(run["meta"].get("label", ""), row) for run in runs for row in run["cases"] if not row["full_ok"]]
    lines += ["", f"{len(misses)} missed cases over all runs (listed with their reasons in the results JSON)."]
    return "\n".join(lines) + "\n"


def plot(runs: list[dict], path: str) -> None:
    """The chart of `figure` as a PNG file."""
    fig = figure(runs)
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure(runs: list[dict]):
    """Grouped bars: name+arguments accuracy (top) and name accuracy (bottom), per
    category and overall, one bar per run. Every bar carries its value, 0% included (a
    0% bar is drawn as a thin stub, so it is seen); a category a run does not have gets
    no bar and the label "n/a". The legend sits below the axes, never over a bar."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'functionary[eval]'") from None
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    cats = ["overall", *categories(runs)]
    width = 0.8 / max(len(runs), 1)
    label_size = 8 if len(runs) * len(cats) <= 40 else 7
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 0.35 * len(runs) * len(cats) + 2), 8.5), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key, title in zip(axes, ("full_accuracy", "name_accuracy"), ("name + arguments", "function name")):
        for i, run in enumerate(runs):
            metrics = run["metrics"]
            values = [bar_value(metrics, c, key) for c in cats]
            xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(cats))]
            color = colors[i % len(colors)]
            shown = [(x, v) for x, v in zip(xs, values) if v is not None]
            heights = [max(100 * v, 0.6) for _, v in shown]  # a 0% bar is a visible stub
            ax.bar([x for x, _ in shown], heights, width, color=color,
                   label=run["meta"].get("label", f"run {i + 1}"))
            for x, v in zip(xs, values):
                text = "n/a" if v is None else f"{100 * v:.1f}%" if 0 < 100 * v < 1 else f"{100 * v:.0f}%"
                y = 0.6 if v is None else max(100 * v, 0.6)
                ax.annotate(text, (x, y), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                            fontsize=label_size, rotation=90 if len(runs) > 3 else 0,
                            color="0.45" if v is None else "0.1")
        ax.set_ylabel(f"{title} accuracy (%)")
        ax.set_ylim(0, 112)  # room for the labels above a 100% bar
        ax.set_yticks(range(0, 101, 20))
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(range(len(cats)), cats, rotation=20, ha="right")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(runs), 3), fontsize="small", frameon=False)
    fig.suptitle("Function-calling evaluation")
    rows_of_legend = -(-len(runs) // 3)
    fig.tight_layout(rect=(0, 0.035 * rows_of_legend + 0.02, 1, 1))
    return fig


def bar_value(metrics: dict, category: str, key: str) -> Optional[float]:
    """The figure a bar shows: None when the run has no such category (not run), or no value."""
    group = metrics["overall"] if category == "overall" else metrics["per_category"].get(category)
    return None if group is None else group.get(key)
