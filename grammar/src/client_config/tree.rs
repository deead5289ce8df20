//! A settings file as one tree whatever its format (YAML, TOML, JSON), each
//! node with the line and column it starts at, so that every problem can
//! say where it is.

use std::fmt;

use super::Format;

/// Where a node starts: line and column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct At {
    pub(super) line: usize,
    pub(super) col: usize,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Map(Vec<(String, At, Node)>),
    List(Vec<Node>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// YAML's `~` or an empty value; TOML's dates (which no key takes).
    Other(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub(super) at: At,
    pub(super) value: Value,
}

impl Value {
    /// What the value is, for "expected ..., found ...".
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Value::Map(_) => "a map",
            Value::List(_) => "a list",
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Other(kind) => kind,
        }
    }
}

/// The tree of `text`, or where and why it cannot be read.
pub(super) fn parse(text: &str, format: Format) -> Result<Node, (At, String)> {
    match format {
        // JSON is YAML (1.2): one parser, and positions for both.
        Format::Yaml | Format::Json => yaml(text),
        Format::Toml => toml(text),
    }
}

fn yaml(text: &str) -> Result<Node, (At, String)> {
    use saphyr::{LoadableYamlNode, MarkedYaml};
    let documents = MarkedYaml::load_from_str(text).map_err(|e| {
        let marker = e.marker();
        let at = At {
            line: marker.line(),
            col: marker.col() + 1,
        };
        (at, e.info().to_owned())
    })?;
    match documents.len() {
        0 => Ok(Node {
            at: At { line: 1, col: 1 },
            value: Value::Map(Vec::new()),
        }),
        1 => Ok(from_yaml(&documents[0])),
        _ => Err((
            at_of(&documents[1].span.start),
            "one document a file: this is a second".to_owned(),
        )),
    }
}

fn at_of(marker: &saphyr::Marker) -> At {
    At {
        line: marker.line(),
        col: marker.col() + 1,
    }
}

fn from_yaml(node: &saphyr::MarkedYaml<'_>) -> Node {
    use saphyr::{Scalar, YamlData};
    let at = at_of(&node.span.start);
    let value = match &node.data {
        YamlData::Mapping(map) => Value::Map(
            map.iter()
                .map(|(key, value)| (scalar_text(key), at_of(&key.span.start), from_yaml(value)))
                .collect(),
        ),
        YamlData::Sequence(items) => Value::List(items.iter().map(from_yaml).collect()),
        YamlData::Value(Scalar::String(s)) => Value::Str(s.to_string()),
        YamlData::Value(Scalar::Integer(n)) => Value::Int(*n),
        YamlData::Value(Scalar::FloatingPoint(x)) => Value::Float(x.into_inner()),
        YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        YamlData::Value(Scalar::Null) => Value::Other("nothing (null)"),
        YamlData::Representation(s, ..) => Value::Str(s.to_string()),
        YamlData::Tagged(_, inner) => return from_yaml(inner),
        YamlData::Alias(_) | YamlData::BadValue => Value::Other("an alias"),
    };
    Node { at, value }
}

/// A mapping key as text (YAML allows any scalar as a key).
fn scalar_text(key: &saphyr::MarkedYaml<'_>) -> String {
    use saphyr::{Scalar, YamlData};
    match &key.data {
        YamlData::Value(Scalar::String(s)) => s.to_string(),
        YamlData::Value(Scalar::Integer(n)) => n.to_string(),
        YamlData::Value(Scalar::FloatingPoint(x)) => x.to_string(),
        YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
        YamlData::Representation(s, ..) => s.to_string(),
        _ => "(not a name)".to_owned(),
    }
}

fn toml(text: &str) -> Result<Node, (At, String)> {
    let lines = Lines::of(text);
    let table = ::toml::de::DeTable::parse(text).map_err(|e| {
        let at = e
            .span()
            .map_or(At { line: 1, col: 1 }, |s| lines.at(s.start));
        (at, e.message().trim().to_owned())
    })?;
    let at = lines.at(table.span().start);
    Ok(from_toml_table(table.get_ref(), at, &lines))
}

fn from_toml_table(table: &::toml::de::DeTable<'_>, at: At, lines: &Lines<'_>) -> Node {
    Node {
        at,
        value: Value::Map(
            table
                .iter()
                .map(|(key, value)| {
                    (
                        key.get_ref().to_string(),
                        lines.at(key.span().start),
                        from_toml(value, lines),
                    )
                })
                .collect(),
        ),
    }
}

fn from_toml(value: &::toml::Spanned<::toml::de::DeValue<'_>>, lines: &Lines<'_>) -> Node {
    use ::toml::de::DeValue;
    let at = lines.at(value.span().start);
    let value = match value.get_ref() {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(n) => i64::from_str_radix(&n.as_str().replace('_', ""), n.radix())
            .map_or(Value::Other("an integer out of range"), Value::Int),
        DeValue::Float(x) => x
            .as_str()
            .replace('_', "")
            .parse()
            .map_or(Value::Other("a number out of range"), Value::Float),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(_) => Value::Other("a date"),
        DeValue::Array(items) => Value::List(items.iter().map(|v| from_toml(v, lines)).collect()),
        DeValue::Table(table) => return from_toml_table(table, at, lines),
    };
    Node { at, value }
}

/// Byte offsets to lines and columns (in characters).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn of(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    fn at(&self, offset: usize) -> At {
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        let col = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(1, |s| s.chars().count() + 1);
        At { line, col }
    }
}
