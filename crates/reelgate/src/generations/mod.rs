//! The generation lifecycle: submit → dispatch → track → settle, driven by the database so
//! that a crash or restart at any moment loses nothing and settles nothing twice.

pub mod callback_token;
pub mod decide;
pub mod rate_limit;
pub mod settings;
