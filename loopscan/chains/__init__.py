"""Known deployments (addresses, start blocks) per chain, as TOML data files.

See ``README.md`` in this directory for the file format.
"""

from loopscan.chains.deployments import (
    Contract,
    Deployments,
    DeploymentsError,
    from_devnet_manifest,
    known_chains,
    load_deployments,
    parse_deployments,
)

__all__ = [
    "Contract",
    "Deployments",
    "DeploymentsError",
    "from_devnet_manifest",
    "known_chains",
    "load_deployments",
    "parse_deployments",
]
