"""Layout rules (shared/ARCHITECTURE.md): fitcli's modules import each
other without cycles -- imports inside functions included, since a lazy
import only hides a cycle until the day someone moves it to the top (the
known ones are listed in KNOWN_CYCLES) -- and only the command line imports
click or rich."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fitcli"


def _modules():
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph():
    """module -> the fitcli modules it imports (anywhere in its code)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module
                                              else []))
                else:
                    origin = node.module or ""
                found = [origin] + [f"{origin}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            # a module's own packages are imported before it anyway
            targets |= {t for t in found if t in modules and t != name
                        and not name.startswith(t + ".")}
        graph[name] = targets
    return graph


def cycles(graph):
    """The strongly connected components with more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == \
        [["a", "b", "c"]]


#: Import cycles known and not yet untangled (each through imports inside
#: functions): batch fits each dataset of a batch, and stacked (the batched
#: engine's path) hands datasets back to batch.fit_dataset to complete them;
#: outdir writes a run's set with writes' helpers, and writes.write_outputs
#: hands over to outdir.write_outputs.  Take an entry out when its cycle is
#: gone.
KNOWN_CYCLES = [["fitcli.outdir", "fitcli.writes"],
                ["fitcli.batch", "fitcli.stacked"]]


def test_no_import_cycles_between_fitcli_modules():
    graph = import_graph()
    assert "fitcli.spec.check" in graph and "fitcli.report" in graph
    assert graph["fitcli.parameters"] >= {"fitcli.report"}   # pretty_repr
    assert cycles(graph) == KNOWN_CYCLES


def test_the_spec_package_depends_in_data_flow_order():
    """Readers and the declaration know nothing of the checker, the
    checker nothing of --set or the schema."""
    graph = import_graph()
    for early in ("text", "keys", "read_yaml", "read_toml", "kinds",
                  "format"):
        later = {f"fitcli.spec.{m}" for m in ("check", "check_data",
                                              "check_values", "crosscheck",
                                              "fitspec", "load", "overrides",
                                              "schema")}
        assert not graph[f"fitcli.spec.{early}"] & later, early
    assert "fitcli.spec.overrides" not in graph["fitcli.spec.check"]
    assert "fitcli.spec.schema" not in graph["fitcli.spec.check"]


def test_only_the_command_line_imports_click_or_rich():
    users = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] \
                if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) \
                and not node.level else []
            if any(n.split(".")[0] in ("click", "rich") for n in names):
                users.add(name)
    assert users == {"fitcli.cli"}
