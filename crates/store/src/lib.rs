//! reelgate persistence.
