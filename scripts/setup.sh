#!/usr/bin/env bash
# Installs everything dadarts needs into ./.venv (and, as root, the Cortex-M cross compiler and QEMU).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: dadarts needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

# Firmware tests build for the host with cmake/gcc and for a Cortex-M4 under QEMU; the report draws
# cells with graphviz (dot) and its test renders the page in headless Chromium.
APT_PACKAGES="cmake gcc g++ gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm graphviz chromium"
missing=""
for tool in cmake gcc arm-none-eabi-gcc qemu-system-arm dot chromium; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing$missing with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
  else
    echo "setup: missing$missing; install: sudo apt-get install $APT_PACKAGES (firmware and report-rendering tests skip without them)" >&2
  fi
fi

# The built-in corpus speaks with five engine families (dadarts/data/tts.py). Debian ships the MBROLA
# and RHVoice English voices in contrib/non-free: those sections of the machine's own Debian sources
# are added for this install only (a temporary copy of the source lists), nothing is left configured.
# MBROLA: the English voices and the other languages' voices that espeak-ng makes speak English
# (tts.MBROLA_FOREIGN_VOICES: its mb-<voice>-en voices).
MBROLA_VOICES="us1 us2 us3 en1 af1 nl2 fr1 fr4 de1 de2 de3 de4 de5 de6 gr2 hu1 pl1 ro1 sw1 sw2"
CORPUS_APT="espeak-ng mbrola librhvoice5 rhvoice-english$(for v in $MBROLA_VOICES; do printf ' mbrola-%s' "$v"; done)"
mbrola_missing=""
for v in $MBROLA_VOICES; do [ -f "/usr/share/mbrola/$v/$v" ] || mbrola_missing="$mbrola_missing $v"; done
if [ ! -f /usr/share/RHVoice/voices/slt/voice.info ] || ! ls /usr/lib/*/libRHVoice.so.5 >/dev/null 2>&1 || ! command -v espeak-ng >/dev/null 2>&1 || [ -n "$mbrola_missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -f /etc/debian_version ]; then
    echo "setup: installing the corpus voices ($CORPUS_APT) with apt-get"
    lists=$(mktemp -d)
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] && grep -qi "debian" "$f" && sed -E 's/^(Components:.*\bmain\b.*)$/\1 contrib non-free/' "$f" > "$lists/$(basename "$f")"
    done
    [ -f /etc/apt/sources.list ] && grep -E '^deb .*debian.* main' /etc/apt/sources.list | sed -E 's/ main( |$)/ main contrib non-free\1/' > "$lists/extra.list"
    apt_with="apt-get -o Dir::Etc::sourceparts=$lists -o Dir::Etc::sourcelist=/dev/null -o APT::Get::List-Cleanup=0"
    if $apt_with update -qq && DEBIAN_FRONTEND=noninteractive $apt_with install -y -qq --no-install-recommends $CORPUS_APT >/dev/null; then
      :
    else
      echo "setup: could not install $CORPUS_APT; the corpus is built without those voices" >&2
    fi
    rm -rf "$lists"
  else
    echo "setup: the MBROLA and RHVoice voices are missing; install as root: apt-get install $CORPUS_APT (Debian contrib/non-free); the corpus is built without them" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.dadarts-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
# CMSIS-DSP's C sources for the firmware's optional FFT: the cmsisdsp sdist, fetched once with pip into
# ~/.cache/dadarts/sources (not into the repository); its tests skip when this fails (offline).
.venv/bin/python -m dadarts.firmware.cmsis_dsp >/dev/null || echo "setup: CMSIS-DSP sources not fetched; its firmware tests will skip" >&2
# TensorFlow Lite Micro, a pinned source dependency (dadarts/firmware/tflm.py): its trees come from
# DADARTS_TFLM_TREE_M4F / DADARTS_TFLM_TREE_HOST (a folder or .tar.xz; where unset, the archives in
# ../shared/third_party/tflm beside this checkout), the cache, or a clone at the pinned commit. The
# Cortex-M4F library with every kernel the op profiler and the resolver may need is compiled once into
# ~/.cache/dadarts/tflm (about 3 minutes on 2 cores); the host tree is only unpacked here: a host build
# compiles the kernels its model needs when it first links.
for kind in m4f host; do
  var=DADARTS_TFLM_TREE_$(echo "$kind" | tr a-z A-Z)
  if [ -z "${!var:-}" ]; then
    archive=$(ls ../shared/third_party/tflm/tflm-*-"$kind"*.tar.xz 2>/dev/null | head -n 1 || true)
    if [ -n "$archive" ]; then export "$var=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")"; fi
  fi
done
if ! { .venv/bin/python -m dadarts.firmware.tflm --kinds m4f >/dev/null &&
       .venv/bin/python -m dadarts.firmware.tflm --kinds host --ops none >/dev/null; }; then
  if [ "${CI:-}" = true ]; then
    echo "setup: CI runs the model on the emulated chip and needs TFLite Micro (see docs/firmware.md)" >&2
    exit 1
  fi
  echo "setup: TFLite Micro is not built; the tests that run it will skip (docs/firmware.md)" >&2
fi
echo "setup: ready ($(.venv/bin/python -c 'import torch, tensorflow as tf; print(f"torch {torch.__version__}, tensorflow {tf.__version__}")' 2>/dev/null))"
