//! A business card's public page (seed 003, business-cards.md): `/c/{cardId}` in the
//! visitor's language, its QR code `/c/{cardId}/qr.svg` and its vCard `/c/{cardId}.vcf`. Only
//! an enabled card is shown; nothing of the member's money ever is.

use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::{
    languages, BusinessCard, BusinessCardId, BusinessCards, CardVersion, DomainError,
};
use maud::html;

use crate::i18n::Lang;
use crate::pages::{html_page, layout, Chrome, PageError};

/// The page's policy: the pages' own, with the photo inline (`data:`).
const CARD_CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                        form-action 'self'; base-uri 'none'";

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/c/{card}/qr.svg", web::get().to(qr_code))
        .route("/c/{card}", web::get().to(card_or_vcard));
}

/// The texts of the page, in the pages' language.
struct Labels {
    add_to_contacts: &'static str,
    phone: &'static str,
    mobile: &'static str,
    fax: &'static str,
    email: &'static str,
    web: &'static str,
    skype: &'static str,
    region: &'static str,
    languages: &'static str,
    universal: &'static str,
    photo: &'static str,
    qr_code: &'static str,
}

fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::En => Labels {
            add_to_contacts: "Add to contacts",
            phone: "Phone",
            mobile: "Mobile",
            fax: "Fax",
            email: "E-mail",
            web: "Website",
            skype: "Skype",
            region: "Region",
            languages: "Languages",
            universal: "Universal",
            photo: "Photo",
            qr_code: "QR code of this card",
        },
        Lang::Fr => Labels {
            add_to_contacts: "Ajouter aux contacts",
            phone: "Téléphone",
            mobile: "Portable",
            fax: "Fax",
            email: "E-mail",
            web: "Site web",
            skype: "Skype",
            region: "Région",
            languages: "Langues",
            universal: "Universel",
            photo: "Photo",
            qr_code: "Code QR de cette carte",
        },
    }
}

/// The visitor's languages, best first: `?lang=`, then `Accept-Language` by its weights.
fn wanted_languages(req: &HttpRequest) -> Vec<String> {
    let mut wanted: Vec<(String, f32)> = Vec::new();
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    if let Some(lang) = query.get("lang") {
        wanted.push((lang.clone(), 2.0));
    }
    let header = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for range in header.split(',') {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let primary = tag
            .split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let weight = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        if !primary.is_empty() && primary != "*" {
            wanted.push((primary, weight));
        }
    }
    // A stable sort keeps the header's order among equal weights.
    wanted.sort_by(|a, b| b.1.total_cmp(&a.1));
    wanted.into_iter().map(|(lang, _)| lang).collect()
}

/// The address of the request's site, for a card's address when none is configured.
fn origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// An enabled card, or the 404 page.
async fn public_card(
    req: &HttpRequest,
    cards: &Data<BusinessCards>,
    id: &str,
) -> Result<BusinessCard, PageError> {
    let lang = Lang::of(req);
    let found = match BusinessCardId::parse(id) {
        Ok(id) => cards.public(&id).await,
        Err(e) => Err(e),
    };
    found.map_err(|e| match e {
        DomainError::UnknownBusinessCard => PageError::NotFound(Chrome::anonymous(req)),
        e => PageError::from_domain(lang, e),
    })
}

/// `/c/{cardId}`: the page; `/c/{cardId}.vcf`: the vCard.
async fn card_or_vcard(
    req: HttpRequest,
    cards: Data<BusinessCards>,
    path: Path<String>,
) -> Result<HttpResponse, PageError> {
    if let Some(id) = path.strip_suffix(".vcf") {
        let card = public_card(&req, &cards, id).await?;
        let lang = card.version_for(wanted_languages(&req).iter().map(String::as_str));
        let body = vcard(&card, lang.and_then(|l| card.versions.get(l)));
        return Ok(HttpResponse::Ok()
            .content_type("text/vcard; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.vcf\""),
            ))
            .body(body));
    }
    let card = public_card(&req, &cards, &path).await?;
    Ok(page(&req, &card))
}

/// `/c/{cardId}/qr.svg`: the QR code of the card's address, to print.
async fn qr_code(
    req: HttpRequest,
    cards: Data<BusinessCards>,
    path: Path<String>,
) -> Result<HttpResponse, PageError> {
    let card = public_card(&req, &cards, &path).await?;
    let address = cards.address(&origin(&req), &card.id);
    let code = qrcode::QrCode::new(address.as_bytes()).map_err(|e| {
        PageError::from_domain(Lang::of(&req), DomainError::Internal(e.to_string()))
    })?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(HttpResponse::Ok().content_type("image/svg+xml").body(svg))
}

/// The MIME type of a photo from its base64 (PNG or JPEG, as checked when it was saved).
fn photo_type(base64: &str) -> &'static str {
    if base64.starts_with("/9j/") {
        "image/jpeg"
    } else {
        "image/png"
    }
}

fn page(req: &HttpRequest, card: &BusinessCard) -> HttpResponse {
    let chrome = Chrome::anonymous(req);
    let l = labels(chrome.lang);
    let shown = card.version_for(wanted_languages(req).iter().map(String::as_str));
    let version = shown.and_then(|lang| card.versions.get(lang));
    let empty = CardVersion::default();
    let v = version.unwrap_or(&empty);
    let name = v.shown_name();
    let title = if name.is_empty() {
        card.id.to_string()
    } else {
        name.clone()
    };
    let c = &card.contact;
    let phones = [
        (l.phone, &c.phone_a),
        (l.phone, &c.phone_b),
        (l.mobile, &c.mobile_a),
        (l.mobile, &c.mobile_b),
        (l.fax, &c.fax_a),
        (l.fax, &c.fax_b),
    ];
    let id = card.id.as_str();
    let photo = card
        .thumbnail
        .as_deref()
        .filter(|_| card.use_photo)
        .map(|b64| format!("data:{};base64,{b64}", photo_type(b64)));
    let language_name = |code: &str| -> String {
        if code == languages::UNIVERSAL {
            l.universal.to_owned()
        } else {
            languages::name_in(code, code).unwrap_or(code).to_owned()
        }
    };
    let markup = layout(
        &chrome,
        &title,
        html! {
            article.card.business-card lang=[shown.filter(|s| *s != languages::UNIVERSAL)] {
                @if let Some(src) = &photo {
                    img.photo src=(src) alt={ (l.photo) " — " (name) } width="150" height="150";
                }
                h1 { (name) }
                @if !v.business_mode() {
                    @if let Some(position) = &v.position { p.position { (position) } }
                }
                @if let Some(keywords) = &v.keywords { p.keywords { (keywords) } }
                ul.contact {
                    @for (label, number) in phones {
                        @if let Some(number) = number {
                            li { (label) ": " a href={ "tel:" (number) } { (number) } }
                        }
                    }
                    @if let Some(email) = &c.email_b {
                        li { (l.email) ": " a href={ "mailto:" (email) } { (email) } }
                    }
                    @for site in [&c.web_b, &c.web_c].into_iter().flatten() {
                        li { (l.web) ": " a href=(site) rel="noopener" { (site) } }
                    }
                    @if let Some(skype) = &c.skype_b {
                        li { (l.skype) ": " a href={ "skype:" (skype) "?call" } { (skype) } }
                    }
                    @if let Some(region) = &c.addr_state {
                        li { (l.region) ": " (region) }
                    }
                }
                p { a.button href={ "/c/" (id) ".vcf" } download { (l.add_to_contacts) } }
                img.qr src={ "/c/" (id) "/qr.svg" } alt=(l.qr_code) width="200" height="200";
            }
            @let enabled: Vec<&str> = card.enabled_versions().map(|(code, _)| code).collect();
            @if enabled.len() > 1 {
                nav.card-languages aria-label=(l.languages) {
                    ul {
                        @for code in enabled {
                            li {
                                a href={ "/c/" (id) "?lang=" (code) }
                                    lang=[(code != languages::UNIVERSAL).then_some(code)]
                                    aria-current=[(Some(code) == shown).then_some("page")] {
                                    (language_name(code))
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    let mut answer = html_page(StatusCode::OK, markup);
    if let Ok(csp) = header::HeaderValue::from_str(CARD_CSP) {
        answer
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    answer
}

/// A vCard 4.0 (RFC 6350) of the card in `version`'s language: name, organisation or title,
/// phones, e-mail, web sites, Skype, region, keywords and the photo when shown.
fn vcard(card: &BusinessCard, version: Option<&CardVersion>) -> String {
    let empty = CardVersion::default();
    let v = version.unwrap_or(&empty);
    let mut lines = vec!["BEGIN:VCARD".to_owned(), "VERSION:4.0".to_owned()];
    let name = v.shown_name();
    lines.push(format!(
        "FN:{}",
        escape(if name.is_empty() {
            card.id.as_str()
        } else {
            &name
        })
    ));
    if v.business_mode() {
        lines.push("KIND:org".to_owned());
        if let Some(org) = &v.display_name {
            lines.push(format!("ORG:{}", escape(org)));
        }
    } else {
        lines.push(format!(
            "N:{};{};;;",
            escape(v.lastname.as_deref().unwrap_or_default()),
            escape(v.name.as_deref().unwrap_or_default())
        ));
        if let Some(title) = &v.position {
            lines.push(format!("TITLE:{}", escape(title)));
        }
    }
    let c = &card.contact;
    for (kind, number) in [
        ("\"work,voice\"", &c.phone_a),
        ("\"work,voice\"", &c.phone_b),
        ("\"cell,voice\"", &c.mobile_a),
        ("\"cell,voice\"", &c.mobile_b),
        ("fax", &c.fax_a),
        ("fax", &c.fax_b),
    ] {
        if let Some(number) = number {
            lines.push(format!("TEL;VALUE=uri;TYPE={kind}:tel:{number}"));
        }
    }
    if let Some(email) = &c.email_b {
        lines.push(format!("EMAIL:{}", escape(email)));
    }
    for site in [&c.web_b, &c.web_c].into_iter().flatten() {
        lines.push(format!("URL:{site}"));
    }
    if let Some(skype) = &c.skype_b {
        lines.push(format!("IMPP:skype:{skype}"));
    }
    if let Some(region) = &c.addr_state {
        lines.push(format!("ADR:;;;;{};;", escape(region)));
    }
    if let Some(keywords) = &v.keywords {
        let words: Vec<String> = keywords
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(escape)
            .collect();
        if !words.is_empty() {
            lines.push(format!("CATEGORIES:{}", words.join(",")));
        }
    }
    if let (Some(photo), true) = (&card.thumbnail, card.use_photo) {
        lines.push(format!("PHOTO:data:{};base64,{photo}", photo_type(photo)));
    }
    lines.push("END:VCARD".to_owned());
    lines.iter().map(String::as_str).map(fold).collect()
}

/// A text value escaped as RFC 6350 §3.4 says: `\\`, `\,`, `\;`, `\n`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded at 75 octets (RFC 6350 §3.2) without cutting a character, and
/// ended by CRLF.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 74 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_folded_at_75_octets_on_character_boundaries() {
        let folded = fold(&format!("NOTE:{}", "é".repeat(100)));
        for line in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{}", line.len());
        }
        let unfolded = folded.replace("\r\n ", "");
        assert_eq!(unfolded, format!("NOTE:{}\r\n", "é".repeat(100)));
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
