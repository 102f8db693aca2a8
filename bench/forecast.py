"""Time the vision forecast's simulation: `python -m bench.forecast` (reported, never asserted)."""

import time

from bot.milestones.forecast import RUNS, simulate

REPEATS = 20


def main() -> None:
    """Print how long one forecast of RUNS runs takes for plans of growing size."""
    for milestones in (5, 30, 100, 300):
        chances = [0.6] * milestones
        every = [True] * milestones
        started = time.perf_counter()
        for seed in range(REPEATS):
            simulate(chances, every, every, seed, RUNS)
        took = (time.perf_counter() - started) / REPEATS
        print(f"{milestones:>4} open milestones, {RUNS:,} runs: {took * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
