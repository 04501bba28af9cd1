//! `check` without `--fix`: lint each target repository and print one report.

use super::{
    checked_name, diagnostics_exit_code, emit, find_targets, jobs, load_config, path_prefix,
    quoted_texts, render_report, status, write_ci_files, write_failure_ci_files, Failure,
};
use crate::cli::{CheckArgs, GlobalArgs};
use crate::flux::versions::{resolve_written, VersionSetting};
use crate::report::escape;
use crate::report::summary::Parts;
use crate::report::{Report, Summary};
use crate::tags::{TagSnapshot, TagSource};
use crate::workspace::Workspace;
use crate::{impact, rules};
use foldhash::HashMap;
use std::collections::BTreeSet;

pub fn run(args: &CheckArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let result = lint(args, global);
    if let Err(Failure(message)) = &result {
        write_failure_ci_files(args, global, message)?;
    }
    result
}

fn lint(args: &CheckArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let mut targets = find_targets(&args.paths, args.root.root.as_deref())?;
    if args.staged {
        if args.paths.iter().any(|path| path.is_dir()) {
            return Err(Failure("--staged takes files, not directories".into()));
        }
        // pre-commit runs the hook with no file when only deletions are staged.
        for target in &mut targets {
            target.only_files.get_or_insert_with(Vec::new);
        }
    }
    let source = args
        .tags_file
        .as_deref()
        .map(TagSnapshot::load)
        .transpose()?
        .map(TagSource::Snapshot);
    let snapshot = source.as_ref().and_then(TagSource::snapshot);
    let upgrade_to = args
        .flux_version
        .as_deref()
        .map(|written| {
            Ok::<_, Failure>(VersionSetting {
                cluster_path: None,
                written: written.to_string(),
                version: resolve_written(written)
                    .map_err(|e| Failure(format!("--flux-version: {e}")))?,
                location: "--flux-version".to_string(),
            })
        })
        .transpose()?;
    let mut diagnostics = Vec::new();
    let mut summary = Summary::default();
    let mut texts: Vec<(String, std::sync::Arc<str>)> = Vec::new();
    let mut checked = Vec::new();
    let mut pending = Vec::new();
    for target in &targets {
        // Several repositories in one report: their paths are told apart by the root.
        let prefix = path_prefix(args, &target.root, targets.len() > 1)?;
        let mut config = load_config(target, &args.root, global)?;
        config.upgrade_to = upgrade_to.clone();
        let workspace = Workspace::load(&target.root, &config, jobs(args.jobs))?;
        for error in &workspace.read_errors {
            eprintln!("warning: {}", crate::report::escape(&error.message));
        }
        if global.verbose > 0 {
            describe_model(&workspace, &config);
            for skipped in workspace.file_set.skipped()? {
                eprintln!("skipped {}: {}", skipped.path, skipped.reason);
            }
        }
        let (mut found, found_summary) = match &target.only_files {
            // Files given: theirs, and what their change breaks elsewhere.
            Some(only) => {
                let changed = impact::changed_files(&target.root, only, args.staged)?;
                impact::report(
                    &workspace,
                    &config,
                    snapshot,
                    jobs(args.jobs),
                    only,
                    &changed,
                )?
            }
            None => rules::run(&workspace, &config, snapshot, None),
        };
        // With tags at hand, the summary shows what `--fix` would change and what is stuck.
        if let (Some(source), Some(_)) = (&source, &args.ci.summary_file) {
            let whole_repository;
            let diagnostics = match &target.only_files {
                None => &found,
                Some(_) => {
                    whole_repository = rules::run(&workspace, &config, snapshot, None).0;
                    &whole_repository
                }
            };
            let mut status = status::of_workspace(&workspace, &config, source, diagnostics, true);
            status.prefix_paths(&prefix);
            pending.push(status.pending());
        }
        for d in &mut found {
            d.file.insert_str(0, &prefix);
        }
        texts.extend(quoted_texts(&workspace, &found, &prefix)?);
        crate::parallel::drop_in_background(workspace);
        checked.push(checked_name(&prefix).to_string());
        summary += found_summary;
        diagnostics.extend(found);
    }
    let report = Report {
        diagnostics: &diagnostics,
        summary: &summary,
    };
    let sources: HashMap<&str, &str> = texts.iter().map(|(p, t)| (p.as_str(), &**t)).collect();
    let output = render_report::<()>(args, global, args.format, &report, &sources, None)?;
    emit(&output, args.output_file.as_deref())?;
    let checked = checked.join(", ");
    let parts = Parts {
        checked: &checked,
        report: Some(&report),
        updates: &pending,
        ..Parts::default()
    };
    write_ci_files::<()>(args, global, Some((&report, &sources)), None, &parts)?;
    Ok(diagnostics_exit_code(args, &diagnostics))
}

/// `--verbose`: which Flux, which clusters, what the model could not see, which files Flux never
/// reads.
fn describe_model(workspace: &Workspace, config: &crate::config::Config) {
    eprintln!(
        "kustomize: {}",
        crate::model::Builder::from_setting(&config.kustomize).describe()
    );
    let fluxes = &workspace.fluxes;
    match fluxes.repository.assumption() {
        Some(note) => eprintln!("flux: {note}"),
        None => eprintln!("flux: {}", fluxes.repository.description()),
    }
    for (index, cluster) in workspace.model.clusters.iter().enumerate() {
        let builds = workspace
            .model
            .renders
            .iter()
            .filter(|r| r.cluster == index)
            .count();
        if builds == 0 {
            continue;
        }
        let of = &fluxes.clusters[index];
        let flux = match (of.pinned, of.flux.assumption()) {
            (true, _) => of.flux.description(),
            (false, Some(_)) => "no Flux version pinned: the newest assumed".to_string(),
            (false, None) => format!("its own files pin none: {}", of.flux.description()),
        };
        eprintln!(
            "cluster {}: {builds} Flux Kustomization builds, {} files, {flux}",
            escape(&cluster.name),
            cluster.files.len()
        );
    }
    let at = |origin: crate::model::tree::Origin| {
        let file = &workspace.files[origin.file()].source;
        format!("{}:{}", file.path, file.position(origin.span().start).line)
    };
    for note in &workspace.model.notes {
        eprintln!(
            "note: {}: {}",
            escape(&at(note.origin)),
            escape(&note.message)
        );
    }
    // A kustomization whose build fails is applied by nothing, yet checked: its failure is
    // reported.
    let failed: BTreeSet<usize> = workspace.model.files_failing_builds().collect();
    for file in workspace.files_flux_ignores() {
        let state = if failed.contains(&file) {
            "not applied by Flux, its build fails (reported below)"
        } else {
            "not applied by Flux, not checked"
        };
        eprintln!("{state}: {}", escape(&workspace.files[file].source.path));
    }
}
