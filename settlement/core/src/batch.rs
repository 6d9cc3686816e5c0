//! The batch validators agree on and sign (EIP-712 over the Settlement
//! contract's domain), the hash of its mints, and signature ordering and
//! quorum as the contract checks them.

use alloy::primitives::{Address, B256, Bytes, keccak256};
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

/// Whether `signers` of `validators` is the contract's ≥ 2/3 quorum.
pub fn is_quorum(signers: usize, validators: usize) -> bool {
    validators > 0 && signers * 3 >= validators * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        Batch {
            epoch: 1,
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
        assert!(
            is_quorum(2, 3)
                && !is_quorum(1, 3)
                && is_quorum(3, 4)
                && !is_quorum(2, 4)
                && !is_quorum(0, 0)
        );
    }
}
