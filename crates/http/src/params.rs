//! Reading a POS request: the body bytes parsed by hand (form with or without Content-Type, or
//! JSON), duplicated fields refused, the session token from any of its three places, and each
//! field parsed strictly by the domain's own parsers.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::HttpRequest;
use ardoise_domain::{CardId, DomainError, Login, Money, Rights, TransactionId};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The largest request body read; a POS request is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The largest body of a business card's `PUT` (seed 003): a photo of up to 50 kB is about
/// 67 kB in base64, with the card's languages around it.
pub const MAX_BUSINESS_CARD_BODY_BYTES: usize = 160 * 1024;

/// The largest body of an advertisement (`POST /v1/advertisements`, `POST /Services`): a
/// picture of at most 200 KiB is about 273 KiB in base64, with the message around it.
pub const MAX_ADVERTISEMENT_BODY_BYTES: usize = 288 * 1024;

/// The largest body a request to `path` may have: [`MAX_BODY_BYTES`],
/// [`MAX_BUSINESS_CARD_BODY_BYTES`] for a business card's `PUT`, or
/// [`MAX_ADVERTISEMENT_BODY_BYTES`] for an advertisement.
pub fn body_limit(method: &actix_web::http::Method, path: &str) -> usize {
    if method == actix_web::http::Method::PUT && path.starts_with("/v1/business-cards/") {
        MAX_BUSINESS_CARD_BODY_BYTES
    } else if method == actix_web::http::Method::POST
        && (path == "/v1/advertisements" || path == "/Services")
    {
        MAX_ADVERTISEMENT_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// The fields of a POS request, each given at most once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    fields: HashMap<String, (String, Kind)>,
    /// The POS dialect's JSON, where "values may be strings or numbers" (pos-api.md); `/v1`
    /// refuses a number for a string and a string for a number.
    lenient: bool,
}

/// How a field's value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Form text: the field's parser decides.
    Form,
    /// A JSON null, or the form text `null`: a field given without a value.
    Null,
    JsonString,
    JsonNumber,
    JsonBool,
}

/// What a field holds, for [`Params::only`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Text (a login, a card id, a name…): a JSON string.
    Text,
    /// An amount: a JSON string or number (`"12.50"`, `12.5`).
    Money,
    /// A whole number: a JSON number.
    Int,
    /// A JSON boolean.
    Bool,
}

impl Ty {
    fn accepts(self, kind: Kind, lenient: bool) -> bool {
        use Kind::*;
        match (self, kind) {
            (_, Form | Null) => true,
            (Ty::Text, JsonString) | (Ty::Int, JsonNumber) | (Ty::Bool, JsonBool) => true,
            (Ty::Money, JsonString | JsonNumber) => true,
            (Ty::Text | Ty::Int, JsonString | JsonNumber) => lenient,
            (Ty::Bool, JsonString | JsonNumber) => lenient,
            _ => false,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Ty::Text => "a string",
            Ty::Money => "an amount (a string or a number)",
            Ty::Int => "a whole number",
            Ty::Bool => "a boolean",
        }
    }
}

fn malformed(what: impl Into<String>) -> DomainError {
    DomainError::malformed(what)
}

impl Params {
    /// Parses a body by its Content-Type: none or `application/x-www-form-urlencoded` as form
    /// data, `application/json` as a JSON object of strings, numbers, booleans or nulls (a null
    /// is an absent field). Anything else is malformed.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Params, DomainError> {
        let essence = content_type
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        match essence.as_str() {
            "" | "application/x-www-form-urlencoded" => Params::from_form(body),
            "application/json" => Params::from_json(body),
            other => Err(malformed(format!("unsupported content type `{other}`"))),
        }
    }

    /// Parses the request's body according to its Content-Type header.
    pub fn from_request(req: &HttpRequest, body: &[u8]) -> Result<Params, DomainError> {
        let content_type = match req.headers().get(header::CONTENT_TYPE) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| malformed("the content type is not text"))?,
            ),
        };
        Params::parse(content_type, body)
    }

    /// The POS dialect's reading of JSON: strings and numbers are interchangeable, as
    /// pos-api.md allows; booleans still only where a boolean is expected.
    pub fn lenient(mut self) -> Params {
        self.lenient = true;
        self
    }

    /// Refuses a field not named in `expected` (`unknown field`), and a JSON value of another
    /// type than its field's (`field \`x\` must be a string`): what a request may hold,
    /// declared by its handler.
    pub fn only(&self, expected: &[(&str, Ty)]) -> Result<(), DomainError> {
        let mut names: Vec<&String> = self.fields.keys().collect();
        names.sort();
        if let Some(name) = names
            .into_iter()
            .find(|name| !expected.iter().any(|(n, _)| n == name))
        {
            let known: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
            return Err(malformed(format!(
                "unknown field `{name}` (expected: {})",
                known.join(", ")
            )));
        }
        self.typed(expected)
    }

    /// Refuses a JSON value of another type than its field's, for the fields of `expected`
    /// that the request holds; other fields are left alone (the POS dialect ignores them, as
    /// the original server did and its clients rely on).
    pub fn typed(&self, expected: &[(&str, Ty)]) -> Result<(), DomainError> {
        let mut names: Vec<&String> = self.fields.keys().collect();
        names.sort();
        for name in names {
            let Some((_, ty)) = expected.iter().find(|(n, _)| n == name) else {
                continue;
            };
            let kind = self.fields.get(name).map_or(Kind::Null, |(_, k)| *k);
            if !ty.accepts(kind, self.lenient) {
                return Err(malformed(format!(
                    "field `{name}` must be {}",
                    ty.expected()
                )));
            }
        }
        Ok(())
    }

    /// Parses `application/x-www-form-urlencoded` bytes strictly: bad escapes or invalid UTF-8
    /// are malformed, not replaced. The text `null` is a field given without a value, as a
    /// JSON null is (forms have no other way to write one): never a value named "null".
    pub fn from_form(body: &[u8]) -> Result<Params, DomainError> {
        let mut params = Params::default();
        for pair in body.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let (key, value) = (percent_decode(key)?, percent_decode(value)?);
            if value == "null" {
                params.reject_duplicate(&key)?;
                params.absent_nulls(key);
            } else {
                params.insert(key, value, Kind::Form)?;
            }
        }
        Ok(params)
    }

    /// Parses a JSON object whose values are strings, numbers (kept as their exact text),
    /// booleans or nulls.
    pub fn from_json(body: &[u8]) -> Result<Params, DomainError> {
        let Entries(entries) = serde_json::from_slice(body)
            .map_err(|e| malformed(format!("the body is not a JSON object: {e}")))?;
        let mut params = Params::default();
        for (key, raw) in entries {
            let text = raw.get();
            let value = match text.as_bytes().first() {
                Some(b'"') => (
                    serde_json::from_str::<String>(text)
                        .map_err(|e| malformed(format!("field `{key}`: {e}")))?,
                    Kind::JsonString,
                ),
                Some(b'-' | b'0'..=b'9') => (text.to_owned(), Kind::JsonNumber),
                Some(b't' | b'f') => (text.to_owned(), Kind::JsonBool),
                Some(b'n') => {
                    params.reject_duplicate(&key)?;
                    params.absent_nulls(key);
                    continue;
                }
                _ => return Err(malformed(format!("field `{key}` is not a plain value"))),
            };
            params.insert(key, value.0, value.1)?;
        }
        Ok(params)
    }

    fn reject_duplicate(&self, key: &str) -> Result<(), DomainError> {
        if self.fields.contains_key(key) {
            return Err(malformed(format!("field `{key}` is given twice")));
        }
        Ok(())
    }

    /// A JSON null counts as given (so a second `key` is still a duplicate) but absent.
    fn absent_nulls(&mut self, key: String) {
        self.fields.insert(key, (String::new(), Kind::Null));
    }

    fn insert(&mut self, key: String, value: String, kind: Kind) -> Result<(), DomainError> {
        self.reject_duplicate(&key)?;
        self.fields.insert(key, (value, kind));
        Ok(())
    }

    /// A field's text if given and not empty. An empty value counts as not given: web forms
    /// send their empty optional inputs.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A field as given, even blank (an empty value or a JSON null reads `""`): `None` only
    /// when the field is absent. For edits, where a blank field unsets a value.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|(v, _)| v.as_str())
    }

    /// The names of the given fields, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// A field that must be given.
    pub fn required(&self, name: &str) -> Result<&str, DomainError> {
        self.get(name)
            .ok_or_else(|| malformed(format!("field `{name}` is missing")))
    }

    /// A required card id (`idCarte`).
    pub fn card(&self, name: &str) -> Result<CardId, DomainError> {
        parse_card(name, self.required(name)?)
    }

    /// An optional card id.
    pub fn card_opt(&self, name: &str) -> Result<Option<CardId>, DomainError> {
        self.get(name).map(|v| parse_card(name, v)).transpose()
    }

    /// A required amount of money, parsed strictly (`12`, `12.5`, `10.0`; never `1,5`, `1e3`
    /// or `0.001`).
    pub fn money(&self, name: &str) -> Result<Money, DomainError> {
        parse_money(name, self.required(name)?)
    }

    /// An optional amount of money.
    pub fn money_opt(&self, name: &str) -> Result<Option<Money>, DomainError> {
        self.get(name).map(|v| parse_money(name, v)).transpose()
    }

    /// A required staff login.
    pub fn login(&self, name: &str) -> Result<Login, DomainError> {
        parse_login(name, self.required(name)?)
    }

    /// An optional staff login.
    pub fn login_opt(&self, name: &str) -> Result<Option<Login>, DomainError> {
        self.get(name).map(|v| parse_login(name, v)).transpose()
    }

    /// Optional rights, a whole number from 0 to 3.
    pub fn rights_opt(&self, name: &str) -> Result<Option<Rights>, DomainError> {
        self.get(name)
            .map(|v| {
                parse_whole(v)
                    .and_then(Rights::from_level)
                    .ok_or_else(|| malformed(format!("field `{name}` is not a right from 0 to 3")))
            })
            .transpose()
    }

    /// Required rights.
    pub fn rights(&self, name: &str) -> Result<Rights, DomainError> {
        self.rights_opt(name)?
            .ok_or_else(|| malformed(format!("field `{name}` is missing")))
    }

    /// An optional boolean: `true`, `false`, `1` or `0`.
    pub fn boolean_opt(&self, name: &str) -> Result<Option<bool>, DomainError> {
        self.get(name)
            .map(|v| match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(malformed(format!("field `{name}` is not true/false/1/0"))),
            })
            .transpose()
    }

    /// A required boolean.
    pub fn boolean(&self, name: &str) -> Result<bool, DomainError> {
        self.boolean_opt(name)?
            .ok_or_else(|| malformed(format!("field `{name}` is missing")))
    }

    /// An optional whole number, possibly negative (the rules decide what a negative quantity
    /// means). `2.0` and `2.00` are read as 2, since the Android app writes numbers as doubles;
    /// `2.5`, `1e3` or `abc` are malformed.
    pub fn whole_opt(&self, name: &str) -> Result<Option<i64>, DomainError> {
        self.get(name)
            .map(|v| {
                parse_whole(v)
                    .ok_or_else(|| malformed(format!("field `{name}` is not a whole number")))
            })
            .transpose()
    }

    /// An optional transaction id: a whole number ≥ 0.
    pub fn transaction_id_opt(&self, name: &str) -> Result<Option<TransactionId>, DomainError> {
        self.get(name)
            .map(|v| {
                parse_int(v)
                    .filter(|id| *id >= 0)
                    .map(TransactionId)
                    .ok_or_else(|| malformed(format!("field `{name}` is not a transaction id")))
            })
            .transpose()
    }

    /// A required transaction id (`idTransaction`).
    pub fn transaction_id(&self, name: &str) -> Result<TransactionId, DomainError> {
        self.transaction_id_opt(name)?
            .ok_or_else(|| malformed(format!("field `{name}` is missing")))
    }
}

/// `-?[0-9]+` into an `i64`; anything else (signs, spaces, exponents, overflow) is `None`.
/// A whole number, also written as JSON may write one (`3.0`: JSON Schema's `integer`).
fn parse_whole(text: &str) -> Option<i64> {
    let digits = match text.split_once('.') {
        Some((int, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => int,
        Some(_) => return None,
        None => text,
    };
    parse_int(digits)
}

fn parse_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_card(name: &str, text: &str) -> Result<CardId, DomainError> {
    CardId::parse(text).map_err(|e| malformed(format!("field `{name}`: {e}")))
}

fn parse_money(name: &str, text: &str) -> Result<Money, DomainError> {
    Money::parse(text).map_err(|e| malformed(format!("field `{name}`: {e}")))
}

fn parse_login(name: &str, text: &str) -> Result<Login, DomainError> {
    Login::parse(text).map_err(|e| malformed(format!("field `{name}`: {e}")))
}

/// Decodes one form component: `+` is a space, `%XX` a byte; the result must be UTF-8.
fn percent_decode(bytes: &[u8]) -> Result<String, DomainError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
                match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err(malformed("a bad %-escape in the form data")),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed("the form data is not UTF-8"))
}

/// A JSON object's entries in order, duplicates included (serde_json's maps keep the last).
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// The session token of a request: the `jeton` field, an `Authorization: Bearer` header or a
/// `token` header. Several places giving different tokens is malformed; none is `InvalidToken`.
pub fn session_token(req: &HttpRequest, params: &Params) -> Result<String, DomainError> {
    let mut found: Vec<String> = Vec::new();
    if let Some(jeton) = params.get("jeton") {
        found.push(jeton.to_owned());
    }
    for value in req.headers().get_all(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| DomainError::InvalidToken)?;
        match text.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                found.push(token.trim().to_owned())
            }
            _ => return Err(DomainError::InvalidToken),
        }
    }
    for value in req.headers().get_all("token") {
        let text = value.to_str().map_err(|_| DomainError::InvalidToken)?;
        found.push(text.trim().to_owned());
    }
    found.retain(|t| !t.is_empty());
    match found.split_first() {
        None => Err(DomainError::InvalidToken),
        Some((first, rest)) => {
            if rest.iter().any(|t| t != first) {
                return Err(malformed("different session tokens in one request"));
            }
            Ok(first.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn form(body: &str) -> Result<Params, DomainError> {
        Params::parse(None, body.as_bytes())
    }

    fn json(body: &str) -> Result<Params, DomainError> {
        Params::parse(Some("application/json"), body.as_bytes())
    }

    /// JSON Schema's `integer` takes `3.0`: so do whole numbers and rights (schemathesis
    /// found `{"rights": 3.0}` refused while `{"quantity": 3.0}` was taken).
    #[test]
    fn whole_numbers_and_rights_take_json_integers_written_with_zero_decimals() {
        let p = json(r#"{"rights": 3.0, "quantity": 2.00, "bad": 2.5}"#).unwrap();
        assert_eq!(p.rights_opt("rights").unwrap(), Rights::from_level(3));
        assert_eq!(p.whole_opt("quantity").unwrap(), Some(2));
        assert!(p.whole_opt("bad").is_err());
        assert!(p.rights_opt("bad").is_err());
        let p = form("rights=2.0&other=4.5").unwrap();
        assert_eq!(p.rights_opt("rights").unwrap(), Rights::from_level(2));
        assert!(p.rights_opt("other").is_err());
    }

    #[test]
    fn forms_with_or_without_content_type() {
        let p = form("jeton=abc&idCarte=AHS0DIEX&montant=10.0").unwrap();
        assert_eq!(p.get("idCarte"), Some("AHS0DIEX"));
        assert_eq!(p.money("montant").unwrap(), Money::from_cents(1000));
        let p = Params::parse(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            b"login=pr%C3%A9z+bar&mdp=a%2Bb%3D%26",
        )
        .unwrap();
        assert_eq!(p.get("login"), Some("préz bar"));
        assert_eq!(p.get("mdp"), Some("a+b=&"));
        assert_eq!(form("").unwrap(), Params::default());
        assert_eq!(form("a&&b=").unwrap().get("a"), None);
    }

    #[test]
    fn duplicates_are_malformed_in_forms_and_json() {
        assert!(form("montant=1&montant=2").is_err());
        assert!(form("montant=1&montant=1").is_err());
        assert!(json(r#"{"montant": 1, "montant": 2}"#).is_err());
        assert!(json(r#"{"montant": null, "montant": 2}"#).is_err());
    }

    #[test]
    fn bad_encodings_are_malformed() {
        assert!(form("a=%zz").is_err());
        assert!(form("a=%4").is_err());
        assert!(form("a=%ff").is_err(), "not UTF-8");
        assert!(Params::parse(Some("text/plain"), b"a=1").is_err());
        assert!(Params::parse(Some("multipart/form-data; boundary=x"), b"").is_err());
    }

    #[test]
    fn json_values_keep_their_exact_text() {
        let p =
            json(r#"{"montant": 10.0, "solde": "15.60", "qte": 2, "decouvert": true, "x": null}"#)
                .unwrap();
        assert_eq!(p.money("montant").unwrap(), Money::from_cents(1000));
        assert_eq!(p.money("solde").unwrap(), Money::from_cents(1560));
        assert_eq!(p.whole_opt("qte").unwrap(), Some(2));
        assert!(p.boolean("decouvert").unwrap());
        assert_eq!(p.get("x"), None);
        for bad in [
            r#"{"montant": 1e3}"#,
            r#"{"montant": 0.001}"#,
            r#"{"montant": 1E2}"#,
        ] {
            assert!(json(bad).unwrap().money("montant").is_err(), "{bad}");
        }
        assert!(json(r#"{"a": [1]}"#).is_err());
        assert!(json(r#"{"a": {"b": 1}}"#).is_err());
        assert!(json("[1, 2]").is_err());
        assert!(json("montant=1").is_err());
        assert!(json("").is_err());
    }

    #[test]
    fn strict_fields() {
        let p = form("a=1,5&b=abc&c=1e3&d=0.001&e=99999999999999999999&f=-0&g=+1&h=%201").unwrap();
        for name in ["a", "b", "c", "d", "e", "f", "g", "h", "missing"] {
            assert!(p.money(name).is_err(), "{name}");
        }
        let p = form("r0=0&r3=3&r4=4&rm=-1&rx=2.5&rs=%201").unwrap();
        assert_eq!(p.rights("r0").unwrap(), Rights::Honeypot);
        assert_eq!(p.rights("r3").unwrap(), Rights::President);
        for name in ["r4", "rm", "rx", "rs"] {
            assert!(p.rights(name).is_err(), "{name}");
        }
        let p = form("t=true&f=false&one=1&zero=0&yes=yes&cap=True").unwrap();
        assert!(p.boolean("t").unwrap() && p.boolean("one").unwrap());
        assert!(!p.boolean("f").unwrap() && !p.boolean("zero").unwrap());
        assert!(p.boolean("yes").is_err() && p.boolean("cap").is_err());
        let p = form("q=2&qd=2.0&qh=2.5&qe=2e1&qn=-1&qb=1.&qx=99999999999999999999").unwrap();
        assert_eq!(p.whole_opt("q").unwrap(), Some(2));
        assert_eq!(p.whole_opt("qd").unwrap(), Some(2));
        assert_eq!(p.whole_opt("qn").unwrap(), Some(-1));
        for name in ["qh", "qe", "qb", "qx"] {
            assert!(p.whole_opt(name).is_err(), "{name}");
        }
        let p = form("id=12&neg=-3&card=04a2b3c4d5e6f7&bad=12%3B").unwrap();
        assert_eq!(p.transaction_id("id").unwrap(), TransactionId(12));
        assert!(p.transaction_id("neg").is_err());
        assert_eq!(p.card("card").unwrap().as_str(), "04A2B3C4D5E6F7");
        assert!(p.card("bad").is_err());
        assert_eq!(p.card_opt("absent").unwrap(), None);
    }

    #[test]
    fn only_declared_fields_of_their_json_type() {
        let fields = [
            ("login", Ty::Text),
            ("amount", Ty::Money),
            ("quantity", Ty::Int),
            ("enabled", Ty::Bool),
        ];
        let ok = json(r#"{"login":"u1","amount":12.5,"quantity":2,"enabled":true}"#).unwrap();
        assert_eq!(ok.only(&fields), Ok(()));
        assert_eq!(
            json(r#"{"amount":"12.50","login":null}"#)
                .unwrap()
                .only(&fields),
            Ok(())
        );
        for (body, field) in [
            (r#"{"login":false}"#, "login"),
            (r#"{"login":12345678}"#, "login"),
            (r#"{"amount":true}"#, "amount"),
            (r#"{"quantity":"2"}"#, "quantity"),
            (r#"{"enabled":"true"}"#, "enabled"),
            (r#"{"enabled":1}"#, "enabled"),
            (r#"{"login":"u1","colour":"red"}"#, "colour"),
        ] {
            match json(body).unwrap().only(&fields) {
                Err(DomainError::Malformed(m)) => assert!(m.contains(&format!("`{field}`")), "{m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        // The POS dialect: strings and numbers interchangeable, booleans only for booleans.
        let pos = |body: &str| json(body).unwrap().lenient().only(&fields);
        assert_eq!(
            pos(r#"{"login":12345678,"quantity":"2","enabled":"1"}"#),
            Ok(())
        );
        assert!(pos(r#"{"login":false}"#).is_err());
        assert!(pos(r#"{"other":1}"#).is_err());
        // Forms are text: their fields' parsers decide; unknown fields are refused all the same.
        assert_eq!(
            form("login=u1&quantity=2&enabled=true")
                .unwrap()
                .only(&fields),
            Ok(())
        );
        assert!(form("colour=red").unwrap().only(&fields).is_err());
    }

    #[test]
    fn the_form_text_null_is_no_value() {
        let p = form("first_name=null&last_name=Lovelace").unwrap();
        assert_eq!(p.get("first_name"), None);
        assert_eq!(p.given("first_name"), Some(""));
        assert!(p.required("first_name").is_err());
        assert_eq!(p.get("last_name"), Some("Lovelace"));
        assert!(form("a=null&a=1").is_err(), "still a duplicate");
        assert_eq!(
            json(r#"{"a":"null"}"#).unwrap().get("a"),
            Some("null"),
            "a JSON string"
        );
    }

    #[test]
    fn tokens_from_field_bearer_or_token_header() {
        let p = form("jeton=AAA").unwrap();
        let req = TestRequest::default().to_http_request();
        assert_eq!(session_token(&req, &p).unwrap(), "AAA");

        let none = Params::default();
        let req = TestRequest::default()
            .insert_header(("Authorization", "Bearer BBB"))
            .to_http_request();
        assert_eq!(session_token(&req, &none).unwrap(), "BBB");
        let req = TestRequest::default()
            .insert_header(("token", "CCC"))
            .to_http_request();
        assert_eq!(session_token(&req, &none).unwrap(), "CCC");

        let req = TestRequest::default().to_http_request();
        assert_eq!(session_token(&req, &none), Err(DomainError::InvalidToken));
        let req = TestRequest::default()
            .insert_header(("Authorization", "Basic Zm9vOmJhcg=="))
            .to_http_request();
        assert_eq!(session_token(&req, &none), Err(DomainError::InvalidToken));
        let req = TestRequest::default()
            .insert_header(("token", "CCC"))
            .to_http_request();
        assert!(matches!(
            session_token(&req, &p),
            Err(DomainError::Malformed(_))
        ));
        let same = form("jeton=CCC").unwrap();
        assert_eq!(session_token(&req, &same).unwrap(), "CCC");
    }
}
