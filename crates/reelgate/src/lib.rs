//! reelgate application.
