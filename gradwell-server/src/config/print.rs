//! `gradwell print-default-config`: the configuration file, generated from the config types.
//!
//! The types derive `schemars::JsonSchema`, whose schema carries each field's doc comment
//! (`description`), its default (from the same `#[serde(default …)]` the parser applies)
//! and its `#[schemars(example = …)]`. [`render`] walks that schema and writes TOML: each
//! key under its doc comment, set to its default; a required key set to its example; a key
//! or section that is unset by default commented out, showing its example. The `toml` crate
//! formats every value, and keys come in serde's field order ([`super::sections`]).
//!
//! A key without a doc comment of its own, or without a default or an example, or whose doc
//! comment states another default than serde's, makes [`render`] fail naming it: a new key
//! cannot reach the printed file undocumented, and a documented default cannot drift.

use serde_json::{Map, Value};

/// The width comment lines are wrapped to.
const WIDTH: usize = 95;

/// The text above the keys: what the file is and how to read it.
pub const HEADER: &str = "\
# gradwell configuration: every key the server accepts, each under its documentation.
# `gradwell print-default-config` prints this file; it is generated from the config types.
#
# A key that is set shows its default, except the few marked \"Required\", whose values are
# examples to replace. A key or section that is commented out is unset by default; the value
# shown is an example. Unknown keys are errors, and an error names the key. Relative paths are
# taken from the directory of this file. `gradwell check-config --config FILE` checks a file
# the way a start would, and SIGHUP or `gradwell reload` re-reads it.
";

/// What becomes of keys and sections that have no default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Examples {
    /// They are commented out, so the file parses to the defaults (what
    /// `print-default-config` prints).
    Commented,
    /// They are set to their examples, so the file names every key (to check the examples).
    Live,
}

/// The config types do not document every key.
#[derive(Debug, thiserror::Error)]
#[error("the config types do not document every key: {}", problems.join("; "))]
#[non_exhaustive]
pub struct RenderError {
    /// One message per problem, each naming its key.
    pub problems: Vec<String>,
}

/// The configuration file for [`super::Config`].
pub fn render(examples: Examples) -> Result<String, RenderError> {
    let schema = schema_of::<super::Config>();
    render_schema(schema.as_value(), &serde_field_order, examples)
}

/// `T`'s schema; each type with a doc comment of its own is in `$defs`, so that a field's
/// description is its own doc comment, never its type's.
fn schema_of<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// The keys of the section at `path` in the order serde declares them.
fn serde_field_order(path: &str) -> &'static [&'static str] {
    super::sections()
        .into_iter()
        .find(|(section, _)| *section == path)
        .map_or(&[], |(_, fields)| fields)
}

/// The configuration file a root schema describes; `order` gives each section's key order.
fn render_schema(
    root: &Value,
    order: &dyn Fn(&str) -> &'static [&'static str],
    examples: Examples,
) -> Result<String, RenderError> {
    let defs = root.get("$defs").and_then(Value::as_object);
    let mut printer = Printer {
        out: String::from(HEADER),
        problems: Vec::new(),
        examples,
        order,
        defs: defs.cloned().unwrap_or_default(),
    };
    let (root, _) = printer.resolve(root);
    printer.table("", &root, false);
    if printer.problems.is_empty() {
        Ok(printer.out)
    } else {
        Err(RenderError {
            problems: printer.problems,
        })
    }
}

/// One key of a section, with what the schema says about it.
struct Key {
    /// The key as written in the file.
    name: String,
    /// Dotted from the root, for messages (`storage.fsync`).
    path: String,
    schema: Map<String, Value>,
    /// Listed in the section's `required`: serde has no default for it.
    required: bool,
    /// An `Option`: unset unless the file sets it.
    nullable: bool,
    shape: Shape,
}

/// What a key holds.
enum Shape {
    /// `key = value`.
    Value,
    /// `[key]`.
    Table,
    /// `[[key]]`, each entry described by this schema.
    TableArray(Map<String, Value>),
}

impl Key {
    fn description(&self) -> Option<&str> {
        let text = self.schema.get("description")?.as_str()?.trim();
        (!text.is_empty()).then_some(text)
    }

    /// The default, when it is one that sets the key (an `Option`'s `None` does not).
    fn default(&self) -> Option<&Value> {
        self.schema.get("default").filter(|d| !d.is_null())
    }

    fn example(&self) -> Option<&Value> {
        self.schema.get("examples")?.as_array()?.first()
    }

    /// Unset unless the file sets it, and so commented out when examples are.
    fn unset_by_default(&self) -> bool {
        self.nullable && self.default().is_none()
    }
}

struct Printer<'o> {
    out: String,
    problems: Vec<String>,
    examples: Examples,
    order: &'o dyn Fn(&str) -> &'static [&'static str],
    /// The schemas `$ref`s point to, by name.
    defs: Map<String, Value>,
}

impl Printer<'_> {
    /// A schema as a map, `$ref`s followed and `Option`'s null alternative taken off; `true`
    /// when it had one.
    fn resolve(&self, schema: &Value) -> (Map<String, Value>, bool) {
        let mut map = schema.as_object().cloned().unwrap_or_default();
        let mut nullable = false;
        if let Some(Value::Array(types)) = map.get_mut("type")
            && types.iter().any(|t| t == "null")
        {
            types.retain(|t| t != "null");
            nullable = true;
        }
        // An `Option` of a schema that cannot take `null` into its `type`: `anyOf: [T, null]`.
        if let Some(Value::Array(alternatives)) = map.get("anyOf") {
            let is_null = |s: &&Value| s.get("type").is_some_and(|t| t == "null");
            let others: Vec<&Value> = alternatives.iter().filter(|s| !is_null(s)).collect();
            if let [inner] = others[..]
                && alternatives.len() == 2
            {
                let (inner, _) = self.resolve(inner);
                map.remove("anyOf");
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
                nullable = true;
            }
        }
        let target = map.get("$ref").and_then(Value::as_str);
        let def = target.and_then(|t| t.strip_prefix("#/$defs/"));
        if let Some(def) = def.and_then(|name| self.defs.get(name)) {
            let (def, def_nullable) = self.resolve(def);
            map.remove("$ref");
            for (k, v) in def {
                // The field's own default and example win over its type's, and a type's doc
                // comment is no field's: every key needs its own.
                if k != "description" {
                    map.entry(k).or_insert(v);
                }
            }
            nullable |= def_nullable;
        }
        (map, nullable)
    }

    /// What a key of this (resolved) schema holds.
    fn shape(&self, schema: &Map<String, Value>) -> Shape {
        if schema.contains_key("properties") {
            return Shape::Table;
        }
        match schema.get("items").map(|items| self.resolve(items)) {
            Some((items, _)) if items.contains_key("properties") => Shape::TableArray(items),
            _ => Shape::Value,
        }
    }

    /// The keys of the section at `path`: plain keys first, so that none of them falls under
    /// the header of a sub-table when an operator uncomments one.
    fn table(&mut self, path: &str, schema: &Map<String, Value>, commented: bool) {
        let keys = self.keys(path, schema);
        for key in keys.iter().filter(|k| matches!(k.shape, Shape::Value)) {
            self.setting(key, None, commented);
        }
        for key in &keys {
            match &key.shape {
                Shape::Value => {}
                Shape::Table => {
                    let off = commented
                        || (key.unset_by_default() && self.examples == Examples::Commented);
                    self.out.push('\n');
                    self.describe(key);
                    self.line(off, &format!("[{}]", key.path));
                    self.table(&key.path, &key.schema, off);
                }
                Shape::TableArray(items) => self.table_array(key, items, commented),
            }
        }
    }

    /// `[[key]]` entries: the default ones, or else the examples, commented out. The first
    /// entry shows every key with its documentation; the others only the keys they set.
    fn table_array(&mut self, key: &Key, items: &Map<String, Value>, commented: bool) {
        let default = key
            .default()
            .and_then(Value::as_array)
            .filter(|d| !d.is_empty());
        let (entries, off) = match (default, key.example().and_then(Value::as_array)) {
            (Some(entries), _) => (entries.clone(), commented),
            (None, Some(entries)) if !entries.is_empty() => (
                entries.clone(),
                commented || self.examples == Examples::Commented,
            ),
            _ => {
                self.problem(key, "no default entries and no example entries");
                return;
            }
        };
        self.out.push('\n');
        self.describe(key);
        let fields = self.keys(&key.path, items);
        for (i, entry) in entries.iter().enumerate() {
            let Some(entry) = entry.as_object() else {
                self.problem(key, "an example entry is not a table");
                continue;
            };
            if let Some(unknown) = entry.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
                self.problem(
                    key,
                    &format!("an example entry sets unknown key `{unknown}`"),
                );
            }
            self.out.push('\n');
            self.line(off, &format!("[[{}]]", key.path));
            for field in &fields {
                let value = entry.get(&field.name);
                if i == 0 {
                    self.setting(field, value, off);
                } else if let Some(value) = value {
                    self.value_line(field, value, off);
                }
            }
        }
    }

    /// The keys of a section's schema, in serde's order.
    fn keys(&self, path: &str, schema: &Map<String, Value>) -> Vec<Key> {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let order = (self.order)(path);
        let position = |name: &str| order.iter().position(|f| *f == name);
        let mut keys: Vec<Key> = schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, property)| {
                let (schema, nullable) = self.resolve(property);
                Key {
                    shape: self.shape(&schema),
                    name: name.clone(),
                    path: if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    },
                    schema,
                    required: required.contains(&name.as_str()),
                    nullable,
                }
            })
            .collect();
        keys.sort_by_key(|k| (position(&k.name).is_none(), position(&k.name)));
        keys
    }

    /// One key under its documentation: `set` (an example entry's value), or its default,
    /// or its example, labelled.
    fn setting(&mut self, key: &Key, set: Option<&Value>, commented: bool) {
        self.out.push('\n');
        self.describe(key);
        let (value, off) = match (set, key.default(), key.example()) {
            (Some(value), _, _) => (value, commented),
            (None, Some(default), example) => {
                if let Some(example) = example.filter(|e| *e != default)
                    && let Some(text) = self.toml_line(key, example)
                {
                    self.comment(&format!("Example: {text}"));
                }
                (default, commented)
            }
            (None, None, Some(example)) if key.required => {
                self.comment("Required; the value shown is an example.");
                (example, commented)
            }
            (None, None, Some(example)) if key.nullable => {
                self.comment("Unset by default; the value shown is an example.");
                let off = commented || self.examples == Examples::Commented;
                (example, off)
            }
            (None, None, _) if !key.required && !key.nullable => {
                self.problem(
                    key,
                    "its default is not in the schema (derive Serialize for its type)",
                );
                return;
            }
            (None, None, _) => {
                self.problem(
                    key,
                    "neither a default nor an example (add #[schemars(example = …)])",
                );
                return;
            }
        };
        self.value_line(key, value, off);
    }

    /// `key = value`, commented out when `off`.
    fn value_line(&mut self, key: &Key, value: &Value, off: bool) {
        if let Some(text) = self.toml_line(key, value) {
            self.line(off, &text);
        }
    }

    /// `key = value` as the `toml` crate writes it.
    fn toml_line(&mut self, key: &Key, value: &Value) -> Option<String> {
        let text = toml::Value::try_from(value)
            .ok()
            .and_then(|value| {
                let mut table = toml::Table::new();
                table.insert(key.name.clone(), value);
                toml::to_string(&table).ok()
            })
            .map(|text| text.trim_end().to_owned());
        match text {
            Some(text) if !text.contains('\n') => Some(text),
            _ => {
                self.problem(key, &format!("{value} is not a one-line TOML value"));
                None
            }
        }
    }

    /// The key's doc comment, and the doc comment of each choice of an enumeration.
    fn describe(&mut self, key: &Key) {
        match key.description() {
            Some(text) => {
                self.comment(text);
                self.check_stated_defaults(key, text);
            }
            None => self.problem(key, "no doc comment"),
        }
        let Some(choices) = key.schema.get("oneOf").and_then(Value::as_array) else {
            return;
        };
        self.comment("One of:");
        for choice in choices {
            let value = choice
                .get("const")
                .map(Value::to_string)
                .unwrap_or_default();
            match choice.get("description").and_then(Value::as_str) {
                Some(text) if !text.trim().is_empty() => {
                    let first = format!("  {value}:");
                    let words = std::iter::once(first.as_str()).chain(text.split_whitespace());
                    self.wrap(words, "    ");
                }
                _ => self.problem(key, &format!("choice {value} has no doc comment")),
            }
        }
    }

    /// A doc comment that says what the default is must say the one serde applies.
    fn check_stated_defaults(&mut self, key: &Key, text: &str) {
        let Some(default) = key.default() else {
            return;
        };
        for stated in stated_defaults(text) {
            let agrees = match (&stated, default) {
                (Value::String(s), Value::String(d)) => s == d,
                // `false`, `0`: a quoted value that is not a string.
                (Value::String(s), d) => serde_json::from_str::<Value>(s).is_ok_and(|s| s == *d),
                (s, d) => s == d,
            };
            if !agrees {
                let what = format!("the doc comment says default {stated}, serde's is {default}");
                self.problem(key, &what);
            }
        }
    }

    /// `text` as `# ` lines: paragraphs wrapped to [`WIDTH`]; code (fenced, or indented) kept
    /// as it is, indented, without the fences.
    fn comment(&mut self, text: &str) {
        let mut words: Vec<&str> = Vec::new();
        let mut fenced = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                self.wrap(words.drain(..), "");
                fenced = !fenced;
            } else if fenced {
                self.comment_line(&format!("  {}", line.trim_end()));
            } else if line.trim().is_empty() {
                self.wrap(words.drain(..), "");
                self.out.push_str("#\n");
            } else if line.starts_with([' ', '\t']) {
                self.wrap(words.drain(..), "");
                self.comment_line(&format!("  {}", line.trim()));
            } else {
                words.extend(line.split_whitespace());
            }
        }
        self.wrap(words, "");
    }

    /// Words as `# ` lines no wider than [`WIDTH`] (a longer word gets a line of its own),
    /// every line after the first starting with `indent`.
    fn wrap<'w>(&mut self, words: impl IntoIterator<Item = &'w str>, indent: &str) {
        let mut line = String::new();
        for word in words {
            if !line.is_empty() && 2 + line.len() + 1 + word.len() > WIDTH {
                self.comment_line(&line);
                line.clear();
                line.push_str(indent);
            }
            if !line.trim_start().is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.trim_start().is_empty() {
            self.comment_line(&line);
        }
    }

    fn comment_line(&mut self, text: &str) {
        self.out.push_str("# ");
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// A line of TOML, commented out when `off`.
    fn line(&mut self, off: bool, text: &str) {
        if off {
            self.out.push_str("# ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn problem(&mut self, key: &Key, what: &str) {
        self.problems.push(format!("key `{}`: {what}", key.path));
    }
}

/// What a doc comment says each default is, after each "default ": a `quoted` value, or a
/// number or list of numbers (`60, 300`), each with an optional binary unit (`25 MiB`).
/// Anything else ("default: the system's") states no value.
fn stated_defaults(text: &str) -> Vec<Value> {
    // Doc comment lines end anywhere, also inside a list of numbers.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.match_indices("default ")
        .filter_map(|(at, word)| stated_value(&text[at + word.len()..]))
        .collect()
}

/// The value stated at the start of `rest`, if one is.
fn stated_value(mut rest: &str) -> Option<Value> {
    if let Some(quoted) = rest.strip_prefix('`') {
        return quoted.split_once('`').map(|(value, _)| Value::from(value));
    }
    let mut numbers = Vec::new();
    loop {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            break;
        }
        // ASCII digits end on a character boundary.
        let mut n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        for (unit, factor) in [(" KiB", 1u64 << 10), (" MiB", 1 << 20), (" GiB", 1 << 30)] {
            if let Some(after) = rest.strip_prefix(unit) {
                n = n.checked_mul(factor)?;
                rest = after;
            }
        }
        numbers.push(Value::from(n));
        match rest.strip_prefix(", ") {
            Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => rest = after,
            _ => break,
        }
    }
    match numbers.len() {
        0 => None,
        1 => numbers.pop(),
        _ => Some(Value::Array(numbers)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Config, sections};

    /// Rewrite the golden file with `GRADWELL_BLESS=1 cargo test -p gradwell-server --lib golden`.
    #[test]
    fn golden_file_is_the_generated_text() {
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("gradwell.example.toml");
        let text = render(Examples::Commented).unwrap();
        if std::env::var_os("GRADWELL_BLESS").is_some() {
            std::fs::write(&golden, &text).unwrap();
        }
        let checked_in = std::fs::read_to_string(&golden).unwrap();
        assert!(
            checked_in == text,
            "{} is not the generated configuration: run GRADWELL_BLESS=1 cargo test -p \
             gradwell-server --lib golden, and commit it",
            golden.display()
        );
    }

    #[test]
    fn every_key_and_choice_is_documented_with_a_default_or_an_example() {
        for examples in [Examples::Commented, Examples::Live] {
            if let Err(e) = render(examples) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn stated_defaults_are_read_with_their_units() {
        let said = |text: &str| Value::Array(stated_defaults(text));
        assert_eq!(
            said("a (default 25 MiB; b) default `required`, default: c, off by default because"),
            serde_json::json!([26214400, "required"])
        );
        assert_eq!(
            said("(default 60, 300,\n900 — more; default 600, RFC 1939)"),
            serde_json::json!([[60, 300, 900], 600])
        );
        assert_eq!(said("default `unclosed"), serde_json::json!([]));
    }

    #[test]
    fn comments_are_wrapped_and_keep_indented_lines() {
        let text = render(Examples::Commented).unwrap();
        for line in text.lines() {
            assert!(
                line.len() <= WIDTH || !line.contains(' '),
                "too wide: {line:?}"
            );
        }
        assert!(
            text.contains("\n#   mirror_sets = [[\"/srv/mail/a1\""),
            "{text}"
        );
    }

    /// With every example set, the file names every key serde accepts (each section's first
    /// `[[listener]]` entry documents all of its keys), and every example has the key's type.
    #[test]
    fn the_examples_name_every_key_and_have_its_type() {
        let text = render(Examples::Live).unwrap();
        if let Err(e) = toml::from_str::<Config>(&text) {
            panic!("{e}\n{text}");
        }
        let file: toml::Table = toml::from_str(&text).unwrap();
        let mut missing = Vec::new();
        for (section, fields) in sections() {
            let table = match file.get(section) {
                _ if section.is_empty() => Some(&file),
                Some(toml::Value::Table(t)) => Some(t),
                Some(toml::Value::Array(entries)) => entries.first().and_then(|e| e.as_table()),
                _ => None,
            };
            for field in fields {
                if !table.is_some_and(|t| t.contains_key(*field)) {
                    missing.push(format!("{section}.{field}"));
                }
            }
        }
        assert!(missing.is_empty(), "not in the file: {missing:?}");
    }

    #[test]
    fn commented_sections_and_keys_are_unset_by_default() {
        let text = render(Examples::Commented).unwrap();
        for line in [
            "# [tls]",
            "# [relay]",
            "# [[listener]]",
            "# aliases_file = \"aliases\"",
        ] {
            assert!(text.contains(&format!("\n{line}\n")), "{line} missing");
        }
        for line in [
            "[storage]",
            "[limits]",
            "[queue]",
            "[metrics]",
            "hostname = \"mx.example.net\"",
        ] {
            assert!(text.contains(&format!("\n{line}\n")), "{line} missing");
        }
    }

    /// A key without a doc comment, or without a default or example, or whose doc comment
    /// states another default than serde's, fails naming the key.
    #[test]
    fn an_undocumented_key_is_named() {
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Section {
            /// Documented, with a default.
            #[serde(default)]
            documented: u32,
            #[serde(default)]
            undocumented: u32,
            /// Documented, but nothing to show.
            bare: String,
            /// Documented with a stale default (default 5).
            #[serde(default = "seven")]
            stale: u32,
            #[serde(default)]
            typed: Mode,
        }
        /// A type's doc comment, which documents no field.
        #[derive(Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
        enum Mode {
            /// The one choice.
            #[default]
            Only,
        }
        fn seven() -> u32 {
            7
        }
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Root {
            /// A section.
            section: Section,
        }
        let schema = schema_of::<Root>();
        let err = render_schema(schema.as_value(), &|_| &[], Examples::Commented).unwrap_err();
        assert_eq!(
            err.problems,
            [
                "key `section.bare`: neither a default nor an example (add #[schemars(example = …)])",
                "key `section.stale`: the doc comment says default 5, serde's is 7",
                "key `section.typed`: no doc comment",
                "key `section.undocumented`: no doc comment",
            ]
        );
    }
}
