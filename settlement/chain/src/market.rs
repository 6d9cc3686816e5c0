//! A player's market transactions: listings and purchases on the
//! Marketplace, lots and bids on the Auction, each with the approval it
//! needs first. Reads go through the [`crate::indexer`].

use alloy::primitives::{Address, U256};
use alloy::rpc::types::TransactionReceipt;

use crate::chain::{Chain, send};

impl Chain {
    /// Lets `operator` move this wallet's items (once).
    async fn approve_items(&self, operator: Address) -> anyhow::Result<()> {
        if !self
            .items()
            .isApprovedForAll(self.address, operator)
            .call()
            .await?
        {
            send!(
                self,
                "setApprovalForAll",
                self.items(),
                setApprovalForAll(operator, true)
            );
        }
        Ok(())
    }

    /// Lets `spender` take `amount` CYTR from this wallet.
    async fn approve_cytr(&self, spender: Address, amount: U256) -> anyhow::Result<()> {
        if self.cytr().allowance(self.address, spender).call().await? < amount {
            send!(self, "approve", self.cytr(), approve(spender, amount));
        }
        Ok(())
    }

    fn market(
        &self,
    ) -> crate::bindings::Marketplace::MarketplaceInstance<alloy::providers::DynProvider> {
        crate::bindings::Marketplace::new(self.deployment.marketplace, self.provider.clone())
    }

    fn auction(&self) -> crate::bindings::Auction::AuctionInstance<alloy::providers::DynProvider> {
        crate::bindings::Auction::new(self.deployment.auction, self.provider.clone())
    }

    /// Lists `amount` of item `id` at `unit_price` CYTR (wei) each; returns the listing id.
    pub async fn list(&self, id: U256, amount: u128, unit_price: u128) -> anyhow::Result<U256> {
        self.approve_items(self.deployment.marketplace).await?;
        let listing = self.market().list(id, amount, unit_price).call().await?;
        send!(self, "list", self.market(), list(id, amount, unit_price));
        Ok(listing)
    }

    /// Buys `amount` from a listing at its price, if it is at most `max_unit_price`.
    pub async fn buy(
        &self,
        listing: U256,
        amount: u128,
        max_unit_price: u128,
    ) -> anyhow::Result<TransactionReceipt> {
        self.approve_cytr(
            self.deployment.marketplace,
            U256::from(amount) * U256::from(max_unit_price),
        )
        .await?;
        Ok(send!(
            self,
            "buy",
            self.market(),
            buy(listing, amount, max_unit_price)
        ))
    }

    /// Cancels this wallet's listing `listing`; what is left of it comes back from escrow.
    pub async fn cancel_listing(&self, listing: U256) -> anyhow::Result<TransactionReceipt> {
        Ok(send!(self, "cancel", self.market(), cancel(listing)))
    }

    /// Puts `amount` of item `id` up for auction for `duration` seconds; returns the lot id.
    pub async fn auction_item(
        &self,
        id: U256,
        amount: u128,
        reserve: u128,
        duration: u64,
    ) -> anyhow::Result<U256> {
        self.approve_items(self.deployment.auction).await?;
        let lot = self
            .auction()
            .create(id, amount, reserve, duration)
            .call()
            .await?;
        send!(
            self,
            "create",
            self.auction(),
            create(id, amount, reserve, duration)
        );
        Ok(lot)
    }

    /// Bids `amount` CYTR (wei) on `lot`, first approving the Auction to escrow it.
    pub async fn bid(&self, lot: U256, amount: u128) -> anyhow::Result<TransactionReceipt> {
        self.approve_cytr(self.deployment.auction, U256::from(amount))
            .await?;
        Ok(send!(self, "bid", self.auction(), bid(lot, amount)))
    }

    /// Ends a lot whose time is up: the item to the winner, the CYTR to the seller.
    pub async fn settle_lot(&self, lot: U256) -> anyhow::Result<TransactionReceipt> {
        Ok(send!(self, "settle", self.auction(), settle(lot)))
    }
}
