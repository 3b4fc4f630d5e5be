//! The catalog in the page's language. The catalog's own texts are English and written for
//! the API; a page shows a model's title, what it is good for and its parameters' values
//! through here, so that a Turkish page says "Kling 2.6 — metinden videoya" and "Kalite:
//! Standart", and a new model the locale files do not know yet still shows its English text.

use reelgate_domain::catalog::ModelView;

use super::i18n::Locale;

/// "Kling 2.6 — text to video" → "Kling 2.6 — metinden videoya": the brand stays, the kind
/// after the dash (`model_kind.*`) is translated.
pub fn model_title(title: &str, lang: Locale) -> String {
    let Some((name, kind)) = title.split_once(" — ") else {
        return title.to_owned();
    };
    let key = format!("model_kind.{}", kind.trim().replace(' ', "_"));
    if lang.has(&key) {
        format!("{name} — {}", lang.text(&key))
    } else {
        title.to_owned()
    }
}

/// What a model is good for: its own text (`model.<id>.good_for`, for models of one family
/// that differ, as Veo Quality and Fast do), else its family's, else the catalog's description.
pub fn good_for(model: &ModelView, lang: Locale) -> String {
    let own = format!("model.{}.good_for", model.id.as_str());
    let family = format!("family.{}.good_for", model.family);
    if lang.has(&own) {
        lang.text(&own).to_owned()
    } else if lang.has(&family) {
        lang.text(&family).to_owned()
    } else {
        model.description.clone()
    }
}

/// The family's display name.
pub fn family_name(family: &str, lang: Locale) -> String {
    let key = format!("family.{family}.name");
    if lang.has(&key) {
        lang.text(&key).to_owned()
    } else {
        family.to_owned()
    }
}

/// What the model takes, for its tag: a model listed as text-to-video that also takes
/// images (Veo: start and end frames, references) says so.
pub fn mode_tag(model: &ModelView) -> &'static str {
    let takes_images = model
        .parameters
        .iter()
        .any(|p| p.name == "image_urls" && p.available);
    match serde_json::to_value(model.mode)
        .ok()
        .as_ref()
        .and_then(|v| v.as_str())
    {
        Some("text-to-video") if takes_images => "text-or-image-to-video",
        Some("image-to-video") => "image-to-video",
        _ => "text-to-video",
    }
}

/// A parameter's value as the page's language names it (`value.<param>.<value>`): `fun` →
/// "Eğlenceli". None for values that read the same everywhere (`16:9`, `1080p`).
pub fn value_label(param: &str, value: &str, lang: Locale) -> Option<String> {
    let key = format!("value.{param}.{value}");
    lang.has(&key).then(|| lang.text(&key).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_keep_the_brand_and_translate_the_kind() {
        assert_eq!(
            model_title("Kling 2.6 — text to video", Locale::Tr),
            "Kling 2.6 — metinden videoya"
        );
        assert_eq!(
            model_title("Sora 2 Pro — image to video", Locale::Tr),
            "Sora 2 Pro — görselden videoya"
        );
        assert_eq!(model_title("Veo 3.1 Fast", Locale::Tr), "Veo 3.1 Fast");
        assert_eq!(
            model_title("Kling 2.6 — text to video", Locale::En),
            "Kling 2.6 — text to video"
        );
    }

    #[test]
    fn values_with_words_are_translated() {
        assert_eq!(
            value_label("mode", "fun", Locale::Tr).as_deref(),
            Some("Eğlenceli")
        );
        assert_eq!(
            value_label("quality", "standard", Locale::En).as_deref(),
            Some("Standard")
        );
        assert_eq!(value_label("aspect_ratio", "16:9", Locale::Tr), None);
    }
}
