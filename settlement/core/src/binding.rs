//! Wallet binding: a player's Ethereum address signs an EIP-712 message
//! naming its ed25519 game key, and the game key signs the same digest, so
//! validators know where that key's items go and that both keys' holders
//! agreed. (A binding the wallet alone signed let anyone bind a victim's
//! game key, which every lobby offer shows, to their own wallet.) The
//! binding is off chain; its domain names the chain and the Settlement
//! contract, so it cannot be replayed into another deployment.

use alloy::primitives::{Address, B256, Bytes};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::{Eip712Domain, SolStruct, eip712_domain};
use ed25519_dalek::{Signature, VerifyingKey};
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
    /// A later binding (higher nonce) replaces an earlier one; see
    /// [`MAX_NONCE_STEP`].
    pub nonce: u64,
    /// The wallet's 65-byte signature over the binding's EIP-712 hash.
    pub signature: Bytes,
    /// The game key's 64-byte ed25519 signature over [`key_message`] of the
    /// same hash.
    pub key_signature: Bytes,
}

/// How far one binding's nonce may run ahead of the binding in force (or of
/// zero, for a key's first): any nonce a clock gives (seconds since 1970)
/// fits, and no binding can take a key's nonce to `u64::MAX`, where no later
/// binding would be possible (it would take four billion bindings).
pub const MAX_NONCE_STEP: u64 = 1 << 32;

/// What the game key signs: the binding's EIP-712 hash under a context of
/// its own, so the signature can never pass for an input, a checkpoint or
/// an action the same key signs.
pub fn key_message(eip712_hash: &B256) -> Vec<u8> {
    [&b"cyteria wallet binding v1"[..], eip712_hash.as_slice()].concat()
}

/// Signs, as `wallet` and as the game key (`sign_key` signs with it), the
/// binding of `game_key` to the wallet's address with `nonce` in `domain`.
pub fn bind(
    wallet: &PrivateKeySigner,
    game_key: [u8; 32],
    sign_key: impl FnOnce(&[u8]) -> [u8; 64],
    nonce: u64,
    domain: &Eip712Domain,
) -> Result<SignedBinding, alloy::signers::Error> {
    let msg = WalletBinding {
        gameKey: B256::from(game_key),
        wallet: wallet.address(),
        nonce,
    };
    let hash = msg.eip712_signing_hash(domain);
    let sig = wallet.sign_hash_sync(&hash)?;
    Ok(SignedBinding {
        game_key,
        wallet: wallet.address(),
        nonce,
        signature: Bytes::from(sig.as_bytes().to_vec()),
        key_signature: Bytes::from(sign_key(&key_message(&hash)).to_vec()),
    })
}

/// Why a binding's signatures do not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// The wallet's signature is not the named wallet's, in this domain.
    #[error("the wallet's signature does not verify")]
    Wallet,
    /// The game key's signature is missing or does not verify.
    #[error("the game key's signature does not verify")]
    GameKey,
}

impl SignedBinding {
    /// The EIP-712 hash both keys sign, in `domain`.
    pub fn signing_hash(&self, domain: &Eip712Domain) -> B256 {
        WalletBinding {
            gameKey: B256::from(self.game_key),
            wallet: self.wallet,
            nonce: self.nonce,
        }
        .eip712_signing_hash(domain)
    }

    /// Checks that the named wallet and the game key both signed this
    /// binding in `domain`.
    pub fn verify(&self, domain: &Eip712Domain) -> Result<(), BindingError> {
        let hash = self.signing_hash(domain);
        let wallet_signed = alloy::primitives::Signature::try_from(self.signature.as_ref())
            .ok()
            .and_then(|sig| sig.recover_address_from_prehash(&hash).ok())
            .is_some_and(|a| a == self.wallet);
        if !wallet_signed {
            return Err(BindingError::Wallet);
        }
        let key = VerifyingKey::from_bytes(&self.game_key).map_err(|_| BindingError::GameKey)?;
        let sig = Signature::from_slice(self.key_signature.as_ref())
            .map_err(|_| BindingError::GameKey)?;
        key.verify_strict(&key_message(&hash), &sig)
            .map_err(|_| BindingError::GameKey)
    }

    /// Whether both keys really signed this binding in `domain`.
    pub fn is_valid(&self, domain: &Eip712Domain) -> bool {
        self.verify(domain).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use ed25519_dalek::{Signer as _, SigningKey};

    #[test]
    fn a_binding_holds_only_for_its_key_wallet_and_deployment() {
        let w = PrivateKeySigner::random();
        let key = SigningKey::from_bytes(&[5; 32]);
        let pk = key.verifying_key().to_bytes();
        let d = domain(80002, Address::repeat_byte(9));
        let b = bind(&w, pk, |m| key.sign(m).to_bytes(), 1, &d).unwrap();
        assert!(b.is_valid(&d));
        assert!(
            !SignedBinding {
                game_key: SigningKey::from_bytes(&[6; 32]).verifying_key().to_bytes(),
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
                ..b.clone()
            }
            .is_valid(&d)
        );
    }

    #[test]
    fn a_wallet_alone_cannot_bind_someone_elses_game_key() {
        let d = domain(80002, Address::repeat_byte(9));
        let victim = SigningKey::from_bytes(&[7; 32]);
        let thief = PrivateKeySigner::random();
        let own = SigningKey::from_bytes(&[8; 32]);
        // The thief signs with its own wallet, and with a key it holds in
        // place of the victim's, or with nothing at all.
        let forged = bind(
            &thief,
            victim.verifying_key().to_bytes(),
            |m| own.sign(m).to_bytes(),
            1,
            &d,
        )
        .unwrap();
        assert_eq!(forged.verify(&d), Err(BindingError::GameKey));
        let unsigned = SignedBinding {
            key_signature: Bytes::new(),
            ..forged.clone()
        };
        assert_eq!(unsigned.verify(&d), Err(BindingError::GameKey));
        // The key's signature of another deployment's digest does not carry over.
        let other = domain(137, Address::repeat_byte(9));
        let elsewhere = bind(
            &thief,
            victim.verifying_key().to_bytes(),
            |m| victim.sign(m).to_bytes(),
            1,
            &other,
        )
        .unwrap();
        assert!(elsewhere.is_valid(&other));
        assert!(!elsewhere.is_valid(&d));
    }
}
