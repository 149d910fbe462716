"""Drawings of a genotype's normal and reduction cells, in DARTS' convention.

Inputs c_{k-2} and c_{k-1} (the two previous cells), intermediate nodes 0..3, output c_{k} (the
concatenation). Graphviz lays the graph out when both its Python package and its `dot` program are
installed (scripts/setup.sh installs them); otherwise matplotlib draws the same graph on a fixed
layout, so a report never lacks its cells.
"""
from __future__ import annotations

import re

from .page import Figure, png_of, pyplot

INPUTS = ("c_{k-2}", "c_{k-1}")
OUTPUT = "c_{k}"


def state_label(src: int) -> str:
    """Name of cell state `src`: the two inputs, then intermediate nodes numbered from 0."""
    return INPUTS[src] if src < 2 else str(src - 2)


def _html_label(name: str) -> str:
    """Graphviz HTML label with the subscript set as one: c_{k-2} -> c<SUB>k-2</SUB>."""
    base, sub = name.split("_", 1)
    return f"<{base}<SUB>{sub.strip('{}')}</SUB>>"


def _graphviz_svg(edges: list, concat: list[int], title: str) -> str | None:
    """The cell as inline SVG laid out by graphviz; None when graphviz is not installed."""
    try:
        import graphviz
    except ImportError:
        return None
    g = graphviz.Digraph(
        name=title, graph_attr={"rankdir": "LR", "bgcolor": "transparent"},
        node_attr={"style": "filled", "shape": "rect", "fontname": "helvetica", "fontsize": "16",
                   "penwidth": "1.5", "height": "0.45"},
        edge_attr={"fontname": "helvetica", "fontsize": "13", "color": "#555555"})
    for name in INPUTS:
        g.node(name, label=_html_label(name), fillcolor="darkseagreen2")
    steps = len(edges) // 2
    for i in range(steps):
        g.node(str(i), fillcolor="lightblue")
    for k, (op, src) in enumerate(edges):
        g.edge(state_label(int(src)), str(k // 2), label=op)
    g.node(OUTPUT, label=_html_label(OUTPUT), fillcolor="palegoldenrod")
    for c in concat:
        g.edge(state_label(int(c)), OUTPUT)
    try:
        svg = g.pipe(format="svg").decode("utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError):
        return None
    # Inline SVG: drop the XML declaration and doctype, keep the <svg> element.
    return svg[svg.index("<svg"):] if "<svg" in svg else None


def _matplotlib_png(edges: list, concat: list[int], title: str) -> bytes:
    """The same graph on a fixed layout: inputs left, nodes zig-zag left to right, output right."""
    plt = pyplot()
    steps = len(edges) // 2
    pos = {INPUTS[0]: (0.0, 1.0), INPUTS[1]: (0.0, -1.0), OUTPUT: (steps + 1.0, 0.0)}
    for i in range(steps):
        pos[str(i)] = (1.0 + i, 0.7 if i % 2 == 0 else -0.7)
    fig, ax = plt.subplots(figsize=(2.2 * steps + 2.5, 3.6))
    links = [(state_label(int(src)), str(k // 2), op) for k, (op, src) in enumerate(edges)]
    links += [(state_label(int(c)), OUTPUT, "") for c in concat]
    for u, v, op in links:
        (x0, y0), (x1, y1) = pos[u], pos[v]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": 16, "shrinkB": 16,
                                "connectionstyle": "arc3,rad=0.12"})
        if op:
            ax.text(x0 + 0.55 * (x1 - x0), y0 + 0.55 * (y1 - y0), op, fontsize=7.5, ha="center", va="center",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    colours = {**{n: "#b4eeb4" for n in INPUTS}, OUTPUT: "#eee8aa"}
    for name, (x, y) in pos.items():
        ax.text(x, y, f"${name}$" if name.startswith("c_") else name, ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "square,pad=0.35", "fc": colours.get(name, "#add8e6"), "ec": "#333333"})
    ax.set_xlim(-0.5, steps + 1.5)
    ax.set_ylim(-1.4, 1.4)
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    return png_of(fig)


def cell_figure(genotype: dict, kind: str, caption: str = "") -> Figure:
    """Figure of the `kind` ("normal" or "reduce") cell of a genotype dict (search/result.json form)."""
    edges, concat = genotype[kind], genotype[f"{kind}_concat"]
    title = f"{'Normal' if kind == 'normal' else 'Reduction'} cell"
    svg = _graphviz_svg(edges, concat, title)
    if svg is not None:
        svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
        return Figure(key=f"cell_{kind}", title=title, svg=svg, caption=caption)
    return Figure(key=f"cell_{kind}", title=title, png=_matplotlib_png(edges, concat, title), caption=caption)
