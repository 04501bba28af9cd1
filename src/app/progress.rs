//! What registry work shows on stderr while it runs: a progress bar on a terminal (repositories
//! done of total, and the host waited on longest), one line per repository otherwise (CI logs),
//! nothing with `--quiet`. Errors are printed as they happen, in every mode, with terminal
//! control characters escaped (they quote registries' answers).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::registry::{FetchEvent, TagRequest};
use crate::report::escape;
use crate::tags::{TagError, TagSource};

/// The tags of each request from `source`, showing progress as the registry works (nothing with
/// `quiet`). Every failure is printed as it happens when `print_errors`; a tags file answers at
/// once, so its failures are printed when it has answered.
pub fn fetch(
    source: &TagSource,
    requests: &[TagRequest],
    quiet: bool,
    print_errors: bool,
) -> Vec<Result<Vec<String>, TagError>> {
    let progress = match source {
        TagSource::Registry(_) => Progress::new(requests, quiet, print_errors),
        TagSource::Snapshot(_) => Progress::new(&[], true, false),
    };
    let fetched = source.fetch(requests, &|event| progress.observe(event));
    progress.finish();
    if print_errors && matches!(source, TagSource::Snapshot(_)) {
        for error in fetched.iter().filter_map(|result| result.as_ref().err()) {
            eprintln!("error: {}", escape(&error.message));
        }
    }
    fetched
}

struct Progress<'a> {
    images: &'a [TagRequest],
    display: Display,
    /// Shared with the bar's template, which shows the slowest host on each redraw.
    state: Arc<Mutex<State>>,
    print_errors: bool,
}

enum Display {
    Bar(ProgressBar),
    Lines,
    Silent,
}

#[derive(Default)]
struct State {
    done: usize,
    /// Listings under way: request index, registry host, when it started.
    in_flight: Vec<(usize, String, Instant)>,
}

impl State {
    /// `waiting on ghcr.io (12 s)`: the host of the listing that has run longest.
    fn slowest(&self) -> String {
        match self.in_flight.iter().min_by_key(|(_, _, started)| *started) {
            Some((_, host, started)) if started.elapsed() >= Duration::from_secs(1) => {
                format!("waiting on {host} ({} s)", started.elapsed().as_secs())
            }
            _ => String::new(),
        }
    }
}

impl<'a> Progress<'a> {
    /// Progress for listing `images`; `print_errors` false when the caller reports them itself.
    fn new(images: &'a [TagRequest], quiet: bool, print_errors: bool) -> Progress<'a> {
        let state = Arc::new(Mutex::new(State::default()));
        let display = if quiet || images.is_empty() {
            Display::Silent
        } else if std::io::stderr().is_terminal() {
            Display::Bar(bar(images.len(), state.clone()))
        } else {
            Display::Lines
        };
        Progress {
            images,
            display,
            state,
            print_errors,
        }
    }

    fn observe(&self, event: FetchEvent) {
        let mut state = self.state.lock().unwrap();
        let (index, result) = match event {
            FetchEvent::Started { index, registry } => {
                state
                    .in_flight
                    .push((index, registry.to_string(), Instant::now()));
                return;
            }
            FetchEvent::Finished { index, result, .. } => (index, result),
        };
        state.in_flight.retain(|(i, _, _)| *i != index);
        state.done += 1;
        let done = state.done;
        drop(state);
        let image = self.images.get(index).map_or("", |r| r.image.as_str());
        let error = match result {
            Err(error) if self.print_errors => {
                Some(format!("error: {}", escape(&error.to_string())))
            }
            _ => None,
        };
        match &self.display {
            Display::Bar(bar) => {
                if let Some(error) = error {
                    bar.suspend(|| eprintln!("{error}"));
                }
                bar.set_position(done as u64);
            }
            Display::Lines => match (result, error) {
                (Ok(list), _) => eprintln!(
                    "tags: {}: {} tag{} ({done}/{})",
                    escape(image),
                    list.tags.len(),
                    if list.tags.len() == 1 { "" } else { "s" },
                    self.images.len()
                ),
                (Err(_), Some(error)) => eprintln!("{error} ({done}/{})", self.images.len()),
                (Err(_), None) => eprintln!(
                    "tags: {}: failed ({done}/{})",
                    escape(image),
                    self.images.len()
                ),
            },
            Display::Silent => {
                if let Some(error) = error {
                    eprintln!("{error}");
                }
            }
        }
    }

    /// Clears the bar.
    fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
}

fn bar(total: usize, state: Arc<Mutex<State>>) -> ProgressBar {
    let style = ProgressStyle::with_template("{spinner} fetching tags {pos}/{len} {slowest}")
        .expect("a valid template")
        .with_key(
            "slowest",
            move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&state.lock().unwrap().slowest());
            },
        );
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
        .with_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
