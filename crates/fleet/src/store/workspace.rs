//! Workspaces, stored once under their SHA-256, gzip-compressed.
use super::{Store, StoreError};
use fitfleet_protocol::WorkspaceDigest;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::{Read, Write};

/// What [`Store::put_workspace`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutWorkspace {
    pub digest: WorkspaceDigest,
    /// False when the workspace was already stored (its TTL was refreshed instead).
    pub newly_stored: bool,
    /// Bytes given.
    pub size: usize,
    /// Bytes stored (compressed); 0 when it was already there.
    pub stored_size: usize,
}

impl Store {
    /// Store a workspace's exact bytes under their digest, unless already there.
    ///
    /// Uploading the same workspace twice is a no-op besides refreshing its TTL once a tenth
    /// of it has run down (by writing it again), so that a new job never sees its workspace
    /// expire before the job's own records do.
    pub async fn put_workspace(&self, bytes: &[u8]) -> Result<PutWorkspace, StoreError> {
        let owned = bytes.to_vec();
        let (digest, compressed) = tokio::task::spawn_blocking(move || {
            let digest = WorkspaceDigest::of(&owned);
            let mut enc = GzEncoder::new(Vec::with_capacity(owned.len() / 4), Compression::default());
            enc.write_all(&owned).and_then(|()| enc.finish()).map(|c| (digest, c))
        })
        .await
        .map_err(|e| StoreError::Compression(format!("compression task failed: {e}")))?
        .map_err(|e| StoreError::Compression(e.to_string()))?;
        let key = self.keys.workspace(&digest);
        let mut conn = self.conn();
        // The client may not EXPIRE: a stored workspace whose TTL has run down is written again
        // (the same bytes, SET XX EX), so that a new job never sees it expire before the job's
        // own records do.
        let ttl_ms: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await?;
        let mut newly_stored = false;
        if ttl_ms == -2 {
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&compressed)
                .arg("NX")
                .arg("EX")
                .arg(self.ttl_secs)
                .query_async(&mut conn)
                .await?;
            newly_stored = set.is_some();
        }
        let fresh_ms = i64::try_from(self.ttl_secs.saturating_mul(1000) * 9 / 10).unwrap_or(i64::MAX);
        if !newly_stored && (0..fresh_ms).contains(&ttl_ms) {
            let _: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&compressed)
                .arg("XX")
                .arg("EX")
                .arg(self.ttl_secs)
                .query_async(&mut conn)
                .await?;
        }
        tracing::debug!(%digest, size = bytes.len(), compressed = compressed.len(), newly_stored, "workspace stored");
        Ok(PutWorkspace {
            digest,
            newly_stored,
            size: bytes.len(),
            stored_size: if newly_stored { compressed.len() } else { 0 },
        })
    }

    /// The exact bytes stored under `digest` (checked against it), or `None` when no such
    /// workspace is stored (never uploaded, or expired). Stored bytes that unpack to more than
    /// `max_workspace_bytes` are refused before more than that is held.
    pub async fn get_workspace(&self, digest: &WorkspaceDigest) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn();
        let compressed: Option<Vec<u8>> =
            redis::cmd("GET").arg(self.keys.workspace(digest)).query_async(&mut conn).await?;
        let Some(compressed) = compressed else {
            return Ok(None);
        };
        let expected = digest.clone();
        let limit = self.max_workspace_bytes;
        let bytes = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity((compressed.len() * 4).min(limit as usize));
            GzDecoder::new(&compressed[..])
                .take(limit.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| format!("cannot decompress: {e}"))?;
            if out.len() as u64 > limit {
                return Ok(None);
            }
            let found = WorkspaceDigest::of(&out);
            if found != expected {
                return Err(format!("its bytes hash to {found}"));
            }
            Ok(Some(out))
        })
        .await
        .map_err(|e| StoreError::Compression(format!("decompression task failed: {e}")))?
        .map_err(|detail| StoreError::CorruptWorkspace { digest: digest.clone(), detail })?;
        match bytes {
            Some(bytes) => Ok(Some(bytes)),
            None => Err(StoreError::WorkspaceTooLarge { digest: digest.clone(), limit }),
        }
    }

    /// Whether a workspace is stored under `digest`.
    pub async fn has_workspace(&self, digest: &WorkspaceDigest) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let n: i64 = redis::cmd("EXISTS").arg(self.keys.workspace(digest)).query_async(&mut conn).await?;
        Ok(n == 1)
    }
}
