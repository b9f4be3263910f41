"""ERC-4626 vaults and backed stablecoins listed in the deployments: their holdings and opaque backing."""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="erc4626",
        role="vaults",
        indexer="loopscan.protocols.erc4626.indexer",
        probes={("erc4626", "vault"): "asset()", ("stablecoin", "backed"): "totalSupply()"},
        devnet_tokens={"opaque_vault": ("erc4626", "vault"), "erc4626_vault": ("erc4626", "vault"),
                       "backed_stablecoin": ("stablecoin", "backed")},  # fmt: skip
    ),
)
