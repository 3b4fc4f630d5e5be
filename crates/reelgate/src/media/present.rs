//! The generation object with reelgate's copies in place of Kie's links: stored videos get
//! signed links to reelgate, deleted ones disappear, the rest keep Kie's URL.

use chrono::{DateTime, Utc};
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_domain::media::{MediaCopy, MediaState};
use reelgate_store::StoreError;

use super::links::{Asset, MediaLinks};
use crate::generations::view::VideoView;
use crate::generations::{GenerationView, Lifecycle};

/// The views of `generations`, with their copies looked up in one query and the queued
/// ones' places in another.
pub async fn views(
    lifecycle: &Lifecycle,
    links: &MediaLinks,
    generations: &[Generation],
) -> Result<Vec<GenerationView>, StoreError> {
    let store = &lifecycle.store;
    let with_videos: Vec<GenerationId> = generations
        .iter()
        .filter(|g| !g.videos.is_empty())
        .map(|g| g.id.clone())
        .collect();
    let copies = store.media_of(&with_videos).await?;
    let waits = lifecycle.waits(generations).await?;
    let now = Utc::now();
    Ok(generations
        .iter()
        .map(|g| {
            let own: Vec<&MediaCopy> = copies.iter().filter(|c| c.generation_id == g.id).collect();
            present(g, &own, links, now).with_wait(waits.get(&g.id))
        })
        .collect())
}

/// The view of a generation read with its copies ([`Store::generation_with_media_of`]), with
/// its wait if it is queued or running (no query for a finished one).
///
/// [`Store::generation_with_media_of`]: reelgate_store::Store::generation_with_media_of
pub async fn with_copies(
    lifecycle: &Lifecycle,
    generation: &Generation,
    copies: &[MediaCopy],
    links: &MediaLinks,
) -> Result<GenerationView, StoreError> {
    let own: Vec<&MediaCopy> = copies.iter().collect();
    let view = present(generation, &own, links, Utc::now());
    if generation.status.is_final() {
        return Ok(view);
    }
    let waits = lifecycle.waits(std::slice::from_ref(generation)).await?;
    Ok(view.with_wait(waits.get(&generation.id)))
}

pub fn present(
    generation: &Generation,
    copies: &[&MediaCopy],
    links: &MediaLinks,
    now: DateTime<Utc>,
) -> GenerationView {
    let mut view = GenerationView::from(generation);
    let mut deleted = false;
    view.videos = generation
        .videos
        .iter()
        .enumerate()
        .filter_map(|(index, video)| {
            let index = u32::try_from(index).ok()?;
            let copy = copies.iter().find(|c| c.index == index);
            match copy {
                Some(copy) if copy.state == MediaState::Deleted => {
                    deleted = true;
                    None
                }
                Some(copy) => match copy.served() {
                    Some(stored) => {
                        let id = &generation.id;
                        let (url, expires_at) = links.signed(id, index, Asset::Video, now);
                        let thumbnail_url = stored
                            .thumbnail_key
                            .as_ref()
                            .map(|_| links.signed(id, index, Asset::Thumbnail, now).0);
                        Some(VideoView {
                            url,
                            resolution: video.resolution.clone(),
                            thumbnail_url,
                            expires_at: Some(expires_at),
                        })
                    }
                    None => Some(VideoView::from(video)),
                },
                None => Some(VideoView::from(video)),
            }
        })
        .collect();
    view.thumbnail_url = view.videos.iter().find_map(|v| v.thumbnail_url.clone());
    view.videos_deleted = deleted;
    view
}
