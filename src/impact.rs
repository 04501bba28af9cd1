//! What a change breaks elsewhere. With file arguments (pre-commit's staged files), `check`
//! reports on the given files, and also on every error in another file that the change to them
//! (and, with `--staged`, the staged deletions and renames) brought in: a marker whose policy the
//! change renamed or deleted, a policy whose repository it removed.
//!
//! The cause is found by comparison, not guessed per rule: the baseline is the repository with
//! the changed files as HEAD has them. An error elsewhere that the baseline has too is the
//! repository's own, never the change's, and stays unreported. Each new error names the changed
//! file without which it disappears.

use foldhash::HashSet;
use std::path::Path;

use crate::config::Config;
use crate::report::{Diagnostic, Severity, Summary};
use crate::rules;
use crate::tags::TagSnapshot;
use crate::workspace::Workspace;

/// Changed files beyond which new errors are blamed on the change as a whole: naming the one
/// file at fault costs a load of the repository per changed file.
const MAX_BLAMED_ONE_BY_ONE: usize = 8;

/// A file the change touches (a path relative to the root) and its text at HEAD.
pub struct Changed {
    pub path: String,
    /// `None`: HEAD has no such file (it is new).
    pub before: Option<String>,
    pub deleted: bool,
    /// Where a deleted file went, when git sees a rename (relative to the root).
    pub renamed_to: Option<String>,
}

/// The given files (relative to the root) whose content differs from HEAD's, and with
/// `staged`, the files under the root that the index deletes. None outside a git repository.
pub fn changed_files(root: &Path, given: &[String], staged: bool) -> Result<Vec<Changed>, String> {
    let Some(toplevel) = crate::walk::git_toplevel(root) else {
        return Ok(Vec::new());
    };
    let prefix = match crate::walk::relative_path(&toplevel, root) {
        prefix if prefix.is_empty() => prefix,
        prefix => format!("{prefix}/"),
    };
    // Each path, and whether it is gone (and where to, when renamed within the root).
    let mut paths: Vec<(String, Option<Option<String>>)> =
        given.iter().map(|p| (p.clone(), None)).collect();
    if staged {
        for removed in crate::git::staged::staged_deletions(&toplevel)? {
            if let Some(path) = removed.path.strip_prefix(&prefix) {
                let renamed_to = removed
                    .renamed_to
                    .and_then(|to| to.strip_prefix(&prefix).map(str::to_string));
                paths.push((path.to_string(), Some(renamed_to)));
            }
        }
    }
    let in_repository: Vec<String> = paths.iter().map(|(p, _)| format!("{prefix}{p}")).collect();
    let mut head = crate::git::staged::head_contents(&toplevel, &in_repository)?;
    let mut changed = Vec::new();
    for ((path, gone), in_repository) in paths.into_iter().zip(&in_repository) {
        let deleted = gone.is_some();
        let before = head.remove(in_repository).flatten();
        let now = (!deleted)
            .then(|| std::fs::read(root.join(&path)).ok())
            .flatten();
        if before != now {
            changed.push(Changed {
                path,
                before: before.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                deleted,
                renamed_to: gone.flatten(),
            });
        }
    }
    Ok(changed)
}

/// The diagnostics of the `only` files, and the errors elsewhere that the `changed` files
/// brought in, each saying so; with their counts.
pub fn report(
    workspace: &Workspace,
    config: &Config,
    snapshot: Option<&TagSnapshot>,
    jobs: usize,
    only: &[String],
    changed: &[Changed],
) -> Result<(Vec<Diagnostic>, Summary), String> {
    let (all, mut summary) = rules::run(workspace, config, snapshot, None);
    let (mut reported, elsewhere): (Vec<Diagnostic>, Vec<Diagnostic>) =
        all.into_iter().partition(|d| only.contains(&d.file));
    let elsewhere: Vec<Diagnostic> = elsewhere
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !elsewhere.is_empty() && !changed.is_empty() {
        let baseline = Baseline {
            root: &workspace.root,
            config,
            snapshot,
            jobs,
        };
        let before = baseline.errors(changed.iter())?;
        let broken: Vec<Diagnostic> = elsewhere
            .into_iter()
            .filter(|d| !before.contains(&key(d)))
            .collect();
        reported.extend(blame(&baseline, broken, changed)?);
        reported.sort_by(|a, b| {
            a.sort_key()
                .cmp(&b.sort_key())
                .then_with(|| a.message.cmp(&b.message))
        });
    }
    summary.errors = count(&reported, Severity::Error);
    summary.warnings = count(&reported, Severity::Warning);
    Ok((reported, summary))
}

/// Each broken error with the changed files it is due to: the one whose revert alone makes it
/// disappear; the whole change when several files are at fault together, or too many changed.
fn blame(
    baseline: &Baseline,
    broken: Vec<Diagnostic>,
    changed: &[Changed],
) -> Result<Vec<Diagnostic>, String> {
    let one_by_one: Vec<HashSet<Key>> =
        if changed.len() > 1 && changed.len() <= MAX_BLAMED_ONE_BY_ONE && !broken.is_empty() {
            changed
                .iter()
                .map(|file| baseline.errors(std::iter::once(file)))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
    Ok(broken
        .into_iter()
        .map(|mut d| {
            let key = key(&d);
            let mut causes: Vec<&Changed> = changed
                .iter()
                .zip(&one_by_one)
                .filter(|(_, errors)| !errors.contains(&key))
                .map(|(file, _)| file)
                .collect();
            if causes.is_empty() {
                causes = changed.iter().collect();
            }
            d.message = format!("{}; broken by {}", d.message, your_change_to(&causes));
            d
        })
        .collect())
}

/// `your change to `a.yaml``, `your changes to `a.yaml` (deleted) and `b.yaml``.
fn your_change_to(causes: &[&Changed]) -> String {
    let names: Vec<String> = causes
        .iter()
        .map(|c| {
            if let Some(to) = &c.renamed_to {
                format!("`{}` (renamed to `{to}`)", c.path)
            } else if c.deleted {
                format!("`{}` (deleted)", c.path)
            } else {
                format!("`{}`", c.path)
            }
        })
        .collect();
    match names.as_slice() {
        [one] => format!("your change to {one}"),
        [init @ .., last] => format!("your changes to {} and {last}", init.join(", ")),
        [] => "your change".to_string(),
    }
}

/// The repository with some changed files as HEAD has them.
struct Baseline<'a> {
    root: &'a Path,
    config: &'a Config,
    snapshot: Option<&'a TagSnapshot>,
    jobs: usize,
}

impl Baseline<'_> {
    /// The errors of the repository with `reverted` as they were.
    fn errors<'c>(
        &self,
        reverted: impl Iterator<Item = &'c Changed>,
    ) -> Result<HashSet<Key>, String> {
        let texts = reverted
            .map(|c| (c.path.clone(), c.before.clone()))
            .collect();
        let workspace = Workspace::load(self.root, self.config, self.jobs)
            .map_err(|e| e.to_string())?
            .with_files_as(texts, self.config);
        let (diagnostics, _) = rules::run(&workspace, self.config, self.snapshot, None);
        workspace.read_as_scanned()?;
        Ok(diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(key)
            .collect())
    }
}

/// An error's identity across the change: in a file the change did not touch, the same rule
/// at the same place with the same message.
type Key = (&'static str, String, usize, usize, String);

fn key(d: &Diagnostic) -> Key {
    (d.rule, d.file.clone(), d.line, d.column, d.message.clone())
}

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}
