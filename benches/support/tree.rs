//! A generated GitOps repository for benchmarks, shared by `examples/gen-tree.rs`, the criterion
//! `check` bench and the generator's own test (one generator, three users).
//!
//! The shape follows the runbook's layout at scale: per-cluster Flux bootstraps
//! (`clusters/<name>/flux-system/gotk-sync.yaml`, a `gotk-components.yaml` holding the image
//! CRDs), Flux Kustomizations whose `spec.path` names the overlays, ImageRepository/ImagePolicy
//! files per team with an ImageUpdateAutomation, app bases (Deployments, StatefulSets, CronJobs,
//! HelmReleases, kustomizations with `images:` transformers), overlays with inline and file
//! patches, and mostly YAML that carries no marker at all (services, config maps, RBAC, the odd
//! large dashboard or CRD bundle). A fixed seed makes every tree of the same size identical, and
//! every marker is valid against its policy, so `check` on a generated tree reports nothing.

// Each including target uses a part of it.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct TreeSpec {
    /// YAML files (`.yaml`, `.yml`, `Kustomization`); a few Markdown files come on top.
    pub files: usize,
    /// `$imagepolicy` markers, exactly.
    pub markers: usize,
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TreeSummary {
    pub yaml_files: usize,
    pub markers: usize,
    pub policies: usize,
    pub bytes: u64,
}

pub const DEFAULT_SEED: u64 = 0x5eed_f1a7;

const CLUSTERS: &[&str] = &["production", "staging"];
const TEAMS: &[&str] = &[
    "media",
    "monitoring",
    "payments",
    "search",
    "identity",
    "storage",
    "messaging",
    "ml",
    "frontend",
    "backend",
    "data",
    "security",
    "networking",
    "tools",
    "automation",
    "docs",
];
const REGISTRIES: &[&str] = &[
    "ghcr.io",
    "docker.io",
    "quay.io",
    "registry.example.com:5000",
];

/// Files every tree has besides the apps: per cluster the bootstrap (3), the Flux
/// Kustomizations (2); the automation (2: kustomization, automation); per team a policy file;
/// per cluster and team an overlay kustomization and two patch files; the infrastructure
/// controllers (4).
fn fixed_files() -> usize {
    CLUSTERS.len() * 5 + 2 + TEAMS.len() + CLUSTERS.len() * TEAMS.len() * 3 + 4
}

/// splitmix64: a tiny deterministic generator, so the benchmark trees need no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// How an app's image is automated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A Deployment container with `image: …:tag # {policy}`.
    Deployment,
    /// A CronJob container with an image marker.
    CronJob,
    /// A StatefulSet whose init container and container share one policy (2 markers).
    StatefulSet,
    /// A HelmRelease with `repository: # {…:name}` and `tag: # {…:tag}` (2 markers).
    HelmRelease,
    /// A kustomization `images:` entry with `newName` and `newTag` markers (2 markers).
    KustomizeImages,
    /// No automation: a pinned third-party image.
    Unmarked,
}

impl Shape {
    fn markers(self) -> usize {
        match self {
            Shape::Deployment | Shape::CronJob => 1,
            Shape::StatefulSet | Shape::HelmRelease | Shape::KustomizeImages => 2,
            Shape::Unmarked => 0,
        }
    }
}

/// How a policy selects, and a current tag it accepts.
#[derive(Debug, Clone, Copy)]
enum Selection {
    Semver,
    SemverRange,
    Alphabetical,
    NumericalExtract,
}

struct App {
    team: &'static str,
    name: String,
    shape: Shape,
    selection: Selection,
    image: String,
    tag: String,
    /// Files beyond the app's kustomization, workload and service.
    extra_files: usize,
}

impl App {
    fn policy(&self) -> String {
        format!("flux-system:{}", self.name)
    }

    fn marker(&self, setter: &str) -> String {
        format!("# {{\"$imagepolicy\": \"{}{setter}\"}}", self.policy())
    }
}

struct Writer<'a> {
    root: &'a Path,
    summary: TreeSummary,
}

impl Writer<'_> {
    fn write(&mut self, path: &str, text: &str) -> io::Result<()> {
        let full = self.root.join(path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&full, text)?;
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            self.summary.yaml_files += 1;
            self.summary.markers += text.matches("\"$imagepolicy\"").count();
        }
        self.summary.bytes += text.len() as u64;
        Ok(())
    }
}

/// Writes the tree under `root` (which should be empty).
pub fn generate(root: &Path, spec: &TreeSpec) -> io::Result<TreeSummary> {
    let mut rng = Rng(spec.seed);
    let apps = plan_apps(&mut rng, spec)?;
    let mut out = Writer {
        root,
        summary: TreeSummary::default(),
    };
    for cluster in CLUSTERS {
        write_cluster(&mut out, cluster)?;
    }
    write_infrastructure(&mut out, &apps)?;
    for cluster in CLUSTERS {
        for team in TEAMS {
            let team_apps: Vec<&App> = apps.iter().filter(|a| a.team == *team).collect();
            write_overlay(&mut out, cluster, team, &team_apps)?;
        }
    }
    for app in &apps {
        write_app(&mut out, &mut rng, app)?;
    }
    for team in TEAMS {
        out.write(
            &format!("docs/{team}.md"),
            &format!("# {team}\n\nRunbooks and owners of the {team} apps.\n"),
        )?;
    }
    out.summary.policies = apps.iter().filter(|a| a.shape != Shape::Unmarked).count();
    let marked = apps.iter().filter(|a| a.shape != Shape::Unmarked);
    out.write(
        "tags.json",
        &tags_json(marked.map(|a| (a.image.as_str(), a.tag.as_str()))),
    )?;
    Ok(out.summary)
}

fn plan_apps(rng: &mut Rng, spec: &TreeSpec) -> io::Result<Vec<App>> {
    let budget = spec.files.saturating_sub(fixed_files());
    let mut shapes = Vec::new();
    let mut remaining = spec.markers;
    while remaining > 0 {
        let mut shape = match rng.below(20) {
            0..=10 => Shape::Deployment,
            11..=12 => Shape::CronJob,
            13..=14 => Shape::StatefulSet,
            15..=17 => Shape::HelmRelease,
            _ => Shape::KustomizeImages,
        };
        if shape.markers() > remaining {
            shape = Shape::Deployment;
        }
        remaining -= shape.markers();
        shapes.push(shape);
    }
    // Unmarked apps too, so that a tree with few markers still has the files of a real one.
    while shapes.len() * 8 < budget {
        shapes.push(Shape::Unmarked);
    }
    if shapes.len() * 3 > budget {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} files cannot hold {} markers: give at least {} files",
                spec.files,
                spec.markers,
                shapes.len() * 3 + fixed_files()
            ),
        ));
    }
    // Shuffle so marked and unmarked apps mix across teams (Fisher–Yates).
    for i in (1..shapes.len()).rev() {
        let j = rng.below(i + 1);
        shapes.swap(i, j);
    }
    let mut extra = budget - shapes.len() * 3;
    let count = shapes.len();
    Ok(shapes
        .into_iter()
        .enumerate()
        .map(|(i, shape)| {
            let extra_files = extra / (count - i);
            extra -= extra_files;
            let selection = match rng.below(4) {
                0 => Selection::Semver,
                1 => Selection::SemverRange,
                2 => Selection::Alphabetical,
                _ => Selection::NumericalExtract,
            };
            let team = TEAMS[i % TEAMS.len()];
            let name = format!(
                "{}-{}",
                rng.pick(&["api", "web", "worker", "db", "cache", "sync", "proxy", "ui"]),
                i
            );
            let registry = rng.pick(REGISTRIES);
            let image = format!("{registry}/{team}/{name}");
            let (major, minor, patch) = (1 + rng.below(3), rng.below(30), rng.below(20));
            let tag = match selection {
                Selection::Semver => format!("v{major}.{minor}.{patch}"),
                Selection::SemverRange => format!("1.{minor}.{patch}"),
                Selection::Alphabetical => {
                    format!("release-{major}.{minor}.{patch}.{}", 8000 + rng.below(999))
                }
                Selection::NumericalExtract => format!(
                    "main-{:07x}-{}",
                    rng.next() & 0xfff_ffff,
                    1_700_000_000 + rng.below(50_000_000)
                ),
            };
            App {
                team,
                name,
                shape,
                selection,
                image,
                tag,
                extra_files,
            }
        })
        .collect())
}

fn write_cluster(out: &mut Writer, cluster: &str) -> io::Result<()> {
    let dir = format!("clusters/{cluster}");
    out.write(
        &format!("{dir}/flux-system/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-components.yaml\n  - gotk-sync.yaml\n",
    )?;
    out.write(
        &format!("{dir}/flux-system/gotk-sync.yaml"),
        &format!(
            "# This manifest was generated by flux. DO NOT EDIT.\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: ssh://git@git.example.com/platform/fleet\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./{dir}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        ),
    )?;
    out.write(
        &format!("{dir}/flux-system/gotk-components.yaml"),
        &gotk_components(),
    )?;
    out.write(
        &format!("{dir}/infrastructure.yaml"),
        &flux_kustomization("infrastructure", "./infrastructure", None),
    )?;
    let mut apps = String::new();
    for team in TEAMS {
        apps.push_str(&flux_kustomization(
            &format!("apps-{team}"),
            &format!("./apps/overlays/{cluster}/{team}"),
            Some("infrastructure"),
        ));
    }
    out.write(&format!("{dir}/apps.yaml"), &apps)
}

fn flux_kustomization(name: &str, path: &str, depends_on: Option<&str>) -> String {
    let depends = depends_on.map_or(String::new(), |d| {
        format!("  dependsOn:\n    - name: {d}\n")
    });
    format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n{depends}  interval: 10m0s\n  path: {path}\n  prune: true\n  wait: true\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
}

/// A bootstrap's components: the controllers' CRDs, long OpenAPI schemas that name the image
/// API group (so `check` parses it, as it must parse a real one).
fn gotk_components() -> String {
    let mut text = String::from("---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v2.7.0\n# Components: source-controller,kustomize-controller,helm-controller,notification-controller,image-reflector-controller,image-automation-controller\n");
    for kind in [
        "ImageRepository",
        "ImagePolicy",
        "ImageUpdateAutomation",
        "GitRepository",
        "HelmRelease",
        "Kustomization",
    ] {
        let plural = format!("{}s", kind.to_lowercase());
        let group = if kind.starts_with("Image") {
            "image.toolkit.fluxcd.io"
        } else {
            "toolkit.fluxcd.io"
        };
        let _ = write!(
            text,
            "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.16.1\n  labels:\n    app.kubernetes.io/component: image-reflector-controller\n    app.kubernetes.io/instance: flux-system\n    app.kubernetes.io/part-of: flux\n  name: {plural}.{group}\nspec:\n  group: {group}\n  names:\n    kind: {kind}\n    listKind: {kind}List\n    plural: {plural}\n    singular: {}\n  scope: Namespaced\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        properties:\n",
            kind.to_lowercase()
        );
        for field in 0..120 {
            let _ = write!(
                text,
                "          field{field}:\n            description: |-\n              Field{field} of the {kind} spec. When unset, the controller applies the\n              default described in the API reference for this version.\n            type: string\n            maxLength: 253\n            pattern: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\n"
            );
        }
        text.push_str("        type: object\n    served: true\n    storage: true\n    subresources:\n      status: {}\n");
    }
    text
}

fn write_infrastructure(out: &mut Writer, apps: &[App]) -> io::Result<()> {
    let mut resources = String::from("  - image-update-automation.yaml\n");
    for team in TEAMS {
        let _ = writeln!(resources, "  - policies/{team}.yaml");
        let mut text = String::new();
        for app in apps
            .iter()
            .filter(|a| a.team == *team && a.shape != Shape::Unmarked)
        {
            text.push_str(&policy_objects(app));
        }
        out.write(
            &format!("infrastructure/image-automation/policies/{team}.yaml"),
            &text,
        )?;
    }
    out.write(
        "infrastructure/image-automation/kustomization.yaml",
        &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{resources}"),
    )?;
    out.write(
        "infrastructure/image-automation/image-update-automation.yaml",
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 30m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  git:\n    checkout:\n      ref:\n        branch: main\n    commit:\n      author:\n        name: fluxcdbot\n        email: fluxcdbot@example.com\n      messageTemplate: 'chore(images): {{range .Changed.Changes}}{{.OldValue}} -> {{.NewValue}} {{end}}'\n    push:\n      branch: image-updates\n  update:\n    path: ./apps\n    strategy: Setters\n",
    )?;
    for (name, chart, version) in [
        ("ingress-nginx", "ingress-nginx", "4.11.x"),
        ("cert-manager", "cert-manager", "v1.16.x"),
        ("external-dns", "external-dns", "1.15.x"),
    ] {
        out.write(
            &format!("infrastructure/controllers/{name}.yaml"),
            &format!("---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 24h\n  url: https://charts.example.com/{name}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {name}\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: {chart}\n      version: \"{version}\"\n      sourceRef:\n        kind: HelmRepository\n        name: {name}\n        namespace: flux-system\n  install:\n    crds: CreateReplace\n  upgrade:\n    crds: CreateReplace\n  values:\n    replicaCount: 2\n    resources:\n      requests:\n        cpu: 100m\n        memory: 128Mi\n"),
        )?;
    }
    out.write(
        "infrastructure/controllers/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ingress-nginx.yaml\n  - cert-manager.yaml\n  - external-dns.yaml\n",
    )
}

fn policy_objects(app: &App) -> String {
    let name = &app.name;
    let choice = match app.selection {
        Selection::Semver => "  filterTags:\n    pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+$'\n  policy:\n    semver:\n      range: '>=1.0.0'\n".to_string(),
        Selection::SemverRange => "  policy:\n    semver:\n      range: '>=1.0.0 <2.0.0'\n".to_string(),
        Selection::Alphabetical => "  filterTags:\n    pattern: '^release-[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$'\n  policy:\n    alphabetical:\n      order: asc\n".to_string(),
        Selection::NumericalExtract => "  filterTags:\n    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'\n    extract: '$ts'\n  policy:\n    numerical:\n      order: asc\n".to_string(),
    };
    format!(
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  image: {image}\n  interval: 12h\n  exclusionList:\n    - '^.*\\.sig$'\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: {name}\n{choice}",
        image = app.image
    )
}

fn write_overlay(out: &mut Writer, cluster: &str, team: &str, apps: &[&App]) -> io::Result<()> {
    let dir = format!("apps/overlays/{cluster}/{team}");
    let mut text = format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {team}\nresources:\n");
    for app in apps {
        let _ = writeln!(text, "  - ../../../base/{team}/{}", app.name);
    }
    let replicas = if cluster == "production" { 3 } else { 1 };
    let _ = write!(
        text,
        "labels:\n  - pairs:\n      cluster: {cluster}\n      team: {team}\npatches:\n  - path: patches/resources.yaml\n    target:\n      kind: Deployment\n  - path: patches/scheduling.yaml\n    target:\n      kind: Deployment\n      labelSelector: tier=backend\n  - patch: |-\n      - op: replace\n        path: /spec/replicas\n        value: {replicas}\n    target:\n      kind: Deployment\n"
    );
    out.write(&format!("{dir}/kustomization.yaml"), &text)?;
    out.write(
        &format!("{dir}/patches/resources.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: not-important\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            requests:\n              cpu: 50m\n              memory: 64Mi\n            limits:\n              memory: 512Mi\n",
    )?;
    out.write(
        &format!("{dir}/patches/scheduling.yaml"),
        &format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: not-important\nspec:\n  template:\n    spec:\n      nodeSelector:\n        topology.kubernetes.io/zone: {cluster}-a\n      tolerations:\n        - key: dedicated\n          operator: Equal\n          value: {team}\n          effect: NoSchedule\n"),
    )
}

fn write_app(out: &mut Writer, rng: &mut Rng, app: &App) -> io::Result<()> {
    let dir = format!("apps/base/{}/{}", app.team, app.name);
    let name = &app.name;
    let workload_file = match app.shape {
        Shape::HelmRelease => "helmrelease.yaml",
        Shape::CronJob => "cronjob.yaml",
        Shape::StatefulSet => "statefulset.yaml",
        _ => "deployment.yaml",
    };
    let mut extras: Vec<(String, String)> =
        (0..app.extra_files).map(|i| filler(rng, app, i)).collect();
    let mut kustomization = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {}\nresources:\n  - {workload_file}\n  - service.yaml\n",
        app.team
    );
    for (file, _) in &extras {
        let _ = writeln!(kustomization, "  - {file}");
    }
    if app.shape == Shape::KustomizeImages {
        let _ = write!(
            kustomization,
            "images:\n  - name: {name}\n    newName: {} {}\n    newTag: \"{}\" {}\n",
            app.image,
            app.marker(":name"),
            app.tag,
            app.marker(":tag")
        );
    }
    out.write(&format!("{dir}/kustomization.yaml"), &kustomization)?;
    out.write(&format!("{dir}/{workload_file}"), &workload(app))?;
    out.write(
        &format!("{dir}/service.yaml"),
        &format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/name: {name}\nspec:\n  selector:\n    app.kubernetes.io/name: {name}\n  ports:\n    - name: http\n      port: 80\n      targetPort: http\n      protocol: TCP\n"),
    )?;
    for (file, text) in extras.drain(..) {
        out.write(&format!("{dir}/{file}"), &text)?;
    }
    Ok(())
}

fn container(app: &App, container_name: &str, marked: bool, indent: &str) -> String {
    let image = match app.shape {
        Shape::Unmarked => format!(
            "docker.io/library/{}:1.27.{}",
            app.name.split('-').next().unwrap_or("nginx"),
            app.name.len()
        ),
        // kustomize's `images:` transformer rewrites this placeholder.
        Shape::KustomizeImages => format!("{}:latest", app.name),
        _ => format!("{}:{}", app.image, app.tag),
    };
    let marker = if marked {
        format!(" {}", app.marker(""))
    } else {
        String::new()
    };
    format!(
        "{indent}- name: {container_name}\n{indent}  image: {image}{marker}\n{indent}  imagePullPolicy: IfNotPresent\n{indent}  env:\n{indent}    - name: LOG_LEVEL\n{indent}      value: info\n{indent}    - name: TZ\n{indent}      value: Etc/UTC\n{indent}    - name: POD_NAME\n{indent}      valueFrom:\n{indent}        fieldRef:\n{indent}          fieldPath: metadata.name\n{indent}    - name: POD_NAMESPACE\n{indent}      valueFrom:\n{indent}        fieldRef:\n{indent}          fieldPath: metadata.namespace\n{indent}    - name: DATABASE_URL\n{indent}      valueFrom:\n{indent}        secretKeyRef:\n{indent}          name: {name}-db\n{indent}          key: url\n{indent}  envFrom:\n{indent}    - configMapRef:\n{indent}        name: {name}-env\n{indent}  ports:\n{indent}    - name: http\n{indent}      containerPort: 8080\n{indent}  readinessProbe:\n{indent}    httpGet:\n{indent}      path: /healthz\n{indent}      port: http\n{indent}    periodSeconds: 10\n{indent}  livenessProbe:\n{indent}    httpGet:\n{indent}      path: /livez\n{indent}      port: http\n{indent}    initialDelaySeconds: 30\n{indent}    failureThreshold: 5\n{indent}  volumeMounts:\n{indent}    - name: config\n{indent}      mountPath: /etc/{name}\n{indent}      readOnly: true\n{indent}    - name: tmp\n{indent}      mountPath: /tmp\n{indent}  resources:\n{indent}    requests:\n{indent}      cpu: 10m\n{indent}      memory: 64Mi\n{indent}  securityContext:\n{indent}    allowPrivilegeEscalation: false\n{indent}    readOnlyRootFilesystem: true\n{indent}    runAsNonRoot: true\n{indent}    capabilities:\n{indent}      drop: [ALL]\n",
        name = app.name
    )
}

fn workload(app: &App) -> String {
    let name = &app.name;
    let marked = matches!(
        app.shape,
        Shape::Deployment | Shape::CronJob | Shape::StatefulSet
    );
    let metadata = format!("metadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/name: {name}\n    tier: backend\n");
    match app.shape {
        Shape::HelmRelease => format!(
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: {name}\nspec:\n  interval: 24h\n  url: https://charts.example.com/{team}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n{metadata}spec:\n  interval: 30m\n  chart:\n    spec:\n      chart: {name}\n      version: \"2.x\"\n      sourceRef:\n        kind: HelmRepository\n        name: {name}\n  values:\n    image:\n      repository: {image} {name_marker}\n      tag: \"{tag}\" {tag_marker}\n      pullPolicy: IfNotPresent\n    replicaCount: 1\n    ingress:\n      enabled: true\n      hosts:\n        - {name}.example.com\n    persistence:\n      enabled: false\n",
            team = app.team,
            image = app.image,
            tag = app.tag,
            name_marker = app.marker(":name"),
            tag_marker = app.marker(":tag"),
        ),
        Shape::CronJob => format!(
            "apiVersion: batch/v1\nkind: CronJob\n{metadata}spec:\n  schedule: \"17 3 * * *\"\n  concurrencyPolicy: Forbid\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n{}",
            container(app, "job", marked, "            ")
        ),
        Shape::StatefulSet => format!(
            "apiVersion: apps/v1\nkind: StatefulSet\n{metadata}spec:\n  serviceName: {name}\n  replicas: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {name}\n    spec:\n      initContainers:\n{}      containers:\n{}  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 10Gi\n",
            container(app, "migrate", true, "        "),
            container(app, "app", true, "        ")
        ),
        _ => format!(
            "apiVersion: apps/v1\nkind: Deployment\n{metadata}spec:\n  replicas: 1\n  revisionHistoryLimit: 3\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {name}\n      annotations:\n        # Restart when the config changes.\n        checksum/config: \"{:016x}\"\n    spec:\n      serviceAccountName: {name}\n      containers:\n{}      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n            - weight: 100\n              podAffinityTerm:\n                topologyKey: kubernetes.io/hostname\n                labelSelector:\n                  matchLabels:\n                    app.kubernetes.io/name: {name}\n      volumes:\n        - name: config\n          configMap:\n            name: {name}-config\n        - name: tmp\n          emptyDir:\n            medium: Memory\n",
            name.len() as u64 * 0x9e37_79b9,
            container(app, "app", marked, "        ")
        ),
    }
}

/// One file without a marker: what makes up most of a real repository.
fn filler(rng: &mut Rng, app: &App, index: usize) -> (String, String) {
    let name = &app.name;
    let ext = if rng.chance(10) { "yml" } else { "yaml" };
    match rng.below(100) {
        // A large Grafana dashboard or CRD bundle now and then.
        0..=1 => {
            let mut text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-dashboard-{index}\n  labels:\n    grafana_dashboard: \"1\"\ndata:\n  dashboard.json: |\n    {{\n      \"title\": \"{name}\",\n      \"panels\": [\n");
            for panel in 0..500 {
                let _ = writeln!(text, "        {{\"id\": {panel}, \"type\": \"timeseries\", \"title\": \"{name} panel {panel}\", \"targets\": [{{\"expr\": \"sum(rate(http_requests_total{{app=\\\"{name}\\\"}}[5m]))\"}}]}},");
            }
            text.push_str("        {\"id\": 9999, \"type\": \"text\"}\n      ]\n    }\n");
            (format!("dashboard-{index}.{ext}"), text)
        }
        2..=25 => {
            let mut text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config-{index}\ndata:\n  settings.yaml: |\n");
            for line in 0..(10 + rng.below(90)) {
                let _ = writeln!(text, "    option_{line}: value-{}", rng.below(1000));
            }
            (format!("configmap-{index}.{ext}"), text)
        }
        26..=40 => (
            format!("rbac-{index}.{ext}"),
            format!("---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}-{index}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {name}-{index}\nrules:\n  - apiGroups: [\"\"]\n    resources: [configmaps, secrets]\n    verbs: [get, list, watch]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {name}-{index}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {name}-{index}\nsubjects:\n  - kind: ServiceAccount\n    name: {name}-{index}\n"),
        ),
        41..=52 => (
            format!("ingress-{index}.{ext}"),
            format!("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}-{index}\n  annotations:\n    cert-manager.io/cluster-issuer: letsencrypt\n    nginx.ingress.kubernetes.io/proxy-body-size: 64m\nspec:\n  ingressClassName: nginx\n  tls:\n    - hosts: [{name}.example.com]\n      secretName: {name}-tls\n  rules:\n    - host: {name}.example.com\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: {name}\n                port:\n                  name: http\n"),
        ),
        53..=62 => (
            format!("networkpolicy-{index}.{ext}"),
            format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}-{index}\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n  policyTypes: [Ingress, Egress]\n  ingress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: ingress-nginx\n  egress:\n    - to:\n        - namespaceSelector: {{}}\n      ports:\n        - port: 53\n          protocol: UDP\n"),
        ),
        63..=72 => (
            format!("sealedsecret-{index}.{ext}"),
            format!(
                "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: {name}-{index}\nspec:\n  encryptedData:\n    password: {}\n    username: {}\n",
                sealed(rng, 1400),
                sealed(rng, 600)
            ),
        ),
        73..=80 => (
            format!("pvc-{index}.{ext}"),
            format!("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}-{index}\nspec:\n  accessModes:\n    - ReadWriteOnce\n  storageClassName: longhorn\n  resources:\n    requests:\n      storage: {}Gi\n", 1 + rng.below(100)),
        ),
        81..=88 => (
            format!("hpa-{index}.{ext}"),
            format!("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {name}-{index}\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {name}\n  minReplicas: 1\n  maxReplicas: {}\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: 80\n", 2 + rng.below(10)),
        ),
        _ => (
            format!("servicemonitor-{index}.{ext}"),
            format!("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: {name}-{index}\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n  endpoints:\n    - port: http\n      interval: 30s\n      path: /metrics\n"),
        ),
    }
}

fn sealed(rng: &mut Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
        .collect()
}

/// The tag after `tag` (its last number plus one): what `check --fix` moves every marker to
/// under every generated policy.
pub fn newer_tag(tag: &str) -> String {
    let (head, last) = tag.rsplit_once(['.', '-']).unwrap_or(("", tag));
    let separator = &tag[head.len()..tag.len() - last.len()];
    format!(
        "{head}{separator}{}",
        last.parse::<u64>().map_or(0, |n| n + 1)
    )
}

/// A `--tags-file` snapshot: each image's current tag, a newer one and tags every filter drops.
fn tags_json<'a>(images: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::from("{\n");
    for (image, tag) in images {
        if text.len() > 2 {
            text.push_str(",\n");
        }
        let _ = write!(
            text,
            "  \"{image}\": [\"{tag}\", \"{}\", \"latest\", \"sha256-0123abcd.sig\"]",
            newer_tag(tag)
        );
    }
    text.push_str("\n}\n");
    text
}

/// The single-file and shape-specific inputs of issue 13, each a repository of its own with the
/// `flux-image-lint` arguments that exercise it in `bench-args` (`DIR` stands for the
/// repository) and, when a run changes the repository, the command that restores it in
/// `bench-prepare`.
pub const CASES: &[&str] = &[
    "single-line-10mb",
    "markers-100k-one-file",
    "diagnostics-24k-human",
    "policies-20k",
    "comments-and-markers",
    "aliases-100k-one-anchor",
    "dry-run-40k-lines",
    "fix-5000-markers",
];

pub fn generate_case(root: &Path, case: &str) -> io::Result<()> {
    let mut out = Writer {
        root,
        summary: TreeSummary::default(),
    };
    let check_json = "check --format json DIR";
    match case {
        // One 10 MB flow mapping on a single line.
        "single-line-10mb" => {
            let mut text = String::from("data: {");
            let mut i = 0;
            while text.len() < 10_000_000 {
                let _ = write!(text, "key{i}: \"välue {i}\", ");
                i += 1;
            }
            // A marker at the end of the long line (on a mapping, so a diagnostic: its column
            // is counted across the 10 MB), and a valid one below it.
            text.push_str("last: x} # {\"$imagepolicy\": \"flux-system:app0\"}\n");
            text.push_str(
                "image: ghcr.io/org/app0:v1.0.0 # {\"$imagepolicy\": \"flux-system:app0\"}\n",
            );
            out.write("big.yaml", &text)?;
            out.write("policy.yaml", &simple_policies(1))?;
            out.write("bench-args", check_json)
        }
        // 100,000 marked containers in one Pod list, over 100 policies.
        "markers-100k-one-file" => {
            out.write("pods.yaml", &marked_containers(100_000, 100, "v1.0.0"))?;
            out.write("policies.yaml", &simple_policies(100))?;
            out.write("bench-args", check_json)
        }
        // 24,000 markers naming policies that do not exist, in a 1 MB file: 24,000 diagnostics.
        "diagnostics-24k-human" => {
            let mut text = String::from("containers:\n");
            for i in 0..24_000 {
                let _ = writeln!(
                    text,
                    "  - image: ghcr.io/o/a:v1 # {{\"$imagepolicy\": \"flux-system:missing{i}\"}}"
                );
            }
            out.write("pods.yaml", &text)?;
            out.write("bench-args", "check --format human --color never DIR")
        }
        // 20,000 policies, each with its marker.
        "policies-20k" => {
            out.write("policies.yaml", &simple_policies(20_000))?;
            out.write("pods.yaml", &marked_containers(20_000, 20_000, "v1.0.0"))?;
            out.write("bench-args", check_json)
        }
        // 50,000 own-line comments around 10,000 markers in one file.
        "comments-and-markers" => {
            let mut text = String::from("containers:\n");
            for i in 0..10_000 {
                for c in 0..5 {
                    let _ = writeln!(
                        text,
                        "  # note {c} about container {i}: keep in sync with the chart"
                    );
                }
                let _ = writeln!(
                    text,
                    "  - image: ghcr.io/org/app{}:v1.0.0 # {{\"$imagepolicy\": \"flux-system:app{}\"}}",
                    i % 100,
                    i % 100
                );
            }
            out.write("pods.yaml", &text)?;
            out.write("policies.yaml", &simple_policies(100))?;
            out.write("bench-args", check_json)
        }
        // An ImagePolicy a kustomization applies, with a 100,000-item anchored list and 100,000
        // aliases of it: kustomize would copy the list each time; the tool copies within a
        // budget and sizes the anchor once.
        "aliases-100k-one-anchor" => {
            let mut text = String::from(
                "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app0\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app0\n  policy:\n    semver:\n      range: \">=1.0.0\"\nbig: &big\n",
            );
            for i in 0..100_000 {
                let _ = writeln!(text, "  - item{i}");
            }
            text.push_str("copies:\n");
            for _ in 0..100_000 {
                text.push_str("  - *big\n");
            }
            out.write("policy.yaml", &text)?;
            out.write("kustomization.yaml", "resources:\n  - policy.yaml\n")?;
            out.write("bench-args", check_json)
        }
        // 40,000 markers in one file that all move to a newer tag: a 40,000-line diff.
        "dry-run-40k-lines" => {
            out.write("pods.yaml", &marked_containers(40_000, 100, "v1.0.0"))?;
            out.write("policies.yaml", &simple_policies(100))?;
            out.write("tags.json", &simple_tags(100))?;
            out.write(
                "bench-args",
                "check --fix --dry-run --tags-file DIR/tags.json DIR",
            )
        }
        // The 20,000-file tree, written by `--fix` from its tag snapshot; restored by git.
        "fix-5000-markers" => {
            generate(
                root,
                &TreeSpec {
                    files: 20_000,
                    markers: 5_000,
                    seed: DEFAULT_SEED,
                },
            )?;
            out.write(
                "bench-args",
                "check --fix --format json --tags-file DIR/tags.json DIR",
            )?;
            out.write("bench-prepare", "git -C DIR checkout --quiet -- .")?;
            let git = |args: &[&str]| -> io::Result<()> {
                let status = std::process::Command::new("git")
                    .arg("-C")
                    .arg(root)
                    .args([
                        "-c",
                        "user.name=bench",
                        "-c",
                        "user.email=bench@example.com",
                    ])
                    .args(args)
                    .stdout(std::process::Stdio::null())
                    .status()?;
                if status.success() {
                    Ok(())
                } else {
                    Err(io::Error::other(format!("git {args:?} failed")))
                }
            };
            git(&["init", "--quiet"])?;
            git(&["add", "--all"])?;
            git(&["commit", "--quiet", "-m", "generated tree"])
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown case {other}; the cases are {}", CASES.join(", ")),
        )),
    }
}

/// `count` marked containers in one list, naming `policies` policies round-robin.
fn marked_containers(count: usize, policies: usize, tag: &str) -> String {
    let mut text =
        String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: many\nspec:\n  containers:\n");
    for i in 0..count {
        let p = i % policies;
        let _ = writeln!(
            text,
            "    - name: c{i}\n      image: ghcr.io/org/app{p}:{tag} # {{\"$imagepolicy\": \"flux-system:app{p}\"}}"
        );
    }
    text
}

/// ImageRepository `app{i}` (`ghcr.io/org/app{i}`) and its semver ImagePolicy, for `count` apps.
fn simple_policies(count: usize) -> String {
    let mut text = String::new();
    for i in 0..count {
        let _ = write!(
            text,
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app{i}\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/app{i}\n  interval: 12h\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app{i}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app{i}\n  policy:\n    semver:\n      range: '>=1.0.0'\n"
        );
    }
    text
}

fn simple_tags(count: usize) -> String {
    let images: Vec<String> = (0..count).map(|i| format!("ghcr.io/org/app{i}")).collect();
    tags_json(images.iter().map(|image| (image.as_str(), "v1.0.0")))
}
