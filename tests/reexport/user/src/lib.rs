//! The generated greeter, naming the runtime as `::platform::steadfast`.

#[allow(missing_docs, unreachable_pub)]
pub mod hello {
    platform::steadfast::include_proto!("hello");
}
