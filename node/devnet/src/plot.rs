//! The report's picture: one self-contained HTML page (inline SVG, no
//! script, nothing fetched) with rollbacks and gossip latency over time.

use std::fmt::Write as _;

use crate::report::Report;

struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    points: Vec<(f64, Option<f64>)>,
}

const W: f64 = 860.0;
const H: f64 = 260.0;
const PAD: f64 = 48.0;

/// A line chart; a `None` point breaks its line.
fn chart(title: &str, y_unit: &str, series: &[Series<'_>]) -> String {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let x_max = xs.fold(1.0f64, f64::max);
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let x = |v: f64| PAD + v / x_max * (W - 2.0 * PAD);
    let y = |v: f64| H - PAD + -(v / y_max) * (H - 2.0 * PAD);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        svg,
        r#"<text x="{PAD}" y="18" font-size="14">{}</text>"#,
        esc(title)
    );
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}" stroke="#888"/>"##,
        b = H - PAD,
        r = W - PAD
    );
    for k in 0..=4 {
        let v = y_max * f64::from(k) / 4.0;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end" fill="#555">{v:.0}</text>"##,
            PAD - 4.0,
            y(v) + 4.0
        );
        let t = x_max * f64::from(k) / 4.0;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">{t:.0} s</text>"##,
            x(t),
            H - PAD + 16.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="12" y="{}" transform="rotate(-90 12 {})" fill="#555">{}</text>"##,
        H / 2.0,
        H / 2.0,
        esc(y_unit)
    );
    for (i, s) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen_down = false;
        for (px, py) in &s.points {
            match py {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(*px),
                        y(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
            s.colour
        );
        let lx = W - PAD - 150.0;
        let ly = PAD + 14.0 * i as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="10" height="3" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            ly - 3.0,
            s.colour,
            lx + 14.0,
            ly + 2.0,
            esc(s.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page for `report`.
pub fn html(report: &Report) -> String {
    let t = &report.timeline;
    let at = |s: &crate::timeline::Second| f64::from(s.t_s);
    let rollbacks = chart(
        "Rollbacks and frames per second (all players)",
        "per second",
        &[
            Series {
                name: "rollbacks / s",
                colour: "#d62728",
                points: t
                    .iter()
                    .map(|s| (at(s), Some(s.rollbacks as f64)))
                    .collect(),
            },
            Series {
                name: "frames / s ÷ 10",
                colour: "#1f77b4",
                points: t
                    .iter()
                    .map(|s| (at(s), Some(s.frames as f64 / 10.0)))
                    .collect(),
            },
        ],
    );
    let latency = chart(
        "Gossip delivery latency, per second",
        "ms",
        &[
            Series {
                name: "p50",
                colour: "#2ca02c",
                points: t.iter().map(|s| (at(s), s.gossip_p50_ms)).collect(),
            },
            Series {
                name: "p99",
                colour: "#ff7f0e",
                points: t.iter().map(|s| (at(s), s.gossip_p99_ms)).collect(),
            },
        ],
    );
    let mut rows = String::new();
    for line in report.table().lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(rows, "{}", esc(line));
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Cyteria devnet report</title>\
         <style>body{{font-family:sans-serif;margin:2em}}pre{{background:#f6f6f6;padding:1em}}</style></head><body>\n\
         <h1>Cyteria devnet: {}</h1>\n{rollbacks}\n{latency}\n<pre>{rows}</pre>\n</body></html>\n",
        if report.ok {
            "every check held"
        } else {
            "a check FAILED"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_every_series_and_breaks_lines_at_gaps() {
        let s = chart(
            "t <1>",
            "ms",
            &[Series {
                name: "a",
                colour: "red",
                points: vec![
                    (0.0, Some(1.0)),
                    (1.0, None),
                    (2.0, Some(3.0)),
                    (3.0, Some(2.0)),
                ],
            }],
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("t &lt;1&gt;"), "titles are escaped");
        let path = s
            .split("<path d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(
            path.matches('M').count(),
            2,
            "the gap starts a new line: {path}"
        );
        assert_eq!(path.matches('L').count(), 1);
    }
}
