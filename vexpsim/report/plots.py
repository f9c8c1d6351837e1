"""Plots of a sweep (matplotlib, Agg): latency per series against x (log-log), speedup of
each series over a reference series, and the cycle breakdown by phase (stacked bars).

Series and x are sweep key paths (`[reproduce.plot]` of the experiment config), read from the
expanded points, so the same code plots any kernel family."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .rows import record_value

__all__ = ["sweep_plots", "system_plots"]


def _series(results: Mapping[str, Any], points: list[Any], x: str, series: str,
            metric: str) -> dict[Any, list[tuple[Any, float, dict]]]:
    """series value -> [(x, metric, record)] sorted by x (points without the metric skipped)."""
    out: dict[Any, list[tuple[Any, float, dict]]] = {}
    for p in points:
        rec = results["points"][p.index]
        try:
            y = float(record_value(rec, metric))
        except (KeyError, TypeError, ValueError):
            continue
        out.setdefault(p.get(series), []).append((p.get(x), y, rec))
    for v in out.values():
        v.sort(key=lambda t: t[0])
    return out


def sweep_plots(results: Mapping[str, Any], points: list[Any], spec: Mapping[str, Any],
                outdir: Path, stem: str) -> list[Path]:
    """Write STEM_latency.png, STEM_speedup.png (if spec has a reference) and
    STEM_phases.png into outdir; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    x, series, metric = spec["x"], spec["series"], spec["metric"]
    data = _series(results, points, x, series, metric)
    xname = x.rsplit(".", 1)[-1]
    written: list[Path] = []
    if not data:
        return written

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for name, pts in data.items():
        ax.plot([t[0] for t in pts], [t[1] for t in pts], marker="o", label=str(name))
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(ScalarFormatter())  # 32, 64, ... rather than 2^5
    ax.set_yscale("log")
    ax.set_xlabel(xname)
    ax.set_ylabel(metric)
    ax.set_title(f"{results['experiment']}: {metric} vs {xname}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    path = outdir / f"{stem}_latency.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    ref = spec.get("reference")
    if ref is not None and ref in data:
        base = {t[0]: t[1] for t in data[ref]}
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for name, pts in data.items():
            if name == ref:
                continue
            xs = [t[0] for t in pts if t[0] in base and t[1]]
            ax.plot(xs, [base[t[0]] / t[1] for t in pts if t[0] in base and t[1]],
                    marker="o", label=f"{ref} / {name}")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel(xname)
        ax.set_ylabel(f"speedup ({metric} ratio)")
        ax.set_title(f"{results['experiment']}: speedup over {ref}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        path = outdir / f"{stem}_speedup.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    # phases: one panel per series (their scales differ by orders of magnitude); the part
    # of the cycles outside every named phase is drawn as "other"
    fig, axes = plt.subplots(1, len(data), figsize=(4.2 * len(data), 4.2), squeeze=False)
    for ax, (name, pts) in zip(axes[0], data.items(), strict=True):
        phases: list[str] = []
        for _, _, rec in pts:
            phases += [k for k in rec.get("phases_cycles", {}) if k not in phases]
        labels = [str(t[0]) for t in pts]
        bottom = [0.0] * len(pts)
        for ph in phases + ["other"]:
            if ph == "other":
                vals = [max(0.0, float(rec.get("cycles", 0)) -
                            sum(rec.get("phases_cycles", {}).values())) for _, _, rec in pts]
            else:
                vals = [float(rec.get("phases_cycles", {}).get(ph, 0)) for _, _, rec in pts]
            ax.bar(labels, vals, bottom=bottom, label=ph)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set_title(str(name), fontsize=9)
        ax.set_xlabel(xname)
        ax.set_ylabel("cycles")
        ax.legend(fontsize=7)
    fig.suptitle(f"{results['experiment']}: cycles by phase")
    path = outdir / f"{stem}_phases.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    # energy by component: one stacked bar per series at its largest x (issue 8)
    last = {name: pts[-1] for name, pts in data.items()
            if pts and pts[-1][2].get("energy_by_component_pj")}
    if last:
        comps: list[str] = []
        for _, _, rec in last.values():
            comps += [c for c in rec["energy_by_component_pj"] if c not in comps]
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.4))
        labels = [f"{name}\n{xname}={t[0]}" for name, t in last.items()]
        for ax, relative in zip(axes, (False, True), strict=True):
            bottom = [0.0] * len(last)
            for c in comps:
                vals = []
                for _, _, rec in last.values():
                    e = rec["energy_by_component_pj"]
                    v = float(e.get(c, 0.0))
                    vals.append(v / sum(e.values()) * 100 if relative else v * 1e-6)
                ax.bar(labels, vals, bottom=bottom, label=c)
                bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
            ax.set_ylabel("share of energy (%)" if relative else "energy (µJ)")
            ax.tick_params(axis="x", labelsize=7)
        axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.suptitle(f"{results['experiment']}: energy by component")
        path = outdir / f"{stem}_energy.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def system_plots(results: Mapping[str, Any], points: list[Any], outdir: Path,
                 stem: str) -> list[Path]:
    """End-to-end points (workload type "system"): per model and prefill length,
    STEM_<model>.png (STEM_<model>_<seq>.png when the model is run at several lengths) with
    stacked bars per variant: latency split by the share of cluster compute time of each
    category, and energy split by category (system_sweep.shares). With more than one
    prefill length for a model, also STEM_vs_seq.png (seq_plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..experiments.system_sweep import CATEGORIES

    by_case: dict[tuple[str, int], list[dict]] = {}
    for p in points:
        if p.system is None:
            continue
        rec = results["points"][p.index]
        if "shares" in rec:
            by_case.setdefault((rec["model"], rec["seq_len"]), []).append(rec)
    seqs_of: dict[str, set[int]] = {}
    for model, seq in by_case:
        seqs_of.setdefault(model, set()).add(seq)
    written: list[Path] = []
    outdir.mkdir(parents=True, exist_ok=True)
    colours = {"gemm": "tab:blue", "softmax": "tab:red", "gelu": "tab:orange",
               "rest": "tab:gray"}
    for (model, seq), recs in by_case.items():
        recs.sort(key=lambda r: r["variant"])
        fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.2))
        names = [r["variant"] for r in recs]
        for ax, what in zip(axes, ("time", "energy"), strict=True):
            bottom = [0.0] * len(recs)
            for cat in CATEGORIES:
                vals = []
                for r in recs:
                    share = r["shares"].get(what, {}).get(cat, 0.0)
                    total = (r["latency_s"] * 1e3 if what == "time"
                             else (r["energy_pj"] or {}).get("total", 0.0) * 1e-9)
                    vals.append(share * total)
                ax.bar(names, vals, bottom=bottom, label=cat, color=colours[cat])
                bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
            ax.set_ylabel("latency (ms)" if what == "time" else "energy (mJ)")
            ax.set_title(f"{model}: {'latency' if what == 'time' else 'energy'}")
        axes[0].legend(fontsize=8)
        fig.suptitle(f"{results['experiment']}: {model}, prefill {seq} tokens "
                     "(split by share of cluster compute)", fontsize=9)
        fig.tight_layout()
        name = f"{stem}_{model}.png" if len(seqs_of[model]) == 1 else f"{stem}_{model}_{seq}.png"
        path = outdir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    if any(len(v) > 1 for v in seqs_of.values()):
        path = seq_plot(by_case, outdir / f"{stem}_vs_seq.png", str(results["experiment"]))
        if path is not None:
            written.append(path)
    return written


def seq_sweep_table(by_case: Mapping[tuple[str, int], list[dict]]) -> list[dict[str, Any]]:
    """One row per (model, prefill length) with both variants: speed-up (baseline / VEXP
    latency), energy ratio, and the baseline's shares of cluster compute time in the softmax
    (FA-2 exp phases + final softmax) and GELU categories. Sorted by model, then length."""
    rows = []
    for (model, seq), recs in sorted(by_case.items()):
        v = {r["variant"]: r for r in recs}
        if not {"baseline", "vexp"} <= set(v):
            continue
        b, x = v["baseline"], v["vexp"]
        eb, ex = (b["energy_pj"] or {}).get("total"), (x["energy_pj"] or {}).get("total")
        rows.append({"model": model, "seq": seq,
                     "speedup": b["latency_cycles"] / x["latency_cycles"],
                     "energy_ratio": eb / ex if eb and ex else None,
                     "softmax_share": b["shares"]["time"].get("softmax", 0.0),
                     "gelu_share": b["shares"]["time"].get("gelu", 0.0)})
    return rows


def seq_plot(by_case: Mapping[tuple[str, int], list[dict]], path: Path,
             title: str) -> Path | None:
    """Speed-up and energy ratio (left) and the baseline's exp share of cluster compute time
    (right: softmax, and softmax + GELU) against the prefill length, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = seq_sweep_table(by_case)
    if not rows:
        return None
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 5.4))
    for i, model in enumerate(models):
        rs = [r for r in rows if r["model"] == model]
        c = f"C{i}"
        s = [r["seq"] for r in rs]
        axes[0].plot(s, [r["speedup"] for r in rs], "o-", color=c, label=f"{model} latency")
        axes[0].plot(s, [r["energy_ratio"] or float("nan") for r in rs], "s--", color=c,
                     label=f"{model} energy")
        axes[1].plot(s, [100 * r["softmax_share"] for r in rs], "o-", color=c,
                     label=f"{model} softmax")
        axes[1].plot(s, [100 * (r["softmax_share"] + r["gelu_share"]) for r in rs], "^:",
                     color=c, label=f"{model} softmax + GELU")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("prefill length S (tokens)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    axes[0].set_ylabel("baseline / VEXP")
    axes[0].set_title("speed-up (latency) and energy ratio")
    axes[1].set_ylabel("% of baseline cluster compute time")
    axes[1].set_title("exp share of the baseline")
    fig.suptitle(f"{title}: end-to-end gain vs sequence length", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
