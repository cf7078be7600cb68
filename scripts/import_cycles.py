"""An import-linter contract type that forbids every import cycle between modules.

`acyclic_siblings` (built in) finds cycles between the children of each package, which misses a
package's `__init__` importing a child that imports the package back; this contract looks at
the module graph itself, so any chain of imports that comes back to where it started fails.
Imports inside functions and under `if TYPE_CHECKING` count like the others, as in every
import-linter contract: a cycle that only a type annotation closes is still a knot to untie.

Used from `.importlinter` (`contract_types = acyclic_modules: scripts.import_cycles...`);
`lint-imports` puts the working directory on `sys.path`, so run it from the repository root.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain.contract import Contract, ContractCheck

Cycle = tuple[str, ...]


class AcyclicModulesContract(Contract):
    """No module of the root packages reaches itself again by following imports."""

    type_name = "acyclic_modules"

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        roots = tuple(self.session_options.get("root_packages") or ()) or (
            self.session_options["root_package"],
        )
        ours = {m for m in graph.modules if any(m == r or m.startswith(r + ".") for r in roots)}
        imports = {m: sorted(graph.find_modules_directly_imported_by(m) & ours) for m in ours}
        cycles = [shortest_cycle(component, imports) for component in components(imports)]
        details = {cycle: [line_of(graph, a, b) for a, b in pairwise(cycle)] for cycle in cycles}
        return ContractCheck(kept=not cycles, metadata={"cycles": details})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle, lines in check.metadata["cycles"].items():
            output.print_error(f"Import cycle through {len(cycle) - 1} modules:")
            for (importer, imported), line in zip(pairwise(cycle), lines, strict=True):
                output.print_error(f"- {importer} -> {imported} ({line})")
            output.new_line()


def components(imports: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(imports):
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = imports.get(node, ())
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if work:  # back in the caller: pass the lowest link up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def shortest_cycle(component: Iterable[str], imports: Mapping[str, Sequence[str]]) -> Cycle:
    """One shortest cycle through the component's first module, as module names, closed."""
    members = sorted(component)
    start = members[0]
    inside = set(members)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in imports[node]:
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return (start, *reversed(path[:-1]), start)
                if target in inside and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{members} is not a cycle")  # a component always has one


def line_of(graph: ImportGraph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    return ", ".join(f"l.{d['line_number']}" for d in details) or "import"
