//! Property tests of the core's invariants.

use cyteria_game::crafting::{self, RECIPES};
use cyteria_game::item::ItemType;
use cyteria_game::{Game, Input, Material, Materials, Rules, State, scenario};
use proptest::prelude::*;

fn inputs_strategy(players: usize, frames: usize) -> impl Strategy<Value = Vec<Vec<Input>>> {
    prop::collection::vec(
        prop::collection::vec(any::<u16>().prop_map(|b| Input(b & Input::MASK)), frames),
        players,
    )
}

fn play(seed: u64, inputs: &[Vec<Input>]) -> Game {
    let header = scenario::header(seed, inputs.len(), Rules::default());
    let mut game = Game::from_header(&header);
    for f in 0..inputs[0].len() {
        let tick: Vec<Input> = inputs.iter().map(|v| v[f]).collect();
        game.step(&tick);
    }
    game
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn health_and_durability_stay_in_bounds(seed in any::<u64>(), inputs in inputs_strategy(4, 600)) {
        let header = scenario::header(seed, 4, Rules::default());
        let mut game = Game::from_header(&header);
        for f in 0..600 {
            let tick: Vec<Input> = inputs.iter().map(|v| v[f]).collect();
            // Bots too, so that combat actually happens.
            let bots = cyteria_game::bot::inputs(&game.arena, &game.state);
            let tick: Vec<Input> = if f % 2 == 0 { tick } else { bots };
            game.step(&tick);
            let s = &game.state;
            prop_assert_eq!(s.validate(), Ok(()));
            for (p, slot) in s.players.iter().zip(&header.players) {
                prop_assert!(p.hp <= p.max_hp);
                for ty in ItemType::ALL {
                    let (now, start) = (p.equipment.slot(ty).unwrap(), slot.loadout.slot(ty).unwrap());
                    prop_assert!(now.durability <= start.durability);
                }
            }
            for e in &s.enemies {
                prop_assert!(e.hp > 0 && e.hp <= e.max_hp);
            }
        }
    }

    #[test]
    fn save_load_round_trips_with_the_same_checksum(seed in any::<u64>(), inputs in inputs_strategy(2, 300)) {
        let mut game = play(seed, &inputs);
        let saved = game.save();
        let sum = game.checksum();
        game.step(&[Input(Input::MELEE | Input::UP), Input(Input::SHOOT)]);
        game.load(&saved);
        prop_assert_eq!(&game.state, &saved);
        prop_assert_eq!(game.checksum(), sum);
    }

    #[test]
    fn snapshot_encoding_round_trips(seed in any::<u64>(), inputs in inputs_strategy(3, 400)) {
        let game = play(seed, &inputs);
        let bytes = game.state.encode();
        let back = State::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &game.state);
        prop_assert_eq!(back.encode(), bytes);
    }

    #[test]
    fn crafting_conserves_materials(
        counts in prop::array::uniform6(0u32..12),
        recipe in 0u8..(RECIPES.len() as u8 + 2),
        seed in any::<[u8; 32]>(),
    ) {
        let mut mats = Materials(counts);
        let before = mats;
        match crafting::craft(&mut mats, recipe, seed) {
            Ok(item) => {
                let r = &RECIPES[usize::from(recipe)];
                prop_assert_eq!(item.item_type, r.item_type);
                for m in Material::ALL {
                    let cost: u32 = r.cost.iter().filter(|(c, _)| *c == m).map(|(_, n)| n).sum();
                    prop_assert_eq!(mats.get(m), before.get(m) - cost);
                }
            }
            Err(_) => prop_assert_eq!(mats, before),
        }
    }

    #[test]
    fn upgrades_raise_rarity_by_exactly_one(seed in any::<[u8; 32]>(), recipe in 0usize..RECIPES.len(), rarity in 0u8..4) {
        let r = &RECIPES[recipe];
        let mut rng = cyteria_game::rng::Rng::from_seed32(seed);
        let rar = cyteria_game::Rarity::from_u8(rarity).unwrap();
        let items = [0, 1, 2].map(|_| crafting::roll_stats(r.item_type, rar, (r.damage, r.defense, r.durability), r.signature, &mut rng));
        let up = crafting::upgrade(items, seed).unwrap();
        prop_assert_eq!(up.rarity as u8, rarity + 1);
        prop_assert_eq!(up.item_type, r.item_type);
        prop_assert!(up.traits.is_canonical());
    }
}
