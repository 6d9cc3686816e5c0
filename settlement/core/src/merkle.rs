//! The ledger's state root: a blake3 Merkle tree over sorted (key, value)
//! leaves. Leaves and inner nodes are domain-separated, an odd node is
//! promoted unchanged, and the empty tree has a fixed root.

/// Root of the tree over `leaves`, which must be sorted by key and unique.
pub fn root<'a>(leaves: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = leaves.into_iter().map(|(k, v)| leaf(k, v)).collect();
    if level.is_empty() {
        return blake3::derive_key("cyteria ledger empty v1", b"");
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| {
                if c.len() == 2 {
                    node(&c[0], &c[1])
                } else {
                    c[0]
                }
            })
            .collect();
    }
    level[0]
}

/// The domain-separated hash of one (key, value) leaf, as `proof` and `verify` take it.
pub fn leaf(key: &[u8], value: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("cyteria ledger leaf v1");
    h.update(&(key.len() as u32).to_le_bytes());
    h.update(key);
    h.update(value);
    *h.finalize().as_bytes()
}

fn node(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("cyteria ledger node v1");
    h.update(a);
    h.update(b);
    *h.finalize().as_bytes()
}

/// The sibling path of leaf `index` (bottom up; `None` where the node was promoted).
pub fn proof(leaves: &[[u8; 32]], mut index: usize) -> Vec<Option<[u8; 32]>> {
    let mut level = leaves.to_vec();
    let mut path = vec![];
    while level.len() > 1 {
        let sib = index ^ 1;
        path.push(level.get(sib).copied());
        level = level
            .chunks(2)
            .map(|c| {
                if c.len() == 2 {
                    node(&c[0], &c[1])
                } else {
                    c[0]
                }
            })
            .collect();
        index /= 2;
    }
    path
}

/// Checks a proof from [`proof`] against a root.
pub fn verify(
    root: &[u8; 32],
    leaf_hash: [u8; 32],
    mut index: usize,
    path: &[Option<[u8; 32]>],
) -> bool {
    let mut h = leaf_hash;
    for sib in path {
        if let Some(s) = sib {
            h = if index.is_multiple_of(2) {
                node(&h, s)
            } else {
                node(s, &h)
            };
        }
        index /= 2;
    }
    &h == root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_changes_with_any_leaf_and_proofs_verify() {
        let kv: Vec<(Vec<u8>, Vec<u8>)> = (0..7u8).map(|i| (vec![i], vec![i * 3])).collect();
        let r = root(kv.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        let mut changed = kv.clone();
        changed[5].1[0] ^= 1;
        assert_ne!(
            r,
            root(changed.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
        );
        let leaves: Vec<[u8; 32]> = kv.iter().map(|(k, v)| leaf(k, v)).collect();
        for i in 0..leaves.len() {
            let p = proof(&leaves, i);
            assert!(verify(&r, leaves[i], i, &p));
            assert!(!verify(&r, leaves[(i + 1) % 7], i, &p));
        }
        assert_ne!(root(std::iter::empty()), root([(&b"a"[..], &b""[..])]));
    }
}
