"""Run the streaming firmware on the emulated STM32F405 (QEMU -M netduinoplus2) and listen to it.

The host plays the world around the chip: 16-bit PCM goes into the audio UART (USART2) in the framing
of uart_audio.py, the console (USART6) is read line by line, and for a tethered build
(kws_app_tethered) the host link (UART4) is answered: each "KWS1" + input tensor the device sends is
given to `answer`, whose int8 scores go back. QEMU's UART model takes a byte only after the firmware
has read the previous one, so the stream is lossless however slow the emulation is.

The firmware never ends; the stream is followed by silence until a stats line shows that the device
has consumed all of it, then QEMU is stopped. Under -icount shift=0 every instruction takes 1 ns of
virtual time, so the cycle counts of the stats lines convert to instructions
(cycles * 1e9 / cycles_per_s). Times the device prints (its ms clock, which may start anywhere and wraps
at 2^32) are kept relative to the clock's start, which the banner says.
"""
from __future__ import annotations

import re
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import UserError
from .uart_audio import frame

PRESET, MACHINE = "stm32f405", "netduinoplus2"   # the board preset and the QEMU machine that runs it
# QEMU gives -serial options to USART1, USART2, USART3, UART4, UART5, USART6 in this order
# (hw/arm/stm32f405_soc.c); boards/stm32f405/board_config.c puts the audio, link and console there.
SERIAL_ORDER = ("null", "audio", "null", "link", "null", "console")
MAGIC = b"KWS1"
_DETECTION = re.compile(r"^detected (\S+) score (\d+) at (-?\d+) ms$")
_STATS_EVERY = re.compile(r"stats every (\d+) ms")
_CLOCK_START = re.compile(r"^kws: clock starts at (\d+) ms$")


@dataclass
class DeviceStream:
    """What the device said about a stream."""
    banner: list[str] = field(default_factory=list)
    detections: list[tuple[int, str, int]] = field(default_factory=list)   # (time ms, label, score)
    stats: list[dict[str, int]] = field(default_factory=list)
    inputs: list[np.ndarray] = field(default_factory=list)      # tethered: the model inputs it sent
    outputs: list[np.ndarray] = field(default_factory=list)     # and the scores it got back (or traced)
    output_times_ms: list[int] = field(default_factory=list)    # KWS_TRACE_OUTPUTS builds: when each came
    log: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    clock_start_ms: int = 0                                     # the device's ms clock at the stream's start

    @property
    def last_stats(self) -> dict[str, int]:
        return self.stats[-1] if self.stats else {}

    def measured(self) -> dict[str, int]:
        """The last stats line of a full application (TFLM on the chip) in the units benchmarks record."""
        s = self.last_stats
        return {"invoke_instructions": instructions(s["invoke_cycles"], s),
                "frontend_instructions_per_frame": instructions(s["fe_cycles"], s),
                "arena_used_bytes": s["arena"], "arena_reserved_bytes": s["arena_size"],
                "stack_used_bytes": s["stack"], "stack_reserved_bytes": s["stack_size"], "dropped_samples": s["dropped"]}


def instructions(cycles: int, stats: dict) -> int:
    """QEMU -icount shift=0 runs one instruction per virtual nanosecond: cycles of the board's timer -> instructions."""
    return round(cycles * 1e9 / stats["cycles_per_s"]) if stats.get("cycles_per_s") else 0


def parse_stats(line: str) -> dict[str, int]:
    """`stats t_ms=2000 ... stack=812/8192` -> {"t_ms": 2000, ..., "stack": 812, "stack_size": 8192}."""
    out = {}
    for item in line.split()[1:]:
        key, _, value = item.partition("=")
        used, _, size = value.partition("/")
        out[key] = int(used)
        if size:
            out[f"{key}_size"] = int(size)
    return out


def _listener(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(1)
    return s


def _read_exact(conn: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class _Session:
    """QEMU plus the three host threads (console reader, audio writer, link answerer)."""

    def __init__(self, elf: Path, tmp: Path, answer, input_size: int):
        self.result = DeviceStream()
        self.answer, self.input_size = answer, input_size
        self.stop = threading.Event()
        self.changed = threading.Condition()
        self.stats_every_ms: int | None = None
        self.listening = False
        self.error: str | None = None
        listeners = {name: _listener(tmp / f"{name}.sock") for name in ("audio", "link", "console")}
        cmd = ["qemu-system-arm", "-M", MACHINE, "-display", "none", "-monitor", "none", "-nodefaults",
               "-icount", "shift=0,sleep=off", "-kernel", str(elf)]
        for name in SERIAL_ORDER:
            if name == "null":
                cmd += ["-serial", "null"]
            else:
                cmd += ["-chardev", f"socket,id={name},path={tmp / f'{name}.sock'}", "-serial", f"chardev:{name}"]
        self.qemu = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.conns = {}
        for name, listener in listeners.items():
            listener.settimeout(30)
            try:
                self.conns[name], _ = listener.accept()
            except socket.timeout:
                self.close()
                out = self.qemu.stdout.read().decode(errors="replace") if self.qemu.stdout else ""
                raise UserError(f"QEMU did not start the {MACHINE} machine: {out.strip() or 'no output'}") from None
            finally:
                listener.close()
        self.threads = [threading.Thread(target=self._console, daemon=True)]
        if answer is not None:
            self.threads.append(threading.Thread(target=self._link, daemon=True))
        for t in self.threads:
            t.start()

    def _note(self, **kw):
        with self.changed:
            for k, v in kw.items():
                setattr(self, k, v)
            self.changed.notify_all()

    def _console(self):
        buf = b""
        conn = self.conns["console"]
        while not self.stop.is_set():
            try:
                chunk = conn.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            with self.changed:
                for raw in lines:
                    self._line(raw.decode(errors="replace").rstrip("\r"))
                self.changed.notify_all()

    def _line(self, line: str):
        r = self.result
        r.log.append(line)
        since = lambda t: (int(t) - r.clock_start_ms) % (1 << 32)  # noqa: E731  (ms since the stream began)
        if m := _DETECTION.match(line):
            r.detections.append((since(m.group(3)), m.group(1), int(m.group(2))))
        elif line.startswith("out "):
            t, *values = (int(v) for v in line.split()[1:])
            r.output_times_ms.append(since(t))
            r.outputs.append(np.array(values, np.int8))
        elif line.startswith("stats "):
            stats = parse_stats(line)
            stats["t_ms"] = since(stats["t_ms"])
            r.stats.append(stats)
        elif line.startswith(("fault", "exit ")):
            self.error = line
        elif line.startswith("kws: "):
            r.banner.append(line)
            if m := _STATS_EVERY.search(line):
                self.stats_every_ms = int(m.group(1))
            if m := _CLOCK_START.match(line):
                r.clock_start_ms = int(m.group(1))
            # The UART drops what arrives before the firmware has enabled it: stream after this line.
            self.listening = self.listening or line == "kws: listening"

    def _link(self):
        conn = self.conns["link"]
        while not self.stop.is_set():
            head = _read_exact(conn, len(MAGIC))
            if head is None:
                return
            if head != MAGIC:
                self._note(error=f"the host link lost sync (got {head!r} instead of {MAGIC!r})")
                return
            data = _read_exact(conn, self.input_size)
            if data is None:
                return
            x = np.frombuffer(data, np.int8).copy()
            y = np.asarray(self.answer(x), np.int8)
            self.result.inputs.append(x)
            self.result.outputs.append(y)
            try:
                conn.sendall(y.tobytes())
            except OSError:
                return

    def wait(self, predicate, deadline: float, what: str):
        with self.changed:
            while not predicate():
                if self.error:
                    raise UserError(f"The firmware stopped while {what}: {self.error} "
                                    f"(last lines: {' | '.join(self.result.log[-3:])})")
                if self.qemu.poll() is not None:
                    said = self.qemu.stdout.read().decode(errors="replace").strip() if self.qemu.stdout else ""
                    raise UserError(f"QEMU exited (status {self.qemu.returncode}) while {what}: {said or 'no message'}; "
                                    f"last console lines: {' | '.join(self.result.log[-3:]) or 'none'}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UserError(f"The emulated device took too long while {what} (last console lines: "
                                    f"{' | '.join(self.result.log[-3:]) or 'none'}); give a longer --timeout.")
                self.changed.wait(min(left, 0.5))

    def close(self):
        self.stop.set()
        if self.qemu.poll() is None:
            self.qemu.terminate()
            try:
                self.qemu.wait(10)
            except subprocess.TimeoutExpired:
                self.qemu.kill()
                self.qemu.wait()
        for c in self.conns.values():
            c.close()


def run_stream(elf: str | Path, pcm: np.ndarray, answer: Callable[[np.ndarray], np.ndarray] | None = None,
               input_size: int = 0, timeout_s: float = 900.0, log=None, lose_bytes: list[int] = ()) -> DeviceStream:
    """Stream int16 `pcm` (16 kHz mono) into the firmware `elf` under QEMU and collect what it reports.

    `answer` (tethered builds) maps each int8 model input of `input_size` bytes to the int8 scores.
    `lose_bytes`: offsets in the framed byte stream that never reach the chip, as on a line that overruns."""
    import shutil
    if shutil.which("qemu-system-arm") is None:
        raise UserError("Streaming on the emulated STM32F405 needs qemu-system-arm (Debian: apt-get install qemu-system-arm).")
    start = time.monotonic()
    deadline = start + timeout_s
    with tempfile.TemporaryDirectory(prefix="kws-qemu-") as tmp:
        s = _Session(Path(elf), Path(tmp), answer, input_size)
        try:
            s.wait(lambda: s.listening and s.stats_every_ms is not None, deadline, "starting")
            # Silence after the stream: the recogniser's window empties and a stats line at or after the
            # stream's end shows that the device has consumed all of it.
            tail = np.zeros(16 * (s.stats_every_ms + 1000), np.int16)
            data = frame(np.concatenate([np.asarray(pcm, np.int16), tail]))
            if lose_bytes:
                lost = set(lose_bytes)
                data = bytes(b for i, b in enumerate(data) if i not in lost)
            end_ms = len(pcm) // 16
            writer = threading.Thread(target=_send, args=(s.conns["audio"], data, s.stop), daemon=True)
            writer.start()
            progress = [0]

            def done():
                t = s.result.last_stats.get("t_ms", 0)
                if log and t >= progress[0] + 60_000:
                    progress[0] = t
                    log(f"  device at {t / 1000:.0f} s of {end_ms / 1000:.0f} s ({time.monotonic() - start:.0f} s)")
                return t >= end_ms

            s.wait(done, deadline, "streaming")
        finally:
            s.close()
    s.result.wall_s = time.monotonic() - start
    return s.result


def _send(conn: socket.socket, data: bytes, stop: threading.Event, chunk: int = 4096):
    for i in range(0, len(data), chunk):
        if stop.is_set():
            return
        try:
            conn.sendall(data[i:i + chunk])
        except OSError:
            return
