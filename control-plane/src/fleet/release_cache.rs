//! Payloads of recent releases, so one bulk deployment reads its payload
//! from the database once, not once per agent. Bounded by bytes, not by
//! entries: a few bundles near the size limit must not hold gigabytes.

use std::collections::VecDeque;

use bytes::Bytes;
use uuid::Uuid;

/// Recent release payloads, at most `max_bytes` of them; the least
/// recently used go first.
pub(crate) struct ReleaseCache {
    max_bytes: u64,
    bytes: u64,
    /// Least recently used first.
    entries: VecDeque<(Uuid, Bytes)>,
}

impl ReleaseCache {
    /// An empty cache holding up to `max_bytes` of payloads.
    pub(crate) fn new(max_bytes: u64) -> Self {
        Self {
            max_bytes,
            bytes: 0,
            entries: VecDeque::new(),
        }
    }

    /// The payload of `release_id`, if cached; it becomes the most recently used.
    pub(crate) fn get(&mut self, release_id: Uuid) -> Option<Bytes> {
        let at = self.entries.iter().position(|(id, _)| *id == release_id)?;
        let entry = self.entries.remove(at)?;
        let payload = entry.1.clone();
        self.entries.push_back(entry);
        Some(payload)
    }

    /// Keeps `payload`, making room by dropping the least recently used; a
    /// payload bigger than the whole cache is not kept.
    pub(crate) fn insert(&mut self, release_id: Uuid, payload: Bytes) {
        let size = payload.len() as u64;
        if size > self.max_bytes || self.entries.iter().any(|(id, _)| *id == release_id) {
            return;
        }
        while self.bytes + size > self.max_bytes {
            let Some((_, old)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.len() as u64;
        }
        self.bytes += size;
        self.entries.push_back((release_id, payload));
    }

    /// Bytes of payloads held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(bytes: usize) -> Bytes {
        Bytes::from(vec![0u8; bytes])
    }

    #[test]
    fn the_cache_holds_at_most_its_bytes_least_recently_used_out_first() {
        let mut cache = ReleaseCache::new(100);
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        cache.insert(a, payload(40));
        cache.insert(b, payload(40));
        assert!(cache.get(a).is_some(), "a is now the most recently used");
        cache.insert(c, payload(40));
        assert!(cache.bytes() <= 100, "{}", cache.bytes());
        assert!(cache.get(b).is_none(), "b was the least recently used");
        assert!(cache.get(a).is_some() && cache.get(c).is_some());
    }

    #[test]
    fn a_payload_bigger_than_the_cache_is_not_kept() {
        let mut cache = ReleaseCache::new(100);
        let small = Uuid::now_v7();
        cache.insert(small, payload(10));
        cache.insert(Uuid::now_v7(), payload(101));
        assert_eq!(cache.bytes(), 10);
        assert!(cache.get(small).is_some(), "nothing was dropped for it");
    }

    #[test]
    fn many_small_payloads_fit_where_an_entry_count_would_have_stopped() {
        let mut cache = ReleaseCache::new(1000);
        let ids: Vec<Uuid> = (0..100).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            cache.insert(*id, payload(10));
        }
        assert!(ids.iter().all(|id| cache.get(*id).is_some()));
        assert_eq!(cache.bytes(), 1000);
    }
}
