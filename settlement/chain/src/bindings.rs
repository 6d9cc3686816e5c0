//! Contract bindings, generated at compile time from `contracts/artifacts`
//! (ABI and creation bytecode, kept fresh by `contracts/tools/artifacts --check`).

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    CYTR,
    "../../contracts/artifacts/CYTR.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    CyteriaItems,
    "../../contracts/artifacts/CyteriaItems.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Staking,
    "../../contracts/artifacts/Staking.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Settlement,
    "../../contracts/artifacts/Settlement.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Marketplace,
    "../../contracts/artifacts/Marketplace.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Auction,
    "../../contracts/artifacts/Auction.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Crafting,
    "../../contracts/artifacts/Crafting.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    CyteriaDAO,
    "../../contracts/artifacts/CyteriaDAO.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    PlayerBond,
    "../../contracts/artifacts/PlayerBond.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TimelockController,
    "../../contracts/artifacts/TimelockController.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    ERC2771Forwarder,
    "../../contracts/artifacts/ERC2771Forwarder.json"
);

/// The pure crate's batch as the contract call's argument (the same ABI
/// struct, generated twice: once as types, once with the call).
pub fn batch_arg(b: &cyteria_settlement::batch::Batch) -> Settlement::Batch {
    Settlement::Batch {
        epoch: b.epoch,
        round: b.round,
        prevRoot: b.prevRoot,
        newRoot: b.newRoot,
        dataCid: b.dataCid.clone(),
        metadataCid: b.metadataCid.clone(),
        mintsHash: b.mintsHash,
        slashesHash: b.slashesHash,
    }
}

/// The pure crate's slashes as the contract call's argument.
pub fn slashes_arg(slashes: &[cyteria_settlement::batch::Slash]) -> Vec<Settlement::Slash> {
    slashes
        .iter()
        .map(|s| Settlement::Slash {
            player: s.player,
            evidence: s.evidence.clone(),
        })
        .collect()
}

/// The pure crate's mints as the contract call's argument.
pub fn mints_arg(mints: &[cyteria_settlement::batch::Mint]) -> Vec<Settlement::Mint> {
    mints
        .iter()
        .map(|m| Settlement::Mint {
            to: m.to,
            ids: m.ids.clone(),
            amounts: m.amounts.clone(),
        })
        .collect()
}
