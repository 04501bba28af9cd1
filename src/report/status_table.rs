//! `status --format human`: one line per ImagePolicy (name, image, tags listed and kept, latest
//! tag) under a heading per cluster and namespace, and under it one line per marker with its
//! state, never wider than the width given. Colours follow the diagnostics report's: red for
//! what is broken (stuck), yellow for what needs a look (a downgrade), cyan for what to do (an
//! update), green for up to date.

use std::borrow::Cow;

use owo_colors::OwoColorize;
use textwrap::core::display_width;

use super::escape;
use crate::status::{phrase, MarkerStatus, PolicyStatus, Problem, State, Status};

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Columns no line exceeds.
    pub width: usize,
}

#[derive(Clone, Copy)]
enum Paint {
    Red,
    Yellow,
    Cyan,
    Green,
    Dim,
    Bold,
}

impl Style {
    fn paint(&self, text: &str, paint: Paint) -> String {
        if !self.color {
            return text.to_string();
        }
        match paint {
            Paint::Red => text.red().to_string(),
            Paint::Yellow => text.yellow().to_string(),
            Paint::Cyan => text.cyan().to_string(),
            Paint::Green => text.green().to_string(),
            Paint::Dim => text.dimmed().to_string(),
            Paint::Bold => text.bold().to_string(),
        }
    }
}

/// Where a marker line's text starts: `  ✗ stuck       `.
const MARKER_INDENT: usize = 16;
const NUMBER_WIDTH: usize = 5;
const GAP: &str = "  ";

/// Column widths of the policy lines, from their contents, within the width.
struct Columns {
    name: usize,
    image: usize,
    latest: usize,
}

impl Columns {
    fn fit(status: &Status, width: usize) -> Columns {
        let widest = |texts: &mut dyn Iterator<Item = usize>, header: &str| {
            texts.max().unwrap_or(0).max(header.len())
        };
        let name = widest(
            &mut status
                .policies
                .iter()
                .map(|p| display_width(&escape(&p.name))),
            "POLICY",
        )
        .min(24);
        let latest = widest(
            &mut status
                .policies
                .iter()
                .map(|p| display_width(&latest_cell(p))),
            "LATEST",
        )
        .min(30);
        let fixed = name + 2 * NUMBER_WIDTH + latest + 4 * GAP.len();
        let image = widest(
            &mut status
                .policies
                .iter()
                .map(|p| display_width(&image_cell(p))),
            "IMAGE",
        )
        .min(width.saturating_sub(fixed))
        .max(12);
        Columns {
            name,
            image,
            latest: latest.min(width.saturating_sub(fixed - latest + image)),
        }
    }
}

pub fn render(status: &Status, style: Style) -> String {
    let mut out = String::new();
    if status.policies.is_empty() {
        out.push_str("no ImagePolicy and no marker to show\n");
        out.push_str(&summary_line(status, style.width));
        return out;
    }
    let columns = Columns::fit(status, style.width);
    let header = format!(
        "{}{GAP}{}{GAP}{:>NUMBER_WIDTH$}{GAP}{:>NUMBER_WIDTH$}{GAP}LATEST",
        pad("POLICY", columns.name),
        pad("IMAGE", columns.image),
        "TAGS",
        "KEPT",
    );
    out.push_str(&style.paint(&header, Paint::Bold));
    out.push('\n');
    for group in status.groups() {
        let heading = group[0].group_heading(|name| escape(name).into_owned());
        out.push('\n');
        out.push_str(&style.paint(&clip_end(&heading, style.width), Paint::Bold));
        out.push('\n');
        for policy in group {
            policy_lines(&mut out, policy, &columns, style);
        }
    }
    out.push('\n');
    out.push_str(&summary_line(status, style.width));
    out
}

fn policy_lines(out: &mut String, policy: &PolicyStatus, columns: &Columns, style: Style) {
    let number = |n: Option<usize>| n.map_or("-".to_string(), |n| n.to_string());
    let latest = clip_end(&latest_cell(policy), columns.latest);
    let latest = if policy.latest.is_some() {
        latest
    } else {
        style.paint(&latest, Paint::Red)
    };
    out.push_str(&format!(
        "{}{GAP}{}{GAP}{:>NUMBER_WIDTH$}{GAP}{:>NUMBER_WIDTH$}{GAP}{latest}\n",
        pad(&clip_end(&escape(&policy.name), columns.name), columns.name),
        pad(
            &clip_start(&image_cell(policy), columns.image),
            columns.image
        ),
        number(policy.tags),
        number(policy.candidates),
    ));
    // The LATEST column names the reason; this line says the rest.
    if let Some(problem) = &policy.problem {
        let text = format!("{}{}", escape(&problem.message), rule_suffix(problem.rule));
        for line in wrap(&text, style.width, "  ✗ ", "    ") {
            out.push_str(&style.paint(&line, Paint::Red));
            out.push('\n');
        }
    }
    if policy.markers.is_empty() && policy.defined {
        out.push_str(&style.paint("  (no marker names this policy)", Paint::Dim));
        out.push('\n');
    }
    for marker in &policy.markers {
        marker_lines(out, policy, marker, style);
    }
}

fn marker_lines(out: &mut String, policy: &PolicyStatus, marker: &MarkerStatus, style: Style) {
    let value = marker.shown_value(policy).map(str::to_string);
    let (symbol, label, paint, detail) = match &marker.state {
        State::UpToDate => ("✓", "up to date", Paint::Green, value.unwrap_or_default()),
        State::Update { new, rule } => (
            "↑",
            "update",
            Paint::Cyan,
            format!(
                "{} → {}{}",
                value.unwrap_or_default(),
                policy.short_value(new),
                rule_suffix(*rule)
            ),
        ),
        State::Downgrade { new, why, rule } => (
            "↓",
            "downgrade",
            Paint::Yellow,
            format!(
                "{} → {}: {why}{}",
                value.unwrap_or_default(),
                policy.short_value(new),
                rule_suffix(*rule)
            ),
        ),
        State::Stuck(problem) => ("✗", "stuck", Paint::Red, stuck_detail(value, problem)),
        State::Unknown(problem) => ("?", "unknown", Paint::Dim, stuck_detail(value, problem)),
    };
    let lead = format!("  {symbol} {label:<11} ");
    let location = clip_start(
        &format!("{}:{}", escape(&marker.file), marker.line),
        style.width - MARKER_INDENT,
    );
    let detail = escape(&detail);
    out.push_str(&style.paint(&lead, paint));
    out.push_str(&location);
    let indent = " ".repeat(MARKER_INDENT);
    if MARKER_INDENT + display_width(&location) + GAP.len() + display_width(&detail) <= style.width
    {
        out.push_str(GAP);
        out.push_str(&detail);
        out.push('\n');
        return;
    }
    out.push('\n');
    for line in wrap(&detail, style.width, &indent, &indent) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// `1.0.0: the current tag is filtered out (tag-filtered-out)`.
fn stuck_detail(value: Option<String>, problem: &Problem) -> String {
    match value {
        Some(value) => format!("{value}: {}", reason_text(problem)),
        None => reason_text(problem),
    }
}

/// The reason's phrase, with the `check` rule behind it.
fn reason_text(problem: &Problem) -> String {
    format!("{}{}", phrase(problem.reason), rule_suffix(problem.rule))
}

/// ` (tag-out-of-range)`: the `check` rule behind a state.
fn rule_suffix(rule: Option<&str>) -> String {
    rule.map(|rule| format!(" ({rule})")).unwrap_or_default()
}

fn latest_cell(policy: &PolicyStatus) -> String {
    match (&policy.latest, &policy.problem) {
        (Some(latest), _) => escape(latest).into_owned(),
        (None, Some(problem)) => phrase(problem.reason).to_string(),
        (None, None) => "-".to_string(),
    }
}

fn image_cell(policy: &PolicyStatus) -> String {
    match (&policy.image, policy.defined) {
        (Some(image), _) => escape(image).into_owned(),
        (None, true) => "-".to_string(),
        (None, false) => "(not defined)".to_string(),
    }
}

fn pad(text: &str, width: usize) -> String {
    format!(
        "{text}{}",
        " ".repeat(width.saturating_sub(display_width(text)))
    )
}

/// `text` cut to `width` columns at its end: `release-1.2.…`.
fn clip_end(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    let mut kept = String::new();
    for c in text.chars() {
        if display_width(&kept) + display_width(&c.to_string()) + 1 > width {
            break;
        }
        kept.push(c);
    }
    kept + "…"
}

/// `text` cut to `width` columns at its start, where paths and images differ least:
/// `…/arr/radarr/deployment.yaml:25`.
fn clip_start(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    let mut kept: Vec<char> = Vec::new();
    for c in text.chars().rev() {
        let taken: String = kept.iter().rev().collect();
        if display_width(&taken) + display_width(&c.to_string()) + 1 > width {
            break;
        }
        kept.push(c);
    }
    "…".to_string() + &kept.iter().rev().collect::<String>()
}

/// Word-wrapped lines of at most `width` columns.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(true);
    textwrap::wrap(text, options)
        .into_iter()
        .map(Cow::into_owned)
        .collect()
}

/// `29 policies (2 unused), 32 markers: 20 up to date, 12 updates, 0 downgrades, 0 stuck`,
/// wrapped to the width.
fn summary_line(status: &Status, width: usize) -> String {
    let counts = &status.summary;
    let mut line = format!(
        "{} polic{} ({} unused), {} marker{}: {} up to date, {} update{}, {} downgrade{}, {} stuck",
        counts.policies,
        if counts.policies == 1 { "y" } else { "ies" },
        counts.unused,
        counts.markers,
        if counts.markers == 1 { "" } else { "s" },
        counts.up_to_date,
        counts.updates,
        if counts.updates == 1 { "" } else { "s" },
        counts.downgrades,
        if counts.downgrades == 1 { "" } else { "s" },
        counts.stuck,
    );
    if counts.unknown > 0 {
        line.push_str(&format!(", {} unknown", counts.unknown));
    }
    wrap(&line, width, "", "").join("\n") + "\n"
}
