//! What an upload is, read from its bytes (FIL-1), and the copy others
//! receive: image metadata (EXIF, XMP, comments, PNG text chunks — the
//! location among them) removed without re-encoding the picture
//! (`img-parts` rewrites the container and keeps the image data as is).

use actix_web::web::Bytes;
use img_parts::ImageEXIF;

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    WebP,
    Pdf,
}

impl Kind {
    /// The kind the bytes are, by their signature; `None`: not accepted
    /// (whatever the name says).
    pub fn sniff(bytes: &[u8]) -> Option<Kind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Kind::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Kind::WebP)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Kind::Pdf)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::WebP => "image/webp",
            Kind::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::WebP => "webp",
            Kind::Pdf => "pdf",
        }
    }

    pub fn is_image(self) -> bool {
        !matches!(self, Kind::Pdf)
    }
}

/// PNG chunks that carry metadata rather than the picture.
const PNG_METADATA: [[u8; 4]; 5] = [*b"eXIf", *b"tEXt", *b"zTXt", *b"iTXt", *b"tIME"];
/// JPEG APP1 (EXIF, XMP), APP13 (IPTC / Photoshop) and comments.
const JPEG_METADATA: [u8; 3] = [0xE1, 0xED, 0xFE];

/// The image without its metadata; `None` when the container cannot be
/// read (a broken image is refused rather than passed on with its
/// metadata).
pub fn strip_metadata(kind: Kind, bytes: &[u8]) -> Option<Vec<u8>> {
    let input = Bytes::copy_from_slice(bytes);
    let out = match kind {
        Kind::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(input).ok()?;
            for marker in JPEG_METADATA {
                jpeg.remove_segments_by_marker(marker);
            }
            jpeg.encoder().bytes()
        }
        Kind::Png => {
            let mut png = img_parts::png::Png::from_bytes(input).ok()?;
            for chunk in PNG_METADATA {
                png.remove_chunks_by_type(chunk);
            }
            png.encoder().bytes()
        }
        Kind::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(input).ok()?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(*b"XMP ");
            webp.encoder().bytes()
        }
        Kind::Pdf => return Some(bytes.to_vec()),
    };
    Some(out.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fil1_types_come_from_the_bytes() {
        assert_eq!(Kind::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(Kind::sniff(b"%PDF-1.7\n"), Some(Kind::Pdf));
        assert_eq!(Kind::sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Kind::Jpeg));
        assert_eq!(
            Kind::sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 "),
            Some(Kind::WebP)
        );
        assert_eq!(Kind::sniff(b"just text pretending to be a png"), None);
        assert_eq!(Kind::sniff(b"GIF89a"), None);
    }
}
