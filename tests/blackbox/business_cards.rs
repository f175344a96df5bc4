//! Seed 003's business cards against the real binary, on each backend: the seed's flow
//! (create → PUT three languages and a photo → GET in the seed's shape → switch a language,
//! the photo and the card → delete a language → delete the card), the refusals (six
//! languages, bad fields by name, a photo of the wrong size or weight left out with the rest
//! kept), who may open a card, the partners' limit, the QR code, and the language repository.

use std::io::Cursor;

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backends, Server};
use crate::v1_partner::{add_partner, token};
use crate::v1_staff::{call, get, post, refused, session};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn put(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PUT, path, Some(token), Some(body), &[]).await
}

async fn delete(s: &Server, path: &str, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::DELETE, path, Some(token), None, &[]).await
}

/// A PNG of `width` × `height`: a smooth gradient (a few kB), or noise (`noisy`: one byte of
/// entropy a pixel, so 300 × 300 weighs about 90 kB).
pub(crate) fn png(width: u32, height: u32, noisy: bool) -> Vec<u8> {
    let mut seed: u32 = 12345;
    let image = image::GrayImage::from_fn(width, height, |x, y| {
        if noisy {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            image::Luma([(seed >> 16) as u8])
        } else {
            image::Luma([((x + y) % 256) as u8])
        }
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// The text of the QR code in a base64 PNG.
pub(crate) fn decode_qr_png(b64: &str) -> String {
    let bytes = B64.decode(b64).unwrap();
    let image = image::load_from_memory(&bytes).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        image.width() as usize,
        image.height() as usize,
        |x, y| image.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

/// Creates a member named `name`; its id.
pub(crate) async fn member(s: &Server, staff: &str, name: &str) -> i64 {
    let (status, _, v) = post(s, "/v1/members", staff, json!({"last_name": name})).await;
    assert_eq!(status, 201, "{v}");
    v["data"]["id"].as_i64().unwrap()
}

/// Creates `member`'s business card; its `cardId`, checking the seed's answer.
pub(crate) async fn create_card(s: &Server, token: &str, member: i64) -> String {
    let (status, headers, v) = post(
        s,
        &format!("/v1/members/{member}/business-card"),
        token,
        Value::Null,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["code"], "BUSINESS_CARD_CREATED");
    let id = v["data"]["cardId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
    assert_eq!(
        headers["location"],
        format!("/v1/business-cards/{id}").as_str()
    );
    let addr = format!("{}/c/{id}", s.base);
    assert_eq!(v["data"]["cardAddr"], addr.as_str());
    assert_eq!(decode_qr_png(v["data"]["cardQrc"].as_str().unwrap()), addr);
    id
}

/// Asserts a validation refusal naming `field`.
#[track_caller]
fn names_field(answer: &(u16, reqwest::header::HeaderMap, Value), field: &str) {
    refused(answer, 400, "VALIDATION_ERROR");
    let debug = answer.2["debugMessage"].as_str().unwrap();
    assert!(debug.contains(&format!("`{field}`")), "{debug}");
}

#[tokio::test]
async fn the_seeds_flow_from_creation_to_deletion() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let id = member(&s, &bde, "Kowalski").await;
        let card = create_card(&s, &bde, id).await;
        let path = format!("/v1/business-cards/{card}");
        let photo = B64.encode(png(300, 300, false));

        let (status, _, v) = put(
            &s,
            &path,
            &bde,
            json!({
                "settings": {"cardStatus": "1", "usePhoto": "1"},
                "translatable": {
                    "en": {"displayName": "Non-scary dental services", "name": "John",
                           "lastname": "Kowalski", "position": "CEO",
                           "keywords": "teeth, smiles"},
                    "pl": {"displayName": "", "name": "Jan", "lastname": "Kowalski",
                           "position": "Prezes"},
                    "ru": {"langStatus": 1, "name": "", "lastname": "Ковалский",
                           "position": "Директор"}
                },
                "non-translatable": {"thumbnail": photo, "mobileA": "0048 123 456 789",
                                     "emailB": "jan@example.org",
                                     "webB": "https://example.org/jan"}
            }),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "BUSINESS_CARD_UPDATED");

        let (status, _, v) = get(&s, &path, &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "BUSINESS_CARD");
        let d = &v["data"];
        let t = &d["translatable"];
        assert_eq!(t.as_object().unwrap().len(), 3, "{t}");
        assert_eq!(t["en"]["displayName"], "Non-scary dental services");
        assert_eq!(t["en"]["position"], "CEO");
        assert_eq!(t["en"]["langStatus"], "1");
        assert_eq!(t["pl"]["displayName"], Value::Null);
        assert_eq!(t["pl"]["position"], "Prezes");
        assert_eq!(t["ru"]["name"], Value::Null);
        assert_eq!(t["ru"]["lastname"], "Ковалский");
        let n = &d["non-translatable"];
        assert_eq!(n["thumbnail"], photo.as_str());
        assert_eq!(n["mobileA"], "+48123456789");
        assert_eq!(n["emailB"], "jan@example.org");
        assert_eq!(n["webB"], "https://example.org/jan");
        assert_eq!(n["phoneA"], Value::Null);
        let settings = &d["settings"];
        assert_eq!(settings["cardId"], card.as_str());
        assert_eq!(settings["cardStatus"], "1");
        assert_eq!(settings["usePhoto"], "1");
        let addr = format!("{}/c/{card}", s.base);
        assert_eq!(settings["cardAddr"], addr.as_str());
        assert_eq!(decode_qr_png(settings["cardQrc"].as_str().unwrap()), addr);

        // Only the fields sent change.
        let (status, _, v) = put(
            &s,
            &path,
            &bde,
            json!({"translatable": {"pl": {"position": "Dyrektor"}},
                   "non-translatable": {"phoneA": "+48 22 123 45 67"}}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let d = &v["data"];
        assert_eq!(d["translatable"]["pl"]["position"], "Dyrektor");
        assert_eq!(d["translatable"]["pl"]["name"], "Jan");
        assert_eq!(d["non-translatable"]["mobileA"], "+48123456789");
        assert_eq!(d["non-translatable"]["phoneA"], "+48221234567");
        assert_eq!(d["non-translatable"]["thumbnail"], photo.as_str());

        // Switches: a language, the photo, the card — off and on again.
        for (switch, read) in [
            ("langStatus/pl", ["translatable", "pl", "langStatus"]),
            ("usePhoto", ["settings", "usePhoto", ""]),
            ("cardStatus", ["settings", "cardStatus", ""]),
        ] {
            for (status_word, expected) in [("disable", "0"), ("enable", "1")] {
                let (status, _, v) = put(
                    &s,
                    &format!("{path}/{switch}/{status_word}"),
                    &bde,
                    Value::Null,
                )
                .await;
                assert_eq!(status, 200, "{switch} {v}");
                assert_eq!(v["code"], "BUSINESS_CARD_UPDATED");
                let (_, _, v) = get(&s, &path, &bde).await;
                let mut value = &v["data"];
                for key in read.iter().filter(|k| !k.is_empty()) {
                    value = &value[*key];
                }
                assert_eq!(value, expected, "{switch}/{status_word}: {v}");
            }
        }
        let bad = put(&s, &format!("{path}/usePhoto/maybe"), &bde, Value::Null).await;
        refused(&bad, 400, "VALIDATION_ERROR");
        let unknown = put(
            &s,
            &format!("{path}/langStatus/de/disable"),
            &bde,
            Value::Null,
        )
        .await;
        refused(&unknown, 404, "CARD_ID_NOT_FOUND_ERROR");

        // Delete a language, then the card.
        let (status, _, v) = delete(&s, &format!("{path}/ru"), &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "BUSINESS_CARD_LANGUAGE_DELETED");
        let (_, _, v) = get(&s, &path, &bde).await;
        let langs: Vec<&String> = v["data"]["translatable"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(langs, ["en", "pl"]);
        refused(
            &delete(&s, &format!("{path}/ru"), &bde).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );

        let (status, _, v) = delete(&s, &path, &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "BUSINESS_CARD_DELETED");
        refused(&get(&s, &path, &bde).await, 404, "CARD_ID_NOT_FOUND_ERROR");
        refused(
            &delete(&s, &path, &bde).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        // The member may have a new one.
        create_card(&s, &bde, id).await;
    }
}

#[tokio::test]
async fn bad_requests_are_refused_by_name_and_bad_photos_left_out_with_the_rest_kept() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let id = member(&s, &bde, "Connor").await;
        let card = create_card(&s, &bde, id).await;
        let path = format!("/v1/business-cards/{card}");
        let photo = B64.encode(png(300, 300, false));
        let (status, _, v) = put(
            &s,
            &path,
            &bde,
            json!({"translatable": {"en": {"name": "John"}},
                   "non-translatable": {"thumbnail": photo}}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let before = get(&s, &path, &bde).await.2;

        // Six languages: refused (the seed silently ignored the sixth), nothing changes.
        let six: serde_json::Map<String, Value> = ["en", "pl", "es", "pt", "ru", "zh"]
            .iter()
            .map(|l| ((*l).to_owned(), json!({"name": "John"})))
            .collect();
        names_field(
            &put(&s, &path, &bde, json!({"translatable": six})).await,
            "translatable",
        );
        // Bad fields, each named; nothing changes.
        for (body, field) in [
            (
                json!({"translatable": {"pl": {"name": "x".repeat(65)}}}),
                "translatable.pl.name",
            ),
            (
                json!({"translatable": {"pl": {"displayName": "x".repeat(129)}}}),
                "translatable.pl.displayName",
            ),
            (
                json!({"translatable": {"pl": {"keywords": "k".repeat(151)}}}),
                "translatable.pl.keywords",
            ),
            (
                json!({"translatable": {"xx": {"name": "John"}}}),
                "translatable.xx",
            ),
            (
                json!({"non-translatable": {"mobileA": "06 12 34 56 78"}}),
                "non-translatable.mobileA",
            ),
            (
                json!({"non-translatable": {"emailB": "not-an-address"}}),
                "non-translatable.emailB",
            ),
            (
                json!({"non-translatable": {"webC": "javascript:alert(1)"}}),
                "non-translatable.webC",
            ),
            (
                json!({"translatable": {"en": {"name": "Johnny"}}, "non-translatable": {"faxA": "12"}}),
                "non-translatable.faxA",
            ),
        ] {
            names_field(&put(&s, &path, &bde, body.clone()).await, field);
        }
        for body in [
            json!({"settings": {"cardStatus": "2"}}),
            json!({"translatable": {"en": {"nickname": "J"}}}),
            json!({"colour": "blue"}),
        ] {
            refused(&put(&s, &path, &bde, body).await, 400, "VALIDATION_ERROR");
        }
        assert_eq!(get(&s, &path, &bde).await.2, before);

        // A photo of 301 × 300 px, or of more than 50 kB: left out, the rest saved.
        let wide = B64.encode(png(301, 300, false));
        let heavy = png(300, 300, true);
        assert!(heavy.len() > 50_000, "{}", heavy.len());
        for (bad, name) in [(wide, "Jack"), (B64.encode(heavy), "Jim")] {
            let (status, _, v) = put(
                &s,
                &path,
                &bde,
                json!({"translatable": {"en": {"name": name}},
                       "non-translatable": {"thumbnail": bad, "skypeB": name}}),
            )
            .await;
            assert_eq!(status, 200, "{v}");
            assert_eq!(v["success"], true);
            assert_eq!(v["code"], "THUMBNAIL_REJECTED_ERROR");
            let (_, _, v) = get(&s, &path, &bde).await;
            assert_eq!(v["data"]["translatable"]["en"]["name"], name);
            assert_eq!(v["data"]["non-translatable"]["skypeB"], name);
            assert_eq!(v["data"]["non-translatable"]["thumbnail"], photo.as_str());
        }
        // A blank photo removes it.
        let (_, _, v) = put(
            &s,
            &path,
            &bde,
            json!({"non-translatable": {"thumbnail": ""}}),
        )
        .await;
        assert_eq!(
            v["data"]["non-translatable"]["thumbnail"],
            Value::Null,
            "{v}"
        );

        // Unknown cards and members.
        let nobody = format!("/v1/business-cards/{}", "A".repeat(32));
        refused(
            &get(&s, &nobody, &bde).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        refused(
            &put(&s, &nobody, &bde, json!({})).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        refused(
            &get(&s, "/v1/business-cards/short", &bde).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        refused(
            &post(&s, "/v1/members/999/business-card", &bde, Value::Null).await,
            404,
            "MEMBER_NOT_FOUND_ERROR",
        );
        refused(
            &post(
                &s,
                &format!("/v1/members/{id}/business-card"),
                &bde,
                Value::Null,
            )
            .await,
            409,
            "BUSINESS_CARD_EXISTS_ERROR",
        );
        // Honeypot staff (rights 0) may not.
        let honeypot = session(&s, "honeypot").await;
        refused(
            &get(&s, &path, &honeypot).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
    }
}

#[tokio::test]
async fn partners_open_only_their_cards_within_their_limit() {
    for backend in backends() {
        let s = Server::start_with(backend, &[("ARDOISE__PARTNERS__BUSINESS_CARDS", "2")]);
        let bde = session(&s, "bde").await;
        let writer = add_partner(&s.db, "Bonder", "members:write", &[]);
        let other = add_partner(&s.db, "Other", "members:write", &[]);
        let reader = add_partner(&s.db, "Reader", "members:read", &[]);
        let (writer, other, reader) = (
            token(&s, &writer).await,
            token(&s, &other).await,
            token(&s, &reader).await,
        );
        let members = [
            member(&s, &bde, "Un").await,
            member(&s, &bde, "Deux").await,
            member(&s, &bde, "Trois").await,
        ];
        let card = create_card(&s, &writer, members[0]).await;
        let path = format!("/v1/business-cards/{card}");
        let (status, _, v) = put(
            &s,
            &path,
            &writer,
            json!({"translatable": {"un": {"displayName": "Bonder"}}}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        // Another partner's card is unknown to it; a partner without the scope is refused.
        refused(
            &get(&s, &path, &other).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        refused(
            &delete(&s, &path, &other).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        refused(
            &get(&s, &path, &reader).await,
            403,
            "INSUFFICIENT_SCOPE_ERROR",
        );
        refused(
            &post(
                &s,
                &format!("/v1/members/{}/business-card", members[1]),
                &reader,
                Value::Null,
            )
            .await,
            403,
            "INSUFFICIENT_SCOPE_ERROR",
        );
        // Staff see every card.
        assert_eq!(get(&s, &path, &bde).await.0, 200);

        // The limit: 2 cards for this partner, counted even when created at once.
        let (one, two) = (
            format!("/v1/members/{}/business-card", members[1]),
            format!("/v1/members/{}/business-card", members[2]),
        );
        let (a, b) = tokio::join!(
            post(&s, &one, &writer, Value::Null),
            post(&s, &two, &writer, Value::Null)
        );
        let (created, over) = if a.0 == 201 { (a, b) } else { (b, a) };
        assert_eq!(created.0, 201, "{}", created.2);
        refused(&over, 409, "PROFILE_LIMIT_REACHED_ERROR");
        // Staff are not limited, nor another partner.
        let fourth = member(&s, &bde, "Quatre").await;
        create_card(&s, &other, fourth).await;
    }
}

#[tokio::test]
async fn the_language_repository_names_cldrs_languages() {
    use ardoise_domain::languages;
    let s = Server::start(backends()[0]);
    let public = |path: &'static str| {
        let s = &s;
        async move { call(s, Method::GET, path, None, None, &[]).await }
    };
    let (status, _, v) = public("/v1/languages/fr").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["code"], "LANGUAGE_NAMES");
    let fr = v["data"].as_object().unwrap();
    assert!(fr.len() >= 60, "{}", fr.len());
    assert_eq!(fr["en"], languages::name_in("fr", "en").unwrap());
    assert_eq!(fr["de"], languages::name_in("fr", "de").unwrap());
    let (status, _, v) = public("/v1/languages/local").await;
    assert_eq!(status, 200, "{v}");
    let local = v["data"].as_object().unwrap();
    assert_eq!(local.len(), languages::codes().len());
    assert_eq!(local["ru"], languages::name_in("ru", "ru").unwrap());
    assert_eq!(local["pl"], languages::name_in("pl", "pl").unwrap());
    // Each name in its own language, and not the English one.
    assert_ne!(local["ru"], languages::name_in("en", "ru").unwrap());
    let (status, _, v) = public("/v1/languages/xx").await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["code"], "RESOURCE_NOT_FOUND_ERROR");
}

/// The text of the QR code drawn by `/c/{cardId}/qr.svg` (the `qrcode` crate's SVG: one path
/// of `M{x} {y}h{w}v{h}H{x}V{y}` rectangles), rasterised for `rqrr`.
fn decode_qr_svg(svg: &str) -> String {
    let number = |text: &str, key: &str| -> usize {
        let start = text.find(key).unwrap() + key.len();
        text[start..].split('"').next().unwrap().parse().unwrap()
    };
    let (width, height) = (number(svg, " width=\""), number(svg, " height=\""));
    let mut dark = vec![false; width * height];
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let (x, y, w, h) = (numbers[0], numbers[1], numbers[2], numbers[3]);
        for row in y..y + h {
            for col in x..x + w {
                dark[row * width + col] = true;
            }
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark[y * width + x] {
            0
        } else {
            255
        }
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

async fn page(s: &Server, path: &str, lang: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = s
        .client
        .get(format!("{}{path}", s.base))
        .header("Accept-Language", lang)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_public_page_its_vcard_and_qr_code_in_the_visitors_language() {
    for (i, backend) in backends().into_iter().enumerate() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let id = member(&s, &bde, "Kowalski").await;
        // The member has money on a payment card: the business card never shows it.
        let (status, _, v) = post(
            &s,
            "/v1/cards",
            &bde,
            json!({"card": "04C0FFEE01", "balance": "12.34"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let (status, _, v) = post(
            &s,
            &format!("/v1/members/{id}/cards"),
            &bde,
            json!({"card": "04C0FFEE01"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let card = create_card(&s, &bde, id).await;
        let photo = B64.encode(png(300, 300, false));
        let (status, _, v) = put(
            &s,
            &format!("/v1/business-cards/{card}"),
            &bde,
            json!({
                "translatable": {
                    "pl": {"name": "Jan", "lastname": "Kowalski", "position": "Prezes"},
                    "en": {"name": "John", "lastname": "Kowalski", "position": "Chief executive"},
                    "ru": {"name": "Ян", "lastname": "Ковалский", "position": "Директор", "langStatus": 0}
                },
                "non-translatable": {"thumbnail": photo, "mobileA": "+48 123 456 789",
                                     "phoneA": "0048 22 123 45 67", "emailB": "jan@example.org",
                                     "webB": "https://example.org/jan"}
            }),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let addr = format!("{}/c/{card}", s.base);

        // The page in the visitor's language; a disabled language is never chosen.
        let (status, headers, html) = page(&s, &format!("/c/{card}"), "pl,en;q=0.5").await;
        assert_eq!(status, 200, "{html}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(html.contains("lang=\"pl\""), "{html}");
        assert!(
            html.contains("Jan Kowalski") && html.contains("Prezes"),
            "{html}"
        );
        assert!(!html.contains("Chief executive"), "{html}");
        assert!(html.contains("href=\"tel:+48123456789\""), "{html}");
        assert!(html.contains("href=\"mailto:jan@example.org\""), "{html}");
        assert!(html.contains(&format!("href=\"/c/{card}.vcf\"")), "{html}");
        assert!(html.contains(&photo), "the photo is shown");
        for money in ["12.34", "12,34", "€", "EUR", "04C0FFEE01"] {
            assert!(!html.contains(money), "{money} on the public page");
        }
        let (_, _, html) = page(&s, &format!("/c/{card}"), "de, en;q=0.8, pl;q=0.7").await;
        assert!(
            html.contains("Chief executive") && !html.contains("Prezes"),
            "{html}"
        );
        let (_, _, html) = page(&s, &format!("/c/{card}"), "ru").await;
        assert!(
            !html.contains("Директор"),
            "a disabled language is not shown: {html}"
        );
        let (_, _, html) = page(&s, &format!("/c/{card}?lang=en"), "pl").await;
        assert!(html.contains("Chief executive"), "{html}");

        // The vCard 4.0, parsed by a vCard library: name, phones, photo.
        let (status, headers, text) = page(&s, &format!("/c/{card}.vcf"), "pl").await;
        assert_eq!(status, 200, "{text}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/vcard"));
        let cards = vcard4::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(cards.len(), 1);
        let vcard = &cards[0];
        assert_eq!(vcard.formatted_name[0].value, "Jan Kowalski");
        let tels: Vec<String> = vcard.tel.iter().map(|t| t.to_string()).collect();
        assert!(
            tels.iter().any(|t| t.contains("tel:+48123456789")),
            "{tels:?}"
        );
        assert!(
            tels.iter().any(|t| t.contains("tel:+48221234567")),
            "{tels:?}"
        );
        let photos: Vec<String> = vcard.photo.iter().map(|p| p.to_string()).collect();
        assert_eq!(photos.len(), 1, "{photos:?}");
        assert!(
            photos[0].contains(&format!("data:image/png;base64,{photo}")),
            "{photos:?}"
        );

        // The QR code to print decodes to the card's address.
        let (status, headers, svg) = page(&s, &format!("/c/{card}/qr.svg"), "pl").await;
        assert_eq!(status, 200, "{svg}");
        assert_eq!(headers["content-type"], "image/svg+xml");
        assert_eq!(decode_qr_svg(&svg), addr);

        // In Chromium, a Polish browser sees the Polish version (once: the pages are the
        // same on both backends).
        if i == 0 {
            if let Some(browser) = crate::browser::Browser::start_in("pl").await {
                browser.client.goto(&addr).await.unwrap();
                let heading = browser.find("//article[@lang='pl']//h1").await;
                assert_eq!(heading.text().await.unwrap(), "Jan Kowalski");
                browser
                    .find("//article[@lang='pl']//p[normalize-space(.)='Prezes']")
                    .await;
                let vcf = browser.link("Add to contacts").await;
                assert_eq!(
                    vcf.attr("href").await.unwrap().as_deref(),
                    Some(format!("/c/{card}.vcf").as_str())
                );
                browser.find("//nav//a[@lang='en']").await;
                browser.stop().await;
            }
        }

        // The photo switched off: not shown, not in the vCard.
        let off = put(
            &s,
            &format!("/v1/business-cards/{card}/usePhoto/disable"),
            &bde,
            Value::Null,
        )
        .await;
        assert_eq!(off.0, 200, "{}", off.2);
        let (_, _, html) = page(&s, &format!("/c/{card}"), "pl").await;
        assert!(!html.contains(&photo));
        let (_, _, text) = page(&s, &format!("/c/{card}.vcf"), "pl").await;
        assert!(vcard4::parse(&text).unwrap()[0].photo.is_empty(), "{text}");

        // The card switched off: no page, no vCard, no QR code.
        let off = put(
            &s,
            &format!("/v1/business-cards/{card}/cardStatus/disable"),
            &bde,
            Value::Null,
        )
        .await;
        assert_eq!(off.0, 200, "{}", off.2);
        for path in [
            format!("/c/{card}"),
            format!("/c/{card}.vcf"),
            format!("/c/{card}/qr.svg"),
        ] {
            assert_eq!(page(&s, &path, "pl").await.0, 404, "{path}");
        }
        assert_eq!(page(&s, "/c/nothing-here", "pl").await.0, 404);
    }
}

/// A member with an account: invited by staff, password set, logged in; their token.
async fn member_session(s: &Server, staff: &str, id: i64, email: &str) -> String {
    let (status, _, v) = call(
        s,
        Method::PATCH,
        &format!("/v1/members/{id}"),
        Some(staff),
        Some(json!({"email": email})),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, _, v) = post(
        s,
        &format!("/v1/members/{id}/invitation"),
        staff,
        Value::Null,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let link = v["data"]["link"].as_str().unwrap();
    let token = link.rsplit('/').next().unwrap();
    let body = json!({"token": token, "password": "correct horse"});
    let (status, _, v) = call(
        s,
        Method::POST,
        "/v1/member-passwords",
        None,
        Some(body),
        &[],
    )
    .await;
    assert_eq!(status, 204, "{v}");
    let body = json!({"email": email, "password": "correct horse"});
    let (status, _, v) = call(
        s,
        Method::POST,
        "/v1/member-sessions",
        None,
        Some(body),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["data"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_member_edits_their_own_card_only_and_it_leaves_with_them() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let (alpha, bravo) = (
            member(&s, &bde, "Alpha").await,
            member(&s, &bde, "Bravo").await,
        );
        let me = member_session(&s, &bde, alpha, "alpha@example.org").await;
        // Not for someone else; for themself, yes.
        refused(
            &post(
                &s,
                &format!("/v1/members/{bravo}/business-card"),
                &me,
                Value::Null,
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        let mine = create_card(&s, &me, alpha).await;
        let theirs = create_card(&s, &bde, bravo).await;
        let (status, _, v) = put(
            &s,
            &format!("/v1/business-cards/{mine}"),
            &me,
            json!({"translatable": {"un": {"displayName": "Alpha & co"}}}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        refused(
            &get(&s, &format!("/v1/business-cards/{theirs}"), &me).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        refused(
            &put(
                &s,
                &format!("/v1/business-cards/{theirs}/cardStatus/disable"),
                &me,
                Value::Null,
            )
            .await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        // The public page shows the universal version to anyone.
        let (status, _, html) = page(&s, &format!("/c/{mine}"), "pl").await;
        assert_eq!(status, 200);
        assert!(html.contains("Alpha &amp; co"), "{html}");
        // Deleting their data deletes their business card (the ledger stays, not the card).
        let (status, _, v) = call(&s, Method::DELETE, "/v1/me", Some(&me), None, &[]).await;
        assert_eq!(status, 204, "{v}");
        refused(
            &get(&s, &format!("/v1/business-cards/{mine}"), &bde).await,
            404,
            "CARD_ID_NOT_FOUND_ERROR",
        );
        assert_eq!(page(&s, &format!("/c/{mine}"), "pl").await.0, 404);
        assert_eq!(
            get(&s, &format!("/v1/business-cards/{theirs}"), &bde)
                .await
                .0,
            200
        );
    }
}
