"""Records of checked claims and their rendering as paper_checks.md.

Each check of a claim of the paper returns a :class:`ClaimCheck`: the claim
in cgtheory's words, where it stands in the paper, how it was checked, the
numbers, a :class:`Verdict` computed by code and the command that reproduces
it. :func:`render_report` turns a list of them into Markdown that opens with
a summary table; :func:`read_verdicts` parses that table back, so a quick run
can be compared with the committed report.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path


class Verdict(str, enum.Enum):
    """Outcome of checking one claim."""

    HOLDS = "holds"
    FAILS = "fails"
    HOLDS_AFTER_CORRECTION = "holds after correction"
    NOT_DECIDABLE = "not decidable here"
    ERROR = "could not run"


@dataclass
class ClaimCheck:
    """One claim of the paper, checked.

    Attributes:
        key: stable identifier, lower-case with dashes (``theorem1-k1``).
        title: a short heading.
        location: where the claim stands in the paper (``Section 3, Theorem 1``).
        claim: the claim, in cgtheory's own words.
        method: how it was checked; two independent ways where possible.
        verdict: the :class:`Verdict`, decided by the check's code.
        command: the shell command that reproduces the check.
        numbers: (quantity, value) rows shown as a table.
        details: further Markdown (a derivation, a correction, caveats).
        figures: paths of figures relative to the report's folder.
    """

    key: str
    title: str
    location: str
    claim: str
    method: str
    verdict: Verdict
    command: str
    numbers: list[tuple[str, str]] = field(default_factory=list)
    details: str = ""
    figures: list[str] = field(default_factory=list)


_SUMMARY_ROW = re.compile(r"^\|\s*`(?P<key>[a-z0-9-]+)`\s*\|.*\|\s*(?P<verdict>[^|]+?)\s*\|\s*$")


def render_claim(check: ClaimCheck) -> str:
    """Render one checked claim as a Markdown section."""
    lines = [
        f"## {check.title}",
        "",
        f"- **Key:** `{check.key}`",
        f"- **Where:** {check.location}",
        f"- **Claim:** {check.claim}",
        f"- **How it was checked:** {check.method}",
        f"- **Verdict:** **{check.verdict.value}**",
        f"- **Reproduce:** `{check.command}`",
        "",
    ]
    if check.numbers:
        lines += ["| quantity | value |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in check.numbers]
        lines.append("")
    if check.details:
        lines += [check.details.strip(), ""]
    for figure in check.figures:
        lines += [f"![{check.title}]({figure})", ""]
    return "\n".join(lines)


def render_report(checks: list[ClaimCheck], *, header: str) -> str:
    """Render the whole report: a header, the summary table, then one section per claim."""
    lines = [header.strip(), "", "## Summary", "", "| claim | title | verdict |", "| --- | --- | --- |"]
    lines += [f"| `{c.key}` | {c.title} | {c.verdict.value} |" for c in checks]
    lines.append("")
    body = "\n".join(render_claim(c) for c in checks)
    return "\n".join(lines) + "\n" + body


def read_verdicts(path: Path) -> dict[str, str]:
    """Parse the summary table of a report written by :func:`render_report` into {key: verdict}."""
    verdicts = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = _SUMMARY_ROW.match(line)
        if match:
            verdicts[match["key"]] = match["verdict"]
    return verdicts
