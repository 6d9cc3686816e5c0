//! Epochs and leaders: the validators take turns proposing. The leader of
//! an epoch's round `r` is the validator at `(epoch + r) mod n` of the set
//! the chain holds (sorted by address); a new round begins each time the
//! round timeout passes without a settlement, so a leader that is offline
//! costs one timeout, not the epoch.

use std::time::Duration;

use alloy::primitives::Address;

/// The leader of `epoch`'s round `round` among `validators` (any order).
pub fn leader(validators: &[Address], epoch: u64, round: u64) -> Option<Address> {
    let mut v = validators.to_vec();
    v.sort();
    v.dedup();
    if v.is_empty() {
        return None;
    }
    let i = (epoch.wrapping_add(round) % v.len() as u64) as usize;
    Some(v[i])
}

/// The round `elapsed` into an epoch, with rounds of `timeout`.
pub fn round(elapsed: Duration, timeout: Duration) -> u64 {
    if timeout.is_zero() {
        return 0;
    }
    (elapsed.as_millis() / timeout.as_millis()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leadership_rotates_over_the_sorted_set_and_moves_on_with_rounds() {
        let v = [
            Address::repeat_byte(3),
            Address::repeat_byte(1),
            Address::repeat_byte(2),
        ];
        let l: Vec<Address> = (1..=4).map(|e| leader(&v, e, 0).unwrap()).collect();
        assert_eq!(
            l,
            vec![
                Address::repeat_byte(2),
                Address::repeat_byte(3),
                Address::repeat_byte(1),
                Address::repeat_byte(2)
            ]
        );
        assert_eq!(leader(&v, 1, 1), leader(&v, 2, 0));
        assert_eq!(leader(&[], 1, 0), None);
        assert_eq!(
            round(Duration::from_millis(2500), Duration::from_secs(1)),
            2
        );
        assert_eq!(round(Duration::from_secs(5), Duration::ZERO), 0);
    }
}
