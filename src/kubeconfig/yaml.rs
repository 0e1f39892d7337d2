//! kubeconfig's YAML, read and written so that every reader sees the values as written:
//! kubectl resolves plain scalars the YAML 1.1 way (`on`, `yes`, `y`, `1_000`, `0777` are a
//! bool or a number there), YAML 1.2 readers do not. So a plain scalar is read as kubectl
//! reads it, and a string is written plain only when it is a string for both; any other
//! string is double-quoted. Pure: text in, value out, and back.

use serde_norway::{Mapping, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Reads one YAML document the way kubectl does.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| e.to_string())?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

enum Frame {
    Seq(usize, Vec<Value>),
    Map(usize, Mapping, Option<Value>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, Value>,
    root: Option<Value>,
    error: Option<String>,
}

impl Builder {
    fn push(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq(_, items)) => items.push(value),
            Some(Frame::Map(_, map, key)) => match key.take() {
                None => *key = Some(value),
                Some(k) if k.as_str() == Some("<<") => merge(map, value),
                // A key given twice: the later value wins, as in kubectl.
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }
}

/// YAML 1.1's merge key: the given mapping(s) fill in what the mapping does not set.
fn merge(map: &mut Mapping, value: Value) {
    let sources = match value {
        Value::Sequence(items) => items,
        other => vec![other],
    };
    for source in sources {
        if let Value::Mapping(m) = source {
            for (k, v) in m {
                if !map.contains_key(&k) {
                    map.insert(k, v);
                }
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let value = match (style, tag.as_deref()) {
                    (_, Some("tag:yaml.org,2002:str" | "!!str")) => Value::String(text),
                    (TScalarStyle::Plain, _) | (_, Some(_)) => resolve(&text),
                    _ => Value::String(text),
                };
                self.push(value, anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(v) => {
                    let v = v.clone();
                    self.push(v, 0);
                }
                None => {
                    self.error = Some(format!(
                        "line {}: an alias to an unknown anchor",
                        mark.line()
                    ));
                }
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(anchor, Mapping::new(), None));
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(anchor, items)) => self.push(Value::Sequence(items), anchor),
                Some(Frame::Map(anchor, map, _)) => self.push(Value::Mapping(map), anchor),
                None => {}
            },
            _ => {}
        }
    }
}

/// A plain scalar as kubectl's YAML (go-yaml v2, YAML 1.1 rules) resolves it.
fn resolve(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = bool_1_1(text) {
        return Value::Bool(b);
    }
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    if let Some(n) = int_1_1(&plain) {
        return Value::Number(n);
    }
    if let Some(f) = float_1_1(&plain) {
        return Value::Number(Number::from(f));
    }
    Value::String(text.to_string())
}

fn bool_1_1(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: decimal, `0x`, `0o`/leading `0`
/// octal, `0b`, with a sign.
fn int_1_1(s: &str) -> Option<Number> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, body) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, b)
    } else if let Some(o) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, o)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude).ok()?;
        Some(Number::from(-v))
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml v2's float rule: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, and
/// `.inf`/`.nan` in their spellings.
fn float_1_1(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if mantissa_ok && exponent_ok {
        s.parse().ok()
    } else {
        None
    }
}

/// Writes `value` as block YAML in kubectl's layout.
pub(crate) fn emit(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Mapping(m) if !m.is_empty() => emit_mapping(m, 0, &mut out),
        Value::Sequence(s) if !s.is_empty() => emit_sequence(s, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A value that goes on the same line as its key or dash.
fn inline(value: &Value) -> Option<String> {
    match value {
        Value::Mapping(m) if !m.is_empty() => None,
        Value::Sequence(s) if !s.is_empty() => None,
        Value::Tagged(t) => inline(&t.value),
        other => Some(scalar(other)),
    }
}

fn emit_mapping(m: &Mapping, at: usize, out: &mut String) {
    for (k, v) in m {
        indent(out, at);
        out.push_str(&scalar(k));
        out.push(':');
        emit_value_after_key(v, at, out);
    }
}

fn emit_value_after_key(v: &Value, at: usize, out: &mut String) {
    if let Some(s) = inline(v) {
        out.push(' ');
        out.push_str(&s);
        out.push('\n');
        return;
    }
    out.push('\n');
    match v {
        Value::Mapping(m) => emit_mapping(m, at + 2, out),
        // Sequences under a key are not indented (kubectl's and serde's layout).
        Value::Sequence(s) => emit_sequence(s, at, out),
        Value::Tagged(t) => emit_value_after_key(&t.value, at, out),
        _ => {}
    }
}

fn emit_sequence(items: &[Value], at: usize, out: &mut String) {
    for item in items {
        indent(out, at);
        out.push('-');
        match item {
            Value::Mapping(m) if !m.is_empty() => {
                // The first key on the dash's line, the rest under it.
                let mut first = true;
                for (k, v) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, at + 2);
                    }
                    out.push_str(&scalar(k));
                    out.push(':');
                    emit_value_after_key(v, at + 2, out);
                }
            }
            Value::Sequence(s) if !s.is_empty() => {
                out.push('\n');
                emit_sequence(s, at + 2, out);
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other).unwrap_or_default());
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => string(s),
        Value::Sequence(_) => "[]".into(),
        Value::Mapping(_) => "{}".into(),
        Value::Tagged(t) => scalar(&t.value),
    }
}

fn number(n: &Number) -> String {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        return if f.is_nan() {
            ".nan".into()
        } else if f.is_infinite() {
            if f > 0.0 {
                ".inf".into()
            } else {
                "-.inf".into()
            }
        } else {
            let s = format!("{f:?}");
            if s.contains(['.', 'e', 'E']) {
                s
            } else {
                format!("{s}.0")
            }
        };
    }
    n.to_string()
}

/// Whether `s` reads back as this same string to a YAML 1.1 and a YAML 1.2 reader when
/// written plain. Deliberately narrow: anything else is quoted.
pub(crate) fn plain_is_string(s: &str) -> bool {
    let mut bytes = s.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    // `-` starts a plain scalar only when something other than a space follows it
    // (`--cluster`); `- x` would be a sequence entry, `-1` a number.
    let dash_ok = first == b'-' && bytes.next().is_some_and(|b| b != b' ');
    (first.is_ascii_alphabetic() || first == b'/' || first == b'_' || dash_ok)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@+=~".contains(&b))
        && !s.ends_with(':')
        && !s.contains("://:")
        && matches!(resolve(s), Value::String(_))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        )
}

fn string(s: &str) -> String {
    if plain_is_string(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_as_kubectl_does() {
        let v = parse("a: on\nb: \"on\"\nc: 1_000\nd: 0777\ne: y\nf: ~\ng: 1.5\nh: '0x10'\ni: 0x10\nj: .inf\nk: text\n").unwrap();
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::String("on".into()));
        assert_eq!(v["c"], Value::Number(1000.into()));
        assert_eq!(v["d"], Value::Number(511.into()));
        assert_eq!(v["e"], Value::Bool(true));
        assert_eq!(v["f"], Value::Null);
        assert_eq!(v["g"], Value::Number(Number::from(1.5)));
        assert_eq!(v["h"], Value::String("0x10".into()));
        assert_eq!(v["i"], Value::Number(16.into()));
        assert!(v["j"].as_f64().is_some_and(f64::is_infinite));
        assert_eq!(v["k"], Value::String("text".into()));
    }

    #[test]
    fn strings_stay_strings_for_every_reader() {
        for s in [
            "on",
            "yes",
            "no",
            "y",
            "Off",
            "1_000",
            "0777",
            "1:30",
            "2001-12-14",
            ".inf",
            "-1",
            "+1",
            "~",
            "",
            "null",
            "a: b",
            "#c",
            "x ",
            " x",
            "a\nb",
            "=",
            "<<",
            "é",
            "key:",
        ] {
            let doc = {
                let mut m = Mapping::new();
                m.insert(Value::String("k".into()), Value::String(s.into()));
                Value::Mapping(m)
            };
            let text = emit(&doc);
            assert_eq!(parse(&text).unwrap(), doc, "{s:?} as {text}");
            let v12: Value = serde_norway::from_str(&text).unwrap();
            assert_eq!(v12, doc, "a YAML 1.2 reader: {s:?} as {text}");
        }
        assert_eq!(
            emit(&parse("k: plain-value_1/x.y:z@w+v=u\n").unwrap()),
            "k: plain-value_1/x.y:z@w+v=u\n"
        );
    }

    #[test]
    fn layout_is_kubectls() {
        let text = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://x\n  name: c\nusers:\n- name: u\n  user:\n    exec:\n      args:\n      - token\n      - --cluster\n      env: null\npreferences: {}\n";
        assert_eq!(emit(&parse(text).unwrap()), text);
    }

    #[test]
    fn anchors_aliases_and_merges() {
        // (`y` would be a bool key to kubectl: YAML 1.1.)
        let v = parse("base: &b {a: 1}\nx: *b\nz:\n  <<: *b\n  c: 2\n").unwrap();
        assert_eq!(v["x"]["a"], Value::Number(1.into()));
        assert_eq!(v["z"]["a"], Value::Number(1.into()));
        assert_eq!(v["z"]["c"], Value::Number(2.into()));
        assert!(parse("a: [unclosed").is_err());
    }
}
