//! The colours people are shown in: carets, avatars, name labels and the
//! tint of the text they wrote.
//!
//! [`PALETTE`] holds the colours a room hands out. Each one reads as a caret
//! or outline on the light paper and on the dark one (WCAG's 3:1 for
//! graphics) and carries white initials and labels at 4.5:1. A room gives
//! each person present, and each author of its document, a colour of its own
//! while the palette has room ([`pick`]), so two people are not told apart
//! by name alone; a person keeps the colour they had where they can.
//!
//! [`tint`] is the background of an author's text when authors are shown:
//! the colour mixed into the paper, as much of it as still leaves every text
//! colour the editor and the preview draw over it (plain text and the
//! Markdown highlighting, [`LIGHT_TEXT`] and [`DARK_TEXT`], the values of
//! `public/tandem.css`) at WCAG's 4.5:1. The tests hold these lists to the
//! stylesheet and every colour to both rules.

/// The colours a room hands out, in the order it tries them.
pub const PALETTE: [&str; 12] = [
    "#d23f4a", // red
    "#1a7bb8", // blue
    "#2f8636", // green
    "#8357e6", // violet
    "#c4541c", // orange
    "#0f8274", // teal
    "#cc3777", // pink
    "#4f66e8", // indigo
    "#a3650d", // amber
    "#a942b6", // purple
    "#6b7a14", // olive
    "#9c5a32", // brown
];

/// The colour of text a restore put back (the server's, not a person's).
pub const RESTORE_COLOR: &str = "#66717f";

/// The paper of the light scheme (`--bg-raised` in `public/tandem.css`).
pub const LIGHT_PAPER: &str = "#ffffff";
/// The paper of the dark scheme.
pub const DARK_PAPER: &str = "#1e2128";

/// Every colour text is drawn in over the light paper: the text, muted
/// text (Markdown marks), the accent (list markers, task boxes) and the
/// Markdown highlighting (`--md-*`).
pub const LIGHT_TEXT: [&str; 9] = [
    "#1d1f24", "#60646f", "#3f4fd6", "#3846c9", "#7a3e9d", "#9c3f1a", "#0b6689", "#2c6e47",
    "#7d5200",
];
/// The same over the dark paper.
pub const DARK_TEXT: [&str; 9] = [
    "#e7e8ec", "#9a9fad", "#7d8bff", "#9aa5ff", "#d4a8f0", "#f2a77c", "#72c6ee", "#86d3a2",
    "#e5bd6b",
];

/// Contrast a tint keeps for every text colour over it (WCAG AA, normal text).
pub const TEXT_CONTRAST: f64 = 4.5;
/// Least share of the colour in a tint: below it the tint is not seen.
const MIN_SHARE: f64 = 0.08;
/// Most share of the colour in a tint.
const MAX_SHARE: f64 = 0.45;

/// Light or dark page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Dark text on white paper.
    Light,
    /// Light text on dark paper.
    Dark,
}

impl Scheme {
    fn paper(self) -> &'static str {
        match self {
            Self::Light => LIGHT_PAPER,
            Self::Dark => DARK_PAPER,
        }
    }

    fn texts(self) -> &'static [&'static str] {
        match self {
            Self::Light => &LIGHT_TEXT,
            Self::Dark => &DARK_TEXT,
        }
    }
}

/// `#rrggbb` as three channels, or `None`.
pub fn rgb(hex: &str) -> Option<[u8; 3]> {
    let hex = hex.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// Three channels as `#rrggbb`.
fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// WCAG relative luminance.
fn luminance(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let v = f64::from(c) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// WCAG contrast ratio of two colours (1 to 21); `None` if either is not `#rrggbb`.
pub fn contrast(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (luminance(rgb(a)?), luminance(rgb(b)?));
    Some((a.max(b) + 0.05) / (a.min(b) + 0.05))
}

/// `share` of `color` mixed into `paper`, channel by channel (as CSS
/// `color-mix(in srgb, …)` does), rounded.
fn mix(color: [u8; 3], paper: [u8; 3], share: f64) -> [u8; 3] {
    let channel = |i: usize| {
        let v = f64::from(color[i]) * share + f64::from(paper[i]) * (1.0 - share);
        v.round().clamp(0.0, 255.0) as u8
    };
    [channel(0), channel(1), channel(2)]
}

/// The background of text written by an author of `color` in `scheme`: as
/// much of the colour as keeps every text colour at [`TEXT_CONTRAST`] over
/// it, between 8% and 45%. A colour that is not `#rrggbb` gets the paper.
pub fn tint(color: &str, scheme: Scheme) -> String {
    let paper = rgb(scheme.paper()).unwrap_or([255, 255, 255]);
    let Some(color) = rgb(color) else {
        return hex(paper);
    };
    let texts: Vec<f64> = scheme
        .texts()
        .iter()
        .filter_map(|t| rgb(t).map(luminance))
        .collect();
    let readable = |tinted: [u8; 3]| {
        let l = luminance(tinted);
        texts
            .iter()
            .all(|t| (t.max(l) + 0.05) / (t.min(l) + 0.05) >= TEXT_CONTRAST)
    };
    // From the most colour down, in steps of one percent.
    let mut share = MAX_SHARE;
    while share > MIN_SHARE {
        let tinted = mix(color, paper, share);
        if readable(tinted) {
            return hex(tinted);
        }
        share -= 0.01;
    }
    hex(mix(color, paper, MIN_SHARE))
}

/// Colours closer than this (in OKLab) are told apart with difficulty
/// (red and pink, amber and brown): a room hands out such a pair only when
/// the palette has nothing farther left.
const CLOSE: f64 = 0.09;

/// `#rrggbb` in OKLab (Björn Ottosson's perceptual space,
/// <https://bottosson.github.io/posts/oklab/>), for distances between colours.
fn oklab(hex: &str) -> Option<[f64; 3]> {
    let [r, g, b] = rgb(hex)?;
    let linear = |c: u8| {
        let v = f64::from(c) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (linear(r), linear(g), linear(b));
    let l = (0.412_221_470_8 * r + 0.536_332_536_3 * g + 0.051_445_992_9 * b).cbrt();
    let m = (0.211_903_498_2 * r + 0.680_699_545_1 * g + 0.107_396_956_6 * b).cbrt();
    let s = (0.088_302_461_9 * r + 0.281_718_837_6 * g + 0.629_978_700_5 * b).cbrt();
    Some([
        0.210_454_255_3 * l + 0.793_617_785_0 * m - 0.004_072_046_8 * s,
        1.977_998_495_1 * l - 2.428_592_205_0 * m + 0.450_593_709_9 * s,
        0.025_904_037_1 * l + 0.782_771_766_2 * m - 0.808_675_766_0 * s,
    ])
}

/// How far apart two colours look (OKLab distance); `None` for a colour that
/// is not `#rrggbb`.
pub fn distance(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (oklab(a)?, oklab(b)?);
    Some(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt())
}

/// The colour a room gives someone arriving: `kept` (the colour this
/// author has in the room already) unless someone present shows it; else
/// `preferred` (the one their browser picked) if no one present and no
/// other author has it or one close to it; else the palette colour that
/// the fewest present, then the fewest authors, show exactly, then closely,
/// the farthest from every colour in use, trying colours from the preferred
/// one on so the same person tends to land on the same one. `present` are
/// the colours of the others in the room, `authors` those of the document's
/// other authors.
pub fn pick(
    kept: Option<&str>,
    preferred: Option<&str>,
    present: &[&str],
    authors: &[&str],
) -> String {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let shown = |c: &str| present.iter().any(|p| same(p, c));
    if let Some(kept) = kept.filter(|k| rgb(k).is_some() && !shown(k)) {
        return kept.to_ascii_lowercase();
    }
    let near = |list: &[&str], c: &str| {
        list.iter()
            .filter(|x| distance(x, c).is_some_and(|d| d < CLOSE))
            .count()
    };
    let exactly = |list: &[&str], c: &str| list.iter().filter(|x| same(x, c)).count();
    let start = preferred
        .and_then(|p| PALETTE.iter().position(|c| same(c, p)))
        .unwrap_or(0);
    if let Some(preferred) = preferred.filter(|p| PALETTE.iter().any(|c| same(c, p)))
        && near(present, preferred) == 0
        && near(authors, preferred) == 0
    {
        return preferred.to_ascii_lowercase();
    }
    // Farther is better: the nearest colour in use, in thousandths (an
    // integer key, so candidates compare exactly).
    let room = |c: &str| {
        present
            .iter()
            .chain(authors)
            .filter_map(|x| distance(x, c))
            .fold(f64::INFINITY, f64::min)
            .min(10.0)
    };
    (0..PALETTE.len())
        .map(|i| PALETTE[(start + i) % PALETTE.len()])
        .min_by_key(|c| {
            (
                exactly(present, c),
                exactly(authors, c),
                near(present, c),
                near(authors, c),
                std::cmp::Reverse((room(c) * 1000.0) as u64),
            )
        })
        .unwrap_or(PALETTE[0])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn ratio(a: &str, b: &str) -> f64 {
        contrast(a, b).expect("colours")
    }

    #[test]
    fn the_palette_reads_as_carets_and_under_white_labels() {
        for color in PALETTE.iter().chain([&RESTORE_COLOR]) {
            for paper in ["#ffffff", "#f6f5f2", "#1e2128", "#16181d"] {
                let r = ratio(color, paper);
                assert!(r >= 3.0, "{color} on {paper}: {r:.2}");
            }
            let r = ratio(color, "#ffffff");
            assert!(r >= 4.5, "white on {color}: {r:.2}");
        }
        let distinct: HashSet<_> = PALETTE.iter().collect();
        assert_eq!(distinct.len(), PALETTE.len());
    }

    #[test]
    fn every_text_colour_reads_on_every_tint_in_both_schemes() {
        for color in PALETTE.iter().chain([&RESTORE_COLOR]) {
            for (scheme, texts) in [(Scheme::Light, &LIGHT_TEXT), (Scheme::Dark, &DARK_TEXT)] {
                let tinted = tint(color, scheme);
                for text in texts {
                    let r = ratio(text, &tinted);
                    assert!(r >= 4.5, "{text} on {tinted} ({color}, {scheme:?}): {r:.2}");
                }
                // And the tint is seen: not the paper itself.
                assert_ne!(tinted, scheme.paper(), "{color} {scheme:?}");
                assert!(
                    ratio(&tinted, scheme.paper()) > 1.05,
                    "{color} {scheme:?}: {tinted} is hardly seen"
                );
            }
        }
        assert_eq!(tint("not a colour", Scheme::Light), "#ffffff");
    }

    #[test]
    fn tints_of_different_colours_differ() {
        for scheme in [Scheme::Light, Scheme::Dark] {
            let tints: HashSet<String> = PALETTE.iter().map(|c| tint(c, scheme)).collect();
            assert_eq!(tints.len(), PALETTE.len(), "{scheme:?}");
        }
    }

    /// Custom properties as (name without `--`, value).
    type Declared = Vec<(String, String)>;

    /// The `--name: #hex` values of `public/tandem.css`, split into the
    /// light scheme and the dark one (`prefers-color-scheme: dark`).
    fn stylesheet_colours() -> (Declared, Declared) {
        let css = include_str!("../../public/tandem.css");
        let (mut light, mut dark) = (Vec::new(), Vec::new());
        let mut depth = 0usize;
        let mut dark_at: Option<usize> = None;
        for line in css.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("@media") && trimmed.contains("prefers-color-scheme: dark") {
                dark_at = Some(depth);
            }
            if let Some((name, value)) = trimmed
                .strip_prefix("--")
                .and_then(|rest| rest.split_once(':'))
            {
                let value = value.trim().trim_end_matches(';').trim();
                if rgb(value).is_some() {
                    let entry = (name.to_owned(), value.to_ascii_lowercase());
                    if dark_at.is_some() {
                        dark.push(entry);
                    } else {
                        light.push(entry);
                    }
                }
            }
            for c in trimmed.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth = depth.saturating_sub(1);
                        if dark_at == Some(depth) {
                            dark_at = None;
                        }
                    }
                    _ => {}
                }
            }
        }
        (light, dark)
    }

    #[test]
    fn the_text_colours_are_the_stylesheets() {
        let (light, dark) = stylesheet_colours();
        let wanted = [
            "text",
            "text-muted",
            "accent",
            "md-heading",
            "md-em",
            "md-code",
            "md-link",
            "md-quote",
            "md-html",
        ];
        for (scheme, declared, listed) in
            [("light", &light, &LIGHT_TEXT), ("dark", &dark, &DARK_TEXT)]
        {
            for name in wanted {
                let values: Vec<&String> = declared
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .collect();
                assert!(
                    !values.is_empty(),
                    "--{name} not found in the {scheme} scheme"
                );
                for value in values {
                    assert!(
                        listed.contains(&value.as_str()),
                        "--{name}: {value} ({scheme}) is missing from the text colours tints are checked against"
                    );
                }
            }
            let paper: Vec<&String> = declared
                .iter()
                .filter(|(n, _)| n == "bg-raised")
                .map(|(_, v)| v)
                .collect();
            let expected = if scheme == "light" {
                LIGHT_PAPER
            } else {
                DARK_PAPER
            };
            assert_eq!(paper, [expected], "the paper of the {scheme} scheme");
        }
    }

    #[test]
    fn people_get_distinct_colours_while_the_palette_has_room() {
        // Everyone arriving prefers red: each still gets a colour of their
        // own, and the first few are far apart.
        let mut present: Vec<String> = Vec::new();
        for n in 0..PALETTE.len() {
            let refs: Vec<&str> = present.iter().map(String::as_str).collect();
            let got = pick(None, Some(PALETTE[0]), &refs, &[]);
            assert!(!present.contains(&got), "{got} twice in {present:?}");
            if n < 6 {
                for other in &present {
                    let d = distance(&got, other).expect("colours");
                    assert!(
                        d >= CLOSE,
                        "{got} is close to {other} ({d:.3}) among {present:?}"
                    );
                }
            }
            present.push(got);
        }
        // Past the palette, colours repeat as little as they can.
        let refs: Vec<&str> = present.iter().map(String::as_str).collect();
        let thirteenth = pick(None, Some(PALETTE[3]), &refs, &[]);
        assert!(PALETTE.contains(&thirteenth.as_str()));
        let fourteenth = pick(
            None,
            None,
            &[&refs[..], &[thirteenth.as_str()]].concat(),
            &[],
        );
        assert_ne!(
            fourteenth, thirteenth,
            "no third of one colour while others have two"
        );
    }

    #[test]
    fn close_colours_count_as_taken() {
        let (red, pink) = (PALETTE[0], PALETTE[6]);
        assert!(distance(red, pink).expect("colours") < CLOSE);
        // Someone shows red: a person who prefers pink gets something else.
        let got = pick(None, Some(pink), &[red], &[]);
        assert!(distance(&got, red).expect("colours") >= CLOSE, "{got}");
        assert_eq!(pick(None, Some(pink), &[], &[]), pink, "free: theirs");
    }

    #[test]
    fn a_person_keeps_their_colour_where_they_can() {
        let (red, blue, green) = (PALETTE[0], PALETTE[1], PALETTE[2]);
        // Their colour as an author of the document, though they prefer blue.
        assert_eq!(pick(Some(green), Some(blue), &[red], &[]), green);
        // Someone present shows it: the preferred one, free.
        assert_eq!(pick(Some(green), Some(blue), &[green], &[]), blue);
        // Preferred is another author's: a free one, far from both.
        let got = pick(None, Some(blue), &[red], &[blue]);
        assert!(got != red && got != blue, "{got}");
        assert!(distance(&got, red).expect("colours") >= CLOSE);
        assert!(distance(&got, blue).expect("colours") >= CLOSE);
        // Present people weigh more than authors.
        let all_authors: Vec<&str> = PALETTE.to_vec();
        assert_ne!(pick(None, Some(red), &[red], &all_authors), red);
        // A preferred colour outside the palette is not handed out.
        assert_eq!(pick(None, Some("#123456"), &[], &[]), PALETTE[0]);
    }
}
