//! The generation lifecycle: submit → dispatch → track → settle, driven by the database so
//! that a crash or restart at any moment loses nothing and settles nothing twice.

pub mod callback;
pub mod callback_token;
pub mod cancel;
pub mod decide;
mod dispatch;
pub mod eta;
pub mod extend;
mod hd;
pub mod key_seal;
pub mod keys;
pub mod lifecycle;
pub mod model_pause;
pub mod operator_keys;
mod refusal;
pub mod settings;
mod settle;
pub mod stored_request;
pub mod submit;
mod track;
mod upgrade;
pub mod upscale;
pub mod upstream_log;
pub mod view;

pub use lifecycle::Lifecycle;
pub use view::GenerationView;
