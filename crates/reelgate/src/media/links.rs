//! Where a stored video is served, and links to it that work without credentials for a while:
//! `?expires=UNIX&signature=HMAC(REELGATE_SECRET, generation, index, asset, expires)`, so a
//! `<video src>` or a customer's own site can use them without sending headers.

use chrono::{DateTime, Utc};
use reelgate_domain::generations::GenerationId;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

use crate::signing::{Purpose, Signer};
/// Expiry times are rounded up to this, so that the same link comes back for a while and
/// browsers can cache what it points at.
const ROUND_TO_SECS: i64 = 3600;

/// What a link points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    Video,
    Thumbnail,
}

impl Asset {
    fn name(self) -> &'static str {
        match self {
            Asset::Video => "video",
            Asset::Thumbnail => "thumbnail",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link has expired")]
    Expired,
    #[error("this link is not valid")]
    Invalid,
}

#[derive(Clone)]
pub struct MediaLinks {
    signer: Signer,
    public_url: Url,
    ttl: Duration,
}

impl std::fmt::Debug for MediaLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaLinks")
            .field("public_url", &self.public_url.as_str())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl MediaLinks {
    pub fn new(secret: SecretString, public_url: Url, ttl: Duration) -> Self {
        MediaLinks {
            signer: Signer::new(&secret, Purpose::MEDIA_LINK),
            public_url,
            ttl,
        }
    }

    /// The route that serves it, to its owner (API key or session) or with a signature.
    pub fn path(generation: &GenerationId, index: u32, asset: Asset) -> String {
        match asset {
            Asset::Video => format!("/v1/generations/{generation}/videos/{index}"),
            Asset::Thumbnail => format!("/v1/generations/{generation}/videos/{index}/thumbnail"),
        }
    }

    /// A link that works without credentials until the time it returns.
    pub fn signed(
        &self,
        generation: &GenerationId,
        index: u32,
        asset: Asset,
        now: DateTime<Utc>,
    ) -> (String, DateTime<Utc>) {
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 4);
        let wanted = now.timestamp().saturating_add(ttl);
        let expires = wanted.saturating_add(ROUND_TO_SECS - 1) / ROUND_TO_SECS * ROUND_TO_SECS;
        let signature = self.sign(generation, index, asset, expires);
        let base = self.public_url.as_str().trim_end_matches('/');
        let url = format!(
            "{base}{}?expires={expires}&signature={signature}",
            Self::path(generation, index, asset)
        );
        let at = DateTime::from_timestamp(expires, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
        (url, at)
    }

    /// Checks a link's signature (in constant time) and expiry.
    pub fn verify(
        &self,
        generation: &GenerationId,
        index: u32,
        asset: Asset,
        expires: i64,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkError> {
        let parts = Self::signed_parts(generation, index, asset, expires);
        if !self
            .signer
            .verify(&parts.each_ref().map(String::as_str), signature)
        {
            return Err(LinkError::Invalid);
        }
        if expires <= now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    fn sign(&self, generation: &GenerationId, index: u32, asset: Asset, expires: i64) -> String {
        let parts = Self::signed_parts(generation, index, asset, expires);
        self.signer.sign(&parts.each_ref().map(String::as_str))
    }

    /// What a link's signature covers: `media-link:{generation}:{index}:{asset}:{expires}`.
    fn signed_parts(
        generation: &GenerationId,
        index: u32,
        asset: Asset,
        expires: i64,
    ) -> [String; 4] {
        [
            generation.to_string(),
            index.to_string(),
            asset.name().to_owned(),
            expires.to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> MediaLinks {
        MediaLinks::new(
            SecretString::from("a-secret-of-at-least-thirty-two-chars!!".to_owned()),
            Url::parse("https://videos.example.com/").unwrap(),
            Duration::from_secs(86_400),
        )
    }

    fn query(url: &str) -> (i64, String) {
        let url = Url::parse(url).unwrap();
        let get = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        (get("expires").parse().unwrap(), get("signature"))
    }

    #[test]
    fn a_signed_link_works_until_it_expires_and_only_for_its_own_asset() {
        let (links, id, now) = (links(), GenerationId::new(), Utc::now());
        let (url, expires_at) = links.signed(&id, 0, Asset::Video, now);
        assert!(url.starts_with(&format!(
            "https://videos.example.com/v1/generations/{id}/videos/0?"
        )));
        assert!(expires_at >= now + chrono::Duration::days(1));
        assert!(expires_at < now + chrono::Duration::days(1) + chrono::Duration::hours(1));
        let (expires, signature) = query(&url);
        assert_eq!(
            links.verify(&id, 0, Asset::Video, expires, &signature, now),
            Ok(())
        );
        let later = expires_at + chrono::Duration::seconds(1);
        assert_eq!(
            links.verify(&id, 0, Asset::Video, expires, &signature, later),
            Err(LinkError::Expired)
        );
        for (other_id, index, asset, exp) in [
            (GenerationId::new(), 0, Asset::Video, expires),
            (id.clone(), 1, Asset::Video, expires),
            (id.clone(), 0, Asset::Thumbnail, expires),
            (id.clone(), 0, Asset::Video, expires + 3600),
        ] {
            assert_eq!(
                links.verify(&other_id, index, asset, exp, &signature, now),
                Err(LinkError::Invalid)
            );
        }
        assert_eq!(
            links.verify(&id, 0, Asset::Video, expires, "zz", now),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn the_same_link_comes_back_within_the_hour() {
        let (links, id) = (links(), GenerationId::new());
        // 1_800_000_000 is a whole hour; ten seconds past it.
        let start = DateTime::from_timestamp(1_800_000_010, 0).unwrap();
        let a = links.signed(&id, 0, Asset::Video, start);
        let b = links.signed(&id, 0, Asset::Video, start + chrono::Duration::minutes(30));
        assert_eq!(a, b);
    }
}
