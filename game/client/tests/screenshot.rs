//! The window renders a match frame: under Xvfb with Mesa's software
//! Vulkan driver (`make test` installs both), `cyteria-play --screenshot`
//! draws the bot-played match of a fixed seed and saves it as a PNG. The
//! picture must not be blank and must show the HUD's health and stamina bars.

use std::process::Command;

const EXE: &str = env!("CARGO_BIN_EXE_cyteria-play");

fn near(a: &[u8], b: [u8; 3], tol: i16) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (i16::from(*x) - i16::from(y)).abs() <= tol)
}

#[test]
fn a_match_frame_renders_with_its_hud() {
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("match.png");
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x720x24", EXE, "--screenshot"])
        .arg(&shot)
        .args(["--seed", "7", "--ticks", "600"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("xvfb-run (make test installs it: make client-deps)");
    assert!(
        out.status.success() && shot.exists(),
        "no screenshot: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let (w, h) = (info.width as usize, info.height as usize);
    assert!(w >= 1000 && h >= 600, "{w}×{h}");
    let px = |x: usize, y: usize| {
        let i = (y * w + x) * channels;
        &buf[i..i + 3]
    };

    // Not blank: the arena, the sprites and the text give many colours.
    let mut colours = std::collections::BTreeSet::new();
    for y in (0..h).step_by(3) {
        for x in (0..w).step_by(3) {
            colours.insert(px(x, y).to_vec());
        }
    }
    assert!(
        colours.len() > 100,
        "only {} colours: blank?",
        colours.len()
    );

    // The HUD: its two bars (fill or empty background) in the top-left panel.
    let bar_bg = cyteria_client::hud::BAR_RGB;
    let count = |c: [u8; 3], tol: i16| {
        (0..120)
            .flat_map(|y| (0..320).map(move |x| (x, y)))
            .filter(|&(x, y)| near(px(x, y), c, tol))
            .count()
    };
    let health = count(cyteria_client::hud::HEALTH_RGB, 8);
    let stamina = count(cyteria_client::hud::STAMINA_RGB, 8);
    let bg = count(bar_bg, 6);
    assert!(
        health + stamina + bg > 2 * 220 * 12 * 8 / 10,
        "no HUD bars: health {health}, stamina {stamina}, empty {bg} pixels"
    );
    assert!(health > 0 || bg > 0, "no health bar");
}
