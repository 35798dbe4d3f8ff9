//! The multi-party messages (needs `alloc`): COSE_Encrypt (RFC 9052 §5.1), COSE_Mac (§6.1)
//! and COSE_Sign (§4.1) with their recipients and signers, borrowing from the input; content-key
//! recovery for the recipient algorithms direct, direct+HKDF and ECDH-ES/SS+HKDF
//! (RFC 9053 §6.1–§6.3); and builders.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::Error;
use crate::algorithm::{AeadAlgorithm, EcdhSecret, KeyDistribution, MacAlgorithm, VerifyingKey};
use crate::cbor::{Decoder, Encoder, Major, Write};
use crate::header::{Header, Label, ProtectedHeader, label};
use crate::kdf::KdfContext;
use crate::key::CoseKey;
use crate::message::{
    bytes_or_nil, decrypt_layer, layer_alg, nonce, read_headers, read_tag, tag, write_opt,
};
use crate::structure::{
    EncContext, Heads, MacContext, enc_structure, mac_structure_parts, sig_structure,
};

/// Maximum nesting of recipient layers accepted on decode.
pub const MAX_RECIPIENT_DEPTH: usize = 3;

/// A `COSE_recipient` (RFC 9052 §5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient<'a> {
    /// Protected bucket.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Encrypted key (empty for direct and ECDH-direct); `None` for `nil`.
    pub ciphertext: Option<&'a [u8]>,
    /// Nested recipients.
    pub recipients: Vec<Recipient<'a>>,
    /// The recipient's encoding as received.
    pub raw: &'a [u8],
}

fn read_recipients<'a>(
    dec: &mut Decoder<'a>,
    depth: usize,
    understood: &[Label<'_>],
) -> Result<Vec<Recipient<'a>>, Error> {
    if depth >= MAX_RECIPIENT_DEPTH {
        return Err(Error::Structure("recipients nested too deeply"));
    }
    let n = dec.array()?;
    if n == 0 {
        return Err(Error::Structure("recipients must not be empty"));
    }
    let mut out = Vec::new();
    for _ in 0..n {
        let all = dec.remaining();
        let start = dec.position();
        let len = dec.array()?;
        if len != 3 && len != 4 {
            return Err(Error::Structure("COSE_recipient is an array of 3 or 4"));
        }
        let (protected, unprotected) = read_headers(dec, understood)?;
        let ciphertext = bytes_or_nil(dec)?;
        let recipients = if len == 4 {
            read_recipients(dec, depth + 1, understood)?
        } else {
            Vec::new()
        };
        let raw = all.get(..dec.position() - start).unwrap_or(&[]);
        out.push(Recipient {
            protected,
            unprotected,
            ciphertext,
            recipients,
            raw,
        });
    }
    Ok(out)
}

fn write_recipients<W: Write>(
    enc: &mut Encoder<W>,
    recipients: &[Recipient<'_>],
) -> Result<(), Error> {
    enc.array(recipients.len())?;
    for r in recipients {
        r.encode(enc)?;
    }
    Ok(())
}

fn write_layer<W: Write>(
    enc: &mut Encoder<W>,
    p: &ProtectedHeader<'_>,
    u: &Header<'_>,
) -> Result<(), Error> {
    enc.bytes(p.raw)?;
    u.encode(enc)
}

impl<'a> Recipient<'a> {
    /// Writes the recipient (protected bytes as received).
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        enc.array(if self.recipients.is_empty() { 3 } else { 4 })?;
        write_layer(enc, &self.protected, &self.unprotected)?;
        write_opt(enc, self.ciphertext)?;
        if !self.recipients.is_empty() {
            write_recipients(enc, &self.recipients)?;
        }
        Ok(())
    }

    /// The recipient algorithm.
    pub fn algorithm(&self) -> Result<KeyDistribution, Error> {
        let id = layer_alg(&self.protected.header, &self.unprotected)?;
        KeyDistribution::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// The `kid`, from either bucket.
    pub fn kid(&self) -> Option<&'a [u8]> {
        self.protected.header.kid.or(self.unprotected.kid)
    }

    fn param(&self, l: i64) -> Option<&'a [u8]> {
        self.protected
            .header
            .get(Label::Int(l))
            .or_else(|| self.unprotected.get(Label::Int(l)))
    }

    /// The `COSE_KDF_Context` this recipient uses for a content key of `key_len` bytes for
    /// algorithm `content_alg`.
    pub fn kdf_context(&self, content_alg: i64, key_len: usize) -> KdfContext<'a> {
        KdfContext::for_recipient(
            content_alg,
            key_len,
            self.protected.authenticated(),
            &self.protected.header,
            &self.unprotected,
        )
    }

    /// Recovers the content key of `key_len` bytes for `content_alg` with the recipient's
    /// `key` (RFC 9053 §6). For ECDH-SS, the sender's static public key comes from the
    /// `static key` parameter, or from `sender_static` when the message only names it by
    /// `static key id`.
    pub fn content_key(
        &self,
        key: &CoseKey<'_>,
        content_alg: i64,
        key_len: usize,
        sender_static: Option<&CoseKey<'_>>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.content_key_with_context(key, content_alg, key_len, sender_static, None)
    }

    /// Like [`content_key`](Self::content_key), with a `COSE_KDF_Context` given by the
    /// application, for party information or `SuppPubInfo.other` that is agreed out of band
    /// and not sent (RFC 9053 §5.2). `None` uses [`kdf_context`](Self::kdf_context).
    pub fn content_key_with_context(
        &self,
        key: &CoseKey<'_>,
        content_alg: i64,
        key_len: usize,
        sender_static: Option<&CoseKey<'_>>,
        context: Option<KdfContext<'_>>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let alg = self.algorithm()?;
        key.check_alg(alg.id())?;
        if !self.ciphertext.is_none_or(<[u8]>::is_empty) {
            return Err(Error::Structure(
                "direct recipient with a non-empty ciphertext",
            ));
        }
        let mut cek = Zeroizing::new(alloc::vec![0u8; key_len]);
        let Some(hkdf) = alg.hkdf() else {
            // direct (RFC 9053 §6.1.1): the shared key is the content key.
            let k = key.symmetric_key()?;
            if k.len() != key_len {
                return Err(Error::Key("wrong key length"));
            }
            cek.copy_from_slice(k);
            return Ok(cek);
        };
        let secret: Zeroizing<Vec<u8>> = if alg.is_ephemeral_static() || alg.is_static_static() {
            let our: EcdhSecret = key.ecdh_secret()?;
            let peer_bytes = if alg.is_ephemeral_static() {
                self.param(label::EPHEMERAL_KEY)
            } else {
                self.param(label::STATIC_KEY)
            };
            let peer = match (peer_bytes, sender_static) {
                (Some(b), _) => CoseKey::decode(b)?.ecdh_public()?,
                (None, Some(k)) if alg.is_static_static() => k.ecdh_public()?,
                _ => return Err(Error::Key("no sender key")),
            };
            Zeroizing::new(our.diffie_hellman(&peer)?.as_bytes().to_vec())
        } else {
            Zeroizing::new(key.symmetric_key()?.to_vec())
        };
        let salt = self
            .param(label::SALT)
            .map(|v| Decoder::new(v).bytes())
            .transpose()?
            .unwrap_or(&[]);
        let ctx = context
            .unwrap_or_else(|| self.kdf_context(content_alg, key_len))
            .to_vec();
        hkdf.derive(salt, &secret, &ctx, &mut cek)?;
        Ok(cek)
    }
}

/// Finds the content key through the first recipient that `key` opens.
fn find_cek(
    recipients: &[Recipient<'_>],
    key: &CoseKey<'_>,
    content_alg: i64,
    key_len: usize,
    sender_static: Option<&CoseKey<'_>>,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut last = Error::Crypto;
    for r in recipients {
        if let (Some(a), Some(b)) = (r.kid(), key.kid) {
            if a != b {
                continue;
            }
        }
        match r.content_key(key, content_alg, key_len, sender_static) {
            Ok(k) => return Ok(k),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A decoded COSE_Encrypt.
#[derive(Debug, Clone, PartialEq)]
pub struct Encrypt<'a> {
    /// Protected bucket.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Ciphertext with tag; `None` when detached.
    pub ciphertext: Option<&'a [u8]>,
    /// Recipients.
    pub recipients: Vec<Recipient<'a>>,
    /// Whether the input carried tag 96.
    pub tagged: bool,
}

impl<'a> Encrypt<'a> {
    /// Decodes a tagged or untagged COSE_Encrypt.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::decode_understanding(bytes, &[])
    }

    /// Like [`decode`](Self::decode), where the application also understands the
    /// `understood` labels when they are listed in `crit` (RFC 9052 §3.1).
    pub fn decode_understanding(bytes: &'a [u8], understood: &[Label<'_>]) -> Result<Self, Error> {
        let mut dec = Decoder::new(bytes);
        let tagged = read_tag(&mut dec, tag::ENCRYPT)?;
        if dec.array()? != 4 {
            return Err(Error::Structure("COSE_Encrypt is an array of 4"));
        }
        let (protected, unprotected) = read_headers(&mut dec, understood)?;
        let ciphertext = bytes_or_nil(&mut dec)?;
        let recipients = read_recipients(&mut dec, 0, understood)?;
        dec.finish()?;
        Ok(Self {
            protected,
            unprotected,
            ciphertext,
            recipients,
            tagged,
        })
    }

    /// Writes the message.
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        if self.tagged {
            enc.tag(tag::ENCRYPT)?;
        }
        enc.array(4)?;
        write_layer(enc, &self.protected, &self.unprotected)?;
        write_opt(enc, self.ciphertext)?;
        write_recipients(enc, &self.recipients)
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        self.encode(&mut Encoder::new(&mut v))?;
        Ok(v)
    }

    /// The content-encryption algorithm.
    pub fn algorithm(&self) -> Result<AeadAlgorithm, Error> {
        let id = layer_alg(&self.protected.header, &self.unprotected)?;
        AeadAlgorithm::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// Recovers the content key with `key` through one of the recipients.
    pub fn content_key(
        &self,
        key: &CoseKey<'_>,
        sender_static: Option<&CoseKey<'_>>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let alg = self.algorithm()?;
        find_cek(
            &self.recipients,
            key,
            alg.id(),
            alg.key_len(),
            sender_static,
        )
    }

    /// Decrypts with the content key.
    pub fn decrypt_with_cek(
        &self,
        cek: &[u8],
        base_iv: Option<&[u8]>,
        external_aad: &[u8],
        detached: Option<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        let alg = self.algorithm()?;
        let (p, u) = (&self.protected.header, &self.unprotected);
        let mut nb = [0u8; 16];
        let nonce = nonce(
            alg,
            p.iv.or(u.iv),
            p.partial_iv.or(u.partial_iv),
            base_iv,
            &mut nb,
        )?;
        let ct = self
            .ciphertext
            .or(detached)
            .ok_or(Error::Structure("detached ciphertext not supplied"))?;
        let mut buf = alloc::vec![0u8; crate::structure::enc_structure_len(EncContext::Encrypt, self.protected.authenticated(), external_aad) + ct.len()];
        let pt = decrypt_layer(
            alg,
            cek,
            nonce,
            EncContext::Encrypt,
            self.protected.authenticated(),
            external_aad,
            ct,
            &mut buf,
        )?;
        Ok(pt.to_vec())
    }

    /// Decrypts with a recipient's key.
    pub fn decrypt(
        &self,
        key: &CoseKey<'_>,
        sender_static: Option<&CoseKey<'_>>,
        external_aad: &[u8],
        detached: Option<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        let cek = self.content_key(key, sender_static)?;
        self.decrypt_with_cek(&cek, None, external_aad, detached)
    }
}

/// A decoded COSE_Mac.
#[derive(Debug, Clone, PartialEq)]
pub struct Mac<'a> {
    /// Protected bucket.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Payload; `None` when detached.
    pub payload: Option<&'a [u8]>,
    /// MAC tag.
    pub tag: &'a [u8],
    /// Recipients.
    pub recipients: Vec<Recipient<'a>>,
    /// Whether the input carried tag 97.
    pub tagged: bool,
}

impl<'a> Mac<'a> {
    /// Decodes a tagged or untagged COSE_Mac.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::decode_understanding(bytes, &[])
    }

    /// Like [`decode`](Self::decode), where the application also understands the
    /// `understood` labels when they are listed in `crit` (RFC 9052 §3.1).
    pub fn decode_understanding(bytes: &'a [u8], understood: &[Label<'_>]) -> Result<Self, Error> {
        let mut dec = Decoder::new(bytes);
        let tagged = read_tag(&mut dec, tag::MAC)?;
        if dec.array()? != 5 {
            return Err(Error::Structure("COSE_Mac is an array of 5"));
        }
        let (protected, unprotected) = read_headers(&mut dec, understood)?;
        let payload = bytes_or_nil(&mut dec)?;
        let tag = dec.bytes()?;
        let recipients = read_recipients(&mut dec, 0, understood)?;
        dec.finish()?;
        Ok(Self {
            protected,
            unprotected,
            payload,
            tag,
            recipients,
            tagged,
        })
    }

    /// Writes the message.
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        if self.tagged {
            enc.tag(tag::MAC)?;
        }
        enc.array(5)?;
        write_layer(enc, &self.protected, &self.unprotected)?;
        write_opt(enc, self.payload)?;
        enc.bytes(self.tag)?;
        write_recipients(enc, &self.recipients)
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        self.encode(&mut Encoder::new(&mut v))?;
        Ok(v)
    }

    /// The MAC algorithm.
    pub fn algorithm(&self) -> Result<MacAlgorithm, Error> {
        let id = layer_alg(&self.protected.header, &self.unprotected)?;
        MacAlgorithm::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// Recovers the MAC key with `key` through one of the recipients.
    pub fn content_key(
        &self,
        key: &CoseKey<'_>,
        sender_static: Option<&CoseKey<'_>>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let alg = self.algorithm()?;
        find_cek(
            &self.recipients,
            key,
            alg.id(),
            alg.key_len(),
            sender_static,
        )
    }

    /// Verifies the tag with the MAC key; returns the payload.
    pub fn verify_with_cek<'p>(
        &self,
        cek: &[u8],
        external_aad: &[u8],
        detached: Option<&'p [u8]>,
    ) -> Result<&'p [u8], Error>
    where
        'a: 'p,
    {
        let payload = self
            .payload
            .or(detached)
            .ok_or(Error::Structure("detached payload not supplied"))?;
        let mut heads = Heads::new();
        let parts = mac_structure_parts(
            &mut heads,
            MacContext::Mac,
            self.protected.authenticated(),
            external_aad,
            payload,
        )?;
        self.algorithm()?.verify(cek, &parts, self.tag)?;
        Ok(payload)
    }

    /// Verifies with a recipient's key; returns the payload.
    pub fn verify<'p>(
        &self,
        key: &CoseKey<'_>,
        sender_static: Option<&CoseKey<'_>>,
        external_aad: &[u8],
        detached: Option<&'p [u8]>,
    ) -> Result<&'p [u8], Error>
    where
        'a: 'p,
    {
        let cek = self.content_key(key, sender_static)?;
        self.verify_with_cek(&cek, external_aad, detached)
    }
}

/// A `COSE_Signature` (RFC 9052 §4.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signature<'a> {
    /// Protected bucket of the signer.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket of the signer.
    pub unprotected: Header<'a>,
    /// The signature.
    pub signature: &'a [u8],
}

/// A decoded COSE_Sign.
#[derive(Debug, Clone, PartialEq)]
pub struct Sign<'a> {
    /// Protected bucket of the body.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket of the body.
    pub unprotected: Header<'a>,
    /// Payload; `None` when detached.
    pub payload: Option<&'a [u8]>,
    /// Signers.
    pub signatures: Vec<Signature<'a>>,
    /// Whether the input carried tag 98.
    pub tagged: bool,
}

impl<'a> Sign<'a> {
    /// Decodes a tagged or untagged COSE_Sign.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::decode_understanding(bytes, &[])
    }

    /// Like [`decode`](Self::decode), where the application also understands the
    /// `understood` labels when they are listed in `crit` (RFC 9052 §3.1).
    pub fn decode_understanding(bytes: &'a [u8], understood: &[Label<'_>]) -> Result<Self, Error> {
        let mut dec = Decoder::new(bytes);
        let tagged = read_tag(&mut dec, tag::SIGN)?;
        if dec.array()? != 4 {
            return Err(Error::Structure("COSE_Sign is an array of 4"));
        }
        let (protected, unprotected) = read_headers(&mut dec, understood)?;
        let payload = bytes_or_nil(&mut dec)?;
        let n = dec.array()?;
        if n == 0 {
            return Err(Error::Structure("signatures must not be empty"));
        }
        let mut signatures = Vec::new();
        for _ in 0..n {
            if dec.array()? != 3 {
                return Err(Error::Structure("COSE_Signature is an array of 3"));
            }
            let (protected, unprotected) = read_headers(&mut dec, understood)?;
            let signature = dec.bytes()?;
            signatures.push(Signature {
                protected,
                unprotected,
                signature,
            });
        }
        dec.finish()?;
        Ok(Self {
            protected,
            unprotected,
            payload,
            signatures,
            tagged,
        })
    }

    /// Writes the message.
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        if self.tagged {
            enc.tag(tag::SIGN)?;
        }
        enc.array(4)?;
        write_layer(enc, &self.protected, &self.unprotected)?;
        write_opt(enc, self.payload)?;
        enc.array(self.signatures.len())?;
        for s in &self.signatures {
            enc.array(3)?;
            write_layer(enc, &s.protected, &s.unprotected)?;
            enc.bytes(s.signature)?;
        }
        Ok(())
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        self.encode(&mut Encoder::new(&mut v))?;
        Ok(v)
    }

    /// Verifies the signature of one signer whose algorithm fits `key` (and whose `kid`
    /// matches `kid`, when both are known); returns the payload.
    pub fn verify<'p>(
        &self,
        key: &VerifyingKey,
        kid: Option<&[u8]>,
        external_aad: &[u8],
        detached: Option<&'p [u8]>,
    ) -> Result<&'p [u8], Error>
    where
        'a: 'p,
    {
        let payload = self
            .payload
            .or(detached)
            .ok_or(Error::Structure("detached payload not supplied"))?;
        for s in &self.signatures {
            let Ok(id) = layer_alg(&s.protected.header, &s.unprotected) else {
                continue;
            };
            if id != key.algorithm().id() {
                continue;
            }
            let skid = s.protected.header.kid.or(s.unprotected.kid);
            if let (Some(a), Some(b)) = (skid, kid) {
                if a != b {
                    continue;
                }
            }
            let mut tbs = Vec::new();
            sig_structure(
                &mut tbs,
                self.protected.authenticated(),
                Some(s.protected.authenticated()),
                external_aad,
                payload,
            )?;
            if key.verify(&tbs, s.signature).is_ok() {
                return Ok(payload);
            }
        }
        Err(Error::Crypto)
    }
}

/// Any COSE message, as told by its tag, or for untagged input by its shape and algorithm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// COSE_Encrypt0.
    Encrypt0(crate::message::Encrypt0<'a>),
    /// COSE_Mac0.
    Mac0(crate::message::Mac0<'a>),
    /// COSE_Sign1.
    Sign1(crate::message::Sign1<'a>),
    /// COSE_Encrypt.
    Encrypt(Encrypt<'a>),
    /// COSE_Mac.
    Mac(Mac<'a>),
    /// COSE_Sign.
    Sign(Sign<'a>),
}

impl<'a> Message<'a> {
    /// Decodes any COSE message. Untagged input is told apart by array length and by the
    /// family of the body's algorithm (an untagged 4-array with a `bstr` last is a Mac0 for a
    /// MAC algorithm and a Sign1 otherwise; with an array last, an Encrypt for an AEAD
    /// algorithm and a Sign otherwise).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut dec = Decoder::new(bytes);
        match dec.optional_tag()? {
            Some(tag::ENCRYPT0) => {
                return crate::message::Encrypt0::decode(bytes).map(Self::Encrypt0);
            }
            Some(tag::MAC0) => return crate::message::Mac0::decode(bytes).map(Self::Mac0),
            Some(tag::SIGN1) => return crate::message::Sign1::decode(bytes).map(Self::Sign1),
            Some(tag::ENCRYPT) => return Encrypt::decode(bytes).map(Self::Encrypt),
            Some(tag::MAC) => return Mac::decode(bytes).map(Self::Mac),
            Some(tag::SIGN) => return Sign::decode(bytes).map(Self::Sign),
            Some(_) => return Err(Error::Structure("not a COSE message tag")),
            None => {}
        }
        let n = dec.array()?;
        match n {
            3 => crate::message::Encrypt0::decode(bytes).map(Self::Encrypt0),
            5 => Mac::decode(bytes).map(Self::Mac),
            4 => {
                let (p, u) = read_headers(&mut dec, &[])?;
                let alg = layer_alg(&p.header, &u).ok();
                dec.skip()?;
                let last_is_array = dec.peek_major()? == Major::Array;
                let is_mac = alg.and_then(MacAlgorithm::from_id).is_some();
                let is_aead = alg.and_then(AeadAlgorithm::from_id).is_some();
                match (last_is_array, is_mac, is_aead) {
                    (false, true, _) => crate::message::Mac0::decode(bytes).map(Self::Mac0),
                    (false, false, _) => crate::message::Sign1::decode(bytes).map(Self::Sign1),
                    (true, _, true) => Encrypt::decode(bytes).map(Self::Encrypt),
                    (true, _, false) => Sign::decode(bytes)
                        .map(Self::Sign)
                        .or_else(|_| Encrypt::decode(bytes).map(Self::Encrypt)),
                }
            }
            _ => Err(Error::Structure("not a COSE message")),
        }
    }

    /// Writes the message (protected bytes as received, unprotected parameters in their order).
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        match self {
            Self::Encrypt0(m) => m.encode(enc),
            Self::Mac0(m) => m.encode(enc),
            Self::Sign1(m) => m.encode(enc),
            Self::Encrypt(m) => m.encode(enc),
            Self::Mac(m) => m.encode(enc),
            Self::Sign(m) => m.encode(enc),
        }
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        self.encode(&mut Encoder::new(&mut v))?;
        Ok(v)
    }

    /// The message type name (`"Encrypt0"`, `"Mac0"`, `"Sign1"`, `"Encrypt"`, `"Mac"`, `"Sign"`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Encrypt0(_) => "Encrypt0",
            Self::Mac0(_) => "Mac0",
            Self::Sign1(_) => "Sign1",
            Self::Encrypt(_) => "Encrypt",
            Self::Mac(_) => "Mac",
            Self::Sign(_) => "Sign",
        }
    }
}

/// Builds a COSE_Encrypt around already-encoded recipients and a content key.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncryptBuilder<'a> {
    /// Protected bucket of the body.
    pub protected: Header<'a>,
    /// Unprotected bucket of the body (typically the `IV`).
    pub unprotected: Header<'a>,
    /// Whether to write tag 96.
    pub tagged: bool,
}

impl EncryptBuilder<'_> {
    /// Encrypts `plaintext` under `cek` and returns the message with `recipients` (each an
    /// encoded `COSE_recipient`).
    pub fn seal(
        &self,
        cek: &[u8],
        base_iv: Option<&[u8]>,
        plaintext: &[u8],
        external_aad: &[u8],
        recipients: &[&[u8]],
    ) -> Result<Vec<u8>, Error> {
        crate::header::check_buckets(&self.protected, &self.unprotected)?;
        let id = layer_alg(&self.protected, &self.unprotected)?;
        let alg = AeadAlgorithm::from_id(id).ok_or(Error::Algorithm(id))?;
        let (p, u) = (&self.protected, &self.unprotected);
        let mut nb = [0u8; 16];
        let nonce = nonce(
            alg,
            p.iv.or(u.iv),
            p.partial_iv.or(u.partial_iv),
            base_iv,
            &mut nb,
        )?;
        let prot = if p.is_empty() { Vec::new() } else { p.to_vec() };
        let mut aad = Vec::new();
        enc_structure(&mut aad, EncContext::Encrypt, &prot, external_aad)?;
        let mut ct = Vec::with_capacity(plaintext.len() + alg.tag_len());
        ct.extend_from_slice(plaintext);
        ct.resize(plaintext.len() + alg.tag_len(), 0);
        alg.seal_in_place(cek, nonce, &aad, &mut ct, plaintext.len())?;
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out);
        if self.tagged {
            enc.tag(tag::ENCRYPT)?;
        }
        enc.array(4)?.bytes(&prot)?;
        u.encode(&mut enc)?;
        enc.bytes(&ct)?.array(recipients.len())?;
        for r in recipients {
            enc.raw(r)?;
        }
        Ok(out)
    }
}

/// Builds a COSE_Mac around already-encoded recipients and a MAC key.
#[derive(Debug, Clone, Copy, Default)]
pub struct MacBuilder<'a> {
    /// Protected bucket of the body.
    pub protected: Header<'a>,
    /// Unprotected bucket of the body.
    pub unprotected: Header<'a>,
    /// Whether to write tag 97.
    pub tagged: bool,
}

impl MacBuilder<'_> {
    /// Computes the tag under `key` and returns the message with `recipients`.
    pub fn seal(
        &self,
        key: &[u8],
        payload: &[u8],
        external_aad: &[u8],
        recipients: &[&[u8]],
    ) -> Result<Vec<u8>, Error> {
        crate::header::check_buckets(&self.protected, &self.unprotected)?;
        let id = layer_alg(&self.protected, &self.unprotected)?;
        let alg = MacAlgorithm::from_id(id).ok_or(Error::Algorithm(id))?;
        let prot = if self.protected.is_empty() {
            Vec::new()
        } else {
            self.protected.to_vec()
        };
        let mut heads = Heads::new();
        let parts = mac_structure_parts(&mut heads, MacContext::Mac, &prot, external_aad, payload)?;
        let mut t = alloc::vec![0u8; alg.tag_len()];
        alg.compute(key, &parts, &mut t)?;
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out);
        if self.tagged {
            enc.tag(tag::MAC)?;
        }
        enc.array(5)?.bytes(&prot)?;
        self.unprotected.encode(&mut enc)?;
        enc.bytes(payload)?.bytes(&t)?.array(recipients.len())?;
        for r in recipients {
            enc.raw(r)?;
        }
        Ok(out)
    }
}

/// Encodes a recipient layer from headers and an (empty, for direct and ECDH-direct)
/// ciphertext.
pub fn encode_recipient(
    protected: &Header<'_>,
    unprotected: &Header<'_>,
    ciphertext: &[u8],
) -> Result<Vec<u8>, Error> {
    crate::header::check_buckets(protected, unprotected)?;
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out);
    enc.array(3)?.bytes(&if protected.is_empty() {
        Vec::new()
    } else {
        protected.to_vec()
    })?;
    unprotected.encode(&mut enc)?;
    enc.bytes(ciphertext)?;
    Ok(out)
}

/// Builds a COSE_Sign with one or more signers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignBuilder<'a> {
    /// Protected bucket of the body.
    pub protected: Header<'a>,
    /// Unprotected bucket of the body.
    pub unprotected: Header<'a>,
    /// Whether to write tag 98.
    pub tagged: bool,
}

impl SignBuilder<'_> {
    /// Signs `payload` once per `(key, signer protected, signer unprotected)`; each signer's
    /// protected bucket must carry its `alg`.
    pub fn sign(
        &self,
        signers: &[(&crate::algorithm::SigningKey, Header<'_>, Header<'_>)],
        payload: &[u8],
        external_aad: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let body = if self.protected.is_empty() {
            Vec::new()
        } else {
            self.protected.to_vec()
        };
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out);
        if self.tagged {
            enc.tag(tag::SIGN)?;
        }
        enc.array(4)?.bytes(&body)?;
        self.unprotected.encode(&mut enc)?;
        enc.bytes(payload)?.array(signers.len())?;
        for (key, p, u) in signers {
            crate::header::check_buckets(p, u)?;
            if layer_alg(p, u)? != key.algorithm().id() {
                return Err(Error::Key("key does not fit the algorithm"));
            }
            let sp = if p.is_empty() { Vec::new() } else { p.to_vec() };
            let mut tbs = Vec::new();
            sig_structure(&mut tbs, &body, Some(&sp), external_aad, payload)?;
            let mut sig = alloc::vec![0u8; key.algorithm().signature_len()];
            key.sign(&tbs, &mut sig)?;
            enc.array(3)?.bytes(&sp)?;
            u.encode(&mut enc)?;
            enc.bytes(&sig)?;
        }
        Ok(out)
    }
}

/// Creates an ECDH-ES recipient (RFC 9053 §6.3.1) for the recipient's public `peer` key:
/// uses `ephemeral` as the sender's ephemeral key, puts its public part in the `ephemeral key`
/// parameter, and derives the content key of `key_len` bytes for `content_alg`. Returns the
/// encoded recipient and the content key.
pub fn ecdh_es_recipient(
    alg: KeyDistribution,
    ephemeral: &EcdhSecret,
    peer: &CoseKey<'_>,
    kid: Option<&[u8]>,
    content_alg: i64,
    key_len: usize,
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), Error> {
    if !alg.is_ephemeral_static() {
        return Err(Error::Algorithm(alg.id()));
    }
    let hkdf = alg.hkdf().ok_or(Error::Algorithm(alg.id()))?;
    let pk = ephemeral.public_key();
    let x = pk.x();
    let y = pk.y();
    let epk = match ephemeral.curve() {
        crate::algorithm::EcdhCurve::X25519 => CoseKey::curve_key(
            crate::key::KeyType::Okp,
            crate::key::curve::X25519,
            &x,
            None,
            None,
        ),
        crate::algorithm::EcdhCurve::P256 => CoseKey::curve_key(
            crate::key::KeyType::Ec2,
            crate::key::curve::P256,
            &x,
            y.as_ref().map(|y| crate::key::EcY::Coordinate(&y[..])),
            None,
        ),
    };
    let epk_bytes = epk.to_vec();
    let protected = Header {
        alg: Some(Label::Int(alg.id())),
        ..Header::default()
    };
    let other = [(Label::Int(label::EPHEMERAL_KEY), &epk_bytes[..])];
    let unprotected = Header {
        kid,
        other: crate::header::Params::List(&other),
        ..Header::default()
    };
    let prot = protected.to_vec();
    let shared = ephemeral.diffie_hellman(&peer.ecdh_public()?)?;
    let ctx =
        KdfContext::for_recipient(content_alg, key_len, &prot, &protected, &unprotected).to_vec();
    let mut cek = Zeroizing::new(alloc::vec![0u8; key_len]);
    hkdf.derive(&[], shared.as_bytes(), &ctx, &mut cek)?;
    Ok((encode_recipient(&protected, &unprotected, &[])?, cek))
}
