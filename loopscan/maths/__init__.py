"""Integer maths mirroring the protocols' own contracts, with their rounding; pure; shared by the
indexers and the solver."""
