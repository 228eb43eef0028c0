"""Turn the samples of a run into the Markdown report and the PNG chart."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .measure import Sample

RSS_LIMIT_MIB = 200.0
HUB_BUSY_SHARE = 0.7
"""A step is flagged when the hub (its process and the git processes it ran) used this much CPU,
as a share of one core over the step's wall time: the client was then mostly waiting for it."""

TOOL_COLOURS = {
    "hfgit": "#ff9d00",
    "git": "#4c72b0",
    "pygit2": "#55a868",
    "dulwich": "#8172b2",
    "openssl": "#4c72b0",
}


@dataclass(frozen=True)
class Step:
    """One measured step of a scenario, with the ratio target for hfgit / reference."""

    scenario: int
    name: str
    title: str
    tools: tuple[str, ...]
    reference: str
    op: str
    higher_is_better: bool = False
    target: float = 1.0

    @property
    def label(self) -> str:
        return f"{self.scenario} {self.name}"


@dataclass
class RunData:
    steps: list[Step]
    tools: tuple[str, ...]
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    """(step label, tool) -> samples."""
    absent: dict[tuple[str, str], str] = field(default_factory=dict)
    """(step label, tool) -> why there is no figure ("n/a: ...", "skipped: ...", "failed: ...")."""
    notes: list[str] = field(default_factory=list)
    machine: list[tuple[str, str]] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Figures:
    wall: float
    wall_min: float
    wall_max: float
    cpu: float
    rss: float
    hub_cpu: float
    hub_share: float
    rate: float | None
    rate_min: float | None
    rate_max: float | None
    call: float | None
    """Median seconds inside the library call, for the Python tools."""


def figures(samples: Sequence[Sample]) -> Figures:
    walls = [s.wall for s in samples]
    rates = [s.rate for s in samples if s.rate is not None]
    calls = [s.call for s in samples if s.call is not None]
    return Figures(
        wall=statistics.median(walls),
        wall_min=min(walls),
        wall_max=max(walls),
        cpu=statistics.median(s.cpu for s in samples),
        rss=max(s.rss_mib for s in samples),
        hub_cpu=statistics.median(s.hub_cpu + s.hub_child_cpu for s in samples),
        hub_share=statistics.median(
            (s.hub_cpu + s.hub_child_cpu) / s.wall if s.wall > 0 else 0.0 for s in samples
        ),
        rate=statistics.median(rates) if rates else None,
        rate_min=min(rates) if rates else None,
        rate_max=max(rates) if rates else None,
        call=statistics.median(calls) if calls else None,
    )


def ratio(data: RunData, step: Step) -> float | None:
    """hfgit / reference: wall medians, or throughput medians for a throughput step."""
    mine = data.samples.get((step.label, "hfgit"))
    theirs = data.samples.get((step.label, step.reference))
    if not mine or not theirs:
        return None
    a, b = figures(mine), figures(theirs)
    if step.higher_is_better:
        return a.rate / b.rate if a.rate and b.rate else None
    return a.wall / b.wall if b.wall > 0 else None


def in_call_ratio(data: RunData, step: Step) -> float | None:
    """hfgit's time inside the call (no interpreter start-up) / the reference's process wall:
    what a notebook or a training script, which calls hfgit in-process, waits against running
    the git CLI."""
    mine = data.samples.get((step.label, "hfgit"))
    theirs = data.samples.get((step.label, step.reference))
    if step.higher_is_better or not mine or not theirs:
        return None
    call, wall = figures(mine).call, figures(theirs).wall
    return call / wall if call is not None and wall > 0 else None


def target_text(step: Step) -> str:
    return f"{'≥' if step.higher_is_better else '≤'} {step.target:g}"


def met(step: Step, value: float | None) -> str:
    if value is None:
        return "n/a"
    ok = value >= step.target if step.higher_is_better else value <= step.target
    return "met" if ok else "**missed**"


def _gbps(rate: float | None) -> str:
    return f"{rate / 1e9:.2f}" if rate is not None else ""


def markdown(data: RunData, title: str) -> str:
    lines = [f"# {title}", ""]
    lines += ["## Run", ""]
    lines += [f"- {key}: {value}" for key, value in data.settings]
    lines += ["", "## Machine and tools", ""]
    lines += [f"- {key}: {value}" for key, value in data.machine]

    lines += [
        "",
        "## Targets (hfgit against git + git-lfs, same run)",
        "",
        "The ratio compares whole processes, so hfgit's figure includes Python start-up and "
        "the import. The in-call ratio leaves those out. It is what a notebook or a training "
        "script waits, since they call hfgit in a process that is already running.",
        "",
        "| # | scenario | step | hfgit / ref | target | ratio | hfgit in-call / ref | "
        f"in-call | hfgit peak RSS MiB | RSS ≤ {RSS_LIMIT_MIB:g} MiB |",
        "|---:|---|---|---:|---:|---|---:|---|---:|---|",
    ]
    for step in data.steps:
        value = ratio(data, step)
        mine = data.samples.get((step.label, "hfgit"))
        rss = figures(mine).rss if mine else None
        what = "throughput, vs openssl" if step.higher_is_better else "wall, vs git"
        status = met(step, value)
        if any(hub_bound(data, step, tool) for tool in ("hfgit", step.reference)):
            status += " (hub-bound, see notes)"
        value_cell = "" if value is None else f"{value:.2f}"
        in_call = in_call_ratio(data, step)
        in_call_cell = "" if in_call is None else f"{in_call:.2f}"
        in_call_met = "" if in_call is None else met(step, in_call)
        rss_cell = "" if rss is None else f"{rss:.0f}"
        rss_met = "n/a" if rss is None else ("met" if rss <= RSS_LIMIT_MIB else "**missed**")
        lines.append(
            f"| {step.scenario} | {step.title} | {step.name} ({what}) | {value_cell} | "
            f"{target_text(step)} | {status} | {in_call_cell} | {in_call_met} | {rss_cell} "
            f"| {rss_met} |"
        )

    lines += [
        "",
        "## All figures",
        "",
        "Wall seconds (perf_counter around the process): median, min and max over the rounds; "
        "CPU seconds (user + sys, `/usr/bin/time -v`): median; "
        "peak RSS: the highest of the rounds; hub CPU: seconds the LocalHub process and the git "
        "processes it ran used during the step (median), and that as a share of the step's wall "
        "time (median); near 100% the step waited on the hub. In-call seconds: the time inside "
        "the library call, measured by the Python tools themselves (median).",
        "",
        "| # | step | tool | wall median s | wall min s | wall max s | in-call s | CPU s "
        "| peak RSS MiB | hub CPU s | hfgit / ref | target |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step in data.steps:
        value = ratio(data, step)
        for tool in [*step.tools, *(t for t in data.tools if t not in step.tools)]:
            key = (step.label, tool)
            prefix = f"| {step.scenario} | {step.title}: {step.name} | {tool} |"
            samples = data.samples.get(key)
            if not samples:
                reason = data.absent.get(key, "n/a")
                lines.append(f"{prefix} {reason} | | | | | | | | |")
                continue
            f = figures(samples)
            ratio_cell = target_cell = ""
            if tool == "hfgit" and value is not None:
                ratio_cell = f"{value:.2f}"
                target_cell = f"{target_text(step)} {met(step, value)}"
            call_cell = "" if f.call is None else f"{f.call:.3f}"
            lines.append(
                f"{prefix} {f.wall:.2f} | {f.wall_min:.2f} | {f.wall_max:.2f} | {call_cell} "
                f"| {f.cpu:.2f} "
                f"| {f.rss:.0f} | {f.hub_cpu:.2f} ({f.hub_share:.0%}) | {ratio_cell} "
                f"| {target_cell} |"
            )

    rate_steps = [s for s in data.steps if s.higher_is_better]
    if rate_steps:
        lines += [
            "",
            "## SHA-256 throughput (one core)",
            "",
            "| tool | median GB/s | min GB/s | max GB/s |",
            "|---|---:|---:|---:|",
        ]
        for step in rate_steps:
            for tool in step.tools:
                samples = data.samples.get((step.label, tool))
                if samples:
                    f = figures(samples)
                    lines.append(
                        f"| {tool} | {_gbps(f.rate)} | {_gbps(f.rate_min)} | {_gbps(f.rate_max)} |"
                    )

    lines += ["", "## Notes", ""]
    lines += [f"- {note}" for note in data.notes] or ["- none"]
    return "\n".join(lines) + "\n"


def hub_bound(data: RunData, step: Step, tool: str) -> bool:
    """Whether the hub kept a core busy for most of this tool's step (median over rounds)."""
    samples = data.samples.get((step.label, tool))
    if not samples or step.higher_is_better:
        return False
    f = figures(samples)
    return f.hub_share >= HUB_BUSY_SHARE and f.wall >= 0.2


def hub_findings(data: RunData) -> list[str]:
    """Notes for the steps where the hub, not the client, set the pace."""
    found = []
    for step in data.steps:
        for tool in step.tools:
            if hub_bound(data, step, tool):
                f = figures(data.samples[(step.label, tool)])
                found.append(
                    f"**LocalHub was the bottleneck** in {step.label} ({tool}): it used "
                    f"{f.hub_share:.0%} of a core over the step's {f.wall:.2f} s (median), so this "
                    "figure measures the hub as much as the client."
                )
    return found


def chart(data: RunData, path: Path, title: str) -> str | None:
    """Write the bar chart; returns why not, if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no chart (pip install matplotlib)"

    panels = [s for s in data.steps if any(data.samples.get((s.label, t)) for t in s.tools)]
    count = len(panels) + 1
    columns = min(4, count)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, step in zip(flat, panels):
        tools = [t for t in step.tools if data.samples.get((step.label, t))]
        stats = [figures(data.samples[(step.label, t)]) for t in tools]
        if step.higher_is_better:
            heights = [(f.rate or 0) / 1e9 for f in stats]
            lows = [h - (f.rate_min or 0) / 1e9 for h, f in zip(heights, stats)]
            highs = [(f.rate_max or 0) / 1e9 - h for h, f in zip(heights, stats)]
            ax.set_ylabel("GB/s (higher is better)")
        else:
            heights = [f.wall for f in stats]
            lows = [f.wall - f.wall_min for f in stats]
            highs = [f.wall_max - f.wall for f in stats]
            ax.set_ylabel("wall s, median (min-max)")
        colours = [TOOL_COLOURS.get(t, "#999999") for t in tools]
        ax.bar(tools, heights, color=colours, yerr=[lows, highs], capsize=3)
        calls = [(tool, f.call) for tool, f in zip(tools, stats) if f.call is not None]
        if calls and not step.higher_is_better:
            ax.scatter(
                [tool for tool, _ in calls],
                [call for _, call in calls],
                marker="_",
                s=600,
                color="black",
                label="in-call",
                zorder=3,
            )
            ax.legend(fontsize=7, loc="upper left")
        value = ratio(data, step)
        subtitle = "" if value is None else f"\nhfgit/{step.reference} {value:.2f} "
        subtitle += "" if value is None else f"({target_text(step)}: {met(step, value).strip('*')})"
        in_call = in_call_ratio(data, step)
        subtitle += "" if in_call is None else f", in-call {in_call:.2f}"
        if any(hub_bound(data, step, tool) for tool in tools):
            subtitle += " [hub-bound]"
        missed = value is not None and met(step, value) != "met"
        ax.set_title(
            f"{step.scenario}. {step.title}: {step.name}{subtitle}",
            fontsize=9,
            color="#c00000" if missed else "black",
        )
        ax.tick_params(axis="x", labelsize=8)
    rss_ax = flat[len(panels)]
    labels = [s.label for s in panels if not s.higher_is_better]
    width = 0.8 / max(1, len(data.tools))
    for i, tool in enumerate(data.tools):
        values = []
        for step in panels:
            if step.higher_is_better:
                continue
            samples = data.samples.get((step.label, tool))
            values.append(figures(samples).rss if samples else 0.0)
        positions = [x + (i - (len(data.tools) - 1) / 2) * width for x in range(len(labels))]
        rss_ax.bar(positions, values, width, label=tool, color=TOOL_COLOURS.get(tool))
    rss_ax.axhline(RSS_LIMIT_MIB, color="red", linestyle="--", linewidth=1)
    rss_ax.set_xticks(range(len(labels)))
    rss_ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    rss_ax.set_ylabel("peak RSS MiB")
    rss_ax.set_title(f"peak RSS per step (red: {RSS_LIMIT_MIB:g} MiB target)", fontsize=9)
    rss_ax.legend(fontsize=7)
    for ax in flat[count:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
