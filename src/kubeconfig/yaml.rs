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
    parser.load(&mut builder, true).map_err(|e| e.to_string())?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

/// More values than this, counting every copy an alias makes, is an alias bomb (kubectl
/// refuses those too: "excessive aliasing").
const MAX_NODES: usize = 1_000_000;

/// A mapping key as read: whether it is the merge key `<<` (plain, or tagged `!!merge`;
/// a quoted `"<<"` is an ordinary key).
struct Key {
    value: Value,
    merge: bool,
}

enum Frame {
    Seq(usize, Vec<Value>),
    Map(usize, Mapping, Option<Key>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Each anchor's value and how many values it holds.
    anchors: std::collections::HashMap<usize, (Value, usize)>,
    /// Values made so far, alias copies included.
    nodes: usize,
    root: Option<Value>,
    error: Option<String>,
}

/// How many values `v` holds, itself included.
fn size(v: &Value) -> usize {
    1 + match v {
        Value::Sequence(items) => items.iter().map(size).sum(),
        Value::Mapping(m) => m.iter().map(|(k, v)| size(k) + size(v)).sum(),
        Value::Tagged(t) => size(&t.value),
        _ => 0,
    }
}

impl Builder {
    fn fail(&mut self, mark: Marker, what: impl std::fmt::Display) {
        if self.error.is_none() {
            self.error = Some(format!("line {}: {what}", mark.line()));
        }
    }

    fn push(&mut self, value: Value, anchor: usize, merge_key: bool, mark: Marker) {
        if anchor > 0 {
            let n = size(&value);
            self.anchors.insert(anchor, (value.clone(), n));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq(_, items)) => items.push(value),
            Some(Frame::Map(_, map, key)) => match key.take() {
                None => match json_key(value) {
                    Ok(value) => {
                        *key = Some(Key {
                            value,
                            merge: merge_key,
                        })
                    }
                    Err(e) => self.fail(mark, e),
                },
                Some(Key { merge: true, .. }) => {
                    if let Err(e) = merge(map, value) {
                        self.fail(mark, e);
                    }
                }
                // A key given twice: the later value wins, as in kubectl.
                Some(Key { value: k, .. }) => {
                    map.insert(k, value);
                }
            },
        }
    }

    fn count(&mut self, n: usize, mark: Marker) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            self.fail(
                mark,
                "excessive aliasing (an anchor copied into millions of values)",
            );
            return false;
        }
        true
    }
}

/// Keys as kubectl's YAML-to-JSON step makes them: strings, with booleans and integers
/// spelled out; anything else cannot be a JSON key.
fn json_key(k: Value) -> Result<Value, String> {
    match k {
        Value::String(_) => Ok(k),
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        Value::Number(n) if !n.is_f64() => Ok(Value::String(n.to_string())),
        other => Err(format!(
            "a mapping key that is not a string ({}) cannot be in a kubeconfig",
            scalar(&other)
        )),
    }
}

/// YAML 1.1's merge key, as go-yaml v2 applies it: in order, so a merge overrides the keys
/// before it and the keys after it override the merge; of a list of mappings the earlier
/// ones win.
fn merge(map: &mut Mapping, value: Value) -> Result<(), String> {
    let sources = match value {
        Value::Sequence(items) => items.into_iter().rev().collect(),
        other => vec![other],
    };
    for source in sources {
        let Value::Mapping(m) = source else {
            return Err("a merge (`<<`) needs a mapping or a list of mappings".into());
        };
        for (k, v) in m {
            map.insert(k, v);
        }
    }
    Ok(())
}

/// A tag in its short form (`!!str`), `!` for the non-specific tag.
fn short_tag(t: &yaml_rust2::parser::Tag) -> String {
    let full = format!("{}{}", t.handle, t.suffix);
    match full.strip_prefix("tag:yaml.org,2002:") {
        Some(rest) => format!("!!{rest}"),
        None => full,
    }
}

/// A scalar with its tag and style, as go-yaml v2 decodes it into a generic value.
fn scalar_value(text: String, style: TScalarStyle, tag: Option<&str>) -> Result<Value, String> {
    let check = |want: &str, ok: fn(&Value) -> bool, v: Value| {
        if ok(&v) {
            Ok(v)
        } else {
            Err(format!("cannot read {text:?} as {want}"))
        }
    };
    match tag {
        None if style == TScalarStyle::Plain => Ok(resolve(&text)),
        None | Some("!!str") => Ok(Value::String(text)),
        Some("!!binary") => {
            use base64::Engine as _;
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| format!("{text:?} is not base64, as !!binary needs"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| "a !!binary value that is not text cannot be edited".to_string())
        }
        Some("!!bool") => check("!!bool", Value::is_bool, resolve(&text)),
        Some("!!null") => check("!!null", Value::is_null, resolve(&text)),
        Some("!!int") => check("!!int", |v| v.is_i64() || v.is_u64(), resolve(&text)),
        Some("!!float") => match resolve(&text) {
            Value::Number(n) => Ok(Value::Number(Number::from(n.as_f64().unwrap_or(0.0)))),
            _ => Err(format!("cannot read {text:?} as !!float")),
        },
        Some("!!timestamp") => check("!!timestamp", |_| true, Value::String(text.clone()))
            .and_then(|v| {
                if is_timestamp(&text) {
                    Ok(v)
                } else {
                    Err(format!("cannot read {text:?} as !!timestamp"))
                }
            }),
        // `!`, `!!merge` and any other tag: the text as it is.
        Some(_) => Ok(Value::String(text)),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.as_ref().map(short_tag);
                let expecting_key = matches!(self.stack.last(), Some(Frame::Map(_, _, None)));
                let merge_key = expecting_key
                    && text == "<<"
                    && ((style == TScalarStyle::Plain && tag.is_none())
                        || tag.as_deref() == Some("!!merge"));
                let value = if merge_key {
                    Ok(Value::String(text))
                } else {
                    scalar_value(text, style, tag.as_deref())
                };
                match value {
                    Ok(v) if self.count(1, mark) => self.push(v, anchor, merge_key, mark),
                    Ok(_) => {}
                    Err(e) => self.fail(mark, e),
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((v, n)) => {
                    let (v, n) = (v.clone(), *n);
                    if self.count(n, mark) {
                        self.push(v, 0, false, mark);
                    }
                }
                None => self.fail(mark, "an alias to an unknown anchor"),
            },
            Event::SequenceStart(anchor, _) => {
                if self.key_expected() {
                    return self.fail(mark, "a list as a mapping key cannot be in a kubeconfig");
                }
                self.stack.push(Frame::Seq(anchor, Vec::new()));
            }
            Event::MappingStart(anchor, _) => {
                if self.key_expected() {
                    return self.fail(mark, "a mapping as a mapping key cannot be in a kubeconfig");
                }
                self.stack.push(Frame::Map(anchor, Mapping::new(), None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(anchor, items)) => (Value::Sequence(items), anchor),
                    Some(Frame::Map(anchor, map, _)) => (Value::Mapping(map), anchor),
                    None => return,
                };
                if self.count(1, mark) {
                    self.push(value, anchor, false, mark);
                }
            }
            Event::DocumentStart if self.root.is_some() => {
                self.fail(
                    mark,
                    "a kubeconfig is one YAML document, this file has more",
                );
            }
            _ => {}
        }
    }
}

impl Builder {
    fn key_expected(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map(_, _, None)))
    }
}

/// go-yaml v2's timestamp test: four digits, a dash, then one of its layouts. Only for
/// `!!timestamp`: a plain timestamp is a string to kubectl either way.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// A plain scalar as kubectl's YAML (go-yaml v2, YAML 1.1 rules) resolves it: the first
/// character decides what it may be (a sign or digit: a number; `.`: a float; one of
/// `yYnNtTfFoO~`: a bool or null), then its exact spellings.
fn resolve(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        ".nan" | ".NaN" | ".NAN" => return Value::Number(Number::from(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Number(Number::from(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(Number::from(f64::NEG_INFINITY)),
        _ => {}
    }
    if let Some(b) = bool_1_1(text) {
        return Value::Bool(b);
    }
    let string = || Value::String(text.to_string());
    match text.as_bytes()[0] {
        // Go's ParseFloat on the text as it is: no `_` here.
        b'.' => float_1_1(text).map_or_else(string, |f| Value::Number(Number::from(f))),
        b'+' | b'-' | b'0'..=b'9' => {
            let plain: String = text.chars().filter(|c| *c != '_').collect();
            if let Some(n) = int_1_1(&plain) {
                return Value::Number(n);
            }
            float_1_1(&plain).map_or_else(string, |f| Value::Number(Number::from(f)))
        }
        _ => string(),
    }
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
/// octal, `0b`, with a sign (ParseUint takes none).
fn int_1_1(s: &str) -> Option<Number> {
    let (neg, signed, digits) = match s.as_bytes().first()? {
        b'-' => (true, true, &s[1..]),
        b'+' => (false, true, &s[1..]),
        _ => (false, false, s),
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
        // Down to i64::MIN, whose magnitude is one more than i64::MAX.
        let v = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(v))
    } else if signed {
        i64::try_from(magnitude).ok().map(Number::from)
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml v2's float rule: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, and only
/// within range (Go's ParseFloat fails past it, so `1e400` stays a string).
fn float_1_1(s: &str) -> Option<f64> {
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
        s.parse::<f64>().ok().filter(|f| f.is_finite())
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

    #[test]
    fn merges_apply_in_order_as_in_go_yaml() {
        // A merge after a key overrides it; a key after a merge overrides that.
        let v = parse("p: &p {server: prod, ns: a}\nc:\n  server: staging\n  <<: *p\n  ns: b\n")
            .unwrap();
        assert_eq!(v["c"]["server"], Value::String("prod".into()));
        assert_eq!(v["c"]["ns"], Value::String("b".into()));
        // Of several mappings, the earlier wins.
        let v = parse("a: &a {k: 1}\nb: &b {k: 2}\nc:\n  <<: [*a, *b]\n").unwrap();
        assert_eq!(v["c"]["k"], Value::Number(1.into()));
        // A quoted `<<` is a key like any other.
        let v = parse("a: &a {k: 1}\nc:\n  \"<<\": *a\n").unwrap();
        assert_eq!(v["c"]["<<"]["k"], Value::Number(1.into()));
        assert!(v["c"].get("k").is_none());
        assert!(parse("c:\n  <<: text\n").is_err());
    }

    #[test]
    fn scalars_as_go_yaml_v2_reads_them() {
        let v = parse(
            "a: _1\nb: ._1\nc: -9223372036854775808\nd: !!binary aGVsbG8=\ne: ! on\nf: 1e400\ng: !!int \"12\"\nh: !!float 1\ni: -_1\nj: 18446744073709551615\nk: 08\nl: .5\nm: !custom 3\n",
        )
        .unwrap();
        assert_eq!(v["a"], Value::String("_1".into()));
        assert_eq!(v["b"], Value::String("._1".into()));
        assert_eq!(v["c"], Value::Number(i64::MIN.into()));
        assert_eq!(v["d"], Value::String("hello".into()));
        assert_eq!(v["e"], Value::String("on".into()));
        assert_eq!(v["f"], Value::String("1e400".into()));
        assert_eq!(v["g"], Value::Number(12.into()));
        assert_eq!(v["h"], Value::Number(Number::from(1.0)));
        assert_eq!(v["i"], Value::Number((-1).into()));
        assert_eq!(v["j"], Value::Number(u64::MAX.into()));
        assert_eq!(v["k"], Value::Number(Number::from(8.0)));
        assert_eq!(v["l"], Value::Number(Number::from(0.5)));
        assert_eq!(v["m"], Value::String("3".into()));
        assert!(parse("a: !!int x\n").is_err());
        // Keys become strings, as kubectl's YAML-to-JSON step makes them.
        let v = parse("on: 1\n7: 2\n").unwrap();
        assert_eq!(v["true"], Value::Number(1.into()));
        assert_eq!(v["7"], Value::Number(2.into()));
    }

    #[test]
    fn what_cannot_be_edited_is_refused() {
        // An alias bomb: 9^8 copies from a few hundred bytes.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..=8 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&bomb).unwrap_err();
        assert!(e.contains("excessive aliasing"), "{e}");
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.contains("one YAML document"), "{e}");
        assert!(parse("---\na: 1\n").is_ok());
        let e = parse("? [a, b]\n: v\n").unwrap_err();
        assert!(e.contains("mapping key"), "{e}");
    }
}
