//! Images a customer uploaded for a generation, kept in reelgate's own storage. Kie deletes
//! its uploads after three days and their links name the customer, so "Generate again" must
//! not offer Kie's link: it offers reelgate's copy, which is uploaded to Kie afresh when the
//! new generation is submitted.
//!
//! Copies are named by their content (`inputs/<user>/<sha256>.<ext>`), so the same image kept
//! twice is one object, and a customer can only name their own. A small index object maps the
//! Kie link a generation was sent with back to the copy.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::PutPayload;
use reelgate_domain::accounts::UserId;
use sha2::{Digest, Sha256};

use super::{Media, MediaError};

/// A kept image, as the form names it: `<sha256 hex>.<png|jpg|webp>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputKey(String);

impl InputKey {
    pub fn parse(text: &str) -> Option<InputKey> {
        let (hash, extension) = text.split_once('.')?;
        let hash_ok =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (hash_ok && matches!(extension, "png" | "jpg" | "webp")).then(|| InputKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file's type, from its extension (which was set from its bytes when it was kept).
    pub fn mime(&self) -> &'static str {
        match self.0.rsplit('.').next() {
            Some("jpg") => "image/jpeg",
            Some("webp") => "image/webp",
            _ => "image/png",
        }
    }
}

fn copy_path(user: &UserId, key: &InputKey) -> ObjectPath {
    ObjectPath::from(format!("inputs/{user}/{}", key.as_str()))
}

fn index_path(user: &UserId, url: &str) -> ObjectPath {
    let hashed = hex::encode(Sha256::digest(url.as_bytes()));
    ObjectPath::from(format!("inputs/{user}/by-url/{hashed}"))
}

impl Media {
    /// Keeps `bytes` (an image of type `extension`) that was uploaded to Kie as `kie_url`.
    pub async fn keep_input(
        &self,
        user: &UserId,
        bytes: Bytes,
        extension: &str,
        kie_url: &str,
    ) -> Result<InputKey, MediaError> {
        let key = InputKey(format!(
            "{}.{extension}",
            hex::encode(Sha256::digest(&bytes))
        ));
        self.store
            .put(&copy_path(user, &key), PutPayload::from(bytes))
            .await?;
        self.store
            .put(
                &index_path(user, kie_url),
                PutPayload::from(key.as_str().to_owned().into_bytes()),
            )
            .await?;
        Ok(key)
    }

    /// The kept copy of the image a generation of `user`'s was sent to Kie as `url`, if
    /// reelgate uploaded it (a link the customer gave is theirs, and has none).
    pub async fn input_behind(&self, user: &UserId, url: &str) -> Option<InputKey> {
        let found = self.store.get(&index_path(user, url)).await.ok()?;
        let bytes = found.bytes().await.ok()?;
        let key = InputKey::parse(std::str::from_utf8(&bytes).ok()?)?;
        // The copy itself must still be there for the key to be worth offering.
        self.store.head(&copy_path(user, &key)).await.ok()?;
        Some(key)
    }

    /// Deletes kept images (and their index entries) last written before `before`: with a
    /// retention policy, an image is kept as long as the videos made from it. Each upload
    /// writes its copy again, so an image used lately is not deleted under a newer video.
    /// Returns how many objects went.
    pub async fn expire_inputs(&self, before: DateTime<Utc>) -> Result<usize, MediaError> {
        let prefix = ObjectPath::from("inputs");
        let old: Vec<ObjectPath> = self
            .store
            .list(Some(&prefix))
            .try_filter(|meta| futures::future::ready(meta.last_modified < before))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for location in &old {
            match self.store.delete(location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(old.len())
    }

    /// A kept image's bytes.
    pub async fn input(&self, user: &UserId, key: &InputKey) -> Result<Bytes, MediaError> {
        Ok(self.store.get(&copy_path(user, key)).await?.bytes().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::InputKey;
    use crate::media::{Media, MediaLinks, MediaSettings};
    use reelgate_domain::accounts::UserId;

    async fn media(dir: &std::path::Path) -> std::sync::Arc<Media> {
        let mut settings = MediaSettings::local(dir);
        settings.ffmpeg = None;
        let links = MediaLinks::new(
            "a test secret that is long enough".to_owned().into(),
            url::Url::parse("http://127.0.0.1/").unwrap(),
            std::time::Duration::from_secs(60),
        );
        Media::open(settings, links, dir).await.unwrap()
    }

    #[tokio::test]
    async fn a_kept_image_is_found_by_its_kie_link_and_expires_with_retention() {
        let dir = tempfile::tempdir().unwrap();
        let media = media(dir.path()).await;
        let ada = UserId::generate();
        let bo = UserId::generate();
        let png = bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n a picture");
        let key = media
            .keep_input(
                &ada,
                png.clone(),
                "png",
                "https://kie.example/u/ada/cat.png",
            )
            .await
            .unwrap();
        let found = media
            .input_behind(&ada, "https://kie.example/u/ada/cat.png")
            .await;
        assert_eq!(found, Some(key.clone()));
        assert_eq!(media.input(&ada, &key).await.unwrap(), png);
        assert_eq!(
            media
                .input_behind(&bo, "https://kie.example/u/ada/cat.png")
                .await,
            None
        );
        assert!(
            media.input(&bo, &key).await.is_err(),
            "Bo cannot name Ada's image"
        );
        assert_eq!(
            media
                .input_behind(&ada, "https://elsewhere.example/x.png")
                .await,
            None
        );

        let day = chrono::Duration::days(1);
        assert_eq!(
            media.expire_inputs(chrono::Utc::now() - day).await.unwrap(),
            0
        );
        assert_eq!(
            media.expire_inputs(chrono::Utc::now() + day).await.unwrap(),
            2
        );
        assert_eq!(
            media
                .input_behind(&ada, "https://kie.example/u/ada/cat.png")
                .await,
            None
        );
    }

    #[test]
    fn only_a_hash_and_an_image_extension_name_a_kept_image() {
        let hash = "a".repeat(64);
        assert!(InputKey::parse(&format!("{hash}.png")).is_some());
        assert!(InputKey::parse(&format!("{hash}.svg")).is_none());
        assert!(InputKey::parse("../../etc/passwd.png").is_none());
        assert!(InputKey::parse(&format!("{}.png", "A".repeat(64))).is_none());
    }
}
