//! The generate form as it arrives (multipart: fields and image files), and images on their
//! way to Kie's file storage, from where Kie fetches them for the generation.

use axum::extract::Multipart;
use bytes::Bytes;
use reelgate_domain::accounts::User;

use crate::media::inputs::InputKey;
use crate::web::error::WebError;
use crate::web::pages::compose::Values;
use crate::web::WebContext;

/// Kie refuses larger images.
const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// More than any model takes; the catalog refuses the excess with a clear message.
const MAX_IMAGES: usize = 4;

pub struct Image {
    bytes: Bytes,
    file_name: String,
}

impl Image {
    /// An image reelgate kept from an earlier generation, to be uploaded to Kie again.
    pub fn kept(bytes: Bytes, key: &InputKey) -> Image {
        let extension = key.as_str().rsplit('.').next().unwrap_or("png");
        Image {
            bytes,
            file_name: format!("image.{extension}"),
        }
    }
}

/// The kept images a form names (`kept_images`: keys separated by spaces); anything that is
/// not a key is ignored, as a field the form never had would be.
pub fn kept_keys(values: &Values) -> Vec<InputKey> {
    values
        .get("kept_images")
        .map(|v| v.split_whitespace().filter_map(InputKey::parse).collect())
        .unwrap_or_default()
}

pub struct SubmittedForm {
    pub values: Values,
    pub images: Vec<Image>,
}

impl SubmittedForm {
    pub fn csrf(&self) -> &str {
        self.values.get("csrf").map(String::as_str).unwrap_or("")
    }
}

fn malformed(error: impl std::fmt::Display) -> WebError {
    WebError::BadForm(error.to_string())
}

pub async fn read(mut multipart: Multipart) -> Result<SubmittedForm, WebError> {
    let mut form = SubmittedForm {
        values: Values::new(),
        images: Vec::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image_files" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(malformed)?;
            // A file input left empty still sends an empty part.
            if bytes.is_empty() {
                continue;
            }
            if form.images.len() >= MAX_IMAGES || bytes.len() > MAX_IMAGE_BYTES {
                return Err(WebError::BadForm("too many or too large images".into()));
            }
            form.images.push(Image { bytes, file_name });
        } else {
            let text = field.text().await.map_err(malformed)?;
            form.values.insert(name, text);
        }
    }
    Ok(form)
}

/// The image type from its first bytes, not from what the browser claims.
fn image_type(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

/// A name Kie will accept: the original's letters and digits, with the real extension.
fn safe_name(original: &str, extension: &str) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem: String = base
        .rsplit_once('.')
        .map_or(base, |(stem, _)| stem)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(48)
        .collect();
    let stem = if stem.is_empty() { "image" } else { &stem };
    format!("{stem}.{extension}")
}

/// Uploads one image, and keeps a copy for "Generate again"; `Err` is the locale key of what
/// to tell the customer.
pub async fn to_upstream(
    web: &WebContext,
    user: &User,
    image: &Image,
) -> Result<String, &'static str> {
    let (mime, extension) = image_type(&image.bytes).ok_or("generate.not_an_image")?;
    let name = safe_name(&image.file_name, extension);
    let folder = format!("reelgate/{}", user.id);
    match web
        .api
        .upstream
        .client
        .upload_file(image.bytes.clone(), &name, mime, &folder)
        .await
    {
        Ok(uploaded) => {
            // Without the copy the generation still stands; only "Generate again" will not
            // offer the image.
            if let Err(error) = web
                .api
                .media
                .keep_input(
                    &user.id,
                    image.bytes.clone(),
                    extension,
                    &uploaded.download_url,
                )
                .await
            {
                tracing::warn!(%error, user = %user.id, "cannot keep an uploaded image");
            }
            Ok(uploaded.download_url)
        }
        Err(error) => {
            tracing::warn!(%error, user = %user.id, "image upload to Kie failed");
            Err("generate.upload_failed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n....").unwrap().0, "image/png");
        assert_eq!(
            image_type(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap().0,
            "image/jpeg"
        );
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().0, "image/webp");
        assert_eq!(image_type(b"<svg onload=alert(1)>"), None);
    }

    #[test]
    fn file_names_keep_only_safe_characters_and_the_real_extension() {
        assert_eq!(safe_name("My photo (1).JPG", "jpg"), "Myphoto1.jpg");
        assert_eq!(safe_name("../../etc/passwd", "png"), "passwd.png");
        assert_eq!(safe_name("", "webp"), "image.webp");
    }
}
