"""Data-aware PC-DARTS search: operations, supernet, data mixing and alignment, architect, genotype."""
