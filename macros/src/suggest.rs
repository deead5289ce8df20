//! "Did you mean" for misspelled keys and values: the grammar's rule, shared
//! with the proto options and the settings files.

pub(crate) use steadfast_grammar::suggest::{closest, list};
