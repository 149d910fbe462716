"""Genotypes: the discrete cell architecture a search produces, as a small named tuple.

A genotype prints as something a person can read and paste back into Python, and converts to and
from the JSON dict stored in search/result.json and train/model.pt (docs/contracts.md):
{"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [2, 3, 4, 5], "reduce": [...], "reduce_concat": [...]}.
Each cell has 4 intermediate nodes; node i takes two (op, input) pairs, inputs 0 and 1 being the
two previous cells' outputs and 2.. the earlier nodes of this cell.
"""
from __future__ import annotations

from collections import namedtuple

from ..costmodel.spaces import DARTS_PRIMITIVES, MCU_PRIMITIVES
from ..errors import UserError

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

# The primitives of each search space (dadarts.costmodel.spaces), in the order of α's columns.
PRIMITIVES = list(DARTS_PRIMITIVES)
MCU_PRIMITIVES = list(MCU_PRIMITIVES)
KNOWN_OPS = sorted(set(PRIMITIVES) | set(MCU_PRIMITIVES))

STEPS = 4  # intermediate nodes per cell of the darts space

# The PC-DARTS CIFAR-10 cell, a known-good default for tests and for training without a search.
PCDARTS = Genotype(
    normal=[("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 0), ("dil_conv_3x3", 1),
            ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 1)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("sep_conv_5x5", 1), ("max_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 2),
            ("sep_conv_3x3", 0), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2)],
    reduce_concat=[2, 3, 4, 5],
)


def validate(genotype: Genotype) -> Genotype:
    """Check that a genotype describes a buildable cell; raise UserError saying what is wrong."""
    for kind in ("normal", "reduce"):
        edges = getattr(genotype, kind)
        if len(edges) % 2 or not edges:
            raise UserError(f"Genotype {kind} cell has {len(edges)} edges: it needs two per node.")
        for k, (op, src) in enumerate(edges):
            if op not in KNOWN_OPS or op == "none":
                raise UserError(f"Genotype {kind} cell uses '{op}': use one of "
                                f"{', '.join(o for o in KNOWN_OPS if o != 'none')}.")
            node = k // 2
            if not (0 <= int(src) < node + 2):
                raise UserError(f"Genotype {kind} node {node} takes input {src}: inputs must be 0..{node + 1}.")
        concat = getattr(genotype, f"{kind}_concat")
        n_states = len(edges) // 2 + 2
        if not concat or any(not (0 <= int(c) < n_states) for c in concat):
            raise UserError(f"Genotype {kind}_concat {list(concat)} names a node the cell does not have.")
    return genotype


def to_dict(genotype: Genotype) -> dict:
    """JSON-ready dict of a genotype (lists, not tuples)."""
    return {
        "normal": [[op, int(src)] for op, src in genotype.normal],
        "normal_concat": [int(c) for c in genotype.normal_concat],
        "reduce": [[op, int(src)] for op, src in genotype.reduce],
        "reduce_concat": [int(c) for c in genotype.reduce_concat],
    }


def from_dict(d: dict) -> Genotype:
    """Inverse of to_dict; also accepts a Genotype (returned as is) or a genotype string."""
    if isinstance(d, Genotype):
        return validate(d)
    if isinstance(d, str):
        return from_str(d)
    try:
        g = Genotype(
            normal=[(str(op), int(src)) for op, src in d["normal"]],
            normal_concat=[int(c) for c in d["normal_concat"]],
            reduce=[(str(op), int(src)) for op, src in d["reduce"]],
            reduce_concat=[int(c) for c in d["reduce_concat"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"Not a genotype dict ({exc!r}): expected normal, normal_concat, reduce, reduce_concat.") from None
    return validate(g)


def to_str(genotype: Genotype) -> str:
    """The readable form: 'Genotype(normal=[('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], ...)'."""
    g = Genotype(
        normal=[(op, int(src)) for op, src in genotype.normal],
        normal_concat=[int(c) for c in genotype.normal_concat],
        reduce=[(op, int(src)) for op, src in genotype.reduce],
        reduce_concat=[int(c) for c in genotype.reduce_concat],
    )
    return repr(g)


def from_str(text: str) -> Genotype:
    """Parse the output of to_str (a Python literal; evaluated without builtins, names limited to Genotype)."""
    import ast
    try:
        tree = ast.parse(text.strip(), mode="eval")
        call = tree.body
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Genotype"):
            raise ValueError("not a Genotype(...) call")
        fields = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        return from_dict(fields)
    except (SyntaxError, ValueError) as exc:
        raise UserError(f"Cannot read the genotype '{text[:60]}...' ({exc}): paste the Genotype(...) line a search printed.") from None


def describe(genotype: Genotype) -> str:
    """A multi-line, per-node listing for the end-of-search printout."""
    lines = []
    for kind in ("normal", "reduce"):
        edges = getattr(genotype, kind)
        lines.append(f"{kind} cell (output = concat of nodes {list(getattr(genotype, kind + '_concat'))}):")
        for node in range(len(edges) // 2):
            parts = [f"{op}({_state_name(src)})" for op, src in edges[2 * node:2 * node + 2]]
            lines.append(f"  node {node + 2} = " + " + ".join(parts))
    return "\n".join(lines)


def _state_name(src: int) -> str:
    return {0: "c_{k-2}", 1: "c_{k-1}"}.get(int(src), f"node {int(src)}")
