//! What both roles are configured with: an identity, supported suites and methods, and the EAD
//! labels the application understands.

use crate::buffer::{KeyInput, Secret};
use crate::credential::Credential;
use crate::error::Error;
use crate::id_cred::IdCred;
use crate::suite::{CipherSuite, Method, SuiteInput, Suites};

/// This endpoint's authentication credential, private key and how it is identified to the peer.
#[derive(Clone, Debug)]
pub struct Identity {
    /// CRED_x.
    pub credential: Credential,
    /// The private authentication key (Ed25519 seed, P-256 scalar or X25519 scalar).
    pub private_key: Secret,
    /// ID_CRED_x as sent in PLAINTEXT_2/3.
    pub id_cred: IdCred,
}

impl Identity {
    /// Identified by reference: 'kid' for a CCS, 'x5t' for a certificate.
    ///
    /// ```
    /// use mote_edhoc::*;
    /// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// let mut crypto = MoteCrypto::new();
    /// let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// let credential = Credential::ccs_for_private_key(&mut crypto, &suite, true, "device", b"D", &key)?;
    /// let identity = Identity::by_reference(credential, key.as_bytes())?;
    /// assert_eq!(identity.id_cred.as_map(), b"\xa1\x04\x41D"); // {4: 'kid' h'44'}
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn by_reference(
        credential: Credential,
        private_key: &(impl KeyInput + ?Sized),
    ) -> Result<Self, Error> {
        let id_cred = credential.id_cred_by_reference()?;
        Ok(Self {
            credential,
            private_key: Secret::from_slice(private_key.key_bytes())?,
            id_cred,
        })
    }

    /// Carried by value: 'kccs' for a CCS, 'x5chain' for a certificate.
    ///
    /// ```
    /// use mote_edhoc::*;
    /// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// let mut crypto = MoteCrypto::new();
    /// let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// let credential = Credential::ccs_for_private_key(&mut crypto, &suite, true, "device", b"D", &key)?;
    /// let identity = Identity::by_value(credential.clone(), key.as_bytes())?;
    /// assert_eq!(identity.id_cred.as_map()[..2], [0xa1, 0x0e]); // {14: the CCS}: no lookup needed
    /// assert!(credential.matches(&identity.id_cred));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn by_value(
        credential: Credential,
        private_key: &(impl KeyInput + ?Sized),
    ) -> Result<Self, Error> {
        let id_cred = credential.id_cred_by_value()?;
        Ok(Self {
            credential,
            private_key: Secret::from_slice(private_key.key_bytes())?,
            id_cred,
        })
    }

    /// With an explicit ID_CRED.
    ///
    /// ```
    /// use mote_edhoc::*;
    /// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// let mut crypto = MoteCrypto::new();
    /// let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// let credential = Credential::ccs_for_private_key(&mut crypto, &suite, true, "device", b"D", &key)?;
    /// let id_cred = credential.id_cred_by_value()?; // any ID_CRED the peer can resolve
    /// let identity = Identity::with_id_cred(credential, key.as_bytes(), id_cred.clone())?;
    /// assert_eq!(identity.id_cred, id_cred);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn with_id_cred(
        credential: Credential,
        private_key: &(impl KeyInput + ?Sized),
        id_cred: IdCred,
    ) -> Result<Self, Error> {
        Ok(Self {
            credential,
            private_key: Secret::from_slice(private_key.key_bytes())?,
            id_cred,
        })
    }
}

/// Initiator configuration.
#[derive(Clone, Debug)]
pub struct InitiatorConfig {
    /// The method to use.
    pub method: Method,
    /// Supported cipher suites, most preferred first.
    pub suites: Suites,
    /// Own identity.
    pub identity: Identity,
    /// Labels of critical EAD items the application processes (others abort the session).
    pub ead_labels: &'static [i64],
}

impl InitiatorConfig {
    /// A configuration with one supported cipher suite and no EAD labels.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// let config = InitiatorConfig::new(Method::StaticStatic, 2, fresh("device", b"D")?);
    /// assert_eq!((config.method, config.suites.as_slice()), (Method::StaticStatic, &[2][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn new(method: Method, suite: impl SuiteInput, identity: Identity) -> Self {
        let mut suites = Suites::new();
        // A value outside i32 is no suite: it stays unsupported (NoCommonSuite when used).
        let _ = suites.push(i32::try_from(suite.suite_value()).unwrap_or(i32::MAX));
        Self {
            method,
            suites,
            identity,
            ead_labels: &[],
        }
    }

    /// Sets the supported cipher suites, most preferred first.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// let config = InitiatorConfig::new(Method::StaticStatic, 2, fresh("device", b"D")?).with_suites(&[2, 0])?;
    /// assert_eq!(config.suites.as_slice(), [2, 0]); // most preferred first
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn with_suites<S: SuiteInput>(mut self, suites: &[S]) -> Result<Self, Error> {
        let mut s = Suites::new();
        for v in suites {
            s.push(i32::from(CipherSuite::from_input(v)?.id))?;
        }
        if s.is_empty() {
            return Err(Error::NoCommonSuite);
        }
        self.suites = s;
        Ok(self)
    }
}

/// Responder configuration.
#[derive(Clone, Debug)]
pub struct ResponderConfig {
    /// Methods accepted.
    pub methods: [bool; 4],
    /// Supported cipher suites, most preferred first (sent as SUITES_R).
    pub suites: Suites,
    /// Own identity.
    pub identity: Identity,
    /// Labels of critical EAD items the application processes (others abort the session).
    pub ead_labels: &'static [i64],
}

impl ResponderConfig {
    /// A configuration accepting every method, with one cipher suite and no EAD labels.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// let config = ResponderConfig::new(2, fresh("gateway", b"G")?);
    /// assert_eq!(config.suites.as_slice(), [2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn new(suite: impl SuiteInput, identity: Identity) -> Self {
        let mut suites = Suites::new();
        // A value outside i32 is no suite: it stays unsupported (NoCommonSuite when used).
        let _ = suites.push(i32::try_from(suite.suite_value()).unwrap_or(i32::MAX));
        Self {
            methods: [true; 4],
            suites,
            identity,
            ead_labels: &[],
        }
    }

    /// Sets the supported cipher suites, most preferred first.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// let config = ResponderConfig::new(2, fresh("gateway", b"G")?).with_suites(&[2, 3])?;
    /// assert_eq!(config.suites.as_slice(), [2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn with_suites<S: SuiteInput>(mut self, suites: &[S]) -> Result<Self, Error> {
        let mut s = Suites::new();
        for v in suites {
            s.push(i32::from(CipherSuite::from_input(v)?.id))?;
        }
        if s.is_empty() {
            return Err(Error::NoCommonSuite);
        }
        self.suites = s;
        Ok(self)
    }

    /// Restricts the accepted methods.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// // A Responder that only accepts static DH on both sides.
    /// let config = ResponderConfig::new(2, fresh("gateway", b"G")?).with_methods(&[Method::StaticStatic]);
    /// # let _ = config;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn with_methods(mut self, methods: &[Method]) -> Self {
        self.methods = [false; 4];
        for m in methods {
            if let Some(slot) = self.methods.get_mut(usize::from(m.value())) {
                *slot = true;
            }
        }
        self
    }
}

/// A rejected input: the error and the state, unchanged, so the caller can go on waiting for a
/// genuine message (fail closed: a failed check changes no state).
///
/// It converts into [`Error`] and is a `core::error::Error` itself (its `source()` is the
/// [`Error`]), so `?` works in a function returning `Result<_, mote_edhoc::Error>` or
/// `Result<_, Box<dyn std::error::Error>>`; match on it instead to keep the state:
///
/// ```
/// use mote_edhoc::*;
///
/// // A Responder with the RFC 9529 Trace 2 credential.
/// let h = |s: &str| hex::decode(s).expect("hex");
/// let cred_r = Credential::ccs(&h("a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072"))?;
/// let sk_r = h("72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac");
/// let config = ResponderConfig::new(2, Identity::by_reference(cred_r, &sk_r)?);
///
/// fn on_message_1<C: Crypto + 'static>(
///     responder: Responder<C>,
///     msg: &[u8],
/// ) -> Result<ResponderProcessingM1<C>, Box<dyn std::error::Error>> {
///     Ok(responder.process_message_1(msg)?) // `?` on a `Rejected<Responder<_>>`
/// }
///
/// let err = on_message_1(Responder::new(MoteCrypto::new(), config.clone()), &[0xff])
///     .err()
///     .ok_or("garbage accepted")?;
/// assert_eq!(err.to_string(), "EDHOC input rejected, state unchanged");
/// assert!(matches!(err.source().and_then(|e| e.downcast_ref()), Some(Error::Malformed { .. })));
///
/// // Keeping the state: the same Responder waits for the next message_1.
/// match Responder::new(MoteCrypto::new(), config).process_message_1(&[0xff]) {
///     Ok(_) => return Err("garbage accepted".into()),
///     Err(Rejected { state, error }) => {
///         assert!(matches!(error, Error::Malformed { .. }));
///         assert!(state.process_message_1(&[0xff]).is_err()); // the state is usable
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Rejected<S> {
    /// The state before the rejected input.
    pub state: S,
    /// Why the input was rejected.
    pub error: Error,
}

impl<S> core::fmt::Debug for Rejected<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rejected")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

// The reason is the `source()`, not repeated in the text, so an error-chain printer shows it
// once.
impl<S> core::fmt::Display for Rejected<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EDHOC input rejected, state unchanged")
    }
}

impl<S> core::error::Error for Rejected<S> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<S> From<Rejected<S>> for Error {
    fn from(r: Rejected<S>) -> Self {
        r.error
    }
}
