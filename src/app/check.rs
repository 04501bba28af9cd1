//! `check` without `--fix`: lint each target repository and print one report.

use std::collections::HashMap;

use super::{diagnostics_exit_code, emit, find_targets, jobs, load_config, render_report, Failure};
use crate::cli::{CheckArgs, GlobalArgs};
use crate::flux::versions::{resolve_written, VersionSetting};
use crate::report::human::printable;
use crate::report::{Report, Summary};
use crate::rules;
use crate::tags::TagSnapshot;
use crate::workspace::Workspace;

pub fn run(args: &CheckArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let targets = find_targets(&args.paths, args.root.root.as_deref())?;
    let snapshot = args
        .tags_file
        .as_deref()
        .map(TagSnapshot::load)
        .transpose()?;
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
    let mut texts: Vec<(String, String)> = Vec::new();
    // Several repositories in one report: their paths are told apart by the root.
    let prefix_paths = targets.len() > 1;
    for target in &targets {
        let mut config = load_config(target, &args.root, global)?;
        config.upgrade_to = upgrade_to.clone();
        let workspace = Workspace::load(&target.root, &config, jobs(args.jobs))?;
        for error in &workspace.read_errors {
            eprintln!(
                "warning: cannot read {}: {}",
                printable(&error.path),
                printable(&error.message)
            );
        }
        if global.verbose > 0 {
            describe_model(&workspace, &config);
            for skipped in workspace.file_set.skipped()? {
                eprintln!("skipped {}: {}", skipped.path, skipped.reason);
            }
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
        summary += found_summary;
        diagnostics.extend(found);
    }
    let report = Report {
        diagnostics: &diagnostics,
        summary: &summary,
    };
    let sources: HashMap<&str, &str> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let output = render_report::<()>(args, global, args.format, &report, &sources, None)?;
    emit(&output, args.output_file.as_deref())?;
    Ok(diagnostics_exit_code(args, &diagnostics))
}

/// `--verbose`: which Flux, which clusters, what the model could not see, which files Flux never
/// reads.
fn describe_model(workspace: &Workspace, config: &crate::config::Config) {
    let flux = rules::repository_flux(workspace, config);
    match flux.assumption() {
        Some(note) => eprintln!("flux: {note}"),
        None => eprintln!("flux: {}", flux.description()),
    }
    let cluster_flux = rules::cluster_flux(workspace, config);
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
        let flux = cluster_flux[index]
            .as_ref()
            .map_or_else(|| "the repository's Flux".to_string(), |f| f.description());
        eprintln!(
            "cluster {}: {builds} Flux Kustomization builds, {} files, {flux}",
            printable(&cluster.name),
            cluster.files.len()
        );
    }
    let at = |origin: crate::model::tree::Origin| {
        let file = &workspace.files[origin.file].source;
        format!("{}:{}", file.path, file.position(origin.span.start).line)
    };
    for note in &workspace.model.notes {
        eprintln!(
            "note: {}: {}",
            printable(&at(note.origin)),
            printable(&note.message)
        );
    }
    for file in workspace.files_flux_ignores() {
        eprintln!(
            "not applied by Flux, not checked: {}",
            printable(&workspace.files[file].source.path)
        );
    }
}
