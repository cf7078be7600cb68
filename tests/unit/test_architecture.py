"""The import contracts in .importlinter (`make lint`): the code keeps them, an upward import or
a cycle breaks them, and the module-cycle contract sees what `acyclic_siblings` misses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import Contract
from scripts.import_cycles import AcyclicModulesContract, components, shortest_cycle

ROOT = Path(__file__).resolve().parents[2]
TYPES: dict[str, type[Contract]] = {
    "layers": LayersContract,
    "acyclic_siblings": AcyclicSiblingsContract,
    "acyclic_modules": AcyclicModulesContract,
}


def project_contracts() -> dict[str, Contract]:
    config = read_configuration(str(ROOT / ".importlinter"))
    session = config["session_options"]
    contracts = {}
    for options in config["contracts_options"]:
        options = dict(options)
        kind, name = options.pop("type"), options.pop("name")
        contracts[options.pop("id")] = TYPES[kind](name, session, options)
    return contracts


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("magray_lsp")


def broken(graph: grimp.ImportGraph, *extra: tuple[str, str]) -> set[str]:
    """The ids of the project's contracts that `graph`, plus the imports `extra`, breaks."""
    graph = copy.deepcopy(graph)
    for importer, imported in extra:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    return {cid for cid, c in project_contracts().items() if not c.check(graph, False).kept}


def test_the_code_keeps_every_contract(graph: grimp.ImportGraph) -> None:
    assert set(project_contracts()) == {"layers", "acyclic-packages", "acyclic-modules"}
    assert broken(graph) == set()


@pytest.mark.parametrize(
    "importer, imported",
    [
        ("magray_lsp.providers.base", "magray_lsp.lsp.server"),  # a provider reaching the editor
        ("magray_lsp.cost.budget", "magray_lsp.gateway"),  # a service reaching its caller
        ("magray_lsp.config.models", "magray_lsp.catalog"),  # config imports nothing of ours
        ("magray_lsp.context.units", "magray_lsp.task"),  # the foundations are independent
        ("magray_lsp.lsp.offers", "magray_lsp.headless"),  # so are the entry points
    ],
)
def test_an_upward_import_breaks_the_layers(
    graph: grimp.ImportGraph, importer: str, imported: str
) -> None:
    assert "layers" in broken(graph, (importer, imported))


def test_a_cycle_between_sibling_packages_is_refused(graph: grimp.ImportGraph) -> None:
    # no module cycle: the packages `routing` and `cost` would depend on each other
    assert broken(graph, ("magray_lsp.cost.prices", "magray_lsp.routing.knowledge")) == {
        "acyclic-packages"
    }


def test_a_cycle_through_a_package_init_is_refused(graph: grimp.ImportGraph) -> None:
    # `context/__init__` imports `units`: `units` importing the package back is a cycle that
    # acyclic_siblings does not see (a package is not a sibling of its own children)
    assert broken(graph, ("magray_lsp.context.units", "magray_lsp.context")) == {"acyclic-modules"}


@pytest.mark.parametrize(
    "importer, imported, contracts",
    [
        # the gateway's parts form a DAG: the ledger rows never reach back into execution
        (
            "magray_lsp.gateway.rows",
            "magray_lsp.gateway.execution",
            {"acyclic-packages", "acyclic-modules"},
        ),
        # a part importing the package back (its `__init__` imports `core`, which imports it)
        ("magray_lsp.gateway.spending", "magray_lsp.gateway", {"acyclic-modules"}),
    ],
)
def test_a_cycle_inside_the_gateway_package_is_refused(
    graph: grimp.ImportGraph, importer: str, imported: str, contracts: set[str]
) -> None:
    assert broken(graph, (importer, imported)) == contracts


def module_graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        for module in (importer, imported):
            graph.add_module(module)
        graph.add_import(importer=importer, imported=imported, line_number=7, line_contents="")
    return graph


def check(graph: grimp.ImportGraph) -> Any:
    contract = AcyclicModulesContract("no cycles", {"root_package": "pkg"}, {})
    return contract.check(graph, False)


def test_the_module_contract_names_the_shortest_cycle_and_its_lines() -> None:
    result = check(
        module_graph(
            ("pkg.a", "pkg.b"),
            ("pkg.b", "pkg.c"),
            ("pkg.c", "pkg.a"),  # a → b → c → a
            ("pkg.c", "pkg.d"),
            ("pkg.d", "pkg.a"),  # and a longer way round through d
            ("pkg.e", "pkg.a"),  # outside any cycle
        )
    )
    assert not result.kept
    assert result.metadata["cycles"] == {("pkg.a", "pkg.b", "pkg.c", "pkg.a"): ["l.7"] * 3}


def test_the_module_contract_keeps_a_graph_without_cycles() -> None:
    graph = module_graph(("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.a", "pkg.c"))
    assert check(graph).kept


def test_components_are_found_without_recursion_on_a_long_chain() -> None:
    chain = {f"m{i}": [f"m{i + 1}"] for i in range(5000)}
    chain["m5000"] = ["m0"]
    (component,) = components(chain)
    assert len(component) == 5001
    assert len(shortest_cycle(component, chain)) == 5002
