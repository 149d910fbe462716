"""dadarts: data-aware differentiable NAS for tiny keyword spotting, from data to a microcontroller."""

__version__ = "0.1.0"
