//! A local stand-in for Kie AI.
