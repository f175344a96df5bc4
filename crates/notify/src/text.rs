//! The words of a message as each channel shows them.

use ardoise_domain::Delivery;

/// The message as plain text: the message, then its link on a line of its own.
pub(crate) fn plain(delivery: &Delivery) -> String {
    match &delivery.link {
        Some(link) => format!("{}\n\n{link}\n", delivery.message),
        None => format!("{}\n", delivery.message),
    }
}

/// One line for an SMS: `title: message link`.
pub(crate) fn one_line(delivery: &Delivery) -> String {
    let mut text = format!("{}: {}", delivery.title, delivery.message);
    if let Some(link) = &delivery.link {
        text.push(' ');
        text.push_str(link);
    }
    text
}

/// `text` safe inside HTML text and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }
}
