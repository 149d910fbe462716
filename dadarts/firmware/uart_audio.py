"""The host side of the firmware's UART audio framing (firmware/boards/stm32f4/audio_provider_uart.c).

16 kHz 16-bit mono PCM goes to the chip in blocks of BLOCK_SAMPLES little-endian samples, each preceded by
the sync word A5 5A and a sequence number (mod 256); one more sync word ends the stream. The device takes
a block only when the next sync word arrives where it should, so a byte lost on the line costs one block
(counted as dropped samples), never the byte order of the rest of the stream.

    python -m dadarts.firmware.uart_audio long.wav > /dev/ttyUSB1     # paced at real time, to a real board
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

SYNC = b"\xa5\x5a"
BLOCK_SAMPLES = 128
BLOCK_BYTES = len(SYNC) + 1 + 2 * BLOCK_SAMPLES      # what one block takes on the line


def frame(pcm: np.ndarray, first_seq: int = 0) -> bytes:
    """int16 PCM -> the framed byte stream (the last block padded with silence, a closing sync word)."""
    pcm = np.asarray(pcm, np.int16)
    n = -(-len(pcm) // BLOCK_SAMPLES)
    padded = np.zeros(n * BLOCK_SAMPLES, "<i2")
    padded[:len(pcm)] = pcm
    blocks = padded.reshape(n, BLOCK_SAMPLES)
    out = bytearray()
    for i, block in enumerate(blocks):
        out += SYNC + bytes([(first_seq + i) & 0xFF]) + block.tobytes()
    return bytes(out + SYNC)


def main(argv=None) -> int:
    from ..data.wavio import BadWav, read_wav
    p = argparse.ArgumentParser(prog="python -m dadarts.firmware.uart_audio", description=__doc__.split("\n\n")[0])
    p.add_argument("wav", help="16 kHz mono 16-bit WAV file")
    p.add_argument("--no-pace", action="store_true", help="write as fast as possible instead of at real time")
    args = p.parse_args(argv)
    try:
        pcm = read_wav(args.wav)
    except (BadWav, OSError) as exc:
        print(f"uart_audio: {exc}: give a 16 kHz mono 16-bit WAV file.", file=sys.stderr)
        return 1
    data = frame(pcm)
    out = sys.stdout.buffer
    start = time.monotonic()
    for i in range(0, len(data), BLOCK_BYTES):
        out.write(data[i:i + BLOCK_BYTES])
        out.flush()
        if not args.no_pace:   # one block is 8 ms of audio
            time.sleep(max(0.0, start + (i // BLOCK_BYTES + 1) * BLOCK_SAMPLES / 16000 - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
