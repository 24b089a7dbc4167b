//! Syntax: rule text → tokens → syntax tree, and back to canonical text.

pub mod ast;
pub(crate) mod lexer;
pub(crate) mod parser;
pub(crate) mod printer;
