//! Decoding a transcript costs memory in proportion to its bytes: the
//! nested sequences postcard reads their lengths for are bounded before
//! they are allocated. Measured with a counting allocator, so this test is
//! a binary of its own (one test: the allocator's peak is the process's).

use cyteria_game::{Rules, Transcript, scenario};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A transcript's bytes whose `inputs` (or `ends`) field is `count`
/// elements of `element` each (the rest of the fields empty).
fn hostile(count: usize, element: &[u8], field: &str) -> Vec<u8> {
    let header = scenario::header(
        5,
        2,
        Rules {
            waves: 1,
            time_limit: 900,
        },
    );
    let empty = Transcript {
        header: header.clone(),
        inputs: vec![],
        checkpoints: vec![],
        ends: vec![],
        final_checksum: cyteria_game::state::Checksum([0; 32]),
    };
    let valid = empty.encode();
    let head = 5 + postcard::to_allocvec(&header).unwrap().len();
    // after the header: inputs (0), checkpoints (0), checksum, ends (0)
    let mut out = valid[..head].to_vec();
    let tail = &valid[head..];
    let mut many = Vec::new();
    varint(count, &mut many);
    for _ in 0..count {
        many.extend_from_slice(element);
    }
    match field {
        "inputs" => {
            out.extend_from_slice(&many);
            out.extend_from_slice(&tail[1..]);
        }
        "ends" => {
            out.extend_from_slice(&tail[..tail.len() - 1]);
            out.extend_from_slice(&many);
        }
        _ => unreachable!(),
    }
    out
}

/// The most memory decoding `bytes` held at once, over what was held before.
fn peak(bytes: &[u8]) -> usize {
    let before = ALLOC.allocated();
    let r = Transcript::decode(bytes);
    assert!(r.is_err(), "hostile bytes do not decode");
    ALLOC.max_allocated().saturating_sub(before)
}

#[test]
fn four_mib_of_nested_sequences_cost_a_small_multiple_of_four_mib() {
    // Nothing else in this process has used much memory yet.
    assert!(
        ALLOC.max_allocated() < 16 << 20,
        "{}",
        ALLOC.max_allocated()
    );
    let cases = [
        // four million empty input streams: 96 MiB as Vec<Vec<Input>>
        ("empty inner vectors", hostile(4_000_000, &[0], "inputs")),
        // four million missing end signatures: 260 MiB as Vec<Option<Signature>>
        ("missing end signatures", hostile(4_000_000, &[0], "ends")),
    ];
    for (what, bytes) in &cases {
        assert!(bytes.len() <= 4 << 20, "{what}: {} bytes", bytes.len());
        let p = peak(bytes);
        eprintln!(
            "{what}: {} bytes of input, {p} bytes at the peak",
            bytes.len()
        );
        assert!(
            p <= 4 * bytes.len(),
            "{what}: decoding {} bytes held {p} bytes",
            bytes.len()
        );
    }
}
