//! Signed actions: what a player asks of the ledger outside a match (craft,
//! repair). Each is signed with the player's ed25519 game key over a
//! domain-separated message that names the chain, the deployment (its
//! Settlement contract) and the player's nonce, so it cannot be replayed on
//! another chain, against another deployment on the same chain, by another
//! key, or twice.

use cyteria_game::codec::{DecodeError, Format};
use cyteria_game::crafting::RecipeId;
use cyteria_game::item::ItemStats;
use cyteria_game::transcript::Signature;
use ed25519_dalek::{Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Domain tag of an action signature.
pub const ACTION_TAG: &[u8] = b"cyteria action v2\0";

/// The action encoding (as gossiped and as stored in batch data).
pub const ACTION: Format = Format {
    name: "signed action",
    magic: *b"CYAC",
    version: 3,
    max_bytes: 1024,
};

/// What a player asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Craft recipe `recipe` from the player's materials in the ledger.
    Craft {
        /// The recipe's index in `RECIPES`.
        recipe: RecipeId,
    },
    /// Repair `item` (its stats as minted) back to its rarity's maximum,
    /// paying repair material for the wear the ledger recorded.
    Repair {
        /// The item, by its stats as minted.
        item: ItemStats,
    },
    /// Repair the owned item `id` (a minted token) to the durability its id
    /// encodes, paying one unit of its repair material per 25 points of the
    /// wear the ledger recorded for it. The wear is the item's, whoever
    /// holds it: anyone may pay to repair any item (a gift, never a loss).
    RepairItem {
        /// The item's token id, big-endian.
        id: [u8; 32],
    },
}

impl Action {
    /// The action's short name ("craft" or "repair"), as refusal messages name it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Craft { .. } => "craft",
            Action::Repair { .. } | Action::RepairItem { .. } => "repair",
        }
    }
}

/// An action with its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAction {
    /// The player's ed25519 public key.
    pub player: [u8; 32],
    /// The player's next action nonce in the ledger (0, 1, 2, …).
    pub nonce: u64,
    /// The chain the action is for; a ledger on any other chain refuses it.
    pub chain_id: u64,
    /// The deployment it is for (its Settlement contract's address); the
    /// validators of any other deployment refuse it.
    pub settlement: [u8; 20],
    /// What the player asks for.
    pub action: Action,
    /// The player's ed25519 signature over the bytes `message` gives.
    pub signature: Signature,
}

/// The exact bytes an action signature covers.
pub fn message(
    player: &[u8; 32],
    nonce: u64,
    chain_id: u64,
    settlement: &[u8; 20],
    action: &Action,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(116);
    m.extend_from_slice(ACTION_TAG);
    m.extend_from_slice(&chain_id.to_le_bytes());
    m.extend_from_slice(settlement);
    m.extend_from_slice(player);
    m.extend_from_slice(&nonce.to_le_bytes());
    // Plain enums of fixed-width fields: this cannot fail.
    m.extend_from_slice(&postcard::to_allocvec(action).expect("postcard encoding of an action"));
    m
}

impl SignedAction {
    /// Signs `action` with `sign` (the player's ed25519 signing function).
    pub fn new(
        player: [u8; 32],
        nonce: u64,
        (chain_id, settlement): (u64, [u8; 20]),
        action: Action,
        sign: impl FnOnce(&[u8]) -> [u8; 64],
    ) -> Self {
        let signature = Signature(sign(&message(
            &player,
            nonce,
            chain_id,
            &settlement,
            &action,
        )));
        Self {
            player,
            nonce,
            chain_id,
            settlement,
            action,
            signature,
        }
    }

    /// The exact bytes this action's signature covers.
    pub fn message(&self) -> Vec<u8> {
        message(
            &self.player,
            self.nonce,
            self.chain_id,
            &self.settlement,
            &self.action,
        )
    }

    /// Whether the player's key signed this action (strict ed25519).
    pub fn is_signed(&self) -> bool {
        let Ok(vk) = VerifyingKey::from_bytes(&self.player) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&self.signature.0);
        vk.verify_strict(&self.message(), &sig).is_ok() && vk.verify(&self.message(), &sig).is_ok()
    }

    /// The action's identity: the hash of its encoding. It also seeds its rolls.
    pub fn id(&self) -> [u8; 32] {
        *blake3::keyed_hash(
            &blake3::derive_key("cyteria action id v1", b""),
            &self.encode(),
        )
        .as_bytes()
    }

    /// The action, signature included, in the `ACTION` encoding.
    pub fn encode(&self) -> Vec<u8> {
        ACTION.encode(self)
    }

    /// Decodes the `ACTION` encoding, refusing a repair of an item with undefined trait bits;
    /// the signature is not checked here.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let a: SignedAction = ACTION.decode(bytes)?;
        if let Action::Repair { item } = &a.action
            && !item.traits.is_canonical()
        {
            return Err(ACTION.invalid("an item with undefined trait bits"));
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn a_signature_binds_key_nonce_chain_and_action() {
        let k = key(1);
        let a = SignedAction::new(
            k.verifying_key().to_bytes(),
            3,
            (80002, [7; 20]),
            Action::Craft { recipe: 1 },
            |m| k.sign(m).to_bytes(),
        );
        assert!(a.is_signed());
        assert_eq!(SignedAction::decode(&a.encode()).unwrap(), a);
        for changed in [
            SignedAction {
                nonce: 4,
                ..a.clone()
            },
            SignedAction {
                chain_id: 137,
                ..a.clone()
            },
            SignedAction {
                settlement: [8; 20],
                ..a.clone()
            },
            SignedAction {
                action: Action::Craft { recipe: 2 },
                ..a.clone()
            },
            SignedAction {
                player: key(2).verifying_key().to_bytes(),
                ..a.clone()
            },
            SignedAction {
                player: [0xff; 32],
                ..a.clone()
            },
        ] {
            assert!(!changed.is_signed(), "{changed:?}");
        }
        assert_ne!(
            a.id(),
            SignedAction {
                nonce: 4,
                ..a.clone()
            }
            .id()
        );
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(SignedAction::decode(b"CYAC\x01\xff\xff").is_err());
        assert!(SignedAction::decode(&[0u8; 2000]).is_err());
    }
}
