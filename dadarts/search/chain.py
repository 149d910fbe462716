"""The chain search space in PyTorch: the network an architecture describes, and its supernet.

The space itself (stems, kernels, widths, strides, six blocks) is written down once, in
dadarts.costmodel.chain, with the int8 graph each choice exports to; this module adds the modules.

- `ChainNetwork(arch, input_shape, num_classes)`: what `dadarts train` builds (model "chain") and
  export lowers: 'valid' stem conv + BN + ReLU, per block depthwise + BN + ReLU and pointwise 1x1 +
  BN + ReLU, global average pool, linear. Every ReLU follows a convolution (fused at export).
- `ChainSupernet`: the same chain at the deployed widths, every choice a softmax:
  * width (FBNetV2 channel masking): every layer runs at the widest width (widths[-1]; costmodel.chain.WIDTHS
    unless the search gives its own: --widths) and its output is multiplied by Σ_j softmax(α_width)_j · mask_j,
    mask_j = 1 on the first widths[j] channels;
    the depthwise outputs are masked with the block's expected input width likewise, so no layer
    reads a channel the derived network would not have;
  * kernel: every candidate depthwise is a 5x5 kernel with a 0/1 tap mask (3x3: the centre; 5x5: all;
    3x3 dilated by 2: every other tap), each with its own weights; the block runs ONE depthwise with
    the kernel Σ_k p_k · (W_k ⊙ M_k), p = softmax(α_kernel) renormalised over the candidates, then BN,
    ReLU and the pointwise ("skip" passes the block's input through with its weight). The
    convolution is linear in its kernel, so this is the weighted sum of the candidates' convolutions
    at a third of the cost;
  * stride (FBNetV2 resolution masking): the supernet keeps one resolution; a stride-2 choice is
    represented by subsampling by 2 and repeating each value back (nearest), mixed with the stride-1
    output by softmax(α_stride). Repeated choices compose exactly as representations;
  * stem: the candidate stems (`stems`: costmodel.chain.SEARCH_STEMS, those striding 2 over time, unless
    the search asks for every stem: --every-hop) run side by side on the aligned map and are resampled
    (nearest) to the largest output among them before mixing.
  * time padding "valid" (`dadarts search --streaming`): the block's depthwise is not padded over time,
    so every block takes the common span's 4 frames off the map (a derived 3x3 takes 2: the supernet
    sees its central frames) and its skip path is cut to the same frames; a map shorter than the span
    is zero-padded to it (a search on a short configuration keeps running). The derived network must
    keep a frame on the data space's shortest input: where the argmax would not, its last blocks are
    left out (skip) until it does (dadarts.costmodel.chain.validate refuses a vanished map);
  * time padding "causal" (`dadarts search --streaming --time-padding causal`): the common span's 4 zero
    frames before the map instead (a derived 3x3 pads 2: the supernet's taps sit one frame later), so
    the map keeps its frames, as the derived causal network's do.
  `derive()` is the argmax of every choice: exactly the network `dadarts train` builds when it fits the
  search's budget; when it does not, `within_budget()` narrows it to the most probable network within it.
"""
from __future__ import annotations

import heapq
import itertools
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..costmodel import chain as space
from ..errors import UserError
from .operations import ConvBNReLU


class CausalPad(nn.Module):
    """`time` zero frames before the map and `freq` zero bins on each side of it (a causal layer's padding).
    In a stream the frames before come from the layer's state instead: `stream` pads frequency only."""

    def __init__(self, time: int, freq: int):
        super().__init__()
        self.time, self.freq = int(time), int(freq)

    def forward(self, x):
        return F.pad(x, (self.freq, self.freq, self.time, 0))

    def stream(self, x):
        return F.pad(x, (self.freq, self.freq, 0, 0))


class Depthwise(nn.Sequential):
    """Depthwise k x k (PyTorch's symmetric padding; over time none when `time_padding` is "valid", k - s
    zero frames before the map when "causal": a CausalPad first), BN, ReLU: one DEPTHWISE_CONV_2D (+ PAD
    when strided, valid or causal in time)."""

    def __init__(self, C, kernel, dilation=1, stride=1, affine=True, time_padding="same"):
        p = (kernel - 1) * dilation // 2
        pad = [CausalPad((kernel - 1) * dilation + 1 - stride, p)] if time_padding == "causal" else []
        conv_padding = (0, 0) if pad else (0 if time_padding == "valid" else p, p)
        super().__init__(*pad, nn.Conv2d(C, C, kernel, stride=stride, padding=conv_padding,
                                         dilation=dilation, groups=C, bias=False),
                         nn.BatchNorm2d(C, affine=affine), nn.ReLU(inplace=False))


class ValidStem(nn.Sequential):
    """The stem: 'valid' conv with kernel and stride over (time, frequency), BN, ReLU (one CONV_2D)."""

    def __init__(self, c_in, c_out, stem: str, affine=True):
        kt, kf, st, sf = space.STEMS[stem]
        super().__init__(nn.Conv2d(c_in, c_out, (kt, kf), stride=(st, sf), padding=0, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine), nn.ReLU(inplace=False))


class ChainNetwork(nn.Module):
    """The discrete chain network of `arch` (dadarts.costmodel.chain) on (B, 1, T, F) MFCC features."""

    def __init__(self, arch: dict, input_shape=(49, 40), num_classes=12):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.arch = space.validate(arch, self.input_shape)
        c = int(arch["stem_channels"])
        layers: list[nn.Module] = [ValidStem(1, c, arch["stem"])]
        for block in arch["blocks"]:
            if block["op"] == "skip":
                continue
            k, d = space.KERNELS[block["op"]]
            layers += [Depthwise(c, k, d, int(block["stride"]), time_padding=space.time_padding(arch)),
                       ConvBNReLU(c, int(block["channels"]), 1)]
            c = int(block["channels"])
        self.features = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def history_frames(self) -> int:
        """H for `forward(x, history)`: the most whole multiples of the time stride in one window."""
        if space.time_padding(self.arch) != "causal":
            raise UserError("Only a causal chain network hears frames before its window (a valid one reads none, a "
                            "'same' one does not stream): train it with --time-padding causal.")
        S = space.time_stride(self.arch)
        return self.input_shape[0] // S * S

    def forward(self, x, history=None):
        """Logits of the (B, 1, T, F) windows x; with `history` (B, 1, H, F) frames heard before each window
        (causal networks, H = history_frames()), the network runs over both and averages the window's map
        frames only: what a stream's step computes, where the window alone reads zero padding."""
        if history is None:
            return self.classifier(self.global_pooling(self.features(x)).flatten(1))
        y = self.features(torch.cat([history, x], dim=2))
        y = y[:, :, y.shape[2] - space.time_map(self.arch, x.shape[2]):]
        return self.classifier(self.global_pooling(y).flatten(1))


def searched_stems(settings) -> tuple[str, ...]:
    """The stems a search's supernet and cost tables choose among (SearchSettings.every_hop: all of them)."""
    return tuple(space.STEMS) if settings.every_hop else space.SEARCH_STEMS


def searched_widths(settings) -> tuple[int, ...]:
    """The widths a search's supernet and cost tables choose among (SearchSettings.widths, else WIDTHS)."""
    return tuple(int(w) for w in settings.widths) if settings.widths else space.WIDTHS


def width_masks(widths: tuple[int, ...] = space.WIDTHS, device=None) -> torch.Tensor:
    """(len(widths), widths[-1]) 0/1 masks: row j keeps the first widths[j] channels."""
    idx = torch.arange(widths[-1], device=device)
    return (idx[None, :] < torch.tensor(widths, device=device)[:, None]).float()


def _resample_2(y: torch.Tensor) -> torch.Tensor:
    """A stride-2 map held at the stride-1 resolution: subsample by 2, repeat each value back."""
    h, w = y.shape[-2:]
    low = y[:, :, ::2, ::2]
    return low.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)[:, :, :h, :w]


def tap_masks() -> torch.Tensor:
    """(len(CONV_KERNELS), SPAN, SPAN) 0/1 masks placing each candidate's taps in the common span."""
    span = max((k - 1) * d + 1 for k, d in (space.KERNELS[n] for n in space.CONV_KERNELS))
    masks = torch.zeros(len(space.CONV_KERNELS), span, span)
    for i, name in enumerate(space.CONV_KERNELS):
        k, d = space.KERNELS[name]
        taps = [span // 2 + d * (t - k // 2) for t in range(k)]
        masks[i][torch.tensor(taps)[:, None], torch.tensor(taps)[None, :]] = 1.0
    return masks


class ChainBlock(nn.Module):
    def __init__(self, C: int, time_padding: str = "same"):
        super().__init__()
        self.time_padding = time_padding
        masks = tap_masks()
        self.register_buffer("taps", masks, persistent=False)
        self.weight = nn.Parameter(torch.empty(len(masks), C, 1, *masks.shape[1:]))
        for w, m in zip(self.weight, masks):        # each candidate initialised as a conv of its own size
            nn.init.kaiming_uniform_(w, a=5 ** 0.5)
            w.data *= (masks.shape[1] ** 2 / m.sum()) ** 0.5
        self.bn = nn.BatchNorm2d(C, affine=False)
        self.pw = ConvBNReLU(C, C, 1, affine=False)

    def forward(self, x, kernel_p, in_mask, width_mask, stride_p):
        conv_p = kernel_p[1:]                                  # column 0 is "skip"
        conv_p = conv_p / conv_p.sum().clamp_min(1e-12)
        kernel = (conv_p[:, None, None, None, None] * self.weight * self.taps[:, None, None]).sum(0)
        p = kernel.shape[-1] // 2
        if self.time_padding == "causal":         # span - 1 zero frames before the map: every frame kept
            z = F.conv2d(F.pad(x, (0, 0, kernel.shape[-2] - 1, 0)), kernel, padding=(0, p), groups=x.shape[1])
        elif self.time_padding == "valid":
            short = max(0, kernel.shape[-1] - x.shape[2])
            x = F.pad(x, (0, 0, short // 2, short - short // 2))
            z = F.conv2d(x, kernel, padding=(0, p), groups=x.shape[1])
            cut = (x.shape[2] - z.shape[2]) // 2
            x = x[:, :, cut:cut + z.shape[2]]
        else:
            z = F.conv2d(x, kernel, padding=p, groups=x.shape[1])
        y = self.pw(F.relu(self.bn(z)) * in_mask)
        y = (stride_p[0] * y + stride_p[1] * _resample_2(y)) * width_mask
        return kernel_p[0] * x + (1.0 - kernel_p[0]) * y


class ChainSupernet(nn.Module):
    """Stem, BLOCKS chain blocks and the head at the widest width, masked (see module doc)."""

    def __init__(self, num_classes: int, in_channels: int, in_shape: tuple[int, int], time_padding: str = "same",
                 min_frames: int | None = None, stems: tuple[str, ...] = space.SEARCH_STEMS,
                 widths: tuple[int, ...] = space.WIDTHS):
        super().__init__()
        self.widths = tuple(int(w) for w in widths)           # alpha_*width's columns
        C = self.widths[-1]
        self.time_padding = time_padding
        self.min_frames = int(min_frames or in_shape[0])      # the shortest input a derived network must keep
        self.stem_names = tuple(stems)                        # alpha_stem's columns
        self.stems = nn.ModuleList(ValidStem(in_channels, C, s, affine=False) for s in self.stem_names)
        shapes = [space.stem_out(in_shape, s) for s in self.stem_names]
        self.map_shape = (max(s[0] for s in shapes), max(s[1] for s in shapes))
        self.blocks = nn.ModuleList(ChainBlock(C, time_padding) for _ in range(space.BLOCKS))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C, num_classes)
        self.register_buffer("masks", width_masks(self.widths), persistent=False)
        n_w = len(self.widths)
        self.alpha_stem = nn.Parameter(1e-3 * torch.randn(len(self.stem_names)))
        self.alpha_stem_width = nn.Parameter(1e-3 * torch.randn(n_w))
        self.alpha_kernel = nn.Parameter(1e-3 * torch.randn(space.BLOCKS, len(space.KERNELS)))
        self.alpha_width = nn.Parameter(1e-3 * torch.randn(space.BLOCKS, n_w))
        self.alpha_stride = nn.Parameter(1e-3 * torch.randn(space.BLOCKS, len(space.STRIDES)))

    def arch_parameters(self) -> list[nn.Parameter]:
        """In the order dadarts.search.chain_cost.ChainCost.expected takes them."""
        return [self.alpha_stem, self.alpha_stem_width, self.alpha_kernel, self.alpha_width, self.alpha_stride]

    def forward(self, x):
        p_stem = F.softmax(self.alpha_stem, -1)
        p_stem_w = F.softmax(self.alpha_stem_width, -1)
        p_kernel = F.softmax(self.alpha_kernel, -1)
        p_width = F.softmax(self.alpha_width, -1)
        p_stride = F.softmax(self.alpha_stride, -1)
        y = sum(p * F.interpolate(stem(x), size=self.map_shape, mode="nearest") for p, stem in zip(p_stem, self.stems))
        width = p_stem_w                                       # distribution of the current width
        y = y * (width @ self.masks)[None, :, None, None]
        for i, block in enumerate(self.blocks):
            in_mask = (width @ self.masks)[None, :, None, None]
            out_mask = (p_width[i] @ self.masks)[None, :, None, None]
            y = block(y, p_kernel[i], in_mask, out_mask, p_stride[i])
            width = p_kernel[i, 0] * width + (1.0 - p_kernel[i, 0]) * p_width[i]
        return self.classifier(self.global_pooling(y).flatten(1))

    def genotype(self) -> dict:
        arch = derive(*self.arch_parameters(), stems=self.stem_names, widths=self.widths)
        if not space.streams({"time_padding": self.time_padding}):
            return arch
        arch = {**arch, "time_padding": self.time_padding}
        blocks = list(arch["blocks"])
        while space.time_map({**arch, "blocks": blocks}, self.min_frames) < 1 and any(b["op"] != "skip" for b in blocks):
            last = max(i for i, b in enumerate(blocks) if b["op"] != "skip")
            blocks[last] = {"op": "skip"}
        return {**arch, "blocks": blocks}


def within_budget(arch: dict, alphas, widths: tuple[int, ...], price, max_priced: int = 2000) -> tuple[dict, list[str]]:
    """The most probable network within the budget, when the argmax `arch` is over it: the search's own
    choices, narrowed. `price(arch)` is the over-budget amount of a network (Σ over the budgeted quantities of
    cost / budget − 1 where over; 0: it fits). The networks reachable from `arch` by narrowing (the stem's or
    a block's width down to a narrower width choice, or a block skipped) are visited in order of the
    log-probability they lose against `arch` under the softmax of every α (`lost`; uniform-cost search), and
    the first that fits is the answer: no narrowing of `arch` that fits is more probable. After `max_priced`
    networks priced without one that fits, it goes on greedily from `arch` (the move that buys the most of the
    excess per unit of log-probability) until it fits or no move lowers the excess. Returns the network and the
    moves from `arch`, one line each ("block 3: dw_3x3 x172 -> x128"); `arch` itself when it fits or nothing
    helps."""
    _, alpha_stem_width, alpha_kernel, alpha_width, _ = alphas
    kernels = list(space.KERNELS)
    log_kernel = torch.log_softmax(alpha_kernel.detach().double(), -1)
    log_width = torch.log_softmax(alpha_width.detach().double(), -1)
    log_stem = torch.log_softmax(alpha_stem_width.detach().double(), -1)

    def lost(a: dict) -> float:
        """Σ over the choices `a` makes of log p(that choice's most probable option) − log p(the option
        taken): ≥ 0, 0 for the argmax. A skipped block makes no width choice (loses nothing on it); a width
        outside the choices (a network given by hand) counts as the row's most probable."""
        def width(log_p, w):
            return float(log_p.max() - (log_p[widths.index(w)] if w in widths else log_p.max()))
        total = width(log_stem, a["stem_channels"])
        for i, b in enumerate(a["blocks"]):
            total += float(log_kernel[i].max() - log_kernel[i, kernels.index(b["op"])])
            total += width(log_width[i], b["channels"]) if b["op"] != "skip" else 0.0
        return total

    def moves(a: dict):
        for w in (w for w in widths if w < a["stem_channels"]):
            yield {**a, "stem_channels": w}, f"stem: x{a['stem_channels']} -> x{w}"
        for i, b in enumerate(a["blocks"]):
            if b["op"] == "skip":
                continue
            for new in [{"op": "skip"}] + [{**b, "channels": w} for w in widths if w < b["channels"]]:
                out = [dict(x) for x in a["blocks"]]
                out[i] = new
                yield {**a, "blocks": out}, f"block {i}: {b['op']} x{b['channels']} -> " + (
                    "skip" if new["op"] == "skip" else f"x{new['channels']}")

    excess = price(arch)
    if excess <= 0:
        return arch, []
    tick = itertools.count()
    frontier, seen = [(lost(arch), next(tick), arch, [])], {json.dumps(arch, sort_keys=True)}
    for _ in range(max_priced):
        if not frontier:
            return arch, []                                  # no network reachable so fits
        _, _, a, path = heapq.heappop(frontier)
        if path and price(a) <= 0:
            return a, path
        for b, what in moves(a):
            key = json.dumps(b, sort_keys=True)
            if key not in seen:
                seen.add(key)
                heapq.heappush(frontier, (lost(b), next(tick), b, path + [what]))
    changes = []
    while excess > 0:
        here = lost(arch)
        priced = [(price(b), max(lost(b) - here, 1e-6), b, what) for b, what in moves(arch)]
        priced = [m for m in priced if m[0] < excess]
        if not priced:
            break
        excess, _, arch, what = max(priced, key=lambda m: (excess - m[0]) / m[1])
        changes.append(what)
    return arch, changes


def derive(alpha_stem, alpha_stem_width, alpha_kernel, alpha_width, alpha_stride,
           stems: tuple[str, ...] = space.SEARCH_STEMS, widths: tuple[int, ...] = space.WIDTHS) -> dict:
    """The argmax of every choice, as an architecture dict (dadarts.costmodel.chain); `stems`: alpha_stem's
    columns (the supernet's stem_names), `widths`: the width choices' columns (its widths)."""
    kernels, strides = list(space.KERNELS), list(space.STRIDES)
    blocks = []
    for i in range(alpha_kernel.shape[0]):
        op = kernels[int(alpha_kernel[i].argmax())]
        blocks.append({"op": "skip"} if op == "skip" else
                      {"op": op, "channels": widths[int(alpha_width[i].argmax())],
                       "stride": strides[int(alpha_stride[i].argmax())]})
    return {"stem": list(stems)[int(alpha_stem.argmax())],
            "stem_channels": widths[int(alpha_stem_width.argmax())], "blocks": blocks}
