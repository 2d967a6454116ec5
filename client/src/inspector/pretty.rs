//! Pretty-printing of a JSON text frame for the inspector, keeping the keys
//! in the order they were sent (a `serde_json::Value` would sort them).

/// `json` indented by two spaces per level. Works on the characters, so it
/// never reorders or reformats values; text that is not JSON comes out with
/// line breaks after commas and brackets, which is harmless.
pub(crate) fn pretty_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Keep `{}` and `[]` on one line.
                let close = if c == '{' { '}' } else { ']' };
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&close) {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_and_keeps_key_order() {
        let json = r##"{"type":"presence","client_id":3,"name":"A, \"B\": {C}","color":"#e06c75","cursor":{"anchor":{"tname":"content","assoc":-1},"head":null},"peers":[],"x":{}}"##;
        let expected = r##"{
  "type": "presence",
  "client_id": 3,
  "name": "A, \"B\": {C}",
  "color": "#e06c75",
  "cursor": {
    "anchor": {
      "tname": "content",
      "assoc": -1
    },
    "head": null
  },
  "peers": [],
  "x": {}
}"##;
        assert_eq!(pretty_json(json), expected);
        assert_eq!(
            pretty_json(r#"{"type":"ping"}"#),
            "{\n  \"type\": \"ping\"\n}"
        );
    }

    #[test]
    fn arrays_of_objects() {
        assert_eq!(
            pretty_json(r#"[{"a":1},{"b":[1,2]}]"#),
            "[\n  {\n    \"a\": 1\n  },\n  {\n    \"b\": [\n      1,\n      2\n    ]\n  }\n]"
        );
    }
}
