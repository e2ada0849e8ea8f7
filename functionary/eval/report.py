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
    misses = [(run["meta"].get("label", ""), row) for run in runs for row in run["cases"] if not row["full_ok"]]
    lines += ["", f"{len(misses)} missed cases over all runs (listed with their reasons in the results JSON)."]
    return "\n".join(lines) + "\n"


def plot(runs: list[dict], path: str) -> None:
    """Grouped bars: name+arguments accuracy (top) and name accuracy (bottom), per
    category and overall, one bar per run."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'functionary[eval]'") from None
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    cats = ["overall", *categories(runs)]
    width = 0.8 / max(len(runs), 1)
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 1.3 * len(cats) + 2), 8), sharex=True)
    for ax, key, title in zip(axes, ("full_accuracy", "name_accuracy"), ("name + arguments", "function name")):
        for i, run in enumerate(runs):
            metrics = run["metrics"]
            values = [(metrics["overall"] if c == "overall" else metrics["per_category"].get(c, {})).get(key) or 0
                      for c in cats]
            xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(cats))]
            ax.bar(xs, [100 * v for v in values], width, label=run["meta"].get("label", f"run {i + 1}"))
        ax.set_ylabel(f"{title} accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize="small", loc="upper right")
    axes[-1].set_xticks(range(len(cats)), cats, rotation=20, ha="right")
    fig.suptitle("Function-calling evaluation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
