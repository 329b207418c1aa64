//! QR codes as inline SVG.

use maud::{Markup, PreEscaped};

/// The SVG element of a rendered QR code (its XML declaration dropped for inline HTML).
/// The SVG comes from the `qrcode` crate, never from input, so it is spliced unescaped.
pub(crate) fn inline_svg(svg: &str) -> Markup {
    PreEscaped(
        svg.split_once("<svg")
            .map(|(_, rest)| format!("<svg{rest}"))
            .unwrap_or_default(),
    )
}

/// `text` as a QR code; `None` when it is too long for one.
pub(crate) fn qr_svg(text: &str) -> Option<Markup> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    Some(inline_svg(&svg))
}
