"""Flash and RAM of a firmware image, by part, from the GNU ld map file the build writes (name.map).

The map lists every input section placed in the image with its address, size and the object (or
archive member) it came from. Flash is what lies in the flash region (code, constants, the model,
and the initial values of .data, placed at its load address); RAM is what lies in RAM (.data, .bss
- the tensor arena among it -, the heap and the stack reserved by the linker script). Each input
section is charged to one part by where it came from, so that the parts add up to the totals.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_REGION = re.compile(r"^(\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)")
_OUTPUT = re.compile(r"^(\.\S+|COMMON)?\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)(?:\s+load address 0x([0-9a-f]+))?\s*$")
_INPUT = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")

# Where an input section came from -> the part it is charged to (first match wins).
PARTS = [
    ("tensor arena", lambda sec, src: "tensor_arena" in sec),
    ("model", lambda sec, src: "model_data.cc" in src),
    ("front-end", lambda sec, src: "kws_frontend" in src or "frontend_tables" in src),
    ("CMSIS-NN", lambda sec, src: "libtensorflow-microlite.a(arm_" in src),
    ("TFLM", lambda sec, src: "libtensorflow-microlite.a" in src or "model_runner.cc" in src),
    ("CMSIS-DSP", lambda sec, src: "cmsisdsp" in src.lower() or "libkws_cmsis_dsp" in src),
    ("application", lambda sec, src: "/app/" in src or "libkws_app_parts.a" in src),
    ("board", lambda sec, src: "/boards/" in src),
    ("C/C++ runtime", lambda sec, src: re.search(r"lib(c_nano|m|gcc|stdc\+\+_nano|nosys|rdimon|g_nano)\.a", src)
     is not None or src.endswith(".o") and "crt" in Path(src).name),
]


@dataclass
class Region:
    name: str
    origin: int
    length: int
    used: int = 0

    def contains(self, addr: int) -> bool:
        return self.origin <= addr < self.origin + self.length


@dataclass
class ImageSizes:
    regions: dict[str, Region]
    flash: dict[str, int] = field(default_factory=dict)     # part -> bytes
    ram: dict[str, int] = field(default_factory=dict)

    @property
    def flash_total(self) -> int:
        return sum(self.flash.values())

    @property
    def ram_total(self) -> int:
        return sum(self.ram.values())

    def to_dict(self) -> dict:
        return {"flash_bytes": self.flash_total, "ram_bytes": self.ram_total,
                "flash_by_part": dict(sorted(self.flash.items(), key=lambda kv: -kv[1])),
                "ram_by_part": dict(sorted(self.ram.items(), key=lambda kv: -kv[1])),
                "regions": {r.name: {"origin": r.origin, "length": r.length, "used": r.used}
                            for r in self.regions.values()}}


def _part(section: str, source: str) -> str:
    for name, test in PARTS:
        if test(section, source):
            return name
    return "other"


def _joined(lines: list[str]):
    """Map lines with a long section name wrapped onto the next line joined back."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.fullmatch(r" ?\.\S+", line) and i + 1 < len(lines) and lines[i + 1].startswith("                0x"):
            yield line + lines[i + 1]
            i += 2
        else:
            yield line
            i += 1


def parse_map(path: str | Path) -> ImageSizes:
    text = Path(path).read_text(errors="replace").splitlines()
    try:
        start = text.index("Memory Configuration")
        layout = text.index("Linker script and memory map")
    except ValueError:
        raise ValueError(f"{path} is not a GNU ld map file (no memory configuration)") from None
    regions = {}
    for line in text[start + 1:layout]:
        m = _REGION.match(line)
        if m and m.group(1) not in ("Name", "*default*"):
            regions[m.group(1)] = Region(m.group(1), int(m.group(2), 16), int(m.group(3), 16))
    sizes = ImageSizes(regions)

    def region_of(addr: int) -> Region | None:
        return next((r for r in regions.values() if r.contains(addr)), None)

    def charge(addr: int, load: int | None, size: int, part: str):
        vma = region_of(addr)
        lma = region_of(load) if load is not None else vma
        for region in {id(r): r for r in (vma, lma) if r is not None}.values():
            region.used += size
            kind = sizes.flash if region.name in FLASH_NAMES else sizes.ram
            kind[part] = kind.get(part, 0) + size

    output, load_delta, charged, covered = None, None, 0, 0
    for line in _joined(text[layout + 1:]):
        if line.startswith("/DISCARD/") or line.startswith("OUTPUT("):
            _flush_output(output, charged, charge)
            output = None
            continue
        m = _OUTPUT.match(line)
        if m and line.startswith("."):
            _flush_output(output, charged, charge)
            addr, size, load = int(m.group(2), 16), int(m.group(3), 16), m.group(4)
            output = (m.group(1), addr, size)
            # ld prints a load address for NOLOAD sections too; only initialised data is copied from flash.
            load_delta = int(load, 16) - addr if load and m.group(1) not in NOBITS else None
            charged, covered = 0, addr
            continue
        m = _INPUT.match(line)
        if output and m and not line.startswith("  "):
            addr, size = int(m.group(2), 16), int(m.group(3), 16)
            # Merged string sections (.str1.1) overlap the ones before them: charge only new bytes.
            start, end = max(addr, covered), addr + size
            if end <= start or not output[2]:
                continue
            section, source = m.group(1) or "", m.group(4).strip()
            charge(start, start + load_delta if load_delta is not None else None, end - start, _part(section, source))
            charged += end - start
            covered = end
    _flush_output(output, charged, charge)
    return sizes


def _flush_output(output, charged: int, charge):
    """Bytes of an output section that no input section accounts for (the stack, the heap, alignment)."""
    if output is None:
        return
    name, addr, size = output
    rest = size - charged
    if rest > 0:
        part = {".stack": "stack", ".handler_stack": "stack", ".heap": "heap"}.get(name, "alignment")
        charge(addr, None, rest, part)


FLASH_NAMES = {"FLASH", "ROM", "rom", "flash"}
NOBITS = {".bss", ".heap", ".stack", ".handler_stack", ".ccm", ".noinit"}
