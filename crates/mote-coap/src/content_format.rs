//! Content-Format identifiers (RFC 7252 §12.3 and the IANA "CoAP Content-Formats" registry).
//!
//! ```
//! use mote_coap::content_format::ContentFormat;
//! assert_eq!(ContentFormat::LWM2M_TLV.media_type(), Some("application/vnd.oma.lwm2m+tlv"));
//! assert_eq!(ContentFormat::from_media_type("application/link-format"), Some(ContentFormat::LINK_FORMAT));
//! ```

#![deny(clippy::indexing_slicing)]

use core::fmt;

/// A Content-Format identifier: the value of the Content-Format and Accept options.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentFormat(pub u16);

macro_rules! content_formats {
    ($($(#[$doc:meta])* $name:ident = $id:literal, $media:literal;)*) => {
        impl ContentFormat {
            $($(#[$doc])* pub const $name: Self = Self($id);)*
        }

        /// The registry: (identifier, content type with parameters and content coding), sorted.
        pub static REGISTRY: &[(ContentFormat, &str)] = &[$((ContentFormat($id), $media),)*];
    };
}

content_formats! {
    /// 0 text/plain;charset=utf-8 (RFC 7252 §12.3).
    TEXT_PLAIN = 0, "text/plain;charset=utf-8";
    /// 16 application/cose; cose-type="cose-encrypt0" (RFC 9052).
    COSE_ENCRYPT0 = 16, "application/cose; cose-type=\"cose-encrypt0\"";
    /// 17 application/cose; cose-type="cose-mac0" (RFC 9052).
    COSE_MAC0 = 17, "application/cose; cose-type=\"cose-mac0\"";
    /// 18 application/cose; cose-type="cose-sign1" (RFC 9052).
    COSE_SIGN1 = 18, "application/cose; cose-type=\"cose-sign1\"";
    /// 19 application/ace+cbor (RFC 9200).
    ACE_CBOR = 19, "application/ace+cbor";
    /// 21 image/gif.
    IMAGE_GIF = 21, "image/gif";
    /// 22 image/jpeg.
    IMAGE_JPEG = 22, "image/jpeg";
    /// 23 image/png.
    IMAGE_PNG = 23, "image/png";
    /// 40 application/link-format (RFC 6690).
    LINK_FORMAT = 40, "application/link-format";
    /// 41 application/xml.
    XML = 41, "application/xml";
    /// 42 application/octet-stream.
    OCTET_STREAM = 42, "application/octet-stream";
    /// 47 application/exi.
    EXI = 47, "application/exi";
    /// 50 application/json.
    JSON = 50, "application/json";
    /// 51 application/json-patch+json (RFC 8132).
    JSON_PATCH_JSON = 51, "application/json-patch+json";
    /// 52 application/merge-patch+json (RFC 8132).
    MERGE_PATCH_JSON = 52, "application/merge-patch+json";
    /// 60 application/cbor (RFC 8949).
    CBOR = 60, "application/cbor";
    /// 61 application/cwt (RFC 8392).
    CWT = 61, "application/cwt";
    /// 62 application/multipart-core (RFC 8710).
    MULTIPART_CORE = 62, "application/multipart-core";
    /// 63 application/cbor-seq (RFC 8742).
    CBOR_SEQ = 63, "application/cbor-seq";
    /// 64 application/edhoc+cbor-seq (RFC 9528).
    EDHOC_CBOR_SEQ = 64, "application/edhoc+cbor-seq";
    /// 65 application/cid-edhoc+cbor-seq (RFC 9528).
    CID_EDHOC_CBOR_SEQ = 65, "application/cid-edhoc+cbor-seq";
    /// 96 application/cose; cose-type="cose-encrypt" (RFC 9052).
    COSE_ENCRYPT = 96, "application/cose; cose-type=\"cose-encrypt\"";
    /// 97 application/cose; cose-type="cose-mac" (RFC 9052).
    COSE_MAC = 97, "application/cose; cose-type=\"cose-mac\"";
    /// 98 application/cose; cose-type="cose-sign" (RFC 9052).
    COSE_SIGN = 98, "application/cose; cose-type=\"cose-sign\"";
    /// 101 application/cose-key (RFC 9052).
    COSE_KEY = 101, "application/cose-key";
    /// 102 application/cose-key-set (RFC 9052).
    COSE_KEY_SET = 102, "application/cose-key-set";
    /// 110 application/senml+json (RFC 8428).
    SENML_JSON = 110, "application/senml+json";
    /// 111 application/sensml+json (RFC 8428).
    SENSML_JSON = 111, "application/sensml+json";
    /// 112 application/senml+cbor (RFC 8428).
    SENML_CBOR = 112, "application/senml+cbor";
    /// 113 application/sensml+cbor (RFC 8428).
    SENSML_CBOR = 113, "application/sensml+cbor";
    /// 114 application/senml-exi (RFC 8428).
    SENML_EXI = 114, "application/senml-exi";
    /// 115 application/sensml-exi (RFC 8428).
    SENSML_EXI = 115, "application/sensml-exi";
    /// 256 application/coap-group+json (RFC 7390).
    COAP_GROUP_JSON = 256, "application/coap-group+json";
    /// 257 application/concise-problem-details+cbor (RFC 9290).
    CONCISE_PROBLEM_DETAILS_CBOR = 257, "application/concise-problem-details+cbor";
    /// 258 application/swid+cbor (RFC 9393).
    SWID_CBOR = 258, "application/swid+cbor";
    /// 271 application/dots+cbor (RFC 9132).
    DOTS_CBOR = 271, "application/dots+cbor";
    /// 272 application/missing-blocks+cbor-seq (RFC 9177).
    MISSING_BLOCKS_CBOR_SEQ = 272, "application/missing-blocks+cbor-seq";
    /// 280 application/pkcs7-mime; smime-type=server-generated-key (RFC 9148).
    PKCS7_SERVER_GENERATED_KEY = 280, "application/pkcs7-mime; smime-type=server-generated-key";
    /// 281 application/pkcs7-mime; smime-type=certs-only (RFC 9148).
    PKCS7_CERTS_ONLY = 281, "application/pkcs7-mime; smime-type=certs-only";
    /// 284 application/pkcs8 (RFC 9148).
    PKCS8 = 284, "application/pkcs8";
    /// 285 application/csrattrs (RFC 9148).
    CSRATTRS = 285, "application/csrattrs";
    /// 286 application/pkcs10 (RFC 9148).
    PKCS10 = 286, "application/pkcs10";
    /// 287 application/pkix-cert (RFC 9148).
    PKIX_CERT = 287, "application/pkix-cert";
    /// 290 application/aif+cbor (RFC 9237).
    AIF_CBOR = 290, "application/aif+cbor";
    /// 291 application/aif+json (RFC 9237).
    AIF_JSON = 291, "application/aif+json";
    /// 310 application/senml+xml (RFC 8428).
    SENML_XML = 310, "application/senml+xml";
    /// 311 application/sensml+xml (RFC 8428).
    SENSML_XML = 311, "application/sensml+xml";
    /// 320 application/senml-etch+json (RFC 8790).
    SENML_ETCH_JSON = 320, "application/senml-etch+json";
    /// 322 application/senml-etch+cbor (RFC 8790).
    SENML_ETCH_CBOR = 322, "application/senml-etch+cbor";
    /// 340 application/yang-data+cbor (RFC 9254).
    YANG_DATA_CBOR = 340, "application/yang-data+cbor";
    /// 341 application/yang-data+cbor; id=name (RFC 9254).
    YANG_DATA_CBOR_NAME = 341, "application/yang-data+cbor; id=name";
    /// 432 application/td+json (W3C WoT).
    TD_JSON = 432, "application/td+json";
    /// 433 application/tm+json (W3C WoT).
    TM_JSON = 433, "application/tm+json";
    /// 10000 application/vnd.ocf+cbor.
    OCF_CBOR = 10000, "application/vnd.ocf+cbor";
    /// 10001 application/oscore (RFC 8613).
    OSCORE = 10001, "application/oscore";
    /// 10002 application/javascript.
    JAVASCRIPT = 10002, "application/javascript";
    /// 11050 application/json with deflate coding.
    JSON_DEFLATE = 11050, "application/json;deflate";
    /// 11060 application/cbor with deflate coding.
    CBOR_DEFLATE = 11060, "application/cbor;deflate";
    /// 11542 application/vnd.oma.lwm2m+tlv (LwM2M TS Core §7.4.3).
    LWM2M_TLV = 11542, "application/vnd.oma.lwm2m+tlv";
    /// 11543 application/vnd.oma.lwm2m+json (LwM2M TS Core §7.4.5).
    LWM2M_JSON = 11543, "application/vnd.oma.lwm2m+json";
    /// 11544 application/vnd.oma.lwm2m+cbor (LwM2M TS Core 1.2 §7.4.6).
    LWM2M_CBOR = 11544, "application/vnd.oma.lwm2m+cbor";
    /// 20000 text/css.
    TEXT_CSS = 20000, "text/css";
    /// 30000 image/svg+xml.
    IMAGE_SVG_XML = 30000, "image/svg+xml";
}

impl ContentFormat {
    /// The registered content type (with parameters; content coding after `;`), or `None`.
    #[must_use]
    pub fn media_type(self) -> Option<&'static str> {
        REGISTRY
            .binary_search_by_key(&self, |(id, _)| *id)
            .ok()
            .and_then(|i| REGISTRY.get(i))
            .map(|(_, media)| *media)
    }

    /// The identifier registered for exactly this content type string, or `None`.
    #[must_use]
    pub fn from_media_type(media: &str) -> Option<Self> {
        REGISTRY
            .iter()
            .find(|(_, m)| *m == media)
            .map(|(id, _)| *id)
    }
}

impl fmt::Display for ContentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.media_type() {
            Some(media) => write!(f, "{} ({media})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for ContentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The value of a Content-Format or Accept option (RFC 7252 §5.10.3, §5.10.4: uint).
///
/// ```
/// use mote_coap::content_format::ContentFormat;
/// use mote_coap::option::UintValue;
/// assert_eq!(UintValue::from(ContentFormat::LWM2M_TLV).as_bytes(), &[0x2d, 0x16]);
/// assert_eq!(UintValue::from(ContentFormat::TEXT_PLAIN).as_bytes(), &[] as &[u8]);
/// ```
impl From<ContentFormat> for crate::option::UintValue {
    fn from(cf: ContentFormat) -> Self {
        Self::new(u32::from(cf.0))
    }
}

/// The number as a uint option value (for the encoders' `uint_option` methods).
impl From<ContentFormat> for u32 {
    fn from(cf: ContentFormat) -> Self {
        u32::from(cf.0)
    }
}

impl From<u16> for ContentFormat {
    fn from(id: u16) -> Self {
        Self(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_sorted_and_covers_the_issue_list() {
        assert!(REGISTRY.windows(2).all(|w| w[0].0 < w[1].0));
        for id in [
            0, 40, 42, 50, 60, 64, 65, 110, 112, 320, 322, 10001, 11542, 11543, 11544,
        ] {
            assert!(ContentFormat(id).media_type().is_some(), "{id}");
        }
        assert_eq!(ContentFormat(1).media_type(), None);
    }
}
