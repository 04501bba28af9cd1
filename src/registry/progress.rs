//! A one-line spinner on stderr while tags are fetched: per host, images done out of total.
//! Silent unless asked for and stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

pub(crate) struct Progress {
    enabled: bool,
    hosts: Vec<(String, usize, AtomicUsize)>,
    stop: AtomicBool,
}

impl Progress {
    pub(crate) fn new(wanted: bool, hosts: Vec<(String, usize)>) -> Progress {
        Progress {
            enabled: wanted && !hosts.is_empty() && std::io::stderr().is_terminal(),
            hosts: hosts
                .into_iter()
                .map(|(h, total)| (h, total, AtomicUsize::new(0)))
                .collect(),
            stop: AtomicBool::new(false),
        }
    }

    pub(crate) fn done(&self, host: usize) {
        self.hosts[host].2.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self, frame: usize) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|(h, total, done)| format!("{h} {}/{total}", done.load(Ordering::Relaxed)))
            .collect();
        let mut line = format!(
            "{} fetching tags: {}",
            FRAMES[frame % FRAMES.len()],
            hosts.join(", ")
        );
        if line.chars().count() > 100 {
            line = line.chars().take(99).collect::<String>() + "…";
        }
        line
    }

    pub(crate) fn start<'scope>(
        &'scope self,
        scope: &'scope Scope<'scope, '_>,
    ) -> Option<ScopedJoinHandle<'scope, ()>> {
        if !self.enabled {
            return None;
        }
        Some(scope.spawn(move || {
            let mut frame = 0;
            while !self.stop.load(Ordering::Relaxed) {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{}", self.line(frame));
                let _ = err.flush();
                drop(err);
                frame += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }))
    }

    pub(crate) fn finish(&self, handle: Option<ScopedJoinHandle<'_, ()>>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts_per_host() {
        let p = Progress::new(false, vec![("ghcr.io".into(), 3), ("quay.io".into(), 1)]);
        p.done(0);
        assert_eq!(p.line(0), "⠋ fetching tags: ghcr.io 1/3, quay.io 0/1");
        assert!(!p.enabled);
    }
}
