//! Wallet binding: a player's Ethereum address signs an EIP-712 message
//! naming its ed25519 game key, so validators know where that key's items
//! go. The binding is off chain; its domain names the chain and the
//! Settlement contract, so it cannot be replayed into another deployment.

use alloy::primitives::{Address, B256, Bytes};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::{Eip712Domain, SolStruct, eip712_domain};
use serde::{Deserialize, Serialize};

sol! {
    /// What the wallet signs.
    #[derive(Debug, PartialEq, Eq)]
    struct WalletBinding {
        bytes32 gameKey;
        address wallet;
        uint64 nonce;
    }
}

/// The binding's EIP-712 domain: chain `chain_id` and the Settlement contract at `settlement`.
pub fn domain(chain_id: u64, settlement: Address) -> Eip712Domain {
    eip712_domain! {
        name: "CyteriaWalletBinding",
        version: "1",
        chain_id: chain_id,
        verifying_contract: settlement,
    }
}

/// A signed binding as it travels and is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBinding {
    /// The player's ed25519 game key.
    pub game_key: [u8; 32],
    /// The wallet that signed it, where the key's items mint.
    pub wallet: Address,
    /// A later binding (higher nonce) replaces an earlier one.
    pub nonce: u64,
    /// The wallet's 65-byte signature over the binding's EIP-712 hash.
    pub signature: Bytes,
}

/// Signs, as `wallet`, the binding of `game_key` to its address with `nonce` in `domain`.
pub fn bind(
    wallet: &PrivateKeySigner,
    game_key: [u8; 32],
    nonce: u64,
    domain: &Eip712Domain,
) -> Result<SignedBinding, alloy::signers::Error> {
    let msg = WalletBinding {
        gameKey: B256::from(game_key),
        wallet: wallet.address(),
        nonce,
    };
    let sig = wallet.sign_hash_sync(&msg.eip712_signing_hash(domain))?;
    Ok(SignedBinding {
        game_key,
        wallet: wallet.address(),
        nonce,
        signature: Bytes::from(sig.as_bytes().to_vec()),
    })
}

impl SignedBinding {
    /// Whether the named wallet really signed this binding in `domain`.
    pub fn is_valid(&self, domain: &Eip712Domain) -> bool {
        let msg = WalletBinding {
            gameKey: B256::from(self.game_key),
            wallet: self.wallet,
            nonce: self.nonce,
        };
        let Ok(sig) = alloy::primitives::Signature::try_from(self.signature.as_ref()) else {
            return false;
        };
        sig.recover_address_from_prehash(&msg.eip712_signing_hash(domain))
            .is_ok_and(|a| a == self.wallet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_holds_only_for_its_key_wallet_and_deployment() {
        let w = PrivateKeySigner::random();
        let d = domain(80002, Address::repeat_byte(9));
        let b = bind(&w, [5; 32], 1, &d).unwrap();
        assert!(b.is_valid(&d));
        assert!(
            !SignedBinding {
                game_key: [6; 32],
                ..b.clone()
            }
            .is_valid(&d)
        );
        assert!(
            !SignedBinding {
                wallet: Address::repeat_byte(3),
                ..b.clone()
            }
            .is_valid(&d)
        );
        assert!(
            !SignedBinding {
                nonce: 2,
                ..b.clone()
            }
            .is_valid(&d)
        );
        assert!(!b.is_valid(&domain(137, Address::repeat_byte(9))));
        assert!(
            !SignedBinding {
                signature: Bytes::from_static(b"x"),
                ..b
            }
            .is_valid(&d)
        );
    }
}
