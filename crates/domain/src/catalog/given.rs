//! A request's fields under the parameters' own names: a field may be given under an alias
//! (the business's notes' or Kie's spelling), and is stored under the name it has in reelgate.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::field_error::{ErrorCode, FieldError};
use super::spec::ModelSpec;

/// One request field: the name it was given under and its value.
pub(crate) struct Given<'a> {
    pub name: &'a str,
    pub raw: &'a Value,
    /// Given under an alias rather than the parameter's own name.
    pub by_alias: bool,
}

/// By the parameter's own name.
pub(crate) type GivenFields<'a> = BTreeMap<String, Given<'a>>;

/// Unknown fields, and two spellings of one parameter, are errors; `null` means "not given",
/// as most JSON clients write an unset optional field.
pub(crate) fn by_own_names<'a>(
    spec: &ModelSpec,
    params: &'a Map<String, Value>,
) -> (GivenFields<'a>, Vec<FieldError>) {
    let mut given = GivenFields::new();
    let mut errors = Vec::new();
    for (name, raw) in params.iter().filter(|(_, raw)| !raw.is_null()) {
        let Some(p) = spec.param_named(name) else {
            errors.push(FieldError::new(
                name,
                ErrorCode::UnknownParameter,
                format!("{} does not take {name}", spec.id),
            ));
            continue;
        };
        if let Some(first) = given.get(&p.name) {
            errors.push(FieldError::new(
                name,
                ErrorCode::InvalidParameter,
                format!(
                    "{name} and {} are the same parameter of {}; send one of them",
                    first.name, spec.id
                ),
            ));
            continue;
        }
        let field = Given {
            name,
            raw,
            by_alias: *name != p.name,
        };
        given.insert(p.name.clone(), field);
    }
    (given, errors)
}

/// The name a parameter was given under, else its own.
pub(crate) fn shown_name<'a>(given: &GivenFields<'a>, own: &'a str) -> &'a str {
    given.get(own).map_or(own, |g| g.name)
}
