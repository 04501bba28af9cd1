//! What a commit in the making changes: the paths the index deletes against HEAD, and HEAD's
//! content of paths. The system `git`, read-only: nothing in the repository changes.

use foldhash::{HashMap, HashMapExt};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A path (relative to the top level, `/`-separated) that the index removes against HEAD.
#[derive(Debug, PartialEq, Eq)]
pub struct Removed {
    pub path: String,
    /// Where git sees it moved (its rename detection), when it did.
    pub renamed_to: Option<String>,
}

/// The paths the index deletes or renames away against HEAD; none before the first commit.
pub fn staged_deletions(dir: &Path) -> Result<Vec<Removed>, String> {
    if !has_head(dir) {
        return Ok(Vec::new());
    }
    let output = git(dir)
        .args([
            "diff",
            "--cached",
            "--name-status",
            "--find-renames",
            "--diff-filter=DR",
            "-z",
            "HEAD",
        ])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git diff --cached failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    // `D\0path\0` or `R<score>\0old\0new\0`.
    let mut fields = output
        .stdout
        .split(|&b| b == 0)
        .map(|field| String::from_utf8_lossy(field).into_owned());
    let mut removed = Vec::new();
    while let Some(status) = fields.next().filter(|status| !status.is_empty()) {
        let path = fields.next().unwrap_or_default();
        let renamed_to = if status.starts_with('R') {
            fields.next()
        } else {
            None
        };
        removed.push(Removed { path, renamed_to });
    }
    removed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(removed)
}

/// HEAD's content of each path (relative to the top level); `None` where HEAD has no such
/// file, or there is no HEAD yet.
pub fn head_contents(
    dir: &Path,
    paths: &[String],
) -> Result<HashMap<String, Option<Vec<u8>>>, String> {
    if paths.is_empty() || !has_head(dir) {
        return Ok(paths.iter().map(|p| (p.clone(), None)).collect());
    }
    let mut child = git(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let requests: String = paths.iter().map(|p| format!("HEAD:{p}\n")).collect();
    // Written from its own thread: git answers while it reads, and both pipes have a limit.
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut contents = HashMap::new();
    for path in paths {
        let mut header = String::new();
        stdout
            .read_line(&mut header)
            .map_err(|e| format!("reading git cat-file: {e}"))?;
        // `<id> <type> <size>` then the content, or `<request> missing` (the request holds
        // the path, spaces and all).
        let header = header.trim_end();
        let mut fields = header.split(' ');
        let (Some(_), Some(kind), Some(size), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            contents.insert(path.clone(), None);
            continue;
        };
        let size: u64 = match size.parse() {
            Ok(size) => size,
            Err(_) => {
                contents.insert(path.clone(), None);
                continue;
            }
        };
        let mut content = Vec::new();
        (&mut stdout)
            .take(size + 1)
            .read_to_end(&mut content)
            .map_err(|e| format!("reading git cat-file: {e}"))?;
        content.pop(); // the newline after each object
                       // A folder or a submodule of that name is no file.
        let content = (kind == "blob").then_some(content);
        contents.insert(path.clone(), content);
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(contents)
}

fn has_head(dir: &Path) -> bool {
    git(dir)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn reads_head_and_the_staged_deletions_and_renames() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        run(dir, &["init", "-q", "-b", "main"]);
        assert_eq!(staged_deletions(dir).unwrap(), []);
        assert_eq!(
            head_contents(dir, &["a.yaml".into()]).unwrap()["a.yaml"],
            None
        );
        std::fs::create_dir(dir.join("sub")).unwrap();
        for (name, text) in [("a.yaml", "a\n"), ("sub/b é.yaml", "b"), ("c.yaml", "c")] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        run(dir, &["add", "-A"]);
        run(dir, &["commit", "-q", "-m", "one"]);
        run(dir, &["rm", "-q", "sub/b é.yaml"]);
        run(dir, &["mv", "c.yaml", "d.yaml"]);
        std::fs::write(dir.join("a.yaml"), "changed").unwrap();
        assert_eq!(
            staged_deletions(dir).unwrap(),
            [
                Removed {
                    path: "c.yaml".into(),
                    renamed_to: Some("d.yaml".into())
                },
                Removed {
                    path: "sub/b é.yaml".into(),
                    renamed_to: None
                }
            ]
        );
        let paths = ["a.yaml", "sub", "d.yaml", "sub/b é.yaml"].map(String::from);
        let head = head_contents(dir, &paths).unwrap();
        assert_eq!(head["a.yaml"].as_deref(), Some(&b"a\n"[..]));
        assert_eq!(head["sub"], None);
        assert_eq!(head["d.yaml"], None);
        assert_eq!(head["sub/b é.yaml"].as_deref(), Some(&b"b"[..]));
    }
}
