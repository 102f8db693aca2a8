"""The layering a newcomer relies on: no module imports, even indirectly, one that imports it."""

import grimp

PACKAGES = ("bot", "handlers", "storage")


def _cycle_through(graph: grimp.ImportGraph, start: str) -> list[str] | None:
    """Return a chain of imports from a module back to itself, if there is one."""
    for imported in graph.find_modules_directly_imported_by(start):
        chain = graph.find_shortest_chain(importer=imported, imported=start)
        if chain is not None:
            return [start, *chain]
    return None


def test_no_module_takes_part_in_an_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = {}
    for module in sorted(graph.modules):
        cycle = _cycle_through(graph, module)
        if cycle is not None:
            cycles[module] = " -> ".join(cycle)
    assert cycles == {}
