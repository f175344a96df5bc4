//! docs/api.md's examples, run as written against a real server, so that they cannot rot.
//!
//! The convention (also stated at the top of docs/api.md):
//! - A *section* is the text under a `##` or `###` heading, up to the next `##` or `###`
//!   heading (`####` does not cut a section). Each section that holds examples runs against
//!   its own fresh server (SQLite) whose staff users are `prez` (rights 3), `barman` (2),
//!   `bde` (1) and `honeypot` (0), all with the password `secret-pw`.
//! - An *example* is a line starting with `$ ` inside a ```` ```console ```` block (a line
//!   ending with `\` continues on the next one); the lines after it, up to the next `$ ` or
//!   the end of the block, are its expected standard output.
//! - The examples of a section run in order, in one `bash`: a variable set by one
//!   (`TOKEN=$(curl … | jq -r .jeton)`, printing nothing) is seen by the following ones.
//!   `ardoise` runs the server's binary on the server's database, and every
//!   `http://127.0.0.1:PORT` becomes the server's address.
//! - The output is compared as follows: an `HTTP/1.1 …` status line must be the same, each
//!   header shown must be among the headers received, and each body line must be equal —
//!   a JSON line as JSON, ignoring the values of the keys in [`VOLATILE`] (tokens, secrets,
//!   client ids, times), and a line ending in `...` as a prefix.
//!
//! Needs `bash`, `curl` and `jq` (`.ci/run` installs them); skipped loudly without them.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{Backend, Server};

/// JSON keys whose values change from one run to the next.
const VOLATILE: &[&str] = &[
    "token",
    "jeton",
    "access_token",
    "client_id",
    "client_secret",
    "jti",
    "sub",
    "created_at",
    "updated_at",
    "expire",
    "exp",
    "iat",
    "nbf",
    "date",
    "exported_at",
    "expires_at",
];

#[derive(Debug)]
struct Example {
    /// The line of the `$ ` in docs/api.md.
    line: usize,
    command: String,
    expected: Vec<String>,
}

#[derive(Debug)]
struct Section {
    title: String,
    examples: Vec<Example>,
}

/// The sections of `markdown` that hold examples, in order.
fn sections(markdown: &str) -> Vec<Section> {
    let mut found = Vec::new();
    let mut current = Section {
        title: "(top)".into(),
        examples: Vec::new(),
    };
    // None: prose; Some(true): a console block; Some(false): another fenced block.
    let mut fence: Option<bool> = None;
    let mut lines = markdown.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        match fence {
            None => {
                if line.starts_with("## ") || line.starts_with("### ") {
                    let next = Section {
                        title: line.trim_start_matches('#').trim().to_owned(),
                        examples: Vec::new(),
                    };
                    let done = std::mem::replace(&mut current, next);
                    if !done.examples.is_empty() {
                        found.push(done);
                    }
                } else if let Some(info) = line.trim_start().strip_prefix("```") {
                    fence = Some(info.trim() == "console");
                }
            }
            Some(console) => {
                if line.trim_start().starts_with("```") {
                    fence = None;
                } else if console {
                    if let Some(first) = line.strip_prefix("$ ") {
                        let mut command = first.to_owned();
                        while command.ends_with('\\') {
                            match lines.next() {
                                Some((_, more)) => {
                                    command.push('\n');
                                    command.push_str(more);
                                }
                                None => break,
                            }
                        }
                        current.examples.push(Example {
                            line: i + 1,
                            command,
                            expected: Vec::new(),
                        });
                    } else if let Some(example) = current.examples.last_mut() {
                        example.expected.push(line.to_owned());
                    }
                }
            }
        }
    }
    if !current.examples.is_empty() {
        found.push(current);
    }
    for section in &mut found {
        for example in &mut section.examples {
            while example.expected.last().is_some_and(|l| l.trim().is_empty()) {
                example.expected.pop();
            }
        }
    }
    found
}

/// `text` with every `http://127.0.0.1:PORT` replaced by `base`.
fn retarget(text: &str, base: &str) -> String {
    const HOST: &str = "http://127.0.0.1:";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(HOST) {
        out.push_str(&rest[..at]);
        let after = &rest[at + HOST.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            out.push_str(HOST);
        } else {
            out.push_str(base);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Compares two JSON values, ignoring the values of volatile keys.
fn same_json(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let ek: Vec<&String> = e.keys().collect();
            let ak: Vec<&String> = a.keys().collect();
            if ek != ak {
                return Err(format!("{path}: keys {ek:?}, got {ak:?}"));
            }
            for (key, value) in e {
                if !VOLATILE.contains(&key.as_str()) {
                    same_json(value, &a[key], &format!("{path}.{key}"))?;
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                same_json(e, a, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// Checks an example's output against the documented one (see the module's comment).
fn check(expected: &[String], actual: &str) -> Result<(), String> {
    let actual: Vec<&str> = actual.lines().map(|l| l.trim_end_matches('\r')).collect();
    let (mut e, mut a) = (
        expected.iter().map(String::as_str).peekable(),
        actual.iter(),
    );
    let mut a_body: Vec<&str> = Vec::new();
    if e.peek().is_some_and(|l| l.starts_with("HTTP/")) {
        let status = e.next().unwrap_or_default();
        let got = a.next().copied().unwrap_or_default();
        if got.trim() != status.trim() {
            return Err(format!("status line: expected `{status}`, got `{got}`"));
        }
        let mut headers = Vec::new();
        for line in a.by_ref() {
            if line.trim().is_empty() {
                break;
            }
            headers.push(line.to_ascii_lowercase());
        }
        for line in e.by_ref() {
            if line.trim().is_empty() {
                break;
            }
            if !headers.contains(&line.to_ascii_lowercase()) {
                return Err(format!("header `{line}` not among {headers:?}"));
            }
        }
    }
    a_body.extend(a.filter(|l| !l.trim().is_empty()));
    let e_body: Vec<&str> = e.filter(|l| !l.trim().is_empty()).collect();
    if e_body.len() != a_body.len() {
        return Err(format!(
            "{} line(s) expected, {} received:\n{}",
            e_body.len(),
            a_body.len(),
            a_body.join("\n")
        ));
    }
    for (e, a) in e_body.iter().zip(&a_body) {
        if let Some(prefix) = e.strip_suffix("...") {
            if !a.starts_with(prefix) {
                return Err(format!("expected a line starting `{prefix}`, got `{a}`"));
            }
        } else if let Ok(ej) = serde_json::from_str::<Value>(e) {
            let aj: Value = serde_json::from_str(a)
                .map_err(|err| format!("expected JSON like `{e}`, got `{a}` ({err})"))?;
            same_json(&ej, &aj, "$")?;
        } else if e != a {
            return Err(format!("expected `{e}`, got `{a}`"));
        }
    }
    Ok(())
}

/// Runs one section's examples against a fresh server; the failures, described.
fn run(section: &Section) -> Vec<String> {
    let server = Server::start(Backend::Sqlite);
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut script =
        String::from("ardoise() { \"$ARDOISE_BIN\" --database-url \"$ARDOISE_DB\" \"$@\"; }\n");
    for (i, example) in section.examples.iter().enumerate() {
        script.push_str(&format!(
            "{{ {}\n}} >\"$OUT/{i}\" 2>\"$OUT/{i}.err\" </dev/null\n",
            retarget(&example.command, &server.base)
        ));
    }
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env("ARDOISE_BIN", env!("CARGO_BIN_EXE_ardoise"))
        .env("ARDOISE_DB", &server.db.url)
        .env("OUT", &out)
        .env("RUST_LOG", "warn")
        .env_remove("ARDOISE_DATABASE_URL")
        .status()
        .unwrap();
    let mut failures = Vec::new();
    if !status.success() {
        failures.push(format!("{}: bash ended with {status}", section.title));
    }
    for (i, example) in section.examples.iter().enumerate() {
        let actual = std::fs::read_to_string(out.join(i.to_string())).unwrap_or_default();
        if let Err(why) = check(&example.expected, &actual) {
            let err = std::fs::read_to_string(out.join(format!("{i}.err"))).unwrap_or_default();
            failures.push(format!(
                "docs/api.md:{} ({}): {why}\n  $ {}\n  stderr: {}",
                example.line,
                section.title,
                example.command,
                err.trim()
            ));
        }
    }
    failures
}

fn tool_missing() -> Option<&'static str> {
    ["bash", "curl", "jq"].into_iter().find(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
    })
}

#[test]
fn docs_api_md_examples_run_as_written() {
    if let Some(tool) = tool_missing() {
        eprintln!(
            "SKIPPED docs/api.md examples: `{tool}` is not installed (`.ci/run` installs bash, \
             curl and jq)"
        );
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
    let markdown = std::fs::read_to_string(&path).unwrap();
    let sections = sections(&markdown);
    let count: usize = sections.iter().map(|s| s.examples.len()).sum();
    // The parser found the examples (a change of fences would silently test nothing).
    assert!(count >= 60, "only {count} examples found in docs/api.md");
    let failures: Vec<String> = sections.iter().flat_map(run).collect();
    assert!(
        failures.is_empty(),
        "{} of {count} docs/api.md examples do not run as written:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_convention_parses_and_compares_as_documented() {
    let md = "# t\n## A\n```console\n$ X=$(echo 1)\n$ echo \\\n  $X\n1\n```\n\
              ```toml\n## not a heading\n```\n#### still A\n```console\n$ echo 2\n2\n```\n\
              ### B\n```\n$ not an example\n```\n```console\n$ true\n```\n";
    let s = sections(md);
    assert_eq!(s.len(), 2, "{s:#?}");
    assert_eq!(s[0].title, "A");
    assert_eq!(s[0].examples.len(), 3);
    assert_eq!(s[0].examples[1].command, "echo \\\n  $X");
    assert_eq!(s[0].examples[1].expected, ["1"]);
    assert_eq!(s[1].examples.len(), 1);
    assert_eq!(
        retarget(
            "curl http://127.0.0.1:18080/v1 http://127.0.0.1:8080",
            "http://h:1"
        ),
        "curl http://h:1/v1 http://h:1"
    );
    let lines = |t: &str| t.lines().map(str::to_owned).collect::<Vec<_>>();
    let doc = lines("HTTP/1.1 201 Created\nlocation: /v1/x\n\n{\"token\":\"a\",\"n\":1}");
    assert!(check(
        &doc,
        "HTTP/1.1 201 Created\r\nLocation: /v1/x\r\ndate: now\r\n\r\n{\"token\":\"b\",\"n\":1}"
    )
    .is_ok());
    assert!(check(
        &doc,
        "HTTP/1.1 201 Created\r\n\r\n{\"token\":\"b\",\"n\":1}"
    )
    .is_err());
    assert!(check(
        &doc,
        "HTTP/1.1 201 Created\r\nlocation: /v1/x\r\n\r\n{\"token\":\"b\",\"n\":2}"
    )
    .is_err());
    assert!(check(&lines("{\"a\":1}"), "{\"a\":1,\"b\":2}").is_err());
    assert!(check(&lines("abc..."), "abcdef").is_ok());
    assert!(check(&lines("x"), "x\ny").is_err());
    assert!(check(&[], "").is_ok());
}
