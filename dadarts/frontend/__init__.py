"""Audio front-end: MFCC specification, float and fixed-point references, C table generation."""
