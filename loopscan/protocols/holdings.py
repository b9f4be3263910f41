"""Join what backs each vault: its plain balances and its supply positions in lending markets.

Pure: it works on the rows the indexers produced. A vault's *visible* assets are the holdings
denominated in its own asset (balances of the asset, supply positions lending the asset);
holdings in other tokens are listed but not summed, since adding them would need a price.
`opaque_assets` = reported total − visible.
"""

from __future__ import annotations

from loopscan.protocols.base import Rows

__all__ = ["position_holdings", "complete_vaults"]


def position_holdings(rows: Rows, block: int, holders: dict[str, tuple[str, ...]]) -> list[dict]:
    """Holdings rows for the lending supply positions of each vault's accounts.

    `holders` maps a vault to the accounts whose positions back it (the vault itself and its
    strategy accounts); a vault not in it is backed by its own address only.
    """
    loan_token = {(m["protocol_address"], m["market_id"]): m["loan_token"] for m in rows.get("markets", [])}
    by_account: dict[str, list[str]] = {}
    for v in rows.get("vaults", []):
        for account in holders.get(v["vault"], (v["vault"],)):
            by_account.setdefault(account, []).append(v["vault"])
    out = []
    for p in rows.get("positions", []):
        if p["supply_amount"] and p["account"] in by_account:
            for vault in by_account[p["account"]]:
                out.append(
                    {
                        "block": block, "vault": vault, "holder": p["account"],
                        "token": loan_token[(p["protocol_address"], p["market_id"])], "protocol": p["protocol"],
                        "protocol_address": p["protocol_address"], "market_id": p["market_id"],
                        "amount": p["supply_amount"], "read_method": f"{p['protocol']}.position",
                    }
                )  # fmt: skip
    return out


def complete_vaults(vaults: list[dict], holdings: list[dict]) -> list[dict]:
    """The vault rows with `visible_assets` and `opaque_assets` filled in."""
    visible: dict[str, int] = {}
    asset = {v["vault"]: v["asset"] for v in vaults}
    for h in holdings:
        if asset.get(h["vault"]) == h["token"]:
            visible[h["vault"]] = visible.get(h["vault"], 0) + h["amount"]
    return [
        {**v, "visible_assets": visible.get(v["vault"], 0), "opaque_assets": v["total_assets"] - visible.get(v["vault"], 0)}
        for v in vaults
    ]
