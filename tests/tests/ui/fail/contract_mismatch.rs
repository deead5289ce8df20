// What code emitted by a steadfast-build or steadfast-macros of another
// release opens with: a runtime that speaks another contract refuses it.
steadfast::__private::contract!(1);

fn main() {}
