//! Contract bindings, generated at compile time from `contracts/artifacts`
//! (ABI and creation bytecode, kept fresh by `contracts/tools/artifacts --check`).

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    CYTR,
    "../contracts/artifacts/CYTR.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    CyteriaItems,
    "../contracts/artifacts/CyteriaItems.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Staking,
    "../contracts/artifacts/Staking.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Settlement,
    "../contracts/artifacts/Settlement.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Marketplace,
    "../contracts/artifacts/Marketplace.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Auction,
    "../contracts/artifacts/Auction.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Crafting,
    "../contracts/artifacts/Crafting.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    CyteriaDAO,
    "../contracts/artifacts/CyteriaDAO.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TimelockController,
    "../contracts/artifacts/TimelockController.json"
);
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    ERC2771Forwarder,
    "../contracts/artifacts/ERC2771Forwarder.json"
);
