//! All Flux image objects of a repository, looked up by kind, namespace and name, in one
//! cluster (references resolve inside the cluster that applies them) or in any.

use super::objects::{FluxObject, PolicySpec, RepositorySpec, Spec};
use super::Kind;
use foldhash::{HashMap, HashMapExt};

#[derive(Debug, Default)]
pub struct FluxIndex {
    pub objects: Vec<FluxObject>,
    /// Object ids by the hash of their name and namespace, in file order: looked up with
    /// borrowed strings (rules ask several times per marker), and built without a copy of each
    /// name (a serial stretch of the run, thousands of objects). A lookup compares the strings,
    /// so two identities with one hash stay apart.
    by_identity: HashMap<u64, Vec<usize>>,
    /// Ids of the objects whose namespace nothing in the repository sets, by the hash of their
    /// name.
    unplaced: HashMap<u64, Vec<usize>>,
    /// Object ids per kind, in file order: rules ask for a kind once per marker.
    by_kind: HashMap<Kind, Vec<usize>>,
}

/// The hash [`FluxIndex`] files an object under: its name, with its namespace when given.
fn identity_hash(name: &str, namespace: Option<&str>) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one((name, namespace))
}

impl FluxIndex {
    /// Objects must arrive in a deterministic order (files sorted by path, then document order),
    /// so that the first definition of a duplicate is the same on every run.
    pub fn new(objects: Vec<FluxObject>) -> FluxIndex {
        let mut by_identity: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut unplaced: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut by_kind: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, object) in objects.iter().enumerate() {
            by_kind.entry(object.kind).or_default().push(i);
            let name = object.name.value.as_str();
            by_identity
                .entry(identity_hash(name, Some(&object.namespace)))
                .or_default()
                .push(i);
            if !object.namespace_written {
                unplaced
                    .entry(identity_hash(name, None))
                    .or_default()
                    .push(i);
            }
        }
        FluxIndex {
            objects,
            by_identity,
            unplaced,
            by_kind,
        }
    }

    /// The objects of a kind, namespace and name, in file order.
    fn with_key<'a, 'k>(
        &'a self,
        kind: Kind,
        namespace: &'k str,
        name: &'k str,
    ) -> impl Iterator<Item = &'a FluxObject> + use<'a, 'k> {
        let ids = self.by_identity.get(&identity_hash(name, Some(namespace)));
        self.of_ids(ids.map_or(&[][..], Vec::as_slice))
            .filter(move |object| {
                object.kind == kind && object.name.value == name && object.namespace == namespace
            })
    }

    /// Objects of a kind and name whose namespace nothing in the repository sets.
    fn unplaced<'a, 'k>(
        &'a self,
        kind: Kind,
        name: &'k str,
    ) -> impl Iterator<Item = &'a FluxObject> + use<'a, 'k> {
        let ids = self.unplaced.get(&identity_hash(name, None));
        self.of_ids(ids.map_or(&[][..], Vec::as_slice))
            .filter(move |object| object.kind == kind && object.name.value == name)
    }

    fn of_ids<'a>(&'a self, ids: &'a [usize]) -> impl Iterator<Item = &'a FluxObject> + 'a {
        ids.iter().map(|&i| &self.objects[i])
    }

    /// The first object with this identity in a cluster.
    pub fn find_in(
        &self,
        cluster: usize,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Option<&FluxObject> {
        self.with_key(kind, namespace, name)
            .find(|object| object.cluster == cluster)
            .or_else(|| {
                self.unplaced(kind, name)
                    .find(|object| object.cluster == cluster)
            })
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
        self.with_key(kind, namespace, name)
            .next()
            .or_else(|| self.unplaced(kind, name).next())
    }

    /// Every object with this identity, in file order.
    pub fn all_with_key(&self, kind: Kind, namespace: &str, name: &str) -> Vec<&FluxObject> {
        self.with_key(kind, namespace, name).collect()
    }

    /// `namespace:name` of every object of a kind, for "did you mean" suggestions.
    pub fn keys(&self, kind: Kind) -> Vec<String> {
        self.of_kind(kind).map(FluxObject::key).collect()
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &FluxObject> {
        self.of_ids(self.by_kind.get(&kind).map_or(&[][..], Vec::as_slice))
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
