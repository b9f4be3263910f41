"""Gearbox v3.1 credit accounts: the devnet deployer (`devnet`) and the liquidation rules."""
