//! A `tracing` layer that prints a generated client's attempts as they
//! happen: one line per attempt (its number, status and time) and one per
//! retry, hedge or breaker change, from the spans and events `steadfast`
//! emits. What the `user_service` demo installs.

use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Prints attempts and decisions, indented under the call being made.
#[derive(Debug, Default, Clone, Copy)]
pub struct LiveAttempts;

/// What the layer keeps of an attempt span.
struct AttemptInfo {
    started: Instant,
    number: u64,
    status: Option<i64>,
}

#[derive(Default)]
struct Numbers {
    previous: Option<u64>,
    status: Option<i64>,
    delay_ms: Option<u64>,
    reason: Option<String>,
    message: String,
    from: Option<String>,
    to: Option<String>,
}

impl Visit for Numbers {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "previous-rpc-attempts" => self.previous = Some(value),
            "delay_ms" => self.delay_ms = Some(value),
            _ => {}
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "rpc.grpc.status_code" => self.status = Some(value),
            "previous-rpc-attempts" => self.previous = u64::try_from(value).ok(),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "reason" {
            self.reason = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "from" => self.from = Some(format!("{value:?}")),
            "to" => self.to = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

fn code_name(code: i64) -> String {
    let code = i32::try_from(code).unwrap_or(2);
    match code {
        0 => "OK".to_owned(),
        n => format!("{:?}", tonic::Code::from(n)),
    }
}

impl<S> Layer<S> for LiveAttempts
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !attrs.metadata().name().starts_with("Attempt.") {
            return;
        }
        let mut numbers = Numbers::default();
        attrs.record(&mut numbers);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(AttemptInfo {
                started: Instant::now(),
                number: numbers.previous.unwrap_or(0) + 1,
                status: None,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut numbers = Numbers::default();
        values.record(&mut numbers);
        if let (Some(status), Some(span)) = (numbers.status, ctx.span(id)) {
            if let Some(info) = span.extensions_mut().get_mut::<AttemptInfo>() {
                info.status = Some(status);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let extensions = span.extensions();
        let Some(info) = extensions.get::<AttemptInfo>() else {
            return;
        };
        let outcome = match info.status {
            Some(code) => code_name(code),
            None => "cancelled (another attempt won, or its time ran out)".to_owned(),
        };
        println!(
            "    · attempt {}: {} after {} ms",
            info.number,
            outcome,
            info.started.elapsed().as_millis()
        );
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut numbers = Numbers::default();
        event.record(&mut numbers);
        match numbers.message.as_str() {
            "retrying" => println!(
                "    · retrying in {} ms ({})",
                numbers.delay_ms.unwrap_or(0),
                numbers.reason.as_deref().unwrap_or("backoff")
            ),
            "hedging" => println!("    · no answer yet: hedging"),
            "circuit breaker changed state" => println!(
                "    · circuit breaker {} -> {}",
                numbers.from.as_deref().unwrap_or("?"),
                numbers.to.as_deref().unwrap_or("?")
            ),
            message if message.starts_with("not retrying") => println!("    · {message}"),
            _ => {}
        }
    }
}
