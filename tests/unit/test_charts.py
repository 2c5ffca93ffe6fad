"""Server-side SVG charts: well-formed, accessible, escaped, CSP-safe, and the bars match the numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.entrypoints.web.charts import Series, bar_chart, heatmap, stacked_bar_chart

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{NS}rect") if "bar" in r.get("class", "").split()]


def assert_csp_safe_and_accessible(root: ET.Element, title: str) -> None:
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == title
    assert root.find(f"{NS}title") is not None and root.find(f"{NS}title").text == title  # type: ignore[union-attr]
    assert root.find(f"{NS}desc") is not None
    ids = {e.get("id") for e in root.iter()}
    assert root.get("aria-labelledby") in ids and root.get("aria-describedby") in ids
    for element in root.iter():
        assert "style" not in element.attrib, element.tag
        assert element.tag not in (f"{NS}script", f"{NS}style", f"{NS}foreignObject")
        assert not any(name.startswith("on") for name in element.attrib), element.attrib


def test_bar_widths_are_proportional_to_values() -> None:
    """Each bar's width is its value over the largest value times the plot width; labels and values are shown."""
    svg = bar_chart("states", "Enquiries by state", "Count of enquiries", [("complete", 10), ("partial", 5), ("refused", 0)])
    root = parse(svg)
    assert_csp_safe_and_accessible(root, "Enquiries by state")
    found = bars(root)
    assert [b.get("data-label") for b in found] == ["complete", "partial", "refused"]
    assert [b.get("data-value") for b in found] == ["10", "5", "0"]
    widths = [float(b.get("width", "nan")) for b in found]
    assert widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.01)
    assert widths[2] == 0
    assert found[0].find(f"{NS}title").text == "complete: 10"  # type: ignore[union-attr]
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "partial" in texts and "5" in texts


def test_labels_are_escaped_and_cannot_inject_markup() -> None:
    """A hostile label comes back as the same text, in attributes and elements, with no element injected."""
    hostile = '</text><script>alert(1)</script>"onload="x\' & <b>'
    svg = bar_chart("x", hostile, hostile, [(hostile, 3)])
    root = parse(svg)  # well-formed
    assert_csp_safe_and_accessible(root, hostile)
    bar = bars(root)[0]
    assert bar.get("data-label") == hostile
    assert hostile in [t.text for t in root.iter(f"{NS}text")]
    assert "<script>" not in svg


def test_control_characters_are_dropped_so_the_svg_stays_well_formed() -> None:
    """Characters XML 1.0 cannot carry are removed from labels rather than breaking the document."""
    root = parse(bar_chart("x", "t\x00itle", "d\x1b", [("a\x07b", 1)]))
    assert bars(root)[0].get("data-label") == "ab"


def test_stacked_segments_match_each_series_and_totals() -> None:
    """Each segment is the series value; segments of a row sit side by side and sum to the row total."""
    svg = stacked_bar_chart(
        "partners", "Partner replies", "Outcome of each request",
        ["police", "health"],
        [Series("on time", [3, 1], "#00703c"), Series("late", [1, 0]), Series("no reply", [0, 3])],
    )
    root = parse(svg)
    assert_csp_safe_and_accessible(root, "Partner replies")
    segments = bars(root)
    police = [b for b in segments if b.get("data-label") == "police"]
    health = [b for b in segments if b.get("data-label") == "health"]
    assert [(b.get("data-series"), b.get("data-value")) for b in police] == [("on time", "3"), ("late", "1")]
    assert [(b.get("data-series"), b.get("data-value")) for b in health] == [("on time", "1"), ("no reply", "3")]
    unit = float(police[0].get("width", "0")) / 3
    for segment in segments:
        assert float(segment.get("width", "0")) == pytest.approx(unit * float(segment.get("data-value", "0")), abs=0.02)
    assert float(police[1].get("x", "0")) == pytest.approx(float(police[0].get("x", "0")) + float(police[0].get("width", "0")), abs=0.02)
    assert police[0].get("fill") == "#00703c"
    rows = {g.get("data-label"): g.get("data-total") for g in root.iter(f"{NS}g") if g.get("data-total")}
    assert rows == {"police": "4", "health": "4"}


def test_heatmap_cells_carry_their_values_and_darken_with_them() -> None:
    """One cell per row and column with its number; a larger value is never lighter."""
    svg = heatmap("h", "Rating against outcome", "Cases", ["red", "amber"], ["s47", "s17"], [[4, 1], [0, 2]])
    root = parse(svg)
    assert_csp_safe_and_accessible(root, "Rating against outcome")
    cells = {(c.get("data-row"), c.get("data-column")): c for c in root.iter(f"{NS}rect") if c.get("class") == "cell"}
    assert {k: v.get("data-value") for k, v in cells.items()} == {
        ("red", "s47"): "4", ("red", "s17"): "1", ("amber", "s47"): "0", ("amber", "s17"): "2",
    }

    def darkness(cell: ET.Element) -> int:
        colour = cell.get("fill", "#ffffff")
        return -sum(int(colour[i:i + 2], 16) for i in (1, 3, 5))

    assert darkness(cells[("red", "s47")]) > darkness(cells[("amber", "s17")]) > darkness(cells[("red", "s17")])
    assert cells[("amber", "s47")].get("fill") == "#ffffff"


def test_empty_charts_say_so() -> None:
    """A chart with nothing to show is still a valid accessible image that says there is no data."""
    for svg in (
        bar_chart("a", "A", "d", []),
        stacked_bar_chart("b", "B", "d", [], [Series("x", [])]),
        heatmap("c", "C", "d", [], ["s47"], []),
    ):
        root = parse(svg)
        assert "No data for this period" in [t.text for t in root.iter(f"{NS}text")]


def test_bad_input_is_refused() -> None:
    """Negative values, mismatched series and colours that are not hex colours raise."""
    with pytest.raises(ValueError, match="negative"):
        bar_chart("a", "A", "d", [("x", -1)])
    with pytest.raises(ValueError, match="values for"):
        stacked_bar_chart("b", "B", "d", ["x", "y"], [Series("s", [1])])
    with pytest.raises(ValueError, match="hex colour"):
        bar_chart("a", "A", "d", [("x", 1)], colours=['red" onload="x'])
    with pytest.raises(ValueError, match="one row per row label"):
        heatmap("c", "C", "d", ["r"], ["a", "b"], [[1]])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), st.integers(0, 10_000)), max_size=12))
def test_any_labels_and_values_give_a_parseable_chart_with_proportional_bars(items: list[tuple[str, int]]) -> None:
    """Whatever the labels, the SVG parses, and each bar's width over the widest is its value over the largest."""
    root = parse(bar_chart("p", "t", "d", items))
    found = bars(root)
    assert len(found) == len(items)
    top = max((v for _, v in items), default=0)
    widest = max((float(b.get("width", "0")) for b in found), default=0.0)
    for bar, (_, value) in zip(found, items, strict=True):
        if top:
            assert float(bar.get("width", "0")) == pytest.approx(widest * value / top, abs=0.02)
        else:
            assert float(bar.get("width", "0")) == 0
