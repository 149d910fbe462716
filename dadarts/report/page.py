"""The page: sections of figures, tables and notes, rendered as one static HTML file.

Every image is inside the file (PNG as a base64 data URI, SVG inline), there is no script and no
external reference, so the page opens from disk, can be mailed, and shows the same years later.
Each section and figure carries a `data-section` / `data-figure` attribute naming it, which is
what a reader's tools (and the report's test) look for.
"""
from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field

PNG_DPI = 110
FIGURE = re.compile(r"^(?:[-+]?\d|-$)")   # a cell that starts with a number (or is a dash for none)


@dataclass
class Figure:
    key: str
    title: str
    png: bytes | None = None       # one of png / svg
    svg: str | None = None
    caption: str = ""


@dataclass
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    key: str
    title: str
    summary: str = ""
    items: list = field(default_factory=list)      # Figure | Table | Details
    notes: list[str] = field(default_factory=list)


@dataclass
class Details:
    """A collapsible group (one per MCU target, say); the first of a run is shown open."""
    title: str
    items: list
    open: bool = False


def png_of(fig) -> bytes:
    """A matplotlib figure as PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=PNG_DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display; the same pixels everywhere)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2330;
       background: #f6f7f9; line-height: 1.45; }
header { background: #1d2330; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c5cad6; font-size: 14px; }
nav { padding: 8px 32px; background: #e9ecf2; font-size: 14px; }
nav a { margin-right: 16px; color: #28509e; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1250px; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 12px 20px; margin: 18px 0; }
h2 { font-size: 19px; margin: 6px 0 10px; }
.summary { margin: 0 0 10px; }
figure { display: inline-block; vertical-align: top; margin: 8px 16px 8px 0; max-width: 100%; }
figure img, figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: #4a5265; max-width: 640px; }
figcaption b { color: #1d2330; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 4px; }
th, td { border-bottom: 1px solid #e3e6ec; padding: 4px 10px; text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; }
td.long { white-space: normal; word-break: break-word; font-family: ui-monospace, monospace; font-size: 12px; }
th { background: #f0f2f6; }
.table-title { font-weight: 600; font-size: 14px; margin-top: 10px; }
.caption { font-size: 13px; color: #4a5265; margin: 2px 0 10px; }
.note { font-size: 13px; color: #8a5a00; background: #fff6e0; padding: 4px 8px; border-radius: 4px; margin: 4px 0; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; font-size: 14px; }
code { font-size: 12px; background: #f0f2f6; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _figure(f: Figure) -> str:
    if f.png is not None:
        body = (f'<img src="data:image/png;base64,{base64.b64encode(f.png).decode("ascii")}" '
                f'alt="{_esc(f.title)}">')
    else:
        body = f.svg or ""
    caption = f"<b>{_esc(f.title)}</b>" + (f" — {_esc(f.caption)}" if f.caption else "")
    return f'<figure data-figure="{_esc(f.key)}">{body}<figcaption>{caption}</figcaption></figure>'


def _cell(text, numeric: bool) -> str:
    """A table cell: figures right-aligned, long text (a genotype, a command line) wrapped."""
    kind = "num" if numeric else "long" if len(str(text)) > 70 else ""
    return f'<td class="{kind}">{_esc(text)}</td>' if kind else f"<td>{_esc(text)}</td>"


def _table(t: Table) -> str:
    # A column of figures is right-aligned, except the first (the row's name).
    numeric = [i > 0 and all(FIGURE.match(str(row[i])) for row in t.rows) for i in range(len(t.header))]
    head = "".join(f'<th class="num">{_esc(h)}</th>' if n else f"<th>{_esc(h)}</th>" for h, n in zip(t.header, numeric))
    body = "".join("<tr>" + "".join(_cell(c, n) for c, n in zip(row, numeric)) + "</tr>" for row in t.rows)
    caption = f'<div class="caption">{_esc(t.caption)}</div>' if t.caption else ""
    return (f'<div class="table-title">{_esc(t.title)}</div>'
            f'<table data-table="{_esc(t.key)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{caption}')


def _item(item) -> str:
    if isinstance(item, Figure):
        return _figure(item)
    if isinstance(item, Table):
        return _table(item)
    inner = "".join(_item(i) for i in item.items)
    return f'<details{" open" if item.open else ""}><summary>{_esc(item.title)}</summary>{inner}</details>'


def render(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole page as one HTML string."""
    nav = "".join(f'<a href="#{_esc(s.key)}">{_esc(s.title)}</a>' for s in sections)
    parts = []
    for s in sections:
        notes = "".join(f'<div class="note">{_esc(n)}</div>' for n in s.notes)
        summary = f'<p class="summary">{_esc(s.summary)}</p>' if s.summary else ""
        items = "".join(_item(i) for i in s.items)
        parts.append(f'<section id="{_esc(s.key)}" data-section="{_esc(s.key)}"><h2>{_esc(s.title)}</h2>'
                     f"{summary}{notes}{items}</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_esc(title)}</title>"
            f"<style>{CSS}</style></head><body><header><h1>{_esc(title)}</h1><p>{_esc(subtitle)}</p></header>"
            f"<nav>{nav}</nav><main>{''.join(parts)}</main></body></html>\n")
