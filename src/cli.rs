//! Arguments, the repository root, exit codes, and wiring the stages together. Knows how no
//! stage works.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::explain::Explanation;
use crate::flux::selection::compile;
use crate::flux::Kind;
use crate::report::{self, Report, Severity};
use crate::rules;
use crate::scan::marker::PolicyRef;
use crate::tags::TagSnapshot;
use crate::workspace::Workspace;

/// Exit codes: 0 clean, 1 errors found, 2 the tool could not do its job.
pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_ERRORS: i32 = 1;
pub const EXIT_FAILURE: i32 = 2;

#[derive(Parser)]
#[command(
    name = "flux-image-lint",
    version,
    about = "Lint and update Flux CD image automation markers ($imagepolicy)",
    long_about = "Checks every `# {\"$imagepolicy\": \"ns:name\"}` marker of a GitOps repository against its \
Flux ImagePolicies and ImageRepositories, before Flux silently ignores a mistake.",
    after_help = "Examples:\n  flux-image-lint check                    check the repository you are in\n  \
flux-image-lint check fixtures/homelab   check a directory as a repository of its own\n  \
flux-image-lint check --format json      machine-readable diagnostics\n  \
flux-image-lint rules                    list the rules\n  \
flux-image-lint rule unknown-policy      explain one rule"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate every marker and Flux image object of a repository.
    Check(CheckArgs),
    /// List every rule with its id, default severity and summary.
    Rules {
        /// `markdown` prints the table the README embeds.
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Show every candidate tag of one policy and what happened to it, and the winner.
    Explain(ExplainArgs),
    /// Print the documentation of one rule.
    Rule {
        /// The rule id, e.g. `unknown-policy`.
        id: String,
    },
}

#[derive(Args)]
pub struct RootArgs {
    /// Repository root (default: the git top-level of the current directory, else the current directory).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Config file (default: `.flux-image-lint.yaml` at the root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// A directory to check as a repository of its own, or files to report on (the whole
    /// repository is still read for context, as pre-commit passes changed files).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub root: RootArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Worker threads for the walk (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Offline tag snapshot (`{"<spec.image>": ["tag", …]}`): more tags for `numeric-extract`.
    #[arg(long, value_name = "FILE")]
    pub tags_file: Option<PathBuf>,
    /// When to use colour in the human format.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The policy as `namespace:name`.
    pub policy: String,
    #[command(flatten)]
    pub root: RootArgs,
    /// Offline tag snapshot (`{"<spec.image>": ["tag", …]}`).
    #[arg(long, value_name = "FILE")]
    pub tags_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
    pub format: ExplainFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Markdown,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A failure to do the job at all (exit 2), with what to do about it.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(error.to_string())
    }
}

pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules { format } => {
            list_rules(format);
            Ok(EXIT_CLEAN)
        }
        Command::Rule { id } => show_rule(&id),
        Command::Explain(args) => explain(&args),
    };
    result.unwrap_or_else(|Failure(message)| {
        eprintln!("error: {message}");
        EXIT_FAILURE
    })
}

/// Where a command works: the root, and the files to report on (`None`: all).
pub struct Target {
    pub root: PathBuf,
    pub only_files: Option<Vec<String>>,
}

/// Finds the root the same way for every subcommand: a directory PATH is a root of its own;
/// otherwise `--root`, else the git top-level of the current directory, else the current directory.
pub fn find_targets(paths: &[PathBuf], root_flag: Option<&Path>) -> Result<Vec<Target>, Failure> {
    for path in paths {
        if !path.exists() {
            return Err(Failure(format!("`{}` does not exist", path.display())));
        }
    }
    let (dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| p.is_dir());
    if !dirs.is_empty() && !files.is_empty() {
        return Err(Failure(
            "pass either directories (each checked as a repository) or files, not both".into(),
        ));
    }
    if !dirs.is_empty() {
        return dirs
            .into_iter()
            .map(|dir| {
                Ok(Target {
                    root: dir.canonicalize()?,
                    only_files: None,
                })
            })
            .collect();
    }
    let cwd = std::env::current_dir()?;
    let root = match root_flag {
        Some(root) => root
            .canonicalize()
            .map_err(|e| Failure(format!("--root {}: {e}", root.display())))?,
        None => crate::walk::git_toplevel(&cwd).unwrap_or(cwd),
    };
    let only_files = if files.is_empty() {
        None
    } else {
        let mut relative = Vec::new();
        for file in files {
            let absolute = file.canonicalize()?;
            if !absolute.starts_with(&root) {
                return Err(Failure(format!(
                    "`{}` is outside the repository root `{}`; pass --root",
                    file.display(),
                    root.display()
                )));
            }
            relative.push(crate::walk::relative_path(&root, &absolute));
        }
        Some(relative)
    };
    Ok(vec![Target { root, only_files }])
}

/// Reads `--config`, else the root's `.flux-image-lint.yaml`, else defaults.
pub fn load_config(root: &Path, flag: Option<&Path>) -> Result<Config, Failure> {
    let path = match flag {
        Some(path) => path.to_path_buf(),
        None => root.join(config::FILE_NAME),
    };
    if flag.is_none() && !path.exists() {
        return Ok(Config::default());
    }
    let display = match path.canonicalize() {
        Ok(absolute) if absolute.starts_with(root) => crate::walk::relative_path(root, &absolute),
        _ => path.display().to_string(),
    };
    Ok(Config::load(&path, &display)?)
}

fn jobs(flag: Option<usize>) -> usize {
    flag.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn check(args: &CheckArgs) -> Result<i32, Failure> {
    let targets = find_targets(&args.paths, args.root.root.as_deref())?;
    let snapshot = args
        .tags_file
        .as_deref()
        .map(TagSnapshot::load)
        .transpose()?;
    let mut diagnostics = Vec::new();
    let mut summary = report::Summary::default();
    let mut texts: Vec<(String, String)> = Vec::new();
    let prefix_paths = targets.len() > 1;
    for target in &targets {
        let config = load_config(&target.root, args.root.config.as_deref())?;
        let workspace = Workspace::load(&target.root, &config, jobs(args.jobs));
        for error in &workspace.read_errors {
            eprintln!("warning: cannot read {}: {}", error.path, error.message);
        }
        let (mut found, found_summary) = rules::run(
            &workspace,
            &config,
            snapshot.as_ref(),
            target.only_files.as_deref(),
        );
        if prefix_paths {
            let prefix = target.root.display().to_string();
            for d in &mut found {
                d.file = format!("{prefix}/{}", d.file);
            }
        }
        for file in workspace.files {
            let path = if prefix_paths {
                format!("{}/{}", target.root.display(), file.source.path)
            } else {
                file.source.path
            };
            texts.push((path, file.source.text));
        }
        summary.files_scanned += found_summary.files_scanned;
        summary.yaml_files += found_summary.yaml_files;
        summary.markers += found_summary.markers;
        summary.policies += found_summary.policies;
        summary.repositories += found_summary.repositories;
        summary.errors += found_summary.errors;
        summary.warnings += found_summary.warnings;
        diagnostics.extend(found);
    }
    let report = Report {
        diagnostics: &diagnostics,
        summary: &summary,
    };
    let output = match args.format {
        Format::Json => report::json::render(&report),
        Format::Github => report::github::render(&report),
        Format::Sarif => report::sarif::render(&report),
        Format::Junit => report::junit::render(&report),
        Format::Human => {
            let sources: HashMap<&str, &str> = texts
                .iter()
                .map(|(p, t)| (p.as_str(), t.as_str()))
                .collect();
            report::human::render(&report, &sources, use_color(args.color))
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(output.as_bytes());
    let _ = stdout.flush();
    Ok(
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            EXIT_ERRORS
        } else {
            EXIT_CLEAN
        },
    )
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}

fn list_rules(format: RulesFormat) {
    let width = rules::RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
    if format == RulesFormat::Markdown {
        println!("| rule | default | what it catches |\n|---|---|---|");
    }
    for rule in rules::RULES {
        let severity = rule.severity.as_str();
        match format {
            RulesFormat::Text => println!("{:width$}  {severity:7}  {}", rule.id, rule.summary),
            RulesFormat::Markdown => println!("| `{}` | {severity} | {} |", rule.id, rule.summary),
        }
    }
}

fn show_rule(id: &str) -> Result<i32, Failure> {
    let rule = rules::find(id).ok_or_else(|| {
        let hint = rules::closest_id(id)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        Failure(format!(
            "unknown rule `{id}`{hint}; `flux-image-lint rules` lists them"
        ))
    })?;
    println!(
        "# {} ({} by default)\n\n{}\n\n{}",
        rule.id,
        rule.severity.as_str(),
        rule.summary,
        rule.docs.trim_end()
    );
    Ok(EXIT_CLEAN)
}

fn explain(args: &ExplainArgs) -> Result<i32, Failure> {
    let wanted = PolicyRef::parse(&args.policy)
        .ok_or_else(|| Failure(format!("`{}` is not `namespace:name`", args.policy)))?;
    let target = find_targets(&[], args.root.root.as_deref())?.remove(0);
    let config = load_config(&target.root, args.root.config.as_deref())?;
    let workspace = Workspace::load(&target.root, &config, jobs(None));
    let Some((policy, spec)) = workspace.index.policy(&wanted.namespace, &wanted.name) else {
        let known: Vec<String> = workspace
            .index
            .of_kind(Kind::ImagePolicy)
            .map(|p| p.key())
            .collect();
        let hint = crate::rules::closest_policy(&args.policy, &known)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(Failure(format!(
            "no ImagePolicy `{wanted}` in {}{hint}",
            target.root.display()
        )));
    };
    let image = workspace
        .index
        .repository_of(policy, spec)
        .and_then(|(_, repository)| repository.image.as_ref())
        .map(|image| image.value.clone())
        .ok_or_else(|| {
            Failure(format!(
                "policy `{wanted}` has no ImageRepository with a `spec.image`; `check` says why"
            ))
        })?;
    let compiled = compile(&workspace.index, policy, spec).map_err(|error| {
        Failure(format!(
            "policy `{wanted}` cannot select tags: {error}; run `check` for details"
        ))
    })?;
    let tags = match &args.tags_file {
        Some(path) => {
            let snapshot = TagSnapshot::load(path)?;
            snapshot
                .tags(&image)
                .ok_or_else(|| Failure(format!("{} has no tags for `{image}`", path.display())))?
                .to_vec()
        }
        None => {
            return Err(Failure(
                "no tags to evaluate: pass --tags-file FILE (an offline snapshot)".to_string(),
            ))
        }
    };
    let explanation = Explanation::new(wanted.to_string(), image, compiled.evaluate(&tags));
    let output = match args.format {
        ExplainFormat::Json => explanation.render_json(),
        ExplainFormat::Human => explanation.render_human(),
    };
    print!("{output}");
    Ok(EXIT_CLEAN)
}
