//! A batch from start to finish, without a network or a chain: two bot
//! players' match is simulated and re-simulated, their game keys are bound
//! to wallets, the leader builds the epoch's batch, a follower applies the
//! same data to its own ledger and arrives at the same root and mints, and
//! the validator's EIP-712 attestation is signed and recovered.
//!
//! `cargo run -p cyteria-settlement --example build_batch`

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use cyteria_game::transcript::{Beacon, MatchHeader};
use cyteria_game::{Game, Rules, bot, scenario, verify};
use cyteria_settlement::ledger::{Bonded, Ledger};
use cyteria_settlement::proposal::{self, Context, TranscriptRef};
use cyteria_settlement::provenance::{ChainTime, Reference, Settled};
use cyteria_settlement::{batch, binding};
use ed25519_dalek::{Signer as _, SigningKey};

const CHAIN_ID: u64 = 80002;

fn main() -> anyhow::Result<()> {
    // A match, played by the core's bot (a validator would re-simulate a
    // fetched transcript instead; the outcome is the same function).
    let mut header = scenario::header(7, 2, Rules::default());
    // Each seat's game key (a node's identity key; here two fixed ones).
    let keys: Vec<SigningKey> = (1..=2u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    for (slot, key) in header.players.iter_mut().zip(&keys) {
        slot.public_key = key.verifying_key().to_bytes();
    }
    // Agreed from the deployment's beacon (epoch 0, the zero root): the
    // seed is drawn from it.
    let header = MatchHeader::from_beacon(
        header.match_id,
        Beacon::default(),
        header.rules,
        header.players,
    );
    let mut game = Game::from_header(&header);
    let mut inputs = vec![Vec::new(); 2];
    while !game.is_over() {
        let tick = bot::inputs(&game.arena, &game.state);
        for (seat, i) in inputs.iter_mut().zip(&tick) {
            seat.push(*i);
        }
        game.step(&tick);
    }
    let outcome = verify(&header, &inputs)?;
    println!(
        "match: {} frames, {} waves cleared, {} item drop(s)",
        outcome.frames,
        outcome.waves_cleared,
        outcome.players.iter().map(|p| p.items.len()).sum::<usize>()
    );

    // The deployment's domains and each seat's wallet binding.
    let settlement = Address::repeat_byte(0x5e);
    let binding_domain = binding::domain(CHAIN_ID, settlement);
    let batch_domain = batch::domain(CHAIN_ID, settlement);
    let bindings = header
        .players
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (seat, key))| {
            // Both keys sign: the wallet and the seat's game key.
            let wallet = PrivateKeySigner::from_bytes(&B256::repeat_byte(i as u8 + 1))?;
            let sign = |m: &[u8]| key.sign(m).to_bytes();
            Ok(binding::bind(
                &wallet,
                seat.public_key,
                sign,
                1,
                &binding_domain,
            )?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    // the transcript's content id; any CID string names it here
    let cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".to_string();
    let verified = BTreeMap::from([(cid.clone(), (header.clone(), outcome))]);
    // What the validators read from the chain: the deployment (epoch 0),
    // a first, empty epoch five minutes later, and the head block the
    // batch for epoch 2 is judged at; the match fits at 60 ticks/s.
    let at = |epoch: u64, root: [u8; 32], at: u64| {
        (
            epoch,
            Settled {
                root,
                at,
                block: epoch,
            },
        )
    };
    let time = ChainTime {
        deployment: Default::default(),
        epochs: BTreeMap::from([at(0, [0; 32], 1_700_000_000), at(1, [0; 32], 1_700_000_300)]),
        tick_rate: 60,
        head: Reference {
            block: 160,
            time: 1_700_000_320,
        },
    };
    // Every seat's wallet holds a player bond at that block (validators
    // read `PlayerBond.bondedAmong` there), so their drops mint.
    let bonded: Bonded = bindings.iter().map(|b| b.wallet).collect();
    let cx = Context {
        chain_id: CHAIN_ID,
        binding_domain: &binding_domain,
        verified: &verified,
        chain: &time,
        bonded: &bonded,
        held: &Default::default(),
    };
    let transcripts = vec![TranscriptRef {
        match_id: header.match_id,
        cid,
    }];

    // The leader builds; a follower applies the same data to its own ledger.
    let genesis = Ledger::default();
    let candidates = proposal::Candidates {
        bindings,
        transcripts,
        ..Default::default()
    };
    let (data, built, left_out) = proposal::build(&genesis, 2, candidates, &cx);
    let applied = proposal::apply(&genesis, &data, &cx)?;
    anyhow::ensure!(left_out.is_empty(), "left out: {left_out:?}");
    anyhow::ensure!(
        applied.ledger.root() == built.ledger.root() && applied.mints == built.mints,
        "leader and follower disagree"
    );
    let b = built.batch(&data, 0, "bafy...data", "");
    println!(
        "batch for epoch {}: root {}, {} item(s) to {} receiver(s), data {} bytes",
        b.epoch,
        b.newRoot,
        built.items.len(),
        built.mints.len(),
        data.encode().len()
    );
    for item in &built.items {
        println!("  {:#x} to {}: {:?}", item.id, item.to, item.stats);
    }

    // What a validator signs, and what the Settlement contract recovers.
    let validator = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x77))?;
    let att = batch::sign(&validator, &b, &batch_domain)?;
    println!(
        "attestation by {} over {}",
        att.signer,
        batch::digest(&b, &batch_domain)
    );
    Ok(())
}
