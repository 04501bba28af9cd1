//! Work spread over up to `jobs` threads (std's scoped threads), its results taken in the order
//! of the input whatever the scheduling, so that every stage's output is the same with `--jobs 1`
//! as with many. Items are claimed one at a time: a slow one (a large render) does not hold
//! back a fixed share of the others.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard, PoisonError};

/// `items` mapped on up to `jobs` threads, in order. Every result is kept, so a free worker
/// always takes the next item: waiting for the results before it, as
/// [`for_each_in_order`]'s workers do, left a thread idle behind a long item.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let mut results = Vec::with_capacity(items.len());
    in_order(items, jobs, false, f, |_, result| results.push(result));
    results
}

/// `f` of consecutive ranges covering `0..count` (a few per thread), in order: for many small
/// items, where handing out one at a time would cost more than the work.
pub fn map_ranges<R: Send>(
    count: usize,
    jobs: usize,
    f: impl Fn(Range<usize>) -> R + Sync,
) -> Vec<R> {
    let size = count.div_ceil(4 * jobs.max(1)).max(1);
    let ranges: Vec<Range<usize>> = (0..count)
        .step_by(size)
        .map(|start| start..count.min(start + size))
        .collect();
    map(&ranges, jobs, |range| f(range.clone()))
}

/// [`map_ranges`] of the slices of `items`.
pub fn map_slices<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    map_ranges(items.len(), jobs, |range| f(&items[range]))
}

/// The items of `parts` (each thread's results, in order) in one vector of their total size,
/// moved: `[Vec]::concat` clones every item, and growing a vector leaves spare room behind.
pub fn concat<T>(parts: Vec<Vec<T>>) -> Vec<T> {
    let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        all.extend(part);
    }
    all
}

/// `f` of each item on up to `jobs` worker threads, handed to `consume` on the calling thread in
/// the items' order as soon as its predecessors are: the consumer overlaps the work. A worker
/// starts an item only when fewer than `jobs` results wait before it, so that few results (a
/// render's trees) are alive at once however slow the consumer.
pub fn for_each_in_order<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
    consume: impl FnMut(usize, R),
) {
    in_order(items, jobs, true, f, consume);
}

/// `f` of each item on up to `jobs` worker threads, handed to `consume` in the items' order;
/// `bounded`: a worker starts an item only when fewer than `jobs` results wait before it.
fn in_order<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    bounded: bool,
    f: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(usize, R),
) {
    let workers = jobs.min(items.len());
    if workers <= 1 {
        for (index, item) in items.iter().enumerate() {
            consume(index, f(item));
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let consumed = Consumed::default();
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        let (f, next, consumed) = (&f, &next, &consumed);
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let sender = sender.clone();
                scope.spawn(move || {
                    // A worker that ends (no item left, or a panic) leaves none waiting.
                    let _release = Release(consumed);
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else { break };
                        if bounded {
                            consumed.wait_for(index.saturating_sub(workers));
                        }
                        // The consumer only stops listening when it panicked itself.
                        if sender.send((index, f(item))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(sender);
        // However the consumer ends, no worker is left waiting on it.
        let _release = Release(consumed);
        let mut early = BTreeMap::new();
        let mut expected = 0;
        for (index, result) in receiver {
            early.insert(index, result);
            while let Some(result) = early.remove(&expected) {
                consume(expected, result);
                expected += 1;
                consumed.set(expected);
            }
        }
        // A worker that panicked ends the channel early: its panic is the one to report.
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// How many results the consumer has taken, for workers to wait on.
#[derive(Default)]
struct Consumed {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Consumed {
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, count: usize) {
        let mut consumed = self.lock();
        // Never below a release.
        *consumed = count.max(*consumed);
        self.changed.notify_all();
    }

    /// Until at least `count` results are consumed (or the wait is called off).
    fn wait_for(&self, at_least: usize) {
        let mut count = self.lock();
        while *count < at_least {
            count = self
                .changed
                .wait(count)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Lets every waiting worker go, for good: the consumer or a worker is done, or gone.
struct Release<'a>(&'a Consumed);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.set(usize::MAX);
    }
}

/// Frees what a run or a stage built (parsed files, the model, the renders' caches) beside the
/// work that follows (the next stage, the next repository, the report) rather than before it:
/// on a large repository freeing is a noticeable share of the run (3 % of `--fix`'s CPU on
/// 20,000 files). The process may end before the thread does, which frees everything at once;
/// where no thread can be made, the value is freed here.
pub fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

/// [`drop_in_background`], then the memory freed handed back to the system: for a stage's
/// caches, larger than what the stages after it allocate. What is freed stays with the process,
/// and the stages after did not allocate from it: at 20,000 files 13 to 20 MB lay free while
/// the rules grew the process by 6 MB (13 MB at 50,000), past the renders' peak.
pub fn free_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().spawn(move || {
        drop(value);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: glibc's `malloc_trim` gives free pages back to the system and touches no
        // allocation in use; it may be called from any thread.
        unsafe {
            libc::malloc_trim(0);
        }
    });
}

/// `a()` and `b()`, `a` on a thread of its own when `jobs` allows two.
pub fn join<A: Send, B>(
    jobs: usize,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B,
) -> (A, B) {
    if jobs <= 1 {
        let a = a();
        return (a, b());
    }
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        match a.join() {
            Ok(a) => (a, b),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_whatever_the_jobs() {
        let items: Vec<u64> = (0..200).collect();
        // Uneven work, so that later items finish first.
        let slow_square = |&n: &u64| {
            if n % 7 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            n * n
        };
        let expected: Vec<u64> = items.iter().map(slow_square).collect();
        for jobs in [0, 1, 2, 3, 8, 500] {
            assert_eq!(map(&items, jobs, slow_square), expected, "jobs {jobs}");
            let mut seen = Vec::new();
            for_each_in_order(&items, jobs, slow_square, |index, square| {
                seen.push((index, square))
            });
            assert!(seen.iter().enumerate().all(|(i, &(index, _))| i == index));
            let by_slices: Vec<u64> = map_slices(&items, jobs, |slice| {
                slice.iter().map(slow_square).collect::<Vec<_>>()
            })
            .concat();
            assert_eq!(by_slices, expected, "jobs {jobs}");
        }
        assert!(map(&[] as &[u64], 4, slow_square).is_empty());
        assert!(map_slices(&[] as &[u64], 4, <[u64]>::len).is_empty());
    }

    #[test]
    fn map_keeps_every_worker_busy_behind_a_long_item() {
        // The first item finishes only once the other worker has mapped all the rest: a worker
        // that waited for the first item's result before starting the third would never let it.
        let items: Vec<usize> = (0..20).collect();
        let done = Mutex::new(0);
        let others_done = Condvar::new();
        let mapped = map(&items, 2, |&n| {
            let mut count = done.lock().unwrap();
            if n == 0 {
                let timeout = std::time::Duration::from_secs(10);
                let (count, waited) = others_done
                    .wait_timeout_while(count, timeout, |count| *count < items.len() - 1)
                    .unwrap();
                return !waited.timed_out() && *count == items.len() - 1;
            }
            *count += 1;
            others_done.notify_all();
            true
        });
        assert!(mapped[0], "the long item's worker was left alone with it");
    }

    #[test]
    fn a_panic_on_a_worker_reaches_the_caller_and_leaves_none_waiting() {
        let items: Vec<u64> = (0..50).collect();
        let panicked = std::panic::catch_unwind(|| {
            map(&items, 2, |&n| {
                assert_ne!(n, 3, "item 3 fails");
                n
            })
        });
        assert!(panicked.is_err());
    }
}
