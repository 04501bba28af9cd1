//! `explain NS:NAME`: every candidate tag of one policy's repository and its fate.

use std::collections::BTreeSet;
use std::path::Path;

use super::progress;
use super::{find_targets, jobs, load_config, read_as_scanned, tag_source, Failure, EXIT_CLEAN};
use crate::cli::{ExplainArgs, ExplainFormat, GlobalArgs};
use crate::explain::Explanation;
use crate::flux::objects::{FluxObject, PolicySpec};
use crate::flux::selection::{select_alike_in_their_clusters, Compiler};
use crate::flux::Kind;
use crate::model::cluster::Cluster;
use crate::scan::marker::PolicyRef;
use crate::tags::request_for;
use crate::workspace::Workspace;

pub fn run(args: &ExplainArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let wanted = PolicyRef::parse(&args.policy)
        .ok_or_else(|| Failure(format!("`{}` is not `namespace:name`", args.policy)))?;
    let target = find_targets(&[], args.root.root.as_deref())?.remove(0);
    let config = load_config(&target, &args.root, global)?;
    let workspace = Workspace::load(&target.root, &config, jobs(None))?;
    let (policy, spec) =
        policy_to_explain(&workspace, &target.root, &wanted, args.cluster.as_deref())?;
    let image = workspace
        .index
        .repository_of(policy, spec)
        .and_then(|(_, repository)| repository.image.as_ref())
        .map(|image| image.value.to_string())
        .ok_or_else(|| {
            Failure(format!(
                "policy `{wanted}` has no ImageRepository with a `spec.image`; `check` says why"
            ))
        })?;
    let compiled = Compiler::new(&workspace.fluxes)
        .compile(&workspace.index, policy, spec)
        .map_err(|error| {
            Failure(format!(
                "policy `{wanted}` cannot select tags: {error}; run `check` for details"
            ))
        })?;
    let request = workspace
        .index
        .repository_of(policy, spec)
        .and_then(|(_, repository)| request_for(repository))
        .ok_or_else(|| Failure(format!("policy `{wanted}` has no usable ImageRepository")))?;
    let source = tag_source(&args.registry, args.tags_file.as_deref(), global)?;
    // A failure is this command's error, printed once by the caller.
    let quiet = global.quiet || args.format == ExplainFormat::Json;
    let tags = progress::fetch(&source, std::slice::from_ref(&request), quiet, false).remove(0)?;
    // Named where the repository has several clusters, as their copies may differ.
    let cluster = (workspace.model.clusters.len() > 1)
        .then(|| workspace.model.clusters.get(policy.cluster))
        .flatten()
        .map(|cluster| cluster.name.clone());
    let explanation =
        Explanation::new(wanted.to_string(), image, cluster, compiled.evaluate(&tags));
    let output = match args.format {
        ExplainFormat::Json => explanation.render_json(),
        ExplainFormat::Human => explanation.render_human(),
    };
    read_as_scanned(&workspace)?;
    print!("{output}");
    Ok(EXIT_CLEAN)
}

/// The copy of the policy to explain: the named cluster's, or else the first, where every
/// cluster that defines the policy selects alike (the overlays of one repository often patch a
/// policy per environment: explaining one of them for all would mislead).
fn policy_to_explain<'w>(
    workspace: &'w Workspace,
    root: &Path,
    wanted: &PolicyRef,
    cluster: Option<&str>,
) -> Result<(&'w FluxObject, &'w PolicySpec), Failure> {
    let index = &workspace.index;
    let clusters = &workspace.model.clusters;
    let (namespace, name) = (wanted.namespace.as_str(), wanted.name.as_str());
    let defining: BTreeSet<usize> = index
        .clusters_defining(Kind::ImagePolicy, namespace, name)
        .into_iter()
        .collect();
    let names = |of: &BTreeSet<usize>| listed(of.iter().filter_map(|&c| clusters.get(c)));
    if let Some(named) = cluster {
        let cluster = cluster_named(clusters, named)?;
        return index.policy_in(cluster, namespace, name).ok_or_else(|| {
            let elsewhere = match names(&defining) {
                none if none.is_empty() => String::new(),
                some => format!(" (clusters that define it: {some})"),
            };
            Failure(format!(
                "no ImagePolicy `{wanted}` in cluster `{}`{elsewhere}",
                clusters[cluster].name
            ))
        });
    }
    let Some(first) = index.policy(namespace, name) else {
        let known = index.keys(Kind::ImagePolicy);
        let hint = crate::rules::closest_policy(&wanted.to_string(), &known)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(Failure(format!(
            "no ImagePolicy `{wanted}` in {}{hint}",
            root.display()
        )));
    };
    let differs = defining.iter().any(|&cluster| {
        index
            .policy_in(cluster, namespace, name)
            .is_some_and(|(copy, _)| {
                !select_alike_in_their_clusters(index, &workspace.fluxes, first.0, copy)
            })
    });
    if differs {
        return Err(Failure(format!(
            "policy `{wanted}` selects tags differently in clusters {}: pass `--cluster` with one of them",
            names(&defining)
        )));
    }
    Ok(first)
}

/// The cluster `check -v` names `named` (its bootstrap's path or the folder of its roots), or
/// syncing that path; `./` and a final `/` as typed or not.
fn cluster_named(clusters: &[Cluster], named: &str) -> Result<usize, Failure> {
    let plain = |path: &str| {
        path.trim_start_matches("./")
            .trim_end_matches('/')
            .to_string()
    };
    let wanted = plain(named);
    clusters
        .iter()
        .position(|cluster| plain(&cluster.name) == wanted || plain(&cluster.path) == wanted)
        .ok_or_else(|| match clusters {
            [] => Failure(format!(
                "no cluster `{named}`: the repository has none (no Flux bootstrap), so every policy has one copy; leave out `--cluster`"
            )),
            _ => Failure(format!(
                "no cluster `{named}`; the clusters are {}",
                listed(clusters.iter())
            )),
        })
}

/// Clusters by name, for a message: `` `clusters/a`, `clusters/b` ``.
fn listed<'c>(clusters: impl Iterator<Item = &'c Cluster>) -> String {
    clusters
        .map(|cluster| format!("`{}`", cluster.name))
        .collect::<Vec<_>>()
        .join(", ")
}
