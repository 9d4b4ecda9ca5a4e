//! Compiled models kept between tasks, keyed by workspace digest, patch and settings, bounded
//! in number and in bytes, least recently used out first. Shared by a worker's fit slots.
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fitfleet_engine::compute::{CompiledModel, DeviceChoice};
use fitfleet_engine::model::{Footprint, ModelSettings};
use lru::LruCache;

/// What decides a compiled model: the workspace, the patch applied and the model settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelKey {
    pub workspace: String,
    /// The patch's name and its operations (verbatim JSON text), if any.
    pub patch: Option<(String, String)>,
    pub settings: ModelSettings,
    /// Where the model's tensors live.
    pub device: DeviceChoice,
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
    /// Each model with its bytes and, when known, the footprint its workspace gave.
    models: LruCache<ModelKey, (Arc<CompiledModel>, u64, Option<Footprint>)>,
    bytes: u64,
}

impl ModelCache {
    /// Compiled models kept by default: a worker's `cache_models` and `fitfleet run`'s.
    pub const DEFAULT_MODELS: usize = 64;
    /// Bytes of compiled models kept by default: a worker's `cache_bytes` and `fitfleet run`'s.
    pub const DEFAULT_BYTES: u64 = 1 << 30;

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
        let found = self.lock().models.get(key).map(|(m, _, _)| m.clone());
        match found {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        found
    }

    /// The footprint kept with the model of `key`, if any (not a lookup: counts nothing).
    pub fn footprint(&self, key: &ModelKey) -> Option<Footprint> {
        self.lock().models.peek(key).and_then(|(_, _, f)| *f)
    }

    /// Keep `model` under `key`, evicting the least recently used models beyond the bounds.
    pub fn insert(&self, key: ModelKey, model: Arc<CompiledModel>) {
        self.keep(key, model, None)
    }

    /// [`ModelCache::insert`], with the footprint that budgets other work on the model.
    pub fn insert_with_footprint(&self, key: ModelKey, model: Arc<CompiledModel>, footprint: Footprint) {
        self.keep(key, model, Some(footprint))
    }

    fn keep(&self, key: ModelKey, model: Arc<CompiledModel>, footprint: Option<Footprint>) {
        let size = model.memory_bytes() as u64;
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        // Two slots may compile the same model at once: the second replaces the first.
        let replacing = inner.models.contains(&key);
        if let Some((_, (_, old, _))) = inner.models.push(key, (model, size, footprint)) {
            // Replaced the entry of the same key, or evicted the least recently used one.
            inner.bytes -= old;
            if !replacing {
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.bytes += size;
        while inner.bytes > self.max_bytes {
            match inner.models.pop_lru() {
                Some((_, (_, old, _))) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use fitfleet_engine::model::Model;
    use fitfleet_engine::spec::LoadedWorkspace;

    /// A one-channel model with `bins` bins: its size grows with them.
    fn model(bins: usize) -> Arc<CompiledModel> {
        let data = vec![10.0; bins];
        let ws = serde_json::json!({
            "channels": [{"name": "sr", "samples": [
                {"name": "bkg", "data": data, "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]}
            ]}],
            "observations": [{"name": "sr", "data": data}],
            "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
            "version": "1.0.0"
        });
        let loaded = LoadedWorkspace::from_slice("test", ws.to_string().as_bytes()).unwrap();
        let m = Model::new(&loaded.workspace, &ModelSettings::default()).unwrap();
        Arc::new(CompiledModel::new(&m, &Device::Cpu).unwrap())
    }

    fn key(name: &str) -> ModelKey {
        ModelKey { workspace: name.into(), patch: None, settings: ModelSettings::default(), device: DeviceChoice::Cpu }
    }

    #[test]
    fn the_byte_cap_evicts_least_recently_used_models() {
        let m = model(100);
        let size = m.memory_bytes() as u64;
        assert!(size > 100 * 8, "a model of 100 bins holds at least its data: {size}");
        // Room for two such models, not three.
        let cache = ModelCache::new(100, 2 * size + size / 2);
        cache.insert(key("a"), m.clone());
        cache.insert(key("b"), m.clone());
        assert!(cache.get(&key("a")).is_some(), "a is now the most recently used");
        cache.insert(key("c"), m.clone());
        let s = cache.stats();
        assert_eq!((s.models, s.bytes, s.evictions), (2, 2 * size, 1), "{s:?}");
        assert!(cache.get(&key("b")).is_none(), "b was the least recently used");
        assert!(cache.get(&key("a")).is_some() && cache.get(&key("c")).is_some());

        // A larger model pushes out as many as it needs.
        let big = model(250);
        let big_size = big.memory_bytes() as u64;
        assert!(big_size > size && big_size <= 2 * size + size / 2, "{big_size} vs {size}");
        cache.insert(key("big"), big);
        let s = cache.stats();
        assert!(s.bytes <= 2 * size + size / 2, "never above the cap: {s:?}");
        assert_eq!(
            s.bytes,
            cache.lock().models.iter().map(|(_, (_, b, _))| *b).sum::<u64>(),
            "bytes are the entries' sum"
        );
        assert!(cache.get(&key("big")).is_some());
    }

    #[test]
    fn a_model_larger_than_the_cap_is_not_kept_and_replacing_does_not_double_count() {
        let m = model(100);
        let size = m.memory_bytes() as u64;
        let cache = ModelCache::new(100, size - 1);
        cache.insert(key("a"), m.clone());
        assert_eq!((cache.stats().models, cache.stats().bytes), (0, 0));

        let cache = ModelCache::new(100, 10 * size);
        cache.insert(key("a"), m.clone());
        cache.insert(key("a"), m.clone());
        let s = cache.stats();
        assert_eq!((s.models, s.bytes, s.evictions), (1, size, 0), "{s:?}");
    }

    #[test]
    fn the_count_cap_holds_too() {
        let m = model(10);
        let cache = ModelCache::new(2, u64::MAX);
        for k in ["a", "b", "c", "d"] {
            cache.insert(key(k), m.clone());
        }
        let s = cache.stats();
        assert_eq!((s.models, s.bytes, s.evictions), (2, 2 * m.memory_bytes() as u64, 2), "{s:?}");
    }
}
