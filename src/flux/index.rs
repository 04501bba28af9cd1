//! All Flux image objects of a repository, looked up by kind, namespace and name, in one
//! cluster (references resolve inside the cluster that applies them) or in any.

use std::collections::HashMap;

use super::objects::{FluxObject, PolicySpec, RepositorySpec, Spec};
use super::Kind;

#[derive(Debug, Default)]
pub struct FluxIndex {
    pub objects: Vec<FluxObject>,
    by_key: HashMap<(Kind, String, String), Vec<usize>>,
    /// The same per cluster.
    by_cluster_key: HashMap<(usize, Kind, String, String), Vec<usize>>,
    /// Object ids per kind, in file order: rules ask for a kind once per marker.
    by_kind: HashMap<Kind, Vec<usize>>,
}

impl FluxIndex {
    /// Objects must arrive in a deterministic order (files sorted by path, then document order),
    /// so that the first definition of a duplicate is the same on every run.
    pub fn new(objects: Vec<FluxObject>) -> FluxIndex {
        let mut by_key: HashMap<_, Vec<usize>> = HashMap::new();
        let mut by_kind: HashMap<_, Vec<usize>> = HashMap::new();
        let mut by_cluster_key: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, object) in objects.iter().enumerate() {
            by_kind.entry(object.kind).or_default().push(i);
            by_cluster_key
                .entry((
                    object.cluster,
                    object.kind,
                    object.namespace.clone(),
                    object.name.value.clone(),
                ))
                .or_default()
                .push(i);
            by_key
                .entry((
                    object.kind,
                    object.namespace.clone(),
                    object.name.value.clone(),
                ))
                .or_default()
                .push(i);
        }
        FluxIndex {
            objects,
            by_key,
            by_cluster_key,
            by_kind,
        }
    }

    /// The first object with this identity in a cluster.
    pub fn find_in(
        &self,
        cluster: usize,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Option<&FluxObject> {
        self.by_cluster_key
            .get(&(cluster, kind, namespace.to_string(), name.to_string()))
            .map(|ids| &self.objects[ids[0]])
    }

    /// The clusters that define an object with this identity.
    pub fn clusters_defining(&self, kind: Kind, namespace: &str, name: &str) -> Vec<usize> {
        let mut clusters: Vec<usize> = self
            .all_with_key(kind, namespace, name)
            .iter()
            .map(|o| o.cluster)
            .collect();
        clusters.dedup();
        clusters
    }

    /// The first object with this identity in any cluster.
    pub fn find(&self, kind: Kind, namespace: &str, name: &str) -> Option<&FluxObject> {
        self.by_key
            .get(&(kind, namespace.to_string(), name.to_string()))
            .map(|ids| &self.objects[ids[0]])
    }

    /// Every object with this identity, in file order.
    pub fn all_with_key(&self, kind: Kind, namespace: &str, name: &str) -> Vec<&FluxObject> {
        self.by_key
            .get(&(kind, namespace.to_string(), name.to_string()))
            .map(|ids| ids.iter().map(|&i| &self.objects[i]).collect())
            .unwrap_or_default()
    }

    /// `namespace:name` of every object of a kind, for "did you mean" suggestions.
    pub fn keys(&self, kind: Kind) -> Vec<String> {
        self.of_kind(kind).map(FluxObject::key).collect()
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &FluxObject> {
        let ids = self.by_kind.get(&kind).map_or(&[][..], Vec::as_slice);
        ids.iter().map(|&i| &self.objects[i])
    }

    /// An ImagePolicy of any cluster.
    pub fn policy(&self, namespace: &str, name: &str) -> Option<(&FluxObject, &PolicySpec)> {
        as_policy(self.find(Kind::ImagePolicy, namespace, name)?)
    }

    /// An ImagePolicy of one cluster.
    pub fn policy_in(
        &self,
        cluster: usize,
        namespace: &str,
        name: &str,
    ) -> Option<(&FluxObject, &PolicySpec)> {
        as_policy(self.find_in(cluster, Kind::ImagePolicy, namespace, name)?)
    }

    /// The ImageRepository a policy refers to (its namespace defaults to the policy's own), in
    /// the policy's cluster.
    pub fn repository_of(
        &self,
        policy: &FluxObject,
        spec: &PolicySpec,
    ) -> Option<(&FluxObject, &RepositorySpec)> {
        let name = spec.repository_name.as_ref()?;
        let namespace = spec
            .repository_namespace
            .as_ref()
            .map_or(policy.namespace.as_str(), |ns| ns.value.as_str());
        let object = self.find_in(
            policy.cluster,
            Kind::ImageRepository,
            namespace,
            &name.value,
        )?;
        match &object.spec {
            Spec::Repository(repository) => Some((object, repository)),
            _ => None,
        }
    }
}

fn as_policy(object: &FluxObject) -> Option<(&FluxObject, &PolicySpec)> {
    match &object.spec {
        Spec::Policy(spec) => Some((object, spec)),
        _ => None,
    }
}
