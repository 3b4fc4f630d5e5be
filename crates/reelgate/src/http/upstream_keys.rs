//! `/v1/admin/upstream/keys`: the Kie keys dispatch spreads work over. Keys from
//! configuration are listed and cannot be changed here; the operator adds keys (checked with
//! Kie first), disables, enables and deletes them. No answer ever carries a key: each is named
//! by its fingerprint and, if entered here, its id and name.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson};
use crate::generations::keys::KeyView;
use crate::generations::operator_keys::KeyChangeError;

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// Configured keys first, then the entered ones, oldest first.
    pub keys: Vec<KeyView>,
}

/// A key to add. (No `Debug`: it holds the key.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddKeyBody {
    /// The operator's name for the key (1 to 80 characters), e.g. the Kie account it is of.
    #[schema(example = "second Kie account")]
    pub name: String,
    /// The Kie API key. Checked with a balance call to Kie before it is stored; stored
    /// encrypted and never shown again.
    #[schema(value_type = String)]
    pub key: SecretString,
}

impl From<KeyChangeError> for ApiError {
    fn from(error: KeyChangeError) -> Self {
        let message = error.to_string();
        match error {
            KeyChangeError::BadName => ApiError::field("name", "invalid_parameter", message),
            KeyChangeError::BadKey => ApiError::field("key", "invalid_parameter", message),
            KeyChangeError::Refused(_) => ApiError::field("key", "invalid_key", message),
            KeyChangeError::Unchecked(_) => ApiError::Unavailable(message),
            KeyChangeError::Duplicate(_) => ApiError::Conflict {
                code: "key_exists",
                message,
            },
            KeyChangeError::NotFound => ApiError::NotFound("Kie key"),
            KeyChangeError::Configured(_) => ApiError::Conflict {
                code: "key_from_configuration",
                message,
            },
            KeyChangeError::Busy { .. } => ApiError::Conflict {
                code: "key_has_unsettled_work",
                message,
            },
            KeyChangeError::Store(error) => error.into(),
            KeyChangeError::Seal(_) | KeyChangeError::Client(_) => ApiError::internal(message),
        }
    }
}

/// Every Kie key: configured and entered, by fingerprint, with its state on this instance.
#[utoipa::path(get, path = "/v1/admin/upstream/keys", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = KeyList), (status = 403, body = ErrorEnvelope)))]
async fn list_upstream_keys(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<KeyList>, ApiError> {
    Ok(ApiJson(KeyList {
        keys: ctx.lifecycle.keys.views(),
    }))
}

/// Adds a Kie key: Kie is asked for its balance with it first, and a key Kie refuses is a
/// 400 naming `key`, with nothing stored. Dispatch uses it at once on this instance, and on
/// the others within 10 s.
#[utoipa::path(post, path = "/v1/admin/upstream/keys", tag = "admin", security(("api_key" = [])),
    request_body = AddKeyBody,
    responses((status = 201, body = KeyView), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope, description = "Kie could not be asked; nothing stored")))]
async fn add_upstream_key(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<AddKeyBody>,
) -> Result<(StatusCode, ApiJson<KeyView>), ApiError> {
    let view = ctx
        .lifecycle
        .add_upstream_key(&body.name, &body.key)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// Stops new work on an entered key; what it created is still read with it until settled.
#[utoipa::path(post, path = "/v1/admin/upstream/keys/{id}/disable", tag = "admin",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The key's id, or its fingerprint")),
    responses((status = 200, body = KeyView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "A key from configuration")))]
async fn disable_upstream_key(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<ApiJson<KeyView>, ApiError> {
    Ok(ApiJson(
        ctx.lifecycle.set_upstream_key_enabled(&id, false).await?,
    ))
}

/// Puts a disabled key back in the rotation.
#[utoipa::path(post, path = "/v1/admin/upstream/keys/{id}/enable", tag = "admin",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The key's id, or its fingerprint")),
    responses((status = 200, body = KeyView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "A key from configuration")))]
async fn enable_upstream_key(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<ApiJson<KeyView>, ApiError> {
    Ok(ApiJson(
        ctx.lifecycle.set_upstream_key_enabled(&id, true).await?,
    ))
}

/// Deletes an entered key. 409 while generations it created are not settled (disable it
/// meanwhile), and for a key from configuration.
#[utoipa::path(delete, path = "/v1/admin/upstream/keys/{id}", tag = "admin",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The key's id, or its fingerprint")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
async fn delete_upstream_key(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.lifecycle.delete_upstream_key(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list_upstream_keys, add_upstream_key))
        .routes(routes!(disable_upstream_key))
        .routes(routes!(enable_upstream_key))
        .routes(routes!(delete_upstream_key))
}
