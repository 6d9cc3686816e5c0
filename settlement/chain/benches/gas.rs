//! Gas of a settled batch (`Settlement.submitBatch`: 2-of-3 signatures
//! checked, the root and CID recorded, the items minted) at batch sizes 0,
//! 1, 10 and 100 items, to one receiver and spread over ten, on a local
//! anvil with the contracts deployed from Rust.
//!
//! `cargo bench -p cyteria-settlement --bench gas`

use alloy::primitives::{Address, B256, U256};
use cyteria_chain::anvil::{CHAIN_ID, LocalChain};
use cyteria_chain::chain::{Chain, Submitted};
use cyteria_game::crafting::starter_loadout;
use cyteria_settlement::batch::{self, Batch, Mint};
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
    ];
    for (epoch, (n, receivers)) in sizes.into_iter().enumerate() {
        let epoch = epoch as u64 + 1;
        let mut mints: Vec<Mint> = (0..receivers)
            .map(|r| Mint {
                to: Address::repeat_byte(0x10 + r as u8),
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
            prevRoot: prev,
            newRoot: B256::from(*blake3::hash(&epoch.to_le_bytes()).as_bytes()),
            dataCid: cid.clone(),
            // A real directory CID's length: its storage is part of the cost.
            metadataCid: if n == 0 { String::new() } else { cid.clone() },
            mintsHash: batch::mints_hash(&mints),
        };
        let sigs = batch::ordered(
            (1..=2)
                .map(|i| batch::sign(&chain.keys[i], &b, &domain))
                .collect::<Result<_, _>>()?,
        );
        let Submitted::Settled { gas_used, .. } = v.submit_batch(&b, &mints, sigs).await? else {
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
    Ok(())
}
