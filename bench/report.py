"""Write the measured figures into BENCHMARKS.md (between its markers) and plot them."""

import os
import platform
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
PLOT = ROOT / "bench" / "latency_vs_data.png"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
PAIN_P99_TARGET_MS, DIGEST_TARGET_MS, RATIO_TARGET, MEMORY_TARGET_MB = 100, 1000, 2.0, 200


def write(results: dict[str, Any]) -> None:
    """Replace the figures in BENCHMARKS.md with these, and redraw the plot."""
    replace_section(START, END, _figures(results))
    _plot(results["growth"])


def replace_section(start: str, end: str, lines: list[str]) -> None:
    """Replace what BENCHMARKS.md holds between two markers (added at its end if missing)."""
    current = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    if start not in current:
        current += f"\n{start}\n{end}\n"
    head, _, rest = current.partition(start)
    _, _, tail = rest.partition(end)
    BENCHMARKS.write_text(head + "\n".join([start, *lines, end]) + tail)


def machine() -> str:
    """Describe the machine the figures come from."""
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{memory:.1f} GiB memory, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _figures(results: dict[str, Any]) -> list[str]:
    http = results["http"]
    lines = [
        f"Measured {results['date'].replace('T', ' ')} UTC on {machine()}; "
        f"the whole run took {results['seconds']:.0f} s (`make bench`).",
        "",
        f"### focusbot against a bare Bolt app (HTTP, waitress, "
        f"{http['data_size']:,} pain points in SQLite)",
        "",
        "| command | concurrency | requests | focusbot p50 / p99 ms | bare p50 / p99 ms "
        "| focusbot / bare p99 | focusbot req/s | bare req/s | failures |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = {(row["command"], row["server"], row["concurrency"]): row for row in http["rows"]}
    for command, server, concurrency in rows:
        if server != "focusbot":
            continue
        bot, bare = rows[command, "focusbot", concurrency], rows[command, "bare", concurrency]
        ratio = bot["p99_ms"] / bare["p99_ms"]
        mark = " ✗" if concurrency == 16 and ratio > RATIO_TARGET else ""
        lines.append(
            f"| `{command}` | {concurrency} | {bot['requests']} "
            f"| {bot['p50_ms']:.1f} / {bot['p99_ms']:.1f} | {bare['p50_ms']:.1f} / "
            f"{bare['p99_ms']:.1f} | {ratio:.2f}{mark} | {bot['throughput']:.0f} "
            f"| {bare['throughput']:.0f} | {bot['failures'] + bare['failures']} |"
        )
    memory = http["peak_memory_mb"]
    lines += [
        "",
        f"Peak memory (max RSS) of the server processes: focusbot {memory['focusbot']:.0f} MB "
        f"(target < {MEMORY_TARGET_MB} MB), bare Bolt app {memory['bare']:.0f} MB.",
    ]
    for backend, sizes in results["growth"].items():
        lines += _growth_table(backend, sizes)
    lines += ["", f"![latency against data size]({PLOT.relative_to(ROOT)})", ""]
    return lines


def _growth_table(backend: str, sizes: dict[Any, Any]) -> list[str]:
    lines = [
        "",
        f"### Growing the data ({backend})",
        "",
        "| pain points | `/pain <text>` p50 / p99 ms | first `/pain` after a start ms "
        "| `/pain top` p50 / p99 ms | digest p50 / max ms (lines) "
        "| tick, 10k due: s (posts/s) | peak memory MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, found in sizes.items():
        pain, top, digest = found["pain"], found["top"], found["digest"]
        lines.append(
            f"| {int(size):,} | {pain['p50_ms']:.1f} / {pain['p99_ms']:.1f} "
            f"| {found['first_pain_ms']:.0f} | {top['p50_ms']:.1f} / {top['p99_ms']:.1f} "
            f"| {digest['p50_ms']:.0f} / {digest['max_ms']:.0f} ({found['digest_lines']}) "
            f"| {found['tick_s']:.1f} ({found['tick_sent'] / found['tick_s']:.0f}) "
            f"| {found['peak_memory_mb']:.0f} |"
        )
    largest = sizes[max(sizes, key=int)]
    lines += [
        "",
        f"Digest sections at {int(max(sizes, key=int)):,} pain points (median ms): "
        + ", ".join(
            f"`{name.removeprefix('bot.')}` {ms:.1f}"
            for name, ms in largest["digest_sections_ms"].items()
        )
        + ".",
        "",
        "Targets at 100k: `/pain <text>` p99 < "
        f"{PAIN_P99_TARGET_MS} ms — {_verdict(largest['pain']['p99_ms'] < PAIN_P99_TARGET_MS)}; "
        f"digest < {DIGEST_TARGET_MS} ms — "
        f"{_verdict(largest['digest']['max_ms'] < DIGEST_TARGET_MS)}; "
        f"memory < {MEMORY_TARGET_MB} MB — "
        f"{_verdict(largest['peak_memory_mb'] < MEMORY_TARGET_MB)}.",
    ]
    return lines


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def _plot(growth: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    series = (
        ("/pain <text> p99", lambda found: found["pain"]["p99_ms"], "o-"),
        ("/pain <text> p50", lambda found: found["pain"]["p50_ms"], "o--"),
        ("/pain top p50", lambda found: found["top"]["p50_ms"], "s-"),
        ("digest build p50", lambda found: found["digest"]["p50_ms"], "^-"),
        ("tick, 10k due, per post", lambda found: found["tick_s"] * 1000 / 10_000, "d-"),
    )
    for backend, sizes in growth.items():
        points = sorted((int(size), found) for size, found in sizes.items())
        for label, value, style in series:
            axes.plot(
                [size for size, _ in points],
                [value(found) for _, found in points],
                style,
                label=f"{label} ({backend})",
                alpha=1.0 if backend == "SQLite" else 0.6,
            )
    axes.axhline(PAIN_P99_TARGET_MS, color="grey", linestyle=":", label="/pain p99 target")
    axes.axhline(DIGEST_TARGET_MS, color="tab:red", linestyle=":", label="digest target")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("pain points in the workspace")
    axes.set_ylabel("ms")
    axes.set_title("focusbot: latency against data size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)
    plt.close(figure)
