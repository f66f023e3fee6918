"""Read what a Vega SVG shows: its mark groups (named after the Vega-Lite layers) and what each holds.

Works on a standalone SVG file and on a chart inside a dumped HTML page. Vega writes each layer's marks as
`<g class="mark-<type> role-mark <layer name>_marks">` holding one element per datum (`path` for points and
shapes, `line` for rules, `text` for labels, `path` for bars).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Chart:
    svgs: int = 0
    marks: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))   # layer name -> items
    texts: list[str] = field(default_factory=list)

    def count(self, layer: str) -> int:
        return len(self.marks.get(layer, []))

    def labels(self, layer: str) -> list[str]:
        return [m.get("text", "") for m in self.marks.get(layer, [])]


class _Reader(HTMLParser):
    """Collects charts: the whole document (key None) or the elements whose id is in `ids`."""

    def __init__(self, ids: set[str] | None):
        super().__init__(convert_charrefs=True)
        self.ids = ids
        self.charts: dict[str | None, Chart] = {}
        self.stack: list[tuple[str, str | None, str | None]] = []   # (tag, chart key, mark layer)
        self._text_target: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        chart, layer = (self.stack[-1][1], self.stack[-1][2]) if self.stack else (None, None)
        if self.ids is None and not self.stack:
            chart = "svg"
        if self.ids is not None and a.get("id") in self.ids:
            chart = a["id"]
        if chart is not None:
            c = self.charts.setdefault(chart, Chart())
            cls = a.get("class") or ""
            if tag == "svg" and "marks" in cls.split():
                c.svgs += 1
            if tag == "g" and "role-mark" in cls:
                layer = next((k[:-len("_marks")] for k in cls.split() if k.endswith("_marks")), layer)
            elif layer and tag in ("path", "line", "text", "rect") and a.get("role") == "graphics-symbol":
                item = dict(a, tag=tag)
                c.marks[layer].append(item)
                if tag == "text":
                    self._text_target = item
        if tag not in ("br", "img", "meta", "input", "link", "hr"):
            self.stack.append((tag, chart, layer))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            top = self.stack.pop()
            if top[0] == tag:
                break
        if tag == "text":
            self._text_target = None

    def handle_data(self, data):
        if self._text_target is not None:
            self._text_target["text"] = self._text_target.get("text", "") + data
        if self.stack and self.stack[-1][1] is not None and self.stack[-1][0] == "text":
            self.charts[self.stack[-1][1]].texts.append(data)


def read_svg(svg: str) -> Chart:
    reader = _Reader(None)
    reader.feed(svg)
    return reader.charts.get("svg", Chart())


def read_page(html: str, ids: set[str]) -> dict[str, Chart]:
    reader = _Reader(ids)
    reader.feed(html)
    return {i: reader.charts.get(i, Chart()) for i in ids}
