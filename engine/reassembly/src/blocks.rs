//! The reassembler's block list: blocks keyed by their first sequence number, in order (Zeek's
//! `DataBlockList`, a `std::map`).
//!
//! Almost all traffic appends blocks above everything held and trims them from the bottom when
//! they are acknowledged, with a few blocks held per direction. A sorted `VecDeque` does both in
//! O(1) without allocating per block, where a `BTreeMap` walks its tree and allocates nodes. An
//! insertion or removal in the middle moves the elements on the shorter side; when that would be
//! more than [`MAX_SHIFT`] (many blocks held and data arriving out of order, which an attacker can
//! arrange), the list moves into a `BTreeMap` and stays there until it is empty again, so every
//! operation stays O(log n) amortised. Both forms give the same answers.

use std::collections::{btree_map, vec_deque, BTreeMap, VecDeque};
use std::ops::{Bound, Index, RangeBounds};

use crate::Block;

/// Most elements an insertion or removal may shift in the sorted `VecDeque` (a few hundred bytes
/// of `memmove`) before the list becomes a `BTreeMap`.
const MAX_SHIFT: usize = 16;

/// Blocks by first sequence number, the subset of `BTreeMap<u64, Block>`'s interface the
/// reassembler uses, with the same semantics (except that a reversed range is empty instead of
/// a panic).
#[derive(Debug)]
pub(crate) enum BlockMap {
    /// Sorted by key, no duplicates.
    List(VecDeque<(u64, Block)>),
    /// Never empty: an emptied tree becomes an empty list.
    Tree(BTreeMap<u64, Block>),
}

impl Default for BlockMap {
    fn default() -> Self {
        BlockMap::new()
    }
}

/// Iterator over `(key, block)` in key order.
pub(crate) enum Iter<'a> {
    List(vec_deque::Iter<'a, (u64, Block)>),
    Tree(btree_map::Range<'a, u64, Block>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a u64, &'a Block);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::List(i) => i.next().map(|(k, b)| (k, b)),
            Iter::Tree(i) => i.next(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::List(i) => i.next_back().map(|(k, b)| (k, b)),
            Iter::Tree(i) => i.next_back(),
        }
    }
}

impl BlockMap {
    pub(crate) const fn new() -> BlockMap {
        BlockMap::List(VecDeque::new())
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            BlockMap::List(l) => l.is_empty(),
            BlockMap::Tree(t) => t.is_empty(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            BlockMap::List(l) => l.len(),
            BlockMap::Tree(t) => t.len(),
        }
    }

    /// Index of the first element whose key is not below `k`. The ends are checked first: that is
    /// where in-order data is appended and acknowledged data trimmed.
    #[inline]
    fn lower(l: &VecDeque<(u64, Block)>, k: u64) -> usize {
        match (l.front(), l.back()) {
            (Some(f), _) if k <= f.0 => 0,
            (_, Some(b)) if b.0 < k => l.len(),
            (_, Some(b)) if b.0 == k => l.len() - 1,
            _ => l.partition_point(|e| e.0 < k),
        }
    }

    #[inline]
    fn index_of(l: &VecDeque<(u64, Block)>, k: u64) -> Option<usize> {
        let i = Self::lower(l, k);
        l.get(i).is_some_and(|e| e.0 == k).then_some(i)
    }

    /// Whether inserting or removing at `i` shifts few enough elements to stay a list.
    fn cheap_at(l: &VecDeque<(u64, Block)>, i: usize) -> bool {
        i.min(l.len() - i) <= MAX_SHIFT
    }

    /// Moves a list into a tree and returns the tree.
    fn make_tree(&mut self) -> &mut BTreeMap<u64, Block> {
        if let BlockMap::List(l) = self {
            *self = BlockMap::Tree(l.drain(..).collect());
        }
        match self {
            BlockMap::Tree(t) => t,
            BlockMap::List(_) => unreachable!("just made a tree"),
        }
    }

    pub(crate) fn contains_key(&self, k: &u64) -> bool {
        match self {
            BlockMap::List(l) => Self::index_of(l, *k).is_some(),
            BlockMap::Tree(t) => t.contains_key(k),
        }
    }

    /// Inserts or replaces (returning the old block), as `BTreeMap::insert`.
    pub(crate) fn insert(&mut self, k: u64, b: Block) -> Option<Block> {
        let BlockMap::List(l) = self else {
            return self.make_tree().insert(k, b);
        };
        if l.back().is_none_or(|e| e.0 < k) {
            l.push_back((k, b));
            return None;
        }
        let i = Self::lower(l, k);
        if let Some(e) = l.get_mut(i).filter(|e| e.0 == k) {
            return Some(std::mem::replace(&mut e.1, b));
        }
        if Self::cheap_at(l, i) {
            l.insert(i, (k, b));
            return None;
        }
        self.make_tree().insert(k, b)
    }

    pub(crate) fn remove(&mut self, k: &u64) -> Option<Block> {
        let l = match self {
            BlockMap::List(l) => l,
            BlockMap::Tree(t) => {
                let b = t.remove(k);
                if t.is_empty() {
                    *self = BlockMap::new();
                }
                return b;
            }
        };
        let i = Self::index_of(l, *k)?;
        if i == 0 {
            return l.pop_front().map(|e| e.1);
        }
        if Self::cheap_at(l, i) {
            return l.remove(i).map(|e| e.1);
        }
        let t = self.make_tree();
        let b = t.remove(k);
        if t.is_empty() {
            *self = BlockMap::new();
        }
        b
    }

    /// Frees the list's buffer when nothing is held (the list keeps its capacity otherwise, so
    /// that a busy direction does not allocate for every flight).
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() {
            *self = BlockMap::new();
        }
    }

    /// Whether data starting at `seq` may overlap a held block: something is held and `seq` does not
    /// start right after the last block (in-order data).
    #[inline]
    pub(crate) fn may_overlap(&self, seq: u64) -> bool {
        self.values().next_back().is_some_and(|last| seq != last.upper)
    }

    pub(crate) fn iter(&self) -> Iter<'_> {
        self.range(..)
    }

    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &Block> {
        self.iter().map(|(_, b)| b)
    }

    /// The blocks whose keys are in `r`, in order.
    pub(crate) fn range<R: RangeBounds<u64>>(&self, r: R) -> Iter<'_> {
        let l = match self {
            BlockMap::List(l) => l,
            BlockMap::Tree(t) => {
                let (lo, hi) = (r.start_bound().cloned(), r.end_bound().cloned());
                let reversed = match (lo, hi) {
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                        a > b || (a == b && (matches!(lo, Bound::Excluded(_)) || matches!(hi, Bound::Excluded(_))))
                    }
                    _ => false,
                };
                // BTreeMap panics on a reversed range (and on an empty one with an excluded end);
                // the list gives an empty one.
                return Iter::Tree(if reversed { t.range(0..0) } else { t.range(r) });
            }
        };
        let lo = match r.start_bound() {
            Bound::Included(&a) => Self::lower(l, a),
            Bound::Excluded(&a) => l.partition_point(|e| e.0 <= a),
            Bound::Unbounded => 0,
        };
        let hi = match r.end_bound() {
            Bound::Included(&b) => l.partition_point(|e| e.0 <= b),
            Bound::Excluded(&b) => Self::lower(l, b),
            Bound::Unbounded => l.len(),
        };
        Iter::List(l.range(lo.min(hi)..hi))
    }
}

impl Index<&u64> for BlockMap {
    type Output = Block;
    /// As `BTreeMap`'s: panics when `k` is absent.
    fn index(&self, k: &u64) -> &Block {
        match self {
            BlockMap::List(l) => match Self::index_of(l, *k) {
                Some(i) => &l[i].1,
                None => panic!("no block at {k}"),
            },
            BlockMap::Tree(t) => &t[k],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(k: u64) -> Block {
        Block {
            upper: k + 1,
            data: Box::new([]),
            cost: crate::BLOCK_OVERHEAD,
        }
    }

    /// Runs the same operations on a `BlockMap` and a `BTreeMap` and compares every answer.
    #[test]
    fn same_as_btreemap() {
        // A small xorshift: keys in a narrow range so that inserts hit existing keys and the
        // middle, with phases of in-order appends and bottom trims.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut m = BlockMap::new();
        let mut t: BTreeMap<u64, Block> = BTreeMap::new();
        let mut next = 0u64;
        for step in 0..20_000 {
            let r = rnd();
            let op = r % 8;
            let k = if step % 3000 < 1500 { next } else { (r >> 8) % 200 };
            match op {
                0..=2 => {
                    next += 1;
                    let a = m.insert(k, block(k)).map(|b| b.upper);
                    let b = t.insert(k, block(k)).map(|b| b.upper);
                    assert_eq!(a, b);
                }
                3 | 4 => {
                    let first = t.keys().next().copied().unwrap_or(0);
                    let kk = if op == 3 { first } else { k };
                    assert_eq!(m.remove(&kk).map(|b| b.upper), t.remove(&kk).map(|b| b.upper));
                }
                5 => {
                    let (a, b) = ((r >> 16) % 220, (r >> 32) % 220);
                    let (a, b) = (a.min(b), a.max(b));
                    let x: Vec<u64> = m.range(a..b).map(|(k, _)| *k).collect();
                    let y: Vec<u64> = t.range(a..b).map(|(k, _)| *k).collect();
                    assert_eq!(x, y);
                    let x: Vec<u64> = m.range(..=a).rev().map(|(k, _)| *k).collect();
                    let y: Vec<u64> = t.range(..=a).rev().map(|(k, _)| *k).collect();
                    assert_eq!(x, y);
                    let x: Vec<u64> = m.range(b..).map(|(k, _)| *k).collect();
                    let y: Vec<u64> = t.range(b..).map(|(k, _)| *k).collect();
                    assert_eq!(x, y);
                    assert_eq!(m.contains_key(&a), t.contains_key(&a));
                    if t.contains_key(&a) {
                        assert_eq!(m[&a].upper, t[&a].upper);
                    }
                }
                6 => {
                    assert_eq!(m.len(), t.len());
                    assert_eq!(m.is_empty(), t.is_empty());
                    assert_eq!(
                        m.values().next_back().map(|b| b.upper),
                        t.values().next_back().map(|b| b.upper)
                    );
                    assert_eq!(m.iter().next().map(|(k, _)| *k), t.iter().next().map(|(k, _)| *k));
                }
                _ => {
                    if r % 97 == 0 {
                        m = BlockMap::new();
                        t.clear();
                    }
                }
            }
        }
        assert!(m.iter().map(|(k, _)| *k).eq(t.keys().copied()));
    }

    #[test]
    fn reversed_range_is_empty() {
        let mut m = BlockMap::new();
        m.insert(5, block(5));
        assert_eq!(m.range(7..3).count(), 0);
        for k in 0..100 {
            // Middle inserts of a long list move it into the tree.
            m.insert(1000 - k * 2, block(1000 - k * 2));
        }
        m.insert(901, block(901));
        assert!(matches!(m, BlockMap::Tree(_)));
        assert_eq!(m.range(7..3).count(), 0);
        assert_eq!(m.range(5..5).count(), 0);
        assert_eq!(m.range(..=5).count(), 1);
    }
}
