"""JUnit XML reports of fit runs, for CI systems (``fitcli run --junit``).

Each spec is a ``<testsuite>``; each fit (one for a single fit, one per
dataset for a batch, plus one for a ``--baseline`` comparison) is a
``<testcase>``.  A fit that did not converge or missed an expectation or
its baseline is a ``<failure>``; one that could not run (input, output or
internal error) is an ``<error>``.  The report holds no timestamps nor
durations: the same runs give the same bytes.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .codes import EXIT_CHECK, EXIT_FIT, EXIT_OK

__all__ = ["Case", "junit_xml"]


@dataclass(frozen=True)
class Case:
    """One test case: ``name`` (dataset, ``fit`` or ``baseline``), the exit
    code of that fit, a short ``kind`` (the fit status, ``expect``,
    ``baseline``, ``error``...), a one-line ``message`` and free ``details``
    (a table of missed checks)."""

    name: str
    code: int
    kind: str = ""
    message: str = ""
    details: str = ""

    @property
    def outcome(self):
        """``'passed'``, ``'failure'`` (ran, but not as expected) or
        ``'error'`` (could not run)."""
        if self.code == EXIT_OK:
            return "passed"
        if self.code in (EXIT_FIT, EXIT_CHECK):
            return "failure"
        return "error"


def junit_xml(suites) -> bytes:
    """The report for ``suites``, a list of ``(suite name, [Case, ...])``,
    as UTF-8 XML bytes."""
    root = ET.Element("testsuites", name="fitcli")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite_name, cases in suites:
        counts = {"tests": len(cases),
                  "failures": sum(c.outcome == "failure" for c in cases),
                  "errors": sum(c.outcome == "error" for c in cases)}
        suite = ET.SubElement(root, "testsuite", name=str(suite_name),
                              **{k: str(v) for k, v in counts.items()})
        for case in cases:
            tc = ET.SubElement(suite, "testcase", classname=str(suite_name),
                               name=str(case.name))
            if case.outcome != "passed":
                el = ET.SubElement(tc, case.outcome, type=case.kind or
                                   f"exit {case.code}",
                                   message=f"exit {case.code}: {case.message}")
                if case.details:
                    el.text = case.details
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + \
        ET.tostring(root, encoding="utf-8") + b"\n"
