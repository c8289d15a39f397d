"""The declaration of the spec format (fitcli/spec/format.py) and what is
made from it: the checker's defaults and messages, the section types, the
JSON Schema and the key tables of docs/spec.md (issue 13)."""
import dataclasses
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from fitcli.errors import SpecError
from fitcli.spec import (FitSpec, load_spec, load_spec_text, spec_schema)
from fitcli.spec.check import Checker
from fitcli.spec.fitspec import SECTION_TYPES, section_type
from fitcli.spec.format import SECTIONS, TOP
from fitcli.spec.kinds import (NO_DEFAULT, Bool, Choice, Custom, Integer, Key,
                               MapOf, Nested, NestedList, Section)
from fitcli.spec.schema import docs_table, object_schema, write_docs
from test_spec import BASE, _schema_keys, _valid

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "spec.md"
SPECS = sorted(p for p in (ROOT / "specs").iterdir()
               if p.suffix in (".yaml", ".yml", ".toml"))


def declared_paths(section=TOP, prefix=""):
    """Every key path the declaration allows, with '*' for names and '[]'
    for list items (the notation of test_spec._schema_keys).  A custom
    kind's value schema is written in the declaration itself: its keys
    (``sigma: {constant, relative}``) count as declared."""
    out = set()
    for key in section.keys:
        path = f"{prefix}.{key.name}" if prefix else key.name
        out.add(path)
        kind = key.kind
        if isinstance(kind, MapOf):
            out.add(f"{path}.*")
            out |= declared_paths(SECTIONS[kind.section], f"{path}.*")
        elif isinstance(kind, NestedList):
            out |= declared_paths(SECTIONS[kind.section], f"{path}[]")
        elif isinstance(kind, Nested):
            out |= declared_paths(SECTIONS[kind.section], path)
        elif isinstance(kind, Custom):
            fragment = kind.schema()
            _schema_keys(fragment, fragment, path, out)
    return out


def test_every_declared_key_is_in_the_schema_and_back():
    schema = spec_schema()
    allowed = set()
    _schema_keys(schema, schema, "", allowed)
    assert declared_paths() == allowed


def test_docs_tables_are_drawn_from_the_declaration():
    text = DOCS.read_text(encoding="utf-8")
    assert write_docs(text) == text, (
        "docs/spec.md key tables differ from fitcli/spec/format.py; run "
        "python -m fitcli.spec.schema --write-docs docs/spec.md")
    # every declared key is a row of a table, and every row a declared key
    rows = {line.split("|")[1].strip().strip("`")
            for line in text.splitlines() if line.startswith("| `")}
    declared = {k.name for s in SECTIONS.values() for k in s.keys}
    assert declared <= rows


def test_docs_check_fails_for_a_key_missing_from_the_tables(monkeypatch):
    """A key added to the declaration but not to docs/spec.md (or a table
    row the declaration does not have) makes the docs check fail."""
    text = DOCS.read_text(encoding="utf-8")
    fit = SECTIONS["fit"]
    extra = fit.replace(keys=fit.keys + (
        Key("strict", Bool(), default=False, help="demo"),))
    monkeypatch.setitem(SECTIONS, "fit", extra)
    assert write_docs(text) != text
    monkeypatch.setitem(SECTIONS, "fit", fit)
    edited = text.replace("| `scale_covar` |", "| `scale_covariance` |")
    assert write_docs(edited) != edited


def test_docs_markers_must_cover_every_section():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("<!-- keys: fit -->")
    end = text.index("<!-- /keys -->", start) + len("<!-- /keys -->")
    with pytest.raises(ValueError, match="missing fit"):
        write_docs(text[:start] + text[end:])
    with pytest.raises(ValueError, match="names no section: 'fitt'"):
        write_docs(text + "\n<!-- keys: fitt -->\n<!-- /keys -->\n")


def test_every_key_has_help_text():
    for section in SECTIONS.values():
        for key in section.keys:
            assert key.help.strip(), f"{section.path or 'spec'}.{key.name}"


def test_section_types_take_their_fields_from_the_declaration():
    for path, cls in SECTION_TYPES.items():
        section = SECTIONS[path]
        fields = dataclasses.fields(cls)
        assert tuple(f.name for f in fields[:len(section.keys)]) == \
            section.names, path
        for key, f in zip(section.keys, fields):
            if f.default is not dataclasses.MISSING:
                assert f.default == key.default, (path, key.name)
            elif f.default_factory is not dataclasses.MISSING:
                assert f.default_factory() == key.default, (path, key.name)
            else:       # no default: required, filled by a rule, or before one
                assert key.default is NO_DEFAULT or any(
                    k.default is NO_DEFAULT
                    for k in section.keys[section.keys.index(key) + 1:])
    # FitSpec is written by hand: it holds every top-level section
    names = {f.name for f in dataclasses.fields(FitSpec)}
    assert set(TOP.names) <= names


def test_a_spec_gets_the_declared_defaults(tmp_path):
    spec = load_spec_text(BASE, base_dir=tmp_path)
    for attr in ("fit", "output"):
        built = getattr(spec, attr)
        for key in SECTIONS[attr].keys:
            if key.default is not NO_DEFAULT:
                assert getattr(built, key.name) == key.default, key.name
    for name, param in spec.parameters.items():
        assert param.brute_step is None and param.expr is None
    assert spec.output.dir == tmp_path / "spec.fit"


def test_one_declared_key_is_checked_typed_defaulted_and_documented():
    """What a new optional key gets from its one Key line."""
    demo = Section("demo.section", title="demo", keys=(
        Key("strict", Bool(), default=False, help="refuse warnings"),
        Key("cost", Choice(("chi2", "poisson")), default="chi2",
            help="what is minimised"),
        Key("skip_rows", Integer(minimum=0), default=0,
            help="rows skipped at the start"),
    ))

    @section_type(demo)
    class Demo:
        """A section made for this test."""

    try:
        checker = Checker("demo.yaml", "yaml", {"demo": (3, 1)},
                          {"demo": (3, 7)}, ROOT)

        def load(value):
            return checker.build(demo, checker.section(demo, value, "demo"))

        assert load({}) == Demo(strict=False, cost="chi2", skip_rows=0)
        assert load({"strict": True, "skip_rows": 2}) == Demo(True, "chi2", 2)
        for value, message in [     # (values at 3:7, keys at 3:1)
                ({"strict": "yes"}, "3:7: demo.strict: expected true or "
                                    "false, got text 'yes'"),
                ({"cost": "chi"}, "3:7: demo.cost: expected one of: chi2, "
                                  "poisson, got text 'chi'"),
                ({"skip_rows": -1}, "3:7: demo.skip_rows: expected an "
                                    "integer at least 0, got -1"),
                ({"strikt": True}, "3:1: demo.strikt: unknown key; did you "
                                   "mean 'strict'?")]:
            with pytest.raises(SpecError) as info:
                load(value)
            assert str(info.value) == f"demo.yaml:{message}"
        props = object_schema(demo, {})["properties"]
        assert props["strict"] == {"type": "boolean", "default": False,
                                   "description": "refuse warnings"}
        assert props["cost"]["enum"] == ["chi2", "poisson"]
        table = docs_table(demo)
        assert "| `strict` | boolean | `false` | refuse warnings |" in table
        assert "| `cost` | `chi2` or `poisson` | `chi2` | what is " \
               "minimised |" in table
    finally:
        SECTION_TYPES.pop("demo.section")


def _spec_documents():
    for path in SPECS:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text) if path.suffix == ".toml" else \
            yaml.safe_load(text)
        yield path.name, doc


@pytest.mark.parametrize("name, doc", list(_spec_documents()),
                         ids=[p.name for p in SPECS])
def test_schema_accepts_every_spec_in_specs(name, doc):
    schema = spec_schema()
    load_spec(ROOT / "specs" / name)          # the loader accepts it too
    assert _valid(json.loads(json.dumps(doc)), schema, schema)


@pytest.mark.parametrize("edit", [
    lambda d: d.update(zebra=1),                                 # unknown key
    lambda d: d.pop("model"),                                    # required
    lambda d: d["data"].update(sigma=1.0, weights=1.0),          # exclusive
    lambda d: d.update(fit={"engine": "leastsq", "max_nfev": 0}),
    lambda d: d.update(fit={"nan_policy": "propagate"}),
    lambda d: d.update(output={"plot_size": [4]}),
    lambda d: d.update(output={"plot_format": "gif"}),
    lambda d: d.update(output={"summary_x": {"label": "T"}}),
    lambda d: d.update(confidence={"maps": []}),
    lambda d: d.update(confidence={"maps": [{"x": "amp1", "y": "cen1",
                                             "nx": 1}]}),
    lambda d: d.update(confidence={"sigmas": [1, 1]}),
    lambda d: d["parameters"].update(amp1={"value": "many"}),
    lambda d: d["parameters"].update(amp1={"value": 1, "brute_step": 0}),
    lambda d: d.update(expect={"chisqr": {}}),
])
def test_schema_and_loader_refuse_the_same_documents(edit, tmp_path):
    text = (ROOT / "specs" / "quickstart.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    edit(doc)
    schema = spec_schema()
    assert not _valid(doc, schema, schema)
    with pytest.raises(SpecError):
        load_spec_text(yaml.safe_dump(doc), base_dir=ROOT / "specs")


def test_schema_defaults_are_json():
    """Defaults that JSON cannot spell (infinite bounds) are left out."""
    text = json.dumps(spec_schema(), allow_nan=False)
    props = json.loads(text)["$defs"]["parameter"]["anyOf"][1]["properties"]
    assert props["vary"]["default"] is True
    assert "default" not in props["min"] and "default" not in props["max"]


def test_plot_options_are_checked_by_the_declared_keys(tmp_path):
    """The command-line plot options (check_plot_options) are the keys of
    plot: and four output keys, checked by the same declared Keys: the
    same values come out as from a spec, and a key not declared there is
    no option."""
    from fitcli.spec import check_plot_options
    from fitcli.spec.format import PLOT
    from fitcli.spec.load import PLOT_OUTPUT_OPTIONS

    values = {"style": "s/my.mplstyle", "title": False, "xlabel": "t (s)",
              "ylabel": " ", "logx": True, "logy": False, "xlim": [1, 10],
              "ylim": [-1, 2], "marker": "dot", "marker_size": 2,
              "line_width": 1, "font_size": 9, "initial": False,
              "band": True, "residuals": False, "params": ["b", "a"],
              "legend": "outside", "plots": ["qq", "fit"],
              "plot_format": "svg", "plot_size": [4, 3], "plot_dpi": 150,
              "components": True}
    assert set(values) == set(PLOT.names) | set(PLOT_OUTPUT_OPTIONS)
    checked = check_plot_options(values, tmp_path)
    plot = {k: v for k, v in values.items() if k in PLOT.names}
    output = {k: v for k, v in values.items() if k not in PLOT.names}
    spec = load_spec_text(BASE + yaml.safe_dump({"plot": plot,
                                                 "output": output}),
                          base_dir=tmp_path)
    for key in values:
        section = spec.plot if key in PLOT.names else spec.output
        assert checked[key] == getattr(section, key), key
    assert checked["style"] == str(tmp_path / "s" / "my.mplstyle")
    with pytest.raises(ValueError, match="not a plot option: 'dir'"):
        check_plot_options({"dir": "out"}, tmp_path)
    # left out, a plot key is None (the style decides); schema and docs
    # show the value that then applies
    assert load_spec_text(BASE).plot is None
    props = spec_schema()["$defs"]["plot"]["properties"]
    assert (props["logx"]["default"], props["legend"]["default"],
            props["plots"]["default"]) == (False, "best", ["fit"])
    assert "default" not in props["title"]
    assert "| `logx` | boolean | `false` |" in docs_table(PLOT)
