//! The object store behind reelgate's copies: a local directory or an S3-compatible bucket,
//! both through `object_store`, so the rest of the code does not care which.

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;
use secrecy::ExposeSecret;
use std::sync::Arc;

use super::settings::MediaStorage;
use super::MediaError;

/// Opens the configured storage; the local directory is created if missing. Returns the store
/// and a description for the operator (never with credentials).
pub(super) fn open(storage: &MediaStorage) -> Result<(Arc<dyn ObjectStore>, String), MediaError> {
    match storage {
        MediaStorage::Local { dir } => {
            std::fs::create_dir_all(dir).map_err(|source| MediaError::Directory {
                path: dir.display().to_string(),
                source,
            })?;
            let store = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
            Ok((
                Arc::new(store),
                format!("local directory {}", dir.display()),
            ))
        }
        MediaStorage::S3(s3) => {
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(&s3.bucket)
                .with_region(&s3.region);
            if let Some(endpoint) = &s3.endpoint {
                builder = builder
                    .with_endpoint(endpoint.as_str().trim_end_matches('/'))
                    .with_allow_http(endpoint.scheme() == "http");
            }
            if let Some(key) = &s3.access_key_id {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = &s3.secret_access_key {
                builder = builder.with_secret_access_key(secret.expose_secret());
            }
            let bucket: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
            let mut described = format!("S3 bucket {}", s3.bucket);
            if let Some(endpoint) = &s3.endpoint {
                described.push_str(&format!(" at {endpoint}"));
            }
            match &s3.prefix {
                Some(prefix) => {
                    described.push_str(&format!(", under {prefix}/"));
                    Ok((
                        Arc::new(PrefixStore::new(bucket, prefix.as_str())),
                        described,
                    ))
                }
                None => Ok((bucket, described)),
            }
        }
    }
}
