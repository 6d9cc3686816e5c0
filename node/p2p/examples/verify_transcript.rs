//! Verifies a transcript file as a validator does: decodes it (bounded),
//! checks every seat's signed input chain, re-simulates the match and
//! prints the outcome it derives (never what a client claims).
//!
//! `cargo run -p cyteria-node --example verify_transcript -- match.cyt`
//! (`two_nodes_play --save match.cyt` writes one)

use std::process::ExitCode;

use cyteria_node::verifier::verify_transcript;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: verify_transcript FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("reading {path}: {e}");
            return ExitCode::from(2);
        }
    };
    match verify_transcript(&bytes) {
        Ok(v) => {
            let o = &v.outcome;
            println!(
                "valid: match {}, {} seats, {} frames, {} waves cleared, checksum {}",
                blake3::Hash::from_bytes(v.transcript.header.match_id).to_hex(),
                v.transcript.header.players.len(),
                o.frames,
                o.waves_cleared,
                o.final_checksum.to_hex()
            );
            for (seat, p) in o.players.iter().enumerate() {
                println!(
                    "  seat {seat}: {} xp, {} kills, {} item(s)",
                    p.xp,
                    p.kills,
                    p.items.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("refused ({}): {e}", e.label());
            ExitCode::FAILURE
        }
    }
}
