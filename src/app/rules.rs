//! `rules` (every rule) and `rule ID` (one rule's documentation).

use super::{Failure, EXIT_CLEAN};
use crate::cli::RulesFormat;
use crate::rules::{self, RULES};

pub fn list(format: RulesFormat) -> Result<i32, Failure> {
    let width = RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
    if format == RulesFormat::Markdown {
        println!("| rule | default | what it catches |\n|---|---|---|");
    }
    for rule in RULES {
        let severity = rule.default_label();
        match format {
            RulesFormat::Text => println!("{:width$}  {severity:7}  {}", rule.id, rule.summary),
            RulesFormat::Markdown => println!("| `{}` | {severity} | {} |", rule.id, rule.summary),
        }
    }
    Ok(EXIT_CLEAN)
}

pub fn show(id: &str) -> Result<i32, Failure> {
    let rule = rules::find(id).ok_or_else(|| {
        let hint = rules::closest_id(id)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        Failure(format!(
            "unknown rule `{id}`{hint}; `flux-image-lint rules` lists them"
        ))
    })?;
    let default = match rule.default_severity() {
        Some(severity) => format!("{} by default", severity.as_str()),
        None => format!("off by default, {} when enabled", rule.severity.as_str()),
    };
    println!(
        "# {} ({default})\n\n{}\n\n{}",
        rule.id,
        rule.summary,
        rule.docs.trim_end()
    );
    Ok(EXIT_CLEAN)
}
