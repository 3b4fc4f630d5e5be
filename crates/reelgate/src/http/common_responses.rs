//! The error answers every operation can give, added to the OpenAPI document from what each
//! operation is — protected, operator-only, taking a body, parameters or a path id — so no
//! route documents fewer statuses than it returns (Schemathesis checks this) and routes added
//! later are covered without anyone remembering to.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response};

pub struct CommonResponses;

fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build(),
        )
        .build()
        .into()
}

fn add(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error(description));
}

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let protected = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let takes_input = operation.request_body.is_some()
                    || parameters.iter().any(|p| {
                        matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Header)
                    });
                if takes_input {
                    add(
                        operation,
                        "400",
                        "The request is malformed or a field is invalid",
                    );
                }
                if operation.request_body.is_some() {
                    add(operation, "413", "The request body is too large");
                }
                if protected {
                    add(operation, "401", "No valid API key or session");
                    add(
                        operation,
                        "403",
                        if path.starts_with("/v1/admin") {
                            "Operators only, or the account is disabled"
                        } else {
                            "The account is disabled"
                        },
                    );
                    add(
                        operation,
                        "503",
                        "The database is unavailable for now; retry shortly",
                    );
                }
                if path.contains('{') {
                    add(operation, "404", "No such resource (or not the caller's)");
                }
            }
        }
    }
}
