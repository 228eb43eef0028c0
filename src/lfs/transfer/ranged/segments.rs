//! How a ranged download is cut up: the first plan ([`plan_ranges`]), and the segments it
//! becomes as idle workers split the slowest ones.

use std::ops::{Index, IndexMut};

use serde::{Deserialize, Serialize};

pub(super) const MIB: u64 = 1024 * 1024;
/// Objects at least this big are fetched in ranges; smaller ones in one GET each.
pub(crate) const PARALLEL_FROM: u64 = 32 * MIB;
const MIN_PART: u64 = 8 * MIB;
/// Also bounds what a stop costs: a segment begun is resumed, but its open request is lost.
const MAX_PART: u64 = 256 * MIB;
/// Segments per worker at the start: enough that the last ones do not leave most workers idle.
const PARTS_PER_WORKER: u64 = 4;
/// A segment is split for an idle worker only if both halves get at least this much.
const MIN_STEAL: u64 = MIB;
/// The default whole-download limit: the Hub's (huggingface_hub `MAX_HTTP_DOWNLOAD_SIZE`).
pub const DEFAULT_MAX_WHOLE_DOWNLOAD: u64 = 50_000_000_000;

/// How one object is split at first: parts of `part_size` bytes, the last one shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangePlan {
    pub part_size: u64,
    pub parts: usize,
}

impl RangePlan {
    pub(super) fn with_part_size(size: u64, part_size: u64) -> Self {
        let part_size = part_size.max(1);
        Self {
            part_size,
            parts: usize::try_from(size.div_ceil(part_size)).unwrap_or(usize::MAX),
        }
    }

    /// Offset and length of part `index` of an object of `size` bytes.
    #[cfg(test)]
    fn range(&self, index: usize, size: u64) -> (u64, u64) {
        let start = self.part_size.saturating_mul(index as u64).min(size);
        (start, self.part_size.min(size - start))
    }

    pub(super) fn segments(&self, size: u64) -> Vec<Segment> {
        (0..size.div_ceil(self.part_size))
            .map(|index| {
                let start = index * self.part_size;
                Segment {
                    start,
                    end: (start + self.part_size).min(size),
                    written: 0,
                    taken: false,
                }
            })
            .collect()
    }
}

/// Whether (and how) an object of `size` bytes is fetched in ranges with `workers` in flight:
/// `None` for one plain GET. Objects over `max_whole_download` always go in ranges no longer
/// than that, whatever the other choices; others from [`PARALLEL_FROM`], in about
/// [`PARTS_PER_WORKER`] parts per worker of [`MIN_PART`] to [`MAX_PART`] bytes.
pub(crate) fn plan_ranges(size: u64, workers: usize, max_whole_download: u64) -> Option<RangePlan> {
    let over_limit = size > max_whole_download;
    if !over_limit && size < PARALLEL_FROM {
        return None;
    }
    let spread = (workers.max(1) as u64).saturating_mul(PARTS_PER_WORKER);
    let mut part_size = (size / spread).clamp(MIN_PART, MAX_PART);
    if over_limit {
        part_size = part_size.min(max_whole_download.max(1));
    }
    Some(RangePlan::with_part_size(size, part_size))
}

/// Bytes `[start, end)` of the object; the first `written` of them are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Segment {
    pub start: u64,
    pub end: u64,
    pub written: u64,
    /// A worker is fetching it.
    #[serde(skip)]
    pub taken: bool,
}

impl Segment {
    pub(super) fn len(&self) -> u64 {
        self.end - self.start
    }

    pub(super) fn next(&self) -> u64 {
        self.start + self.written
    }

    pub(super) fn left(&self) -> u64 {
        self.len() - self.written
    }

    pub(super) fn done(&self) -> bool {
        self.written >= self.len()
    }
}

/// The segments of one download. Indices are stable (a split appends the new segment), and
/// `order` keeps them sorted by offset.
#[derive(Debug, Default)]
pub(super) struct Segments {
    list: Vec<Segment>,
    order: Vec<usize>,
}

impl Segments {
    pub(super) fn new(list: Vec<Segment>) -> Self {
        Self {
            order: (0..list.len()).collect(),
            list,
        }
    }

    /// In offset order.
    pub(super) fn in_order(&self) -> Vec<Segment> {
        self.order.iter().map(|&id| self.list[id]).collect()
    }

    /// Bytes on disk in all segments.
    pub(super) fn written(&self) -> u64 {
        self.list.iter().map(|segment| segment.written).sum()
    }

    /// Where the bytes written contiguously from byte 0 end.
    pub(super) fn prefix(&self) -> u64 {
        for &id in &self.order {
            let segment = &self.list[id];
            if !segment.done() {
                return segment.next();
            }
        }
        self.list.iter().map(|s| s.end).max().unwrap_or(0)
    }

    /// A segment to fetch: the first one nobody fetches, else the far half of the one with the
    /// most bytes to come.
    pub(super) fn take(&mut self) -> Option<usize> {
        let free = self
            .order
            .iter()
            .copied()
            .find(|&id| !self.list[id].taken && !self.list[id].done());
        if let Some(id) = free {
            self.list[id].taken = true;
            return Some(id);
        }
        let (slot, id) = self
            .order
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, id)| self.list[id].taken)
            .max_by_key(|&(_, id)| self.list[id].left())?;
        let victim = self.list[id];
        if victim.left() < 2 * MIN_STEAL {
            return None;
        }
        let middle = victim.next() + victim.left() / 2;
        self.list[id].end = middle;
        self.list.push(Segment {
            start: middle,
            end: victim.end,
            written: 0,
            taken: true,
        });
        let new = self.list.len() - 1;
        self.order.insert(slot + 1, new);
        Some(new)
    }
}

impl Index<usize> for Segments {
    type Output = Segment;

    fn index(&self, id: usize) -> &Segment {
        &self.list[id]
    }
}

impl IndexMut<usize> for Segments {
    fn index_mut(&mut self, id: usize) -> &mut Segment {
        &mut self.list[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1_000_000_000;

    #[test]
    fn small_objects_keep_one_request() {
        assert_eq!(
            plan_ranges(PARALLEL_FROM - 1, 8, DEFAULT_MAX_WHOLE_DOWNLOAD),
            None
        );
        assert_eq!(plan_ranges(0, 8, DEFAULT_MAX_WHOLE_DOWNLOAD), None);
    }

    #[test]
    fn a_big_object_gets_about_four_parts_per_worker() {
        let plan = plan_ranges(1 << 30, 8, DEFAULT_MAX_WHOLE_DOWNLOAD).unwrap();
        assert_eq!((plan.part_size, plan.parts), (32 * MIB, 32));
        let one = plan_ranges(1 << 30, 1, DEFAULT_MAX_WHOLE_DOWNLOAD).unwrap();
        assert_eq!((one.part_size, one.parts), (256 * MIB, 4));
        let small = plan_ranges(40 * MIB, 8, DEFAULT_MAX_WHOLE_DOWNLOAD).unwrap();
        assert_eq!((small.part_size, small.parts), (MIN_PART, 5));
    }

    #[test]
    fn objects_over_the_limit_go_in_ranges_no_longer_than_it_whatever_else_is_chosen() {
        let plan = plan_ranges(60 * GB, 8, 50 * GB).unwrap();
        assert!(plan.part_size <= MAX_PART);
        let tiny = plan_ranges(5 * MIB, 1, MIB).unwrap();
        assert_eq!((tiny.part_size, tiny.parts), (MIB, 5));
        let odd = plan_ranges(10, 4, 3).unwrap();
        assert_eq!((odd.part_size, odd.parts), (3, 4));
        assert_eq!(odd.range(3, 10), (9, 1));
        assert_eq!(
            odd.segments(10).last().map(|s| (s.start, s.end)),
            Some((9, 10))
        );
        assert_eq!(plan_ranges(3, 4, 3), None);
    }

    #[test]
    fn an_idle_worker_takes_the_far_half_of_the_segment_with_most_to_come() {
        let size = 40 * MIB;
        let mut segments = Segments::new(RangePlan::with_part_size(size, 20 * MIB).segments(size));
        assert_eq!(segments.take(), Some(0));
        assert_eq!(segments.take(), Some(1));
        segments[0].written = 16 * MIB; // 4 MiB to come
        segments[1].written = 2 * MIB; // 18 MiB to come: split it
        assert_eq!(segments.take(), Some(2));
        assert_eq!(segments[1].end, 31 * MIB);
        assert_eq!((segments[2].start, segments[2].end), (31 * MIB, size));
        assert_eq!(segments.order, [0, 1, 2]);
        // The prefix runs to the first incomplete segment's last byte written.
        assert_eq!(segments.prefix(), 16 * MIB);
        segments[0].written = 20 * MIB;
        assert_eq!(segments.prefix(), 22 * MIB);
        // Too little left anywhere: nothing to take.
        segments[1].written = segments[1].len() - MIB;
        segments[2].written = segments[2].len() - MIB;
        assert_eq!(segments.take(), None);
        assert_eq!(segments.written(), size - 2 * MIB);
    }
}
