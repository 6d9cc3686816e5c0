//! Gas of a settled batch (`Settlement.submitBatch`: signatures carrying
//! 2/3 of the stake checked, the root and CID recorded, the items
//! delivered) at batch sizes 0, 1, 10, 100 and 192 (the most a batch
//! holds) items, to one receiver and spread over many, and of a batch that
//! slashes one player's bond for a real equivocation's evidence, on a local
//! anvil deployed by `contracts/script/Deploy.s.sol`.
//!
//! `cargo bench -p cyteria-chain --bench gas`

use alloy::primitives::{Address, B256, U256};
use cyteria_chain::anvil::{CHAIN_ID, LocalChain};
use cyteria_chain::chain::{Chain, Submitted};
use cyteria_game::crafting::starter_loadout;
use cyteria_settlement::batch::{self, Batch, Mint, Slash};
use cyteria_settlement::evidence::{Conflict, Equivocation, Signed};
use cyteria_settlement::ids;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let stake = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18));
    let chain = LocalChain::start_with_validators(3, stake, 60).await?;
    let v = Chain::connect(&chain.endpoint(), chain.keys[1].clone(), chain.deployment).await?;
    let domain = batch::domain(CHAIN_ID, chain.deployment.settlement);
    let l = starter_loadout();
    let kinds = [l.weapon.unwrap(), l.armor.unwrap(), l.tool.unwrap()];
    // A real CIDv1 (raw, sha2-256) is 59 characters.
    let cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".to_string();
    let mut prev = B256::ZERO;
    println!("| items | receivers | gas per batch | gas per item | marginal gas per item |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    // The first epoch also pays for the contract's first writes: a warm-up, not printed.
    let mut empty = 0;
    let sizes = [
        (0usize, 0usize),
        (0, 0),
        (1, 1),
        (10, 1),
        (10, 10),
        (100, 1),
        (100, 10),
        (100, 100),
        (192, 1),
        (192, 192),
    ];
    for (epoch, (n, receivers)) in sizes.into_iter().enumerate() {
        let epoch = epoch as u64 + 1;
        let mut mints: Vec<Mint> = (0..receivers)
            .map(|r| Mint {
                to: Address::left_padding_from(&(0x1000 + r as u32).to_be_bytes()),
                ids: vec![],
                amounts: vec![],
            })
            .collect();
        for i in 0..n {
            let id = ids::encode(&kinds[i % 3], epoch, i as u16).expect("fits");
            let m = &mut mints[i % receivers];
            m.ids.push(id);
            m.amounts.push(U256::from(1));
        }
        let b = Batch {
            epoch,
            round: 0,
            prevRoot: prev,
            newRoot: B256::from(*blake3::hash(&epoch.to_le_bytes()).as_bytes()),
            dataCid: cid.clone(),
            // A real directory CID's length: its storage is part of the cost.
            metadataCid: if n == 0 { String::new() } else { cid.clone() },
            mintsHash: batch::mints_hash(&mints),
            slashesHash: batch::slashes_hash(&[]),
        };
        let sigs = batch::ordered(
            (1..=2)
                .map(|i| batch::sign(&chain.keys[i], &b, &domain))
                .collect::<Result<_, _>>()?,
        );
        let Submitted::Settled { gas_used, .. } = v.submit_batch(&b, &mints, &[], sigs).await?
        else {
            anyhow::bail!("not settled")
        };
        if epoch == 1 {
            prev = b.newRoot;
            continue;
        }
        if n == 0 {
            empty = gas_used;
        }
        let (per_item, marginal) = match n {
            0 => ("—".to_string(), "—".to_string()),
            n => (
                format!("{}", gas_used / n as u64),
                format!("{}", (gas_used - empty) / n as u64),
            ),
        };
        println!("| {n} | {receivers} | {gas_used} | {per_item} | {marginal} |");
        prev = b.newRoot;
    }

    // A batch that mints nothing and slashes one bonded player for a real
    // two-seat match's evidence (the two checkpoints and the header).
    let player = Chain::connect(&chain.endpoint(), chain.keys[4].clone(), chain.deployment).await?;
    player.bond(player.min_bond().await?).await?;
    let slashes = vec![Slash {
        player: chain.keys[4].address(),
        evidence: evidence().encode().into(),
    }];
    let epoch = sizes.len() as u64 + 1;
    let b = Batch {
        epoch,
        round: 0,
        prevRoot: prev,
        newRoot: B256::repeat_byte(epoch as u8),
        dataCid: cid.clone(),
        metadataCid: String::new(),
        mintsHash: batch::mints_hash(&[]),
        slashesHash: batch::slashes_hash(&slashes),
    };
    let sigs = batch::ordered(
        (1..=2)
            .map(|i| batch::sign(&chain.keys[i], &b, &domain))
            .collect::<Result<_, _>>()?,
    );
    let Submitted::Settled { gas_used, .. } = v.submit_batch(&b, &[], &slashes, sigs).await? else {
        anyhow::bail!("not settled")
    };
    println!();
    println!(
        "one slash ({} bytes of evidence): {gas_used} gas per batch, {} over an empty batch",
        slashes[0].evidence.len(),
        gas_used - empty
    );
    Ok(())
}

/// Seat 1 of a two-seat match signs two chains for frame 120.
fn evidence() -> Equivocation {
    use cyteria_game::Rules;
    use cyteria_game::transcript::{MatchHeader, PlayerSlot, Signature, checkpoint_message};
    use ed25519_dalek::{Signer as _, SigningKey};
    let keys = [
        SigningKey::from_bytes(&[1; 32]),
        SigningKey::from_bytes(&[2; 32]),
    ];
    let seats = keys
        .iter()
        .map(|k| PlayerSlot::starter(k.verifying_key().to_bytes()))
        .collect();
    let header = MatchHeader::from_beacon([3; 32], Default::default(), Rules::default(), seats);
    let digest = header.digest();
    let signed = |chain: [u8; 32]| Signed {
        chain,
        signature: Signature(
            keys[1]
                .sign(&checkpoint_message(&digest, 1, 120, &chain))
                .to_bytes(),
        ),
    };
    Equivocation {
        header,
        seat: 1,
        conflict: Conflict::Checkpoints {
            frame: 120,
            first: signed([1; 32]),
            second: signed([2; 32]),
        },
    }
}
