"""Write issue #15's figures into BENCHMARKS.md, each against its target and its "before"."""

import math
from typing import Any

from bench.report import machine, replace_section

START, END = "<!-- bench:commands:start -->", "<!-- bench:commands:end -->"
CPU_RATIO_TARGETS = {
    "/focus": 3.0,
    "/maker check": 3.0,
    "/milestone": 3.0,
    "/pain <text>": 6.0,
    "/pain top": 6.0,
}
BURST_LATE_TARGET, WORKERS_SPEEDUP_TARGET = 0, 1.7


def write(results: dict[str, Any], baseline: dict[str, Any]) -> None:
    """Replace the figures between the markers with these (and the baseline's, as "before")."""
    lines = [f"Machine: {machine()}.", ""]
    if "cpu" in results:
        lines += cpu_table(results["cpu"])
    if "burst" in results:
        lines += burst_table(results["burst"])
    if "workers" in results:
        lines += workers_table(results["workers"])
    if baseline and baseline != results:
        lines += before_after(baseline, results)
    replace_section(START, END, lines)


def _num(value: float, digits: int = 0) -> str:
    """Format a figure; none (NaN: nothing was answered) as a dash."""
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def _mark(met: bool) -> str:
    return "✓" if met else "✗"


def _when(part: dict[str, Any]) -> str:
    return (
        f"Measured {part['date'].replace('T', ' ')} UTC at commit `{part['commit']}` in "
        f"{part['seconds']:.0f} s; load average {part['load_before']:.1f} before, "
        f"{part['load_after']:.1f} after (2 cores, shared: read wall-clock figures with it)."
    )


def cpu_ratios(part: dict[str, Any]) -> dict[str, float]:
    """Return focusbot's CPU per request over the bare app's, per command."""
    return {
        kind: servers["focusbot"]["cpu_ms"] / servers["bare"]["cpu_ms"]
        for kind, servers in part["kinds"].items()
    }


def cpu_table(part: dict[str, Any]) -> list[str]:
    """Return the per command table: CPU one at a time, then 64 connections."""
    lines = [
        "### Each command against a bare Bolt app (100,000 pain points, SQLite)",
        "",
        _when(part),
        "",
        "| command | CPU ms per request focusbot / bare | ratio (target) "
        "| one at a time: answer p50 ms focusbot / bare "
        "| 64 connections: answers/s focusbot / bare | ack p99 ms | answer p99 ms "
        "| answered later via response_url | failures |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = cpu_ratios(part)
    for kind, servers in part["kinds"].items():
        bot, bare = servers["focusbot"], servers["bare"]
        target = CPU_RATIO_TARGETS.get(kind)
        verdict = f"≤ {target:g} {_mark(ratios[kind] <= target)}" if target else "—"
        many = bot["at_64"]
        lazy = many["lazy"] + bot["one"]["lazy"]
        failures = sum(bot[n]["failures"] + bare[n]["failures"] for n in ("one", "at_64"))
        lines.append(
            f"| `{kind}` | {bot['cpu_ms']:.1f} / {bare['cpu_ms']:.1f} | "
            f"{ratios[kind]:.1f}× ({verdict}) "
            f"| {_num(bot['one']['answer_p50_ms'], 1)} / {bare['one']['answer_p50_ms']:.1f} "
            f"| {many['throughput']:.0f} / {bare['at_64']['throughput']:.0f} "
            f"| {many['ack_p99_ms']:.0f} | {_num(many['answer_p99_ms'])} "
            f"| {lazy} of {bot['one']['requests'] + many['requests']} | {failures} |"
        )
    lines.append("")
    return lines


def burst_table(part: dict[str, Any]) -> list[str]:
    """Return the burst's table: late acknowledgements and delivered answers."""
    lines = [
        "### A burst of 150 mixed commands at once (25 of each kind, SQLite, 100k)",
        "",
        _when(part),
        "",
        "| server | acknowledged after 3 s (target 0) | ack p50 / max s "
        "| answers delivered (target all) | answer p50 / max s "
        "| answered via response_url | CPU ms per command |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, found in part["servers"].items():
        late, answered = found["acks_after_3s"], found["answered"]
        lines.append(
            f"| {name} | {late} {_mark(late <= BURST_LATE_TARGET)} "
            f"| {found['ack_p50_ms'] / 1000:.2f} / {found['ack_max_ms'] / 1000:.2f} "
            f"| {answered} of {found['requests']} {_mark(answered == found['requests'])} "
            f"| {_num(found['answer_p50_ms'] / 1000, 2)} "
            f"/ {_num(found['answer_max_ms'] / 1000, 2)} "
            f"| {found['lazy']} | {found['cpu_ms']:.1f} |"
        )
    lines.append("")
    return lines


def speedups(part: dict[str, Any], kind: str) -> dict[str, float]:
    """Return the throughput of each number of workers over one worker's, for a command."""
    one = part["workers"]["1"][kind]["throughput"] or math.nan  # none answered: no ratio
    return {n: found[kind]["throughput"] / one for n, found in part["workers"].items()}


def workers_table(part: dict[str, Any]) -> list[str]:
    """Return the workers table: throughput against the number of processes."""
    kinds = list(next(iter(part["workers"].values())))
    lines = [
        "### `focusbot run --http --workers N` on PostgreSQL, 64 connections (100k)",
        "",
        _when(part),
        "",
        "| workers | command | answers/s (× 1 worker) | ack p99 ms | answer p99 ms "
        "| failures | CPU ms per request, all processes | load average |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in kinds:
        gains = speedups(part, kind)
        for workers, found in part["workers"].items():
            found = found[kind]
            lines.append(
                f"| {workers} | `{kind}` | {found['throughput']:.0f} "
                f"({_num(gains[workers], 2)}×) | {found['ack_p99_ms']:.0f} "
                f"| {_num(found['answer_p99_ms'])} "
                f"| {found['failures']} | {found['cpu_ms']:.1f} | {found['load_average']:.1f} |"
            )
    gain = speedups(part, "/focus").get("2", math.nan)
    failed = sum(found[kind]["failures"] for found in part["workers"].values() for kind in kinds)
    left = {n: count for n, count in part.get("left_running", {}).items() if count}
    if left:
        lines += [
            "",
            "Worker processes still running after their parent stopped on SIGTERM (then killed): "
            + ", ".join(f"{count} of {n}" for n, count in left.items())
            + ".",
        ]
    lines += [
        "",
        f"Targets: `/focus` with 2 workers ≥ {WORKERS_SPEEDUP_TARGET}× one worker's throughput — "
        f"{gain:.2f}× {_mark(gain >= WORKERS_SPEEDUP_TARGET)}; no failed request — "
        f"{failed} {_mark(failed == 0)}.",
        "",
    ]
    return lines


def before_after(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Return the table of the main figures, baseline against the latest run."""
    rows: list[tuple[str, str, str]] = []
    if "cpu" in before and "cpu" in after:
        was, now = cpu_ratios(before["cpu"]), cpu_ratios(after["cpu"])
        for kind in was:
            old, new = before["cpu"]["kinds"][kind], after["cpu"]["kinds"][kind]
            rows.append(
                (
                    f"`{kind}` CPU ms per request (× bare)",
                    f"{old['focusbot']['cpu_ms']:.1f} ({was[kind]:.1f}×)",
                    f"{new['focusbot']['cpu_ms']:.1f} ({now[kind]:.1f}×)",
                )
            )
            rows.append(
                (
                    f"`{kind}` at 64 connections: answers/s, answer p99 ms",
                    f"{old['focusbot']['at_64']['throughput']:.0f}, "
                    f"{old['focusbot']['at_64']['answer_p99_ms']:.0f}",
                    f"{new['focusbot']['at_64']['throughput']:.0f}, "
                    f"{new['focusbot']['at_64']['answer_p99_ms']:.0f}",
                )
            )
    if "burst" in before and "burst" in after:
        old, new = before["burst"]["servers"]["focusbot"], after["burst"]["servers"]["focusbot"]
        rows.append(
            (
                "burst of 150: acknowledged after 3 s; answers delivered",
                f"{old['acks_after_3s']}; {old['answered']}",
                f"{new['acks_after_3s']}; {new['answered']}",
            )
        )
    if "workers" in before and "workers" in after:
        for kind in ("/focus", "/pain <text>"):
            old_gain, new_gain = speedups(before["workers"], kind), speedups(after["workers"], kind)
            old_fail = [before["workers"]["workers"][n][kind]["failures"] for n in old_gain]
            new_fail = [after["workers"]["workers"][n][kind]["failures"] for n in new_gain]
            rows.append(
                (
                    f"`{kind}` throughput with 1 / 2 / 4 workers (failures)",
                    " / ".join(f"{_num(gain, 2)}×" for gain in old_gain.values())
                    + f" ({old_fail})",
                    " / ".join(f"{_num(gain, 2)}×" for gain in new_gain.values())
                    + f" ({new_fail})",
                )
            )
    if not rows:
        return []
    commits = {
        side: ", ".join(sorted({part["commit"] for part in results.values()}))
        for side, results in (("before", before), ("after", after))
    }
    return [
        "### Before → after",
        "",
        f"| figure | before (`{commits['before']}`) | after (`{commits['after']}`) |",
        "|---|---:|---:|",
        *(f"| {name} | {old} | {new} |" for name, old, new in rows),
        "",
    ]
