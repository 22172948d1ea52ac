"""axe-core in a Playwright page: inject the vendored ``axe.min.js``, run it with the WCAG 2.x
A/AA rules, and fail listing every serious or critical violation (rule, help, targets).

The file is vendored (tests/web/vendor/axe-core, MPL-2.0, version in its README) so CI never
downloads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = frozenset({"serious", "critical"})


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every WCAG 2.x A/AA violation axe finds on the page as it stands now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result: dict[str, Any] = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return {violations: r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))}))};
        }""",
        WCAG_TAGS,
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violation: rule id, impact, help text, each target and why."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            why = " ".join(str(node["summary"] or "").split())
            lines.append(f"    {target}: {why}")
    return "\n".join(lines)


def assert_no_serious_violations(page: Page, what: str) -> None:
    """Fail unless axe finds no serious or critical WCAG A/AA violation on ``page``."""
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {what} ({page.url}):\n{describe(blocking)}"
