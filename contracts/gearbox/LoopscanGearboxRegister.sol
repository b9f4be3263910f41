// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IACL} from "@gearbox-protocol/core-v3/contracts/interfaces/base/IACL.sol";
import {IAddressProvider} from "@gearbox-protocol/core-v3/contracts/interfaces/base/IAddressProvider.sol";
import {IContractsRegister} from "@gearbox-protocol/core-v3/contracts/interfaces/base/IContractsRegister.sol";

/// @notice Ours, not Gearbox's: the devnet's stand-in for Gearbox v3.1's address provider, ACL and
/// contracts register, in one contract.
/// @dev Why it exists: `@gearbox-protocol/core-v3` (npm) ships the pool, credit and oracle contracts
/// but not these three, which live in Gearbox's governance repository (not published on npm). The
/// core reads only the interfaces implemented here: `IACL` (configurator and roles),
/// `IContractsRegister` (which pools and credit managers are legitimate) and `IAddressProvider`
/// (`getAddressOrRevert` for the instance manager, price feed store, ...). Only the owner writes.
contract LoopscanGearboxRegister is IACL, IAddressProvider, IContractsRegister {
    address public immutable owner;

    mapping(address => bool) public override isConfigurator;
    mapping(bytes32 => mapping(address => bool)) public override hasRole;
    mapping(bytes32 => mapping(uint256 => address)) private _addresses;
    mapping(address => bool) public override isPool;
    mapping(address => bool) public override isCreditManager;
    address[] private _pools;
    address[] private _creditManagers;

    error NotOwner();
    error AddressNotFound(bytes32 key, uint256 version);

    constructor(address configurator) {
        owner = msg.sender;
        isConfigurator[configurator] = true;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    function grantRole(bytes32 role, address account) external onlyOwner {
        hasRole[role][account] = true;
    }

    function setAddress(bytes32 key, uint256 version, address value) external onlyOwner {
        _addresses[key][version] = value;
    }

    function getAddressOrRevert(bytes32 key, uint256 version) external view override returns (address result) {
        result = _addresses[key][version];
        if (result == address(0)) revert AddressNotFound(key, version);
    }

    function addPool(address pool) external onlyOwner {
        if (!isPool[pool]) {
            isPool[pool] = true;
            _pools.push(pool);
        }
    }

    function addCreditManager(address creditManager) external onlyOwner {
        if (!isCreditManager[creditManager]) {
            isCreditManager[creditManager] = true;
            _creditManagers.push(creditManager);
        }
    }

    function getPools() external view override returns (address[] memory) {
        return _pools;
    }

    function getCreditManagers() external view override returns (address[] memory) {
        return _creditManagers;
    }
}
