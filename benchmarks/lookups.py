"""Name resolution in a registry of 100 vs 10,000 entries: per-lookup time must stay flat.

Uncached lookups (the registry's cache cleared before each) of random names,
and the warm path of ``kreg.get`` (cache hit). Prints JSON, microseconds.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import timeit

from kreg.registry.entry import Entry
from kreg.registry.index import Index


def index_of(size: int) -> tuple[Index, list[str]]:
    index = Index()
    entries = [
        Entry(f"component_{index}", "loss", f"bench_module:Component{index}", "bench")
        for index in range(size)
    ]
    index.add_plugin_entries("bench", entries)
    names = [f"Component{i}" for i in random.Random(0).sample(range(size), min(size, 100))]
    return index, names


def per_lookup(size: int, repeat: int) -> dict[str, float]:
    index, names = index_of(size)

    def uncached() -> None:
        for name in names:
            index.cache.clear()
            index.resolve(name)

    def cached() -> None:
        for name in names:
            index.resolve(name)

    results = {}
    for label, work in (("uncached", uncached), ("cached", cached)):
        runs = timeit.repeat(work, number=20, repeat=repeat)
        results[label] = statistics.median(runs) / (20 * len(names)) * 1e6
    return results


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(json.dumps({size: per_lookup(size, repeat) for size in (100, 10_000)}))


if __name__ == "__main__":
    main()
