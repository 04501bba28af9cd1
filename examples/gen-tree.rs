//! Writes a generated GitOps repository for benchmarks (see `benches/support/tree.rs`):
//!
//! ```sh
//! cargo run --release --example gen-tree -- --files 20000 --markers 5000 /tmp/tree-20k
//! cargo run --release --example gen-tree -- --case policies-20k /tmp/policies-20k
//! cargo run --release --example gen-tree -- --list-cases
//! ```

#[path = "../benches/support/tree.rs"]
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: gen-tree --files N --markers M [--seed S] OUT | gen-tree --case NAME OUT | gen-tree --list-cases";

/// A generated tree of a size, or one of the named inputs.
enum What {
    Tree(tree::TreeSpec),
    Case(String),
}

fn parse(args: &[String]) -> Result<(What, PathBuf), String> {
    let mut spec = tree::TreeSpec {
        files: 1000,
        markers: 250,
        seed: tree::DEFAULT_SEED,
    };
    let mut case = None;
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: `{value}` is not a number"))
        };
        match arg.as_str() {
            "--files" => spec.files = number("--files")? as usize,
            "--markers" => spec.markers = number("--markers")? as usize,
            "--seed" => spec.seed = number("--seed")?,
            "--case" => case = Some(args.next().ok_or("--case needs a name")?.clone()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            path if out.is_none() => out = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument {extra}")),
        }
    }
    let what = case.map_or(What::Tree(spec), What::Case);
    Ok((what, out.ok_or("OUT is missing")?))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["--list-cases"] {
        println!("{}", tree::CASES.join("\n"));
        return ExitCode::SUCCESS;
    }
    let (what, out) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("gen-tree: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if out.exists() && std::fs::read_dir(&out).is_ok_and(|mut d| d.next().is_some()) {
        eprintln!("gen-tree: {} is not empty", out.display());
        return ExitCode::from(2);
    }
    let generated = match what {
        What::Tree(spec) => tree::generate(&out, &spec).map(Some),
        What::Case(case) => tree::generate_case(&out, &case).map(|()| None),
    };
    match generated {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(summary)) => {
            println!(
                "{}: {} YAML files, {} markers, {} policies, {:.1} MB",
                out.display(),
                summary.yaml_files,
                summary.markers,
                summary.policies,
                summary.bytes as f64 / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("gen-tree: {}: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}
