//! The caller's API keys: list, create (the key is shown once), revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use reelgate_domain::accounts::ApiKeyId;
use reelgate_domain::text::Name;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AuthUser;
use super::{ApiContext, ApiError, ApiJson};
pub use crate::front::views::account::ApiKeyView;

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// Newest first, revoked keys included.
    pub api_keys: Vec<ApiKeyView>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// A label for the key, e.g. where it is used.
    #[schema(inline)]
    pub name: Option<Name>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKeyView,
    /// The key itself (`rg_…`). Shown only now: store it, we keep only its hash.
    pub key: String,
}

/// The caller's API keys.
#[utoipa::path(get, path = "/v1/account/api-keys", tag = "account", operation_id = "list_api_keys", security(("api_key" = [])),
    responses((status = 200, body = ApiKeyList)))]
async fn list(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> Result<ApiJson<ApiKeyList>, ApiError> {
    let keys = ctx.store.list_api_keys(&user.id).await?;
    Ok(ApiJson(ApiKeyList {
        api_keys: keys.iter().map(ApiKeyView::from).collect(),
    }))
}

/// Creates an API key for the caller; the response is the only time the key is shown.
#[utoipa::path(post, path = "/v1/account/api-keys", tag = "account", operation_id = "create_api_key", security(("api_key" = [])),
    request_body = CreateApiKey, responses((status = 201, body = CreatedApiKey)))]
async fn create(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiJson(request): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, ApiJson<CreatedApiKey>), ApiError> {
    let name = request.name.unwrap_or_default();
    let (info, key) = ctx.store.create_api_key(&user.id, name.as_str()).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedApiKey {
            api_key: ApiKeyView::from(&info),
            key: key.expose().to_owned(),
        }),
    ))
}

/// Revokes one of the caller's API keys; requests with it fail from now on.
#[utoipa::path(delete, path = "/v1/account/api-keys/{id}", tag = "account", operation_id = "revoke_api_key",
    security(("api_key" = [])), params(("id" = String, Path, description = "the key's id (`key_…`)")),
    responses((status = 204, description = "revoked"), (status = 404, body = super::error::ErrorEnvelope)))]
async fn revoke(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = ApiKeyId::parse(&id).map_err(|_| ApiError::NotFound("API key"))?;
    ctx.store.revoke_api_key(&user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}
