//! The batch validators agree on and sign (EIP-712 over the Settlement
//! contract's domain), the hash of its mints, and signature ordering and
//! the stake-weighted quorum as the contract checks them.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Eip712Domain, SolStruct, SolValue, eip712_domain};

/// The Settlement contract's own types, generated from its ABI (types only:
/// this crate never talks to a chain).
mod abi {
    #![allow(missing_docs)]
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        Settlement,
        "../../contracts/artifacts/Settlement.json"
    );
}

pub use abi::Settlement::{Batch, Mint, Slash};

/// The Settlement contract's EIP-712 domain on one chain.
pub fn domain(chain_id: u64, settlement: Address) -> Eip712Domain {
    eip712_domain! {
        name: "CyteriaSettlement",
        version: "1",
        chain_id: chain_id,
        verifying_contract: settlement,
    }
}

/// `keccak256(abi.encode(mints))`, as `Settlement.hashMints`.
pub fn mints_hash(mints: &[Mint]) -> B256 {
    keccak256(mints.to_vec().abi_encode())
}

/// `keccak256(abi.encode(slashes))`, as `Settlement.hashSlashes`.
pub fn slashes_hash(slashes: &[Slash]) -> B256 {
    keccak256(slashes.to_vec().abi_encode())
}

/// What a validator signs for a batch.
pub fn digest(batch: &Batch, domain: &Eip712Domain) -> B256 {
    batch.eip712_signing_hash(domain)
}

/// A validator's signature over a batch (65 bytes, r ‖ s ‖ v with v = 27/28).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The validator's address, by which `ordered` sorts signatures.
    pub signer: Address,
    /// Its signature over the batch's EIP-712 digest.
    pub signature: Bytes,
}

/// Attests `batch`: `signer`'s signature over its EIP-712 digest in `domain`.
pub fn sign(
    signer: &PrivateKeySigner,
    batch: &Batch,
    domain: &Eip712Domain,
) -> Result<Attestation, alloy::signers::Error> {
    let sig = signer.sign_hash_sync(&digest(batch, domain))?;
    Ok(Attestation {
        signer: signer.address(),
        signature: Bytes::from(sig.as_bytes().to_vec()),
    })
}

/// The address that signed `signature` over `batch`, if it parses.
pub fn recover(batch: &Batch, domain: &Eip712Domain, signature: &[u8]) -> Option<Address> {
    let sig = alloy::primitives::Signature::try_from(signature).ok()?;
    sig.recover_address_from_prehash(&digest(batch, domain))
        .ok()
}

/// Signatures in the order the contract wants: by signer address, each signer once.
pub fn ordered(mut atts: Vec<Attestation>) -> Vec<Bytes> {
    atts.sort_by_key(|a| a.signer);
    atts.dedup_by_key(|a| a.signer);
    atts.into_iter().map(|a| a.signature).collect()
}

/// The validator set the chain fixed for one epoch (`Staking.validatorSet`):
/// each member's weight (its stake) and the set's total weight. A batch
/// settles with signatures carrying at least 2/3 of the total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidatorSet {
    /// The members with weight in the epoch.
    pub weights: BTreeMap<Address, U256>,
    /// The epoch's total weight (members that left since still count in it).
    pub total: U256,
}

impl ValidatorSet {
    /// A set from the contract's answer: members, their weights, the total.
    pub fn new(members: Vec<Address>, weights: Vec<U256>, total: U256) -> ValidatorSet {
        let weights = members
            .into_iter()
            .zip(weights)
            .filter(|(_, w)| !w.is_zero())
            .collect();
        ValidatorSet { weights, total }
    }

    /// Equal weights, one each (tests and examples).
    pub fn equal(members: impl IntoIterator<Item = Address>) -> ValidatorSet {
        let weights: BTreeMap<Address, U256> =
            members.into_iter().map(|a| (a, U256::from(1))).collect();
        let total = U256::from(weights.len());
        ValidatorSet { weights, total }
    }

    /// The members with weight, by address (the order leaders rotate in).
    pub fn members(&self) -> Vec<Address> {
        self.weights.keys().copied().collect()
    }

    /// Whether `a` weighs in the epoch.
    pub fn contains(&self, a: &Address) -> bool {
        self.weights.contains_key(a)
    }

    /// Whether the distinct `signers` carry the contract's ≥ 2/3 of the total weight.
    pub fn is_quorum<'a>(&self, signers: impl IntoIterator<Item = &'a Address>) -> bool {
        let mut seen = std::collections::BTreeSet::new();
        let signed = signers
            .into_iter()
            .filter(|a| seen.insert(**a))
            .filter_map(|a| self.weights.get(a))
            .fold(U256::ZERO, |sum, w| sum.saturating_add(*w));
        is_quorum(signed, self.total)
    }
}

/// Whether `signed` weight of `total` is the contract's ≥ 2/3 quorum.
pub fn is_quorum(signed: U256, total: U256) -> bool {
    !total.is_zero() && signed.saturating_mul(U256::from(3)) >= total.saturating_mul(U256::from(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        Batch {
            epoch: 1,
            round: 0,
            prevRoot: B256::ZERO,
            newRoot: B256::repeat_byte(7),
            dataCid: "bafy".into(),
            metadataCid: String::new(),
            mintsHash: mints_hash(&[]),
            slashesHash: slashes_hash(&[]),
        }
    }

    #[test]
    fn signatures_recover_to_their_signer_and_bind_every_field() {
        let d = domain(80002, Address::repeat_byte(1));
        let s = PrivateKeySigner::random();
        let a = sign(&s, &batch(), &d).unwrap();
        assert_eq!(recover(&batch(), &d, &a.signature), Some(s.address()));
        let mut other = batch();
        other.dataCid = "bafz".into();
        assert_ne!(recover(&other, &d, &a.signature), Some(s.address()));
        let mut other = batch();
        other.metadataCid = "bafymeta".into();
        assert_ne!(recover(&other, &d, &a.signature), Some(s.address()));
        assert_ne!(
            recover(
                &batch(),
                &domain(137, Address::repeat_byte(1)),
                &a.signature
            ),
            Some(s.address())
        );
        assert_eq!(recover(&batch(), &d, b"short"), None);
    }

    #[test]
    fn order_and_quorum_follow_the_contract() {
        let d = domain(1, Address::ZERO);
        let signers: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
        let mut atts: Vec<Attestation> = signers
            .iter()
            .map(|s| sign(s, &batch(), &d).unwrap())
            .collect();
        atts.push(atts[0].clone());
        let sigs = ordered(atts);
        assert_eq!(sigs.len(), 3);
        let addrs: Vec<Address> = sigs
            .iter()
            .map(|s| recover(&batch(), &d, s).unwrap())
            .collect();
        assert!(addrs.windows(2).all(|w| w[0] < w[1]));
        let q = |s: u64, t: u64| is_quorum(U256::from(s), U256::from(t));
        assert!(q(2, 3) && !q(1, 3) && q(3, 4) && !q(2, 4) && !q(0, 0));
    }

    #[test]
    fn the_quorum_weighs_stake_not_heads() {
        let a = |n: u8| Address::repeat_byte(n);
        let ether = U256::from(10u64).pow(U256::from(18));
        // Three honest validators of 200 and six sybils of 100: the sybils
        // are two thirds of the heads, half of the stake.
        let mut members = vec![a(1), a(2), a(3)];
        let mut weights = vec![U256::from(200) * ether; 3];
        for i in 0..6 {
            members.push(a(10 + i));
            weights.push(U256::from(100) * ether);
        }
        let total = U256::from(1200) * ether;
        let set = ValidatorSet::new(members, weights, total);
        let sybils: Vec<Address> = (0..6).map(|i| a(10 + i)).collect();
        assert!(!set.is_quorum(&sybils), "six heads of nine, half the stake");
        let honest_and_two: Vec<Address> = [a(1), a(2), a(3), a(10), a(11)].into();
        assert!(set.is_quorum(&honest_and_two), "800 of 1200");
        // A signer counted twice counts once; one outside the set, not at all.
        assert!(!set.is_quorum(&[a(1), a(1), a(2), a(2), a(3), a(99)]));
        assert_eq!(set.members().len(), 9);
    }
}
