"""Judging a trained run the way it will be used (commands on top of every stage, like compare).

- `evaluate`: clip accuracy of the float, int8 and fixed-point front-end paths on any folder;
- `stream`: the firmware's streaming path in Python (front-end per hop, inference stride, recogniser)
  over a long recording, and false rejects / false accepts per hour on a long-form test stream;
- `calibrate`: recogniser settings for a false-accept target, written where the firmware reads them.
"""
