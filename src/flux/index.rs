//! All Flux image objects of a repository, looked up by kind, namespace and name, in one
//! cluster (references resolve inside the cluster that applies them) or in any.

use super::objects::{FluxApply, FluxObject, PolicySpec, RepositorySpec, Spec};
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
    ///
    /// A copy kustomize-controller does not keep applied (see [`FluxApply`]) is marked
    /// `not_kept`, and `uncertain`: it may still be what the cluster has (made before, or by
    /// hand), so references to it resolve, but no rule judges it, nor counts it a duplicate.
    /// That is a copy Flux never applies, and an `IfNotPresent` one beside a copy of its cluster
    /// Flux applies every time (that copy is what the cluster holds). An `IfNotPresent` copy alone
    /// is created as written.
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
        let mut index = FluxIndex {
            objects,
            by_identity,
            unplaced,
            by_kind,
        };
        let not_kept: Vec<usize> = (0..index.objects.len())
            .filter(|&i| {
                let object = &index.objects[i];
                match object.flux_apply {
                    FluxApply::Always => false,
                    FluxApply::Never => true,
                    FluxApply::IfNotPresent => index
                        .with_key(object.kind, &object.namespace, &object.name.value)
                        .any(|other| {
                            other.flux_apply == FluxApply::Always && other.cluster == object.cluster
                        }),
                }
            })
            .collect();
        for i in not_kept {
            let object = &mut index.objects[i];
            object.not_kept = true;
            object.uncertain = true;
        }
        index
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

    /// The first object with this identity in a cluster (see [`first_kept`]).
    pub fn find_in(
        &self,
        cluster: usize,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Option<&FluxObject> {
        self.find_in_preferring(cluster, kind, namespace, name, |_| false)
    }

    /// As [`FluxIndex::find_in`], but among the copies the first that `preferred` holds for,
    /// when there is one.
    fn find_in_preferring(
        &self,
        cluster: usize,
        kind: Kind,
        namespace: &str,
        name: &str,
        preferred: impl Fn(&FluxObject) -> bool,
    ) -> Option<&FluxObject> {
        let in_cluster = |object: &&FluxObject| object.cluster == cluster;
        first_preferred(
            || self.with_key(kind, namespace, name).filter(in_cluster),
            &preferred,
        )
        .or_else(|| first_preferred(|| self.unplaced(kind, name).filter(in_cluster), &preferred))
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

    /// The first object with this identity in any cluster (see [`first_kept`]).
    pub fn find(&self, kind: Kind, namespace: &str, name: &str) -> Option<&FluxObject> {
        first_kept(self.with_key(kind, namespace, name))
            .or_else(|| first_kept(self.unplaced(kind, name)))
    }

    /// The objects rendered from the same document as `object` with its identity (its copies
    /// in the renders of every cluster), itself among them.
    pub fn copies_of<'a>(
        &'a self,
        object: &'a FluxObject,
    ) -> impl Iterator<Item = &'a FluxObject> + use<'a> {
        (self.with_key(object.kind, &object.namespace, &object.name.value))
            .filter(move |copy| copy.origin() == object.origin())
    }

    /// Every object with this identity, in file order.
    pub fn all_with_key(&self, kind: Kind, namespace: &str, name: &str) -> Vec<&FluxObject> {
        self.with_key(kind, namespace, name).collect()
    }

    /// `namespace:name` of every object of a kind, for "did you mean" suggestions: each once,
    /// sorted, as copies in several clusters or builds are one name (a suggestion compares
    /// every name with each unknown one).
    pub fn keys(&self, kind: Kind) -> Vec<String> {
        let mut keys: Vec<String> = self.of_kind(kind).map(FluxObject::key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
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

    /// An ImagePolicy of one cluster, as [`FluxIndex::policy_in`], but among its copies the
    /// first `preferred` holds for when there is one: with no cluster to tell them apart, the
    /// overlays of one repository each render their own copy (a numerical policy for testing, a
    /// semver one for production), and a marker means the copy its own build applies.
    pub fn policy_in_preferring(
        &self,
        cluster: usize,
        namespace: &str,
        name: &str,
        preferred: impl Fn(&FluxObject) -> bool,
    ) -> Option<(&FluxObject, &PolicySpec)> {
        as_policy(self.find_in_preferring(
            cluster,
            Kind::ImagePolicy,
            namespace,
            name,
            preferred,
        )?)
    }

    /// The ImageRepository a policy refers to (its namespace defaults to the policy's own), in
    /// the policy's cluster, the copy of the policy's own build first.
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
        // The copy the policy's own build renders, where overlays render one each (a registry
        // per environment).
        let object = self.find_in_preferring(
            policy.cluster,
            Kind::ImageRepository,
            namespace,
            &name.value,
            |repository| repository.render == policy.render,
        )?;
        match &object.spec {
            Spec::Repository(repository) => Some((object, repository)),
            _ => None,
        }
    }
}

/// The first of these copies that Flux keeps applied, which is what the cluster holds; else the
/// first, which may be.
fn first_kept<'a>(copies: impl Iterator<Item = &'a FluxObject>) -> Option<&'a FluxObject> {
    let mut first = None;
    for copy in copies {
        if !copy.not_kept {
            return Some(copy);
        }
        first.get_or_insert(copy);
    }
    first
}

/// The first kept of the copies `preferred` holds for, else of them all (see [`first_kept`]).
fn first_preferred<'a, I: Iterator<Item = &'a FluxObject>>(
    copies: impl Fn() -> I,
    preferred: &impl Fn(&FluxObject) -> bool,
) -> Option<&'a FluxObject> {
    first_kept(copies().filter(|copy| preferred(copy))).or_else(|| first_kept(copies()))
}

pub(super) fn as_policy(object: &FluxObject) -> Option<(&FluxObject, &PolicySpec)> {
    match &object.spec {
        Spec::Policy(spec) => Some((object, spec)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::objects::{read_object, Provenance};
    use crate::model::tree::Node;
    use crate::scan::yaml::YamlFile;
    use crate::source::SourceFile;
    use std::sync::Arc;

    /// An index of copies of the ImagePolicy `flux-system:app`, each in the cluster given and
    /// with the metadata lines given.
    fn index(copies: &[(usize, &str)]) -> FluxIndex {
        let objects = copies
            .iter()
            .map(|&(cluster, metadata)| {
                let text = format!(
                    "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\n{metadata}"
                );
                let source = SourceFile::new("p.yaml".into(), text.as_str());
                let yaml = YamlFile::parse(&source).unwrap();
                let tree = Node::from_yaml(&yaml, 0, yaml.documents[0]);
                let content = read_object(&tree, "default").unwrap();
                let provenance = Provenance {
                    render: 0,
                    cluster,
                    uncertain: false,
                };
                FluxObject::new(Arc::new(content), provenance)
            })
            .collect();
        FluxIndex::new(objects)
    }

    const DISABLED: &str = "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n";
    const IGNORE: &str = "  labels:\n    kustomize.toolkit.fluxcd.io/ssa: Ignore\n";
    const IF_NOT_PRESENT: &str =
        "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n";

    fn not_kept(index: &FluxIndex) -> Vec<(bool, bool)> {
        index
            .objects
            .iter()
            .map(|object| (object.not_kept, object.uncertain))
            .collect()
    }

    #[test]
    fn a_copy_flux_never_applies_answers_references_after_the_applied_one() {
        let index = index(&[(0, DISABLED), (0, ""), (0, IGNORE)]);
        assert_eq!(
            not_kept(&index),
            [(true, true), (false, false), (true, true)]
        );
        let found = index.find(Kind::ImagePolicy, "flux-system", "app").unwrap();
        assert!(!found.not_kept);
        let found_in = index.policy_in(0, "flux-system", "app").unwrap().0;
        assert!(!found_in.not_kept);
    }

    #[test]
    fn a_copy_flux_never_applies_still_answers_references_alone() {
        let index = index(&[(0, DISABLED)]);
        let found = index.policy_in(0, "flux-system", "app").unwrap().0;
        assert!(found.not_kept && found.uncertain);
    }

    #[test]
    fn an_if_not_present_copy_counts_unless_its_cluster_applies_another() {
        let alone = index(&[(0, IF_NOT_PRESENT)]);
        assert_eq!(not_kept(&alone), [(false, false)]);
        let beside_applied = index(&[(0, IF_NOT_PRESENT), (0, "")]);
        assert_eq!(not_kept(&beside_applied), [(true, true), (false, false)]);
        let applied_elsewhere = index(&[(0, IF_NOT_PRESENT), (1, "")]);
        assert_eq!(
            not_kept(&applied_elsewhere),
            [(false, false), (false, false)]
        );
        let beside_disabled = index(&[(0, IF_NOT_PRESENT), (0, DISABLED)]);
        assert_eq!(not_kept(&beside_disabled), [(false, false), (true, true)]);
    }
}
