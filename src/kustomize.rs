//! Kustomizations and the namespaces they set. Kustomize's `namespace:` overrides the namespace
//! of every resource it includes, and an outer kustomization's transformer runs last, so the
//! outermost kustomization that sets one decides where an object lands in the cluster.

use std::collections::{BTreeMap, BTreeSet};

use crate::scan::yaml::YamlFile;
use crate::workspace::ScannedFile;

pub fn is_kustomization_name(name: &str) -> bool {
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

struct Kustomization {
    dir: String,
    namespace: Option<String>,
    resources: Vec<String>,
}

fn read(path: &str, yaml: &YamlFile) -> Option<Kustomization> {
    let &root = yaml.documents.first()?;
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    let resources = ["resources", "bases"]
        .iter()
        .filter_map(|key| yaml.get(root, key))
        .flat_map(|list| {
            yaml.items(list)
                .iter()
                .filter_map(|&item| yaml.scalar(item))
        })
        .filter(|r| !r.contains("://") && !r.starts_with("github.com/"))
        .map(|r| join(&dir, r))
        .collect();
    Some(Kustomization {
        namespace: yaml
            .path_str(root, &["namespace"])
            .filter(|ns| !ns.is_empty())
            .map(str::to_string),
        dir,
        resources,
    })
}

/// `dir/relative`, normalised (`./`, `../` resolved; paths escaping the root dropped to "").
fn join(dir: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// For each file (repository-relative path) the namespace a kustomization forces on it.
pub fn namespaces(files: &[ScannedFile]) -> BTreeMap<String, String> {
    let kustomizations: BTreeMap<String, Kustomization> = files
        .iter()
        .filter(|f| is_kustomization_name(f.source.path.rsplit('/').next().unwrap_or_default()))
        .filter_map(|f| {
            let yaml = f.yaml.as_ref().ok()?;
            let k = read(&f.source.path, yaml)?;
            Some((k.dir.clone(), k))
        })
        .collect();
    let referenced: BTreeSet<&str> = kustomizations
        .values()
        .flat_map(|k| k.resources.iter().map(String::as_str))
        .filter(|r| kustomizations.contains_key(*r))
        .collect();
    let mut forced = BTreeMap::new();
    for (dir, kustomization) in &kustomizations {
        if !referenced.contains(dir.as_str()) {
            let mut visiting = BTreeSet::new();
            assign(
                kustomization,
                None,
                &kustomizations,
                &mut forced,
                &mut visiting,
            );
        }
    }
    forced
}

fn assign<'a>(
    kustomization: &'a Kustomization,
    inherited: Option<&'a str>,
    all: &'a BTreeMap<String, Kustomization>,
    forced: &mut BTreeMap<String, String>,
    visiting: &mut BTreeSet<&'a str>,
) {
    if !visiting.insert(&kustomization.dir) {
        return;
    }
    let namespace = inherited.or(kustomization.namespace.as_deref());
    for resource in &kustomization.resources {
        match all.get(resource) {
            Some(child) => assign(child, namespace, all, forced, visiting),
            None => {
                if let Some(namespace) = namespace {
                    forced
                        .entry(resource.clone())
                        .or_insert_with(|| namespace.to_string());
                }
            }
        }
    }
    visiting.remove(kustomization.dir.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_paths() {
        assert_eq!(join("apps/base", "./radarr.yaml"), "apps/base/radarr.yaml");
        assert_eq!(join("apps/prod", "../base"), "apps/base");
        assert_eq!(join("", "policies/ai.yaml"), "policies/ai.yaml");
    }
}
