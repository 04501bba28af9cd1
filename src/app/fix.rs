//! `check --fix`, the whole write path top to bottom: read the inputs (the working tree, or the
//! base commit with `--push`) → resolve every policy → plan the changes → rewrite the files' text
//! → write it in place | print a diff | commit → push → pull request → report what remains.
//! Nothing is written when a policy could not be resolved, unless `--keep-going`.

use foldhash::HashMap;
use std::path::Path;

use serde::Serialize;

use super::{
    checked_name, diagnostics_exit_code, emit, find_targets, jobs, load_config, path_prefix,
    progress, quoted_texts, read_as_scanned, render_report, tag_source, write_ci_files,
    write_failure_ci_files, Failure, Target, EXIT_ERRORS, EXIT_FAILURE,
};
use crate::cli::{CheckArgs, FixArgs, Format, GlobalArgs};
use crate::config::{Config, KustomizeSetting};
use crate::fix::{self, Change};
use crate::forge;
use crate::git::{self, PublishOutcome};
use crate::report::summary::{FixParts, Parts};
use crate::report::{self, escape, markdown, Diagnostic, Report, Summary};
use crate::rules;
use crate::status;
use crate::tags::TagSource;
use crate::update::{self, ChangeRecord, ResolveFailure, Stage};
use crate::walk::FileSet;
use crate::workspace::Workspace;

pub fn run(args: &CheckArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let result = write_path(args, global);
    // JSON readers get a document whatever happened: when the run could not start or stopped
    // early (a bad config, an unreadable tags file), one that says why; CI its summary.
    if let Err(Failure(message)) = &result {
        if args.format == Format::Json {
            let summary = Summary::default();
            let report = Report {
                diagnostics: &[],
                summary: &summary,
            };
            let outcome = FixOutcome {
                error: Some(message),
                ..FixOutcome::default()
            };
            emit(
                &report::json::render_with(&report, Some(&outcome)),
                args.output_file.as_deref(),
            )?;
        }
        write_failure_ci_files(args, global, message)?;
    }
    result
}

/// The write path, top to bottom.
fn write_path(args: &CheckArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let fix = &args.fix;
    let mut targets = find_targets(&args.paths, args.root.root.as_deref())?;
    if targets.len() != 1 {
        return Err(Failure("--fix works on one repository at a time".into()));
    }
    let target = targets.remove(0);
    let prefix = path_prefix(args, &target.root, false)?;
    let source = tag_source(&args.registry, args.tags_file.as_deref(), global)?;
    let inputs = Inputs::read(&target.root, fix)?;
    let work = Target {
        root: inputs.files.root.clone(),
        only_files: target.only_files.clone(),
    };
    let config = load_config(&work, &args.root, global)?;
    if inputs.git_prefix.is_some() && config.kustomize != KustomizeSetting::Off {
        // The real kustomize reads the files where they are.
        inputs.files.materialize().map_err(|e| {
            Failure(format!(
                "cannot write the base commit's files to {}: {e}",
                inputs.files.root.display()
            ))
        })?;
    }
    let workspace = Workspace::from_files(inputs.files.clone(), &config, jobs(args.jobs));

    // Resolve: the tags of every policy in use (failures printed as they happen), Flux's pick.
    let needs = update::needs(&workspace);
    let quiet = global.quiet || args.format != Format::Human;
    let fetched = progress::fetch(&source, &needs.requests, quiet, true);
    let resolution = update::resolve(needs, &fetched, &source);
    for failure in &resolution.failures {
        if failure.stage != Stage::Tags {
            eprintln!("error: {}: {}", failure.policy, escape(&failure.message));
        }
    }
    let failed_to_resolve = !resolution.failures.is_empty();
    if failed_to_resolve && !fix.keep_going {
        eprintln!(
            "error: {} could not be resolved; nothing was written (use --keep-going to apply the rest)",
            unresolved(&resolution.failures)
        );
        // JSON readers still get the document, with the failures and no changes; CI the summary.
        let outcome = FixOutcome {
            changes: Vec::new(),
            refused_downgrades: Vec::new(),
            failures: &resolution.failures,
            push: None,
            error: None,
        };
        let remaining = Remaining {
            workspace: &workspace,
            prefix: &prefix,
            written: false,
            updates: &[],
            push: None,
            error: None,
        };
        let (_, output) = report_remaining(
            args, global, &remaining, &config, &source, &target, &outcome,
        )?;
        if args.format == Format::Json {
            emit(&output, args.output_file.as_deref())?;
        }
        return Ok(EXIT_FAILURE);
    }
    let mut failed = failed_to_resolve;
    if failed_to_resolve {
        eprintln!(
            "error: {} could not be resolved; the other policies were applied",
            unresolved(&resolution.failures)
        );
    }

    // Plan: which marked values change.
    let plan = update::plan(
        &workspace,
        &resolution,
        target.only_files.as_deref(),
        fix.no_downgrade,
    );
    for refused in &plan.refused_downgrades {
        eprintln!(
            "warning: {}:{}: not downgrading {} to {} ({}), as --no-downgrade asks",
            escape(&refused.path),
            refused.line,
            escape(&refused.old),
            refused.new,
            refused.policy
        );
    }

    // What a reviewer and the CI summary see: the changes and the markers left stuck, as
    // `status` shows them (their reasons from the rules over the repository before fixing).
    let mut pending = (fix.open_pr || args.ci.summary_file.is_some()).then(|| {
        status::build(&status::Inputs {
            workspace: &workspace,
            config: &config,
            resolution: &resolution,
            plan: &plan,
            diagnostics: &rules::run(&workspace, &config, source.snapshot(), None).0,
        })
        .pending()
    });

    // Rewrite: each changed file's new text, byte splices in memory.
    let new_texts = fix::new_texts(&workspace, &plan.changes);
    read_as_scanned(&workspace)?;

    // Write in place, or show the diff, or commit → push → pull request.
    let mut output = String::new();
    let mut pushed = None;
    let mut pull_request = None;
    // Why publishing failed (exit 2), for the summary.
    let mut publish_error = None;
    if fix.dry_run {
        if args.format == Format::Human {
            output.push_str(&update::diff(&workspace, &new_texts));
        }
    } else if let Some(git_prefix) = &inputs.git_prefix {
        let review = ReviewBranch::settle(fix, &config, &target.root)?;
        let files = repository_files(&workspace, &new_texts, git_prefix);
        let message = commit_message(
            config.commit_message.as_deref(),
            &review.week,
            &plan.changes,
        );
        match review.push(fix, &files, &message) {
            Ok(outcome) => {
                let opens_pr = fix.open_pr && outcome != PublishOutcome::NothingToCommit;
                if let Some(pending) = pending.as_ref().filter(|_| opens_pr) {
                    match review.open_pull_request(fix, pull_request_body(pending)) {
                        Ok(line) => {
                            eprintln!("{}", escape(&line));
                            pull_request = Some(line);
                        }
                        Err(message) => publish_error = Some(message),
                    }
                }
                pushed = Some(outcome);
            }
            Err(error) => publish_error = Some(error.to_string()),
        }
    }
    if let Some(message) = &publish_error {
        eprintln!("error: {}", escape(message));
        failed = true;
    }

    // Report: what changed, then what remains in the rewritten files (as they are before a dry
    // run).
    let after = if fix.dry_run {
        workspace
    } else if inputs.git_prefix.is_some() {
        workspace.with_new_texts(new_texts, &config)
    } else {
        write_in_place(workspace, new_texts, &config)?
    };
    let outcome = FixOutcome {
        changes: update::records(&plan.changes, &prefix),
        refused_downgrades: update::records(&plan.refused_downgrades, &prefix),
        failures: &resolution.failures,
        push: pushed.as_ref().map(PushRecord::from),
        error: None,
    };
    let push = pushed.as_ref().map(push_line);
    if args.format != Format::Json {
        let verb = if fix.dry_run {
            "would change"
        } else if inputs.git_prefix.is_some() && pushed.is_none() {
            "not pushed (nothing changed)"
        } else {
            "changed"
        };
        output.push_str(&changes_listing(&plan.changes, &prefix, verb));
        output.extend(push.iter().map(|line| format!("{line}\n")));
    }
    let publishing = match (&push, &pull_request) {
        (Some(push), Some(pull_request)) => Some(format!("{push}; {pull_request}")),
        _ => push.clone(),
    };
    if let Some(pending) = &mut pending {
        pending.prefix_paths(&prefix);
    }
    let remaining = Remaining {
        workspace: &after,
        prefix: &prefix,
        written: !fix.dry_run,
        updates: pending.as_slice(),
        push: publishing.as_deref(),
        error: publish_error.as_deref(),
    };
    let (remaining, diagnostics_report) = report_remaining(
        args, global, &remaining, &config, &source, &target, &outcome,
    )?;
    crate::parallel::drop_in_background(after);
    output.push_str(&diagnostics_report);
    emit(&output, args.output_file.as_deref())?;
    Ok(if failed {
        EXIT_FAILURE
    } else if fix.dry_run && !plan.changes.is_empty() {
        // Like `ruff format --check`: a stale-images CI job fails when something would change.
        EXIT_ERRORS
    } else {
        diagnostics_exit_code(args, &remaining)
    })
}

/// Writes the new texts in place and returns the repository as rewritten. Writing waits on the
/// disk (a rename per file) while checking the rewritten files again is work for the processor,
/// so the two go on side by side; but the real kustomize reads the files from the disk, so with
/// it they are written first.
fn write_in_place(
    workspace: Workspace,
    new_texts: Vec<(usize, std::sync::Arc<str>)>,
    config: &Config,
) -> Result<Workspace, Failure> {
    let rewrites = fix::rewrites(&workspace, &new_texts);
    if config.kustomize != KustomizeSetting::Off {
        fix::write_in_place(&rewrites)?;
        return Ok(workspace.with_new_texts(new_texts, config));
    }
    let (after, written) = std::thread::scope(|scope| {
        let writing = scope.spawn(|| fix::write_in_place(&rewrites));
        let after = workspace.with_new_texts(new_texts, config);
        (after, writing.join())
    });
    written.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    Ok(after)
}

/// `2 policies (flux-system:a, flux-system:b)`.
fn unresolved(failures: &[ResolveFailure]) -> String {
    let mut names: Vec<&str> = failures.iter().map(|f| f.policy.as_str()).collect();
    // One name however many clusters define it.
    names.sort_unstable();
    names.dedup();
    format!(
        "{} polic{} ({})",
        names.len(),
        if names.len() == 1 { "y" } else { "ies" },
        names.join(", ")
    )
}

/// `file:line  old → new  (policy)` per change and the count, or that nothing changes.
fn changes_listing(changes: &[Change], prefix: &str, verb: &str) -> String {
    if changes.is_empty() {
        return "no changes: every marker the fixer can write is up to date\n".to_string();
    }
    format!(
        "{}{} {verb}\n",
        update::render_changes(changes, prefix),
        changes.len()
    )
}

/// The repository after fixing, and what the run did to it.
struct Remaining<'a> {
    workspace: &'a Workspace,
    /// What report paths begin with (`--relative-to`).
    prefix: &'a str,
    /// The changes were written or committed.
    written: bool,
    /// The changes and the stuck markers, for the summary.
    updates: &'a [status::Status],
    /// What happened to the review branch (and its pull request).
    push: Option<&'a str>,
    /// Why publishing failed.
    error: Option<&'a str>,
}

/// The rules over the repository as it is after fixing: the diagnostics, and the report of them
/// (the JSON document with `--fix`'s keys; in human, nothing when nothing remains). The CI
/// files (`--report-file`, `--summary-file`, `--outputs-file`) are written here too.
fn report_remaining(
    args: &CheckArgs,
    global: GlobalArgs,
    remaining: &Remaining,
    config: &Config,
    source: &TagSource,
    target: &Target,
    outcome: &FixOutcome,
) -> Result<(Vec<Diagnostic>, String), Failure> {
    // The tags file was read once, for the tag source; the rules see the same snapshot.
    let prefix = remaining.prefix;
    let (mut diagnostics, summary) = rules::run(
        remaining.workspace,
        config,
        source.snapshot(),
        target.only_files.as_deref(),
    );
    for d in &mut diagnostics {
        d.file.insert_str(0, prefix);
    }
    let report = Report {
        diagnostics: &diagnostics,
        summary: &summary,
    };
    let texts = quoted_texts(remaining.workspace, &diagnostics, prefix)?;
    let sources: HashMap<&str, &str> = texts.iter().map(|(p, t)| (p.as_str(), &**t)).collect();
    let parts = Parts {
        checked: checked_name(prefix),
        report: Some(&report),
        fix: Some(FixParts {
            changes: &outcome.changes,
            failures: outcome.failures,
            written: remaining.written,
            push: remaining.push,
        }),
        updates: remaining.updates,
        error: remaining.error,
    };
    write_ci_files(
        args,
        global,
        Some((&report, &sources)),
        Some(outcome),
        &parts,
    )?;
    // Every other format prints the human report after the listing of changes.
    let text = match args.format {
        Format::Json => {
            render_report(args, global, Format::Json, &report, &sources, Some(outcome))?
        }
        _ if diagnostics.is_empty() && !args.statistics => String::new(),
        _ => render_report(
            args,
            global,
            Format::Human,
            &report,
            &sources,
            Some(outcome),
        )?,
    };
    Ok((diagnostics, text))
}

/// Where the inputs are read from. With `--push` every input comes from the base commit, held
/// in memory (the config, and for the real kustomize every file, written to a scratch
/// directory), so the user's working tree is never read or touched.
struct Inputs {
    /// The same set of files either way: what Flux gets.
    files: FileSet,
    /// With `--push`: the target's path inside the git repository (`""` at its top level).
    git_prefix: Option<String>,
    /// Removed on drop.
    _scratch: Option<tempfile::TempDir>,
}

impl Inputs {
    fn read(root: &Path, fix: &FixArgs) -> Result<Inputs, Failure> {
        if !fix.push {
            return Ok(Inputs {
                files: FileSet::of_directory(root)?,
                git_prefix: None,
                _scratch: None,
            });
        }
        let toplevel = git::toplevel(root).ok_or_else(|| {
            Failure(format!(
                "--push needs a git repository, and {} is not in one",
                root.display()
            ))
        })?;
        let prefix = crate::walk::relative_path(&toplevel, root);
        let (_, files) = git::read_base_files(&toplevel, fix.base.as_deref(), |path| {
            crate::walk::wanted_in_commit(&prefix, path)
        })?;
        let scratch = tempfile::tempdir()
            .map_err(|e| Failure(format!("cannot create a temporary directory: {e}")))?;
        // Only the config is looked for on disk; the rest is read from memory.
        let is_config = |path: &str| crate::config::FILE_NAMES.contains(&path);
        let files =
            FileSet::from_commit(scratch.path(), &prefix, files, is_config).map_err(|e| {
                Failure(format!(
                    "cannot write the base commit's files to {}: {e}",
                    scratch.path().display()
                ))
            })?;
        Ok(Inputs {
            files,
            git_prefix: Some(prefix),
            _scratch: Some(scratch),
        })
    }
}

/// The new texts keyed by their path in the git repository.
fn repository_files(
    workspace: &Workspace,
    new_texts: &[(usize, std::sync::Arc<str>)],
    prefix: &str,
) -> git::Files {
    new_texts
        .iter()
        .map(|(file, text)| {
            let path = &workspace.files[*file].source.path;
            let path = if prefix.is_empty() {
                path.clone()
            } else {
                format!("{prefix}/{path}")
            };
            (path, text.as_bytes().to_vec())
        })
        .collect()
}

/// The review branch and where it goes; each setting from its flag, else the config, else the
/// default.
struct ReviewBranch<'a> {
    repo: &'a Path,
    branch: String,
    /// `2026-w04`, for messages and titles.
    week: String,
    remote: String,
    author: Option<git::Identity>,
}

impl<'a> ReviewBranch<'a> {
    fn settle(fix: &FixArgs, config: &Config, repo: &'a Path) -> Result<ReviewBranch<'a>, Failure> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let template = fix
            .branch
            .as_deref()
            .or(config.branch.as_deref())
            .unwrap_or(git::DEFAULT_BRANCH_TEMPLATE);
        let author = fix
            .author
            .as_deref()
            .or(config.author.as_deref())
            .map(parse_identity)
            .transpose()?;
        Ok(ReviewBranch {
            repo,
            branch: git::weekly_branch_name(template, now)?,
            week: git::weekly_branch_name("{iso_year}-w{iso_week}", now)?,
            remote: fix
                .remote
                .clone()
                .or(config.remote.clone())
                .unwrap_or_else(|| "origin".to_string()),
            author,
        })
    }

    /// One commit on the base's tip holding `files`, pushed lease-safe.
    fn push(
        &self,
        fix: &FixArgs,
        files: &git::Files,
        message: &str,
    ) -> Result<PublishOutcome, git::GitError> {
        git::publish(&git::PublishRequest {
            repo: self.repo,
            base: fix.base.as_deref(),
            branch: &self.branch,
            remote: &self.remote,
            files,
            message,
            author: self.author.clone(),
            committer: None,
            signoff: fix.signoff,
            force: fix.force,
            timeout: std::time::Duration::from_secs(fix.git_timeout.max(1)),
        })
    }

    /// Creates or updates the branch's pull request.
    fn open_pull_request(&self, fix: &FixArgs, body: String) -> Result<String, String> {
        let remote_url = git::remote_url(self.repo, &self.remote)
            .ok_or_else(|| format!("cannot read the URL of remote `{}`", self.remote))?;
        let base = fix
            .base
            .clone()
            .or_else(|| git::current_branch(self.repo))
            .ok_or("--open-pr needs --base on a detached HEAD")?;
        let kind = match fix.forge {
            Some(kind) => kind,
            None => forge::detect(&remote_url).map_err(|e| e.to_string())?.0,
        };
        let token = forge::token_from_env(kind)
            .ok_or_else(|| forge::ForgeError::MissingToken { forge: kind }.to_string())?;
        let spec = forge::PullRequestSpec {
            remote_url,
            head: self.branch.clone(),
            base,
            title: format!("chore(images): update images for {}", self.week),
            body,
        };
        let options = forge::ForgeOptions {
            forge: Some(kind),
            api_url: fix.forge_api_url.clone(),
            ..forge::ForgeOptions::new(token)
        };
        forge::open_or_update(&spec, &options)
            .map(|outcome| outcome.to_string())
            .map_err(|e| e.to_string())
    }
}

/// `Name <email>`.
fn parse_identity(text: &str) -> Result<git::Identity, Failure> {
    let invalid = || Failure(format!("--author `{text}` is not `Name <email>`"));
    let (name, rest) = text.split_once('<').ok_or_else(invalid)?;
    let email = rest.strip_suffix('>').ok_or_else(invalid)?;
    Ok(git::Identity {
        name: name.trim().to_string(),
        email: email.trim().to_string(),
    })
}

/// The commit message: the config's template (`{week}`, `{changes}`) or
/// `chore(images): update images for 2026-w04` and one line per change (bulleted, so that git
/// does not read `name: old → new` lines as trailers).
fn commit_message(template: Option<&str>, week: &str, changes: &[Change]) -> String {
    let lines: String = changes
        .iter()
        .map(|c| {
            format!(
                "- {}: {} → {} ({})\n",
                c.policy.policy.name, c.old, c.new, c.path
            )
        })
        .collect();
    template
        .unwrap_or("chore(images): update images for {week}\n\n{changes}")
        .replace("{week}", week)
        .replace("{changes}", &lines)
}

/// The changes made and the markers left stuck, as `status --format markdown` shows them.
fn pull_request_body(pending: &status::Status) -> String {
    format!(
        "Image updates selected by the repository's ImagePolicies, as Flux would apply them.\n\n{}\nGenerated by flux-image-lint.\n",
        markdown::status(pending)
    )
}

/// What `--fix` adds to the JSON document.
#[derive(Serialize, Default)]
struct FixOutcome<'a> {
    changes: Vec<ChangeRecord<'a>>,
    refused_downgrades: Vec<ChangeRecord<'a>>,
    failures: &'a [ResolveFailure],
    push: Option<PushRecord<'a>>,
    /// Why the run could not do its job at all (exit 2), when it could not.
    error: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
enum PushRecord<'a> {
    Pushed {
        branch: &'a str,
        commit: &'a str,
        replaced: Option<&'a str>,
    },
    UpToDate {
        branch: &'a str,
        commit: &'a str,
    },
    NothingToCommit,
}

impl<'a> From<&'a PublishOutcome> for PushRecord<'a> {
    fn from(outcome: &'a PublishOutcome) -> PushRecord<'a> {
        match outcome {
            PublishOutcome::Pushed {
                branch,
                commit,
                replaced,
            } => PushRecord::Pushed {
                branch,
                commit,
                replaced: replaced.as_deref(),
            },
            PublishOutcome::UpToDate { branch, commit } => PushRecord::UpToDate { branch, commit },
            PublishOutcome::NothingToCommit => PushRecord::NothingToCommit,
        }
    }
}

fn push_line(outcome: &PublishOutcome) -> String {
    match outcome {
        PublishOutcome::Pushed {
            branch,
            commit,
            replaced: Some(old),
        } => format!("pushed {branch} at {commit} (replacing {old})"),
        PublishOutcome::Pushed { branch, commit, .. } => format!("pushed {branch} at {commit}"),
        PublishOutcome::UpToDate { branch, commit } => {
            format!("{branch} is already up to date at {commit}; nothing pushed")
        }
        PublishOutcome::NothingToCommit => "nothing to commit; nothing pushed".to_string(),
    }
}
