//! One file per command, wiring the stages together; `mod.rs` holds what every command shares:
//! exit codes, the repository root, the config, the tag source. Knows how no stage works.

mod check;
mod explain;
mod fix;
mod progress;
mod rules;
mod status;
mod tags;

use foldhash::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{
    CheckArgs, Cli, ColorChoice, Command, Format, GlobalArgs, RegistryArgs, RootArgs,
};
use crate::config::{self, Config};
use crate::registry::{CacheOptions, Registry, RegistryOptions};
use crate::report::{self, human, statistics, summary, Diagnostic, Report, Severity};
use crate::tags::{TagSnapshot, TagSource};
use crate::workspace::Workspace;

/// Exit codes: 0 clean, 1 errors found, 2 the tool could not do its job.
pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_ERRORS: i32 = 1;
pub const EXIT_FAILURE: i32 = 2;

/// A failure to do the job at all (exit 2), with what to do about it.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(error.to_string())
    }
}

/// Runs one command; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let global = cli.global;
    let result = match cli.command {
        Command::Check(args) if args.fix.fix => fix::run(&args, global),
        Command::Check(args) => check::run(&args, global),
        Command::Rules { format } => rules::list(format),
        Command::Rule { id } => rules::show(&id),
        Command::Explain(args) => explain::run(&args, global),
        Command::Tags(args) => tags::run(&args, global),
        Command::Status(args) => status::run(&args, global),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(
                shell,
                &mut command,
                "flux-image-lint",
                &mut std::io::stdout(),
            );
            Ok(EXIT_CLEAN)
        }
    };
    result.unwrap_or_else(|Failure(message)| {
        eprintln!("error: {}", crate::report::escape(&message));
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
                    root: canonical(dir)?,
                    only_files: None,
                })
            })
            .collect();
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Failure(format!("cannot read the current directory: {e}")))?;
    let root = match root_flag {
        Some(root) => canonical(root)?,
        None => crate::walk::git_toplevel(&cwd).unwrap_or(cwd),
    };
    let only_files = if files.is_empty() {
        None
    } else {
        let mut relative = Vec::new();
        for file in files {
            let absolute = canonical(file)?;
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

fn canonical(path: &Path) -> Result<PathBuf, Failure> {
    path.canonicalize()
        .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))
}

/// The config of a target: none with `--no-config`; `--config FILE`; else
/// `.flux-image-lint.yaml` or `.flux-image-lint.yml` at the root (both there: an error), else
/// defaults. A config between the reported files and the root is not read: unless `--config` or
/// `--no-config` chose, a warning says so, and how to use it. `-v` says which root and config
/// are used.
pub fn load_config(
    target: &Target,
    args: &RootArgs,
    global: GlobalArgs,
) -> Result<Config, Failure> {
    let root = target.root.as_path();
    // `--config` and `--no-config` already say which config to read.
    let chosen = args.config.is_some() || args.no_config;
    for nearer in configs_below_root(target).into_iter().filter(|_| !chosen) {
        eprintln!(
            "warning: {} is not read: the repository root is {} (pass --root {} to check that \
             directory as a repository of its own, or --config to use it)",
            nearer.display(),
            root.display(),
            nearer.parent().unwrap_or(root).display()
        );
    }
    let path = match (&args.config, args.no_config) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => None,
        (None, false) => config_at(root)?,
    };
    let mut config = match &path {
        None => Config::default(),
        Some(path) => {
            let display = match path.canonicalize() {
                Ok(absolute) if absolute.starts_with(root) => {
                    crate::walk::relative_path(root, &absolute)
                }
                // The repository's own config must not be a link out of it (to a device,
                // another user's file): a checked-out repository decides nothing outside itself.
                _ if args.config.is_none() => {
                    return Err(Failure(format!(
                        "{}: a symbolic link that leaves the repository; not read",
                        crate::walk::relative_path(root, path)
                    )))
                }
                _ => path.display().to_string(),
            };
            Config::load(path, &display)?
        }
    };
    if let Some(kustomize) = &args.kustomize {
        config.kustomize = config::KustomizeSetting::parse(kustomize);
    }
    if let config::KustomizeSetting::Binary(binary) = &config.kustomize {
        if !binary.is_file() {
            return Err(Failure(format!(
                "kustomize binary `{}` does not exist; give the path of `kustomize` or `kubectl`, `auto` to find one on PATH, or `off`",
                binary.display()
            )));
        }
    }
    if global.verbose > 0 {
        eprintln!(
            "root: {}\nconfig: {}",
            root.display(),
            path.as_ref()
                .map_or("none (defaults)".to_string(), |p| p.display().to_string()),
        );
    }
    Ok(config)
}

/// The root's config file, if any; both spellings present is an error.
fn config_at(root: &Path) -> Result<Option<PathBuf>, Failure> {
    let found: Vec<PathBuf> = config::FILE_NAMES
        .iter()
        .map(|name| root.join(name))
        .filter(|path| path.exists())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(Failure(format!(
            "both {} and {} exist in {}; keep one",
            config::FILE_NAMES[0],
            config::FILE_NAMES[1],
            root.display()
        ))),
    }
}

/// Config files in the directories between the reported files and the root.
fn configs_below_root(target: &Target) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for file in target.only_files.iter().flatten() {
        let mut dir = target.root.join(file);
        while dir.pop() && dir != target.root && dir.starts_with(&target.root) {
            for name in config::FILE_NAMES {
                let candidate = dir.join(name);
                if candidate.exists() && !found.contains(&candidate) {
                    found.push(candidate);
                }
            }
        }
    }
    found
}

/// `--jobs`, else the number of CPUs.
pub fn jobs(flag: Option<usize>) -> usize {
    flag.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Tags from the snapshot when given, else from the registry (`-vv` logs each request).
pub fn tag_source(
    args: &RegistryArgs,
    tags_file: Option<&Path>,
    global: GlobalArgs,
) -> Result<TagSource, Failure> {
    if let Some(path) = tags_file {
        return Ok(TagSource::Snapshot(TagSnapshot::load(path)?));
    }
    let options = RegistryOptions {
        timeout: std::time::Duration::from_secs(args.registry_timeout),
        connect_timeout: std::time::Duration::from_secs(args.registry_connect_timeout),
        concurrency_per_host: args.registry_concurrency.max(1),
        ca_file: args.ca_file.clone(),
        cache: if args.no_cache {
            None
        } else {
            args.cache_dir
                .clone()
                .or_else(crate::registry::default_cache_dir)
                .map(CacheOptions::new)
        },
        verbose: global.verbose > 1,
        ..RegistryOptions::default()
    };
    Ok(TagSource::Registry(Box::new(Registry::new(options)?)))
}

/// The report in `format` (or, with `--statistics`, the counts per rule) for standard output or
/// `--output-file`; `extra` adds keys to the JSON document (what `--fix` did).
pub fn render_report<Extra: Serialize>(
    args: &CheckArgs,
    global: GlobalArgs,
    format: Format,
    report: &Report,
    sources: &HashMap<&str, &str>,
    extra: Option<&Extra>,
) -> Result<String, Failure> {
    let to_terminal = args.output_file.is_none() && std::io::stdout().is_terminal();
    render_report_to(args, global, format, to_terminal, report, sources, extra)
}

fn render_report_to<Extra: Serialize>(
    args: &CheckArgs,
    global: GlobalArgs,
    format: Format,
    to_terminal: bool,
    report: &Report,
    sources: &HashMap<&str, &str>,
    extra: Option<&Extra>,
) -> Result<String, Failure> {
    if args.statistics {
        return match format {
            Format::Human if global.quiet => Ok(statistics::render_text(report)),
            Format::Human => Ok(statistics::render_text(report) + &human::summary_line(report)),
            Format::Json => Ok(statistics::render_json(report)),
            _ => Err(Failure(
                "--statistics prints the human or the json format".into(),
            )),
        };
    }
    Ok(match format {
        Format::Json => report::json::render_with(report, extra),
        Format::Github => report::github::render(report),
        Format::Sarif => report::sarif::render(report),
        Format::Junit => report::junit::render(report),
        Format::Human => {
            let style = human::Style {
                color: use_color(args.color, to_terminal),
                width: report_width(to_terminal),
                summary: !global.quiet,
            };
            human::render(report, sources, style)
        }
    })
}

/// Writes the report to `--output-file`, else standard output.
pub fn emit(text: &str, output_file: Option<&Path>) -> Result<(), Failure> {
    match output_file {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            Failure(format!(
                "cannot write the report to {}: {e}",
                path.display()
            ))
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not a failure of the check.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            Ok(())
        }
    }
}

/// 1 when an error (or, with `--strict`, a warning) was found, unless `--exit-zero`.
pub fn diagnostics_exit_code(args: &CheckArgs, diagnostics: &[Diagnostic]) -> i32 {
    let fails = |d: &Diagnostic| d.severity == Severity::Error || args.strict;
    if !args.exit_zero && diagnostics.iter().any(fails) {
        EXIT_ERRORS
    } else {
        EXIT_CLEAN
    }
}

/// Whether the human report is coloured: `--color always|never`; else forced by `FORCE_COLOR`
/// (set, not empty) or `CLICOLOR_FORCE` (set, not `0`); else off with `NO_COLOR` (set, not
/// empty) or `CLICOLOR=0`; else on when the report goes to a terminal.
pub fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if var("FORCE_COLOR").is_some() || var("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if var("NO_COLOR").is_some() || var("CLICOLOR").is_some_and(|v| v == "0") {
                false
            } else {
                to_terminal
            }
        }
    }
}

/// The width the human report wraps at: the terminal's, else `COLUMNS`, else miette's default.
pub fn report_width(to_terminal: bool) -> Option<usize> {
    let terminal = to_terminal
        .then(|| terminal_size::terminal_size_of(std::io::stdout()))
        .flatten()
        .map(|(width, _)| usize::from(width.0));
    terminal.or_else(|| {
        std::env::var("COLUMNS")
            .ok()?
            .parse()
            .ok()
            .filter(|&w: &usize| w >= 20)
    })
}

/// The texts of the files the diagnostics point into, under their reported paths (`prefix`
/// and the path): what a report quotes. Only those: a file that let its text go is read again.
pub fn quoted_texts(
    workspace: &Workspace,
    diagnostics: &[Diagnostic],
    prefix: &str,
) -> Result<Vec<(String, std::sync::Arc<str>)>, Failure> {
    let named: foldhash::HashSet<&str> = diagnostics
        .iter()
        .filter_map(|d| d.file.strip_prefix(prefix))
        .collect();
    let texts = workspace
        .files
        .iter()
        .filter(|file| named.contains(file.source.path.as_str()))
        .map(|file| {
            let path = format!("{prefix}{}", file.source.path);
            (path, file.source.shared_text())
        })
        .collect();
    read_as_scanned(workspace)?;
    Ok(texts)
}

/// Fails when a file's text, let go after its scan, was read again other than it was scanned
/// ([`Workspace::read_as_scanned`]): nothing is reported or written.
pub fn read_as_scanned(workspace: &Workspace) -> Result<(), Failure> {
    workspace.read_as_scanned().map_err(|changed| {
        Failure(format!(
            "{}, so nothing is reported or written; run again",
            report::escape(&changed)
        ))
    })
}

/// How report paths begin for a target: relative to `--relative-to` when given, else to the
/// root, or with the root itself when several repositories share one report.
pub fn path_prefix(args: &CheckArgs, root: &Path, several: bool) -> Result<String, Failure> {
    if let Some(dir) = &args.ci.relative_to {
        let dir = canonical(dir)?;
        let inside = root.strip_prefix(&dir).map_err(|_| {
            Failure(format!(
                "--relative-to {}: the repository root {} is not inside it",
                dir.display(),
                root.display()
            ))
        })?;
        let inside = crate::walk::relative_path(&dir, &dir.join(inside));
        return Ok(if inside.is_empty() {
            String::new()
        } else {
            format!("{inside}/")
        });
    }
    Ok(if several {
        format!("{}/", root.display())
    } else {
        String::new()
    })
}

/// What was checked, as the summary names it: the path prefix, or `.`.
pub fn checked_name(prefix: &str) -> &str {
    match prefix.trim_end_matches('/') {
        "" => ".",
        name => name,
    }
}

/// What a run was asked to check, as the summary names it when it stopped before finding out.
fn requested_name(args: &CheckArgs) -> String {
    if args.paths.is_empty() {
        return ".".to_string();
    }
    let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    paths.join(", ")
}

/// The summary and counts of a run that could not do its job: CI gets them whatever
/// happened, the summary saying why.
pub fn write_failure_ci_files(
    args: &CheckArgs,
    global: GlobalArgs,
    message: &str,
) -> Result<(), Failure> {
    let checked = requested_name(args);
    let parts = summary::Parts {
        checked: &checked,
        error: Some(message),
        ..summary::Parts::default()
    };
    write_ci_files::<()>(args, global, None, None, &parts)
}

/// Writes the CI artefacts besides the report: each `--report-file`, then appends the summary
/// (`--summary-file`) and the counts (`--outputs-file`). A run that stopped before the rules
/// has no report: only the summary and the counts are written, saying why.
pub fn write_ci_files<Extra: Serialize>(
    args: &CheckArgs,
    global: GlobalArgs,
    report: Option<(&Report, &HashMap<&str, &str>)>,
    extra: Option<&Extra>,
    parts: &summary::Parts,
) -> Result<(), Failure> {
    if let Some((report, sources)) = report {
        for (format, path) in &args.ci.report_file {
            let text = render_report_to(args, global, *format, false, report, sources, extra)?;
            emit(&text, Some(path))?;
        }
    }
    if let Some(path) = &args.ci.summary_file {
        append(path, &summary::render(parts))?;
    }
    if let Some(path) = &args.ci.outputs_file {
        append(path, &summary::outputs(parts.report, parts.fix.as_ref()))?;
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
}
