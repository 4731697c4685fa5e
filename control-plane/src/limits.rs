//! Caps on what one client may hold at once: connections waiting to
//! authenticate per address, live job-event sockets per user. A slot is
//! taken when the thing starts and given back when its [`Slot`] drops.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// At most `max` slots held per key at once.
pub struct KeyedLimit<K> {
    max: usize,
    held: Arc<Mutex<HashMap<K, usize>>>,
}

/// One held slot of a [`KeyedLimit`]; dropping it frees the slot.
pub struct Slot<K: Eq + Hash> {
    key: K,
    held: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Eq + Hash + Clone> KeyedLimit<K> {
    /// A limit of `max` slots per key.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            held: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The most slots one key may hold.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Takes a slot for `key`, or `None` when it already holds `max`.
    pub fn try_take(&self, key: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            key,
            held: Arc::clone(&self.held),
        })
    }

    /// Slots `key` holds now.
    pub fn held(&self, key: &K) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(key).copied().unwrap_or(0)
    }
}

impl<K: Eq + Hash> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            // Keys with nothing held are forgotten, so the map stays as
            // small as what is held right now.
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_holds_at_most_max_and_dropped_slots_come_back() {
        let limit = KeyedLimit::new(2);
        let a1 = limit.try_take("a").unwrap();
        let _a2 = limit.try_take("a").unwrap();
        assert!(limit.try_take("a").is_none());
        let _b = limit
            .try_take("b")
            .expect("other keys have their own slots");
        drop(a1);
        assert_eq!(limit.held(&"a"), 1);
        let _a3 = limit.try_take("a").expect("a freed slot is taken again");
        assert!(limit.try_take("a").is_none());
    }

    #[test]
    fn keys_holding_nothing_are_forgotten() {
        let limit = KeyedLimit::new(1);
        for i in 0..100 {
            drop(limit.try_take(i).unwrap());
        }
        assert!(limit.held.lock().unwrap().is_empty());
    }
}
