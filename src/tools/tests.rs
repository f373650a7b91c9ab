//! Toolbox tests.
