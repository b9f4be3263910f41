"""Pendle v2 principal tokens: the AMM maths (`maths`, `logexp`), the devnet deployer (`devnet`)."""
