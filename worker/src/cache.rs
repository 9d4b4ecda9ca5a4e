//! Compiled models kept between tasks, keyed by workspace digest, patch and settings, bounded
//! in number and in bytes, least recently used out first. Shared by a worker's fit slots.
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use engine::compute::CompiledModel;
use engine::model::ModelSettings;
use lru::LruCache;

/// What decides a compiled model: the workspace, the patch applied and the model settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelKey {
    pub workspace: String,
    /// The patch's name and its operations (verbatim JSON text), if any.
    pub patch: Option<(String, String)>,
    pub settings: ModelSettings,
}

/// Hits, misses and evictions since the cache was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub models: u64,
    pub bytes: u64,
}

pub struct ModelCache {
    inner: Mutex<Inner>,
    max_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

struct Inner {
    models: LruCache<ModelKey, (Arc<CompiledModel>, u64)>,
    bytes: u64,
}

impl ModelCache {
    /// At most `max_models` models and `max_bytes` bytes of tensors (a model larger than
    /// `max_bytes` is used but not kept).
    pub fn new(max_models: usize, max_bytes: u64) -> Self {
        ModelCache {
            inner: Mutex::new(Inner {
                models: LruCache::new(NonZeroUsize::new(max_models.max(1)).expect("at least one")),
                bytes: 0,
            }),
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// The model for `key`, if cached (counts a hit or a miss).
    pub fn get(&self, key: &ModelKey) -> Option<Arc<CompiledModel>> {
        let found = self.lock().models.get(key).map(|(m, _)| m.clone());
        match found {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        found
    }

    /// Keep `model` under `key`, evicting the least recently used models beyond the bounds.
    pub fn insert(&self, key: ModelKey, model: Arc<CompiledModel>) {
        let size = model.memory_bytes() as u64;
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        if let Some((_, (_, old))) = inner.models.push(key, (model, size)) {
            // Replaced an entry (same key) or evicted the least recently used one.
            inner.bytes -= old;
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        inner.bytes += size;
        while inner.bytes > self.max_bytes {
            match inner.models.pop_lru() {
                Some((_, (_, old))) => {
                    inner.bytes -= old;
                    self.evictions.fetch_add(1, Ordering::Relaxed);
                }
                None => break,
            }
        }
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            models: inner.models.len() as u64,
            bytes: inner.bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (each update is one step).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
